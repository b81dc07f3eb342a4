// Two Kcp endpoints joined by a LinkSim on virtual time, stepped 1 ms at a time: the test bench
// for delivery, loss and window tests (test/arq/*.test.ts). Not a test file itself.
import { Kcp, type KcpOptions } from '../../src/arq/kcp.js';
import { LinkSim, type LinkConfig } from '../fakes/link-sim.js';

export interface PairOptions {
  link: LinkConfig;
  seed: number;
  conv?: number;
  kcp?: KcpOptions;
  /** Configure each side (windows, nodelay, stream...). */
  setup?: (k: Kcp, side: 'a' | 'b') => void;
  /** Start of virtual time (ms). */
  start?: number;
  /** Sees every datagram as it is sent (a copy is not made: read it synchronously). */
  tap?: (from: 'a' | 'b', data: Uint8Array, len: number, now: number) => void;
}

export class KcpPair {
  now: number;
  readonly a: Kcp;
  readonly b: Kcp;
  readonly link: LinkSim;
  private readonly buf = new Uint8Array(1 << 20);

  constructor(opts: PairOptions) {
    this.now = opts.start ?? 1_000;
    this.link = new LinkSim(opts.link, opts.seed);
    const conv = opts.conv ?? 0x11223344;
    const tap = opts.tap;
    this.a = new Kcp(conv, (d, n) => {
      tap?.('a', d, n, this.now);
      this.link.ab.send(this.now, d, n);
    }, opts.kcp);
    this.b = new Kcp(conv, (d, n) => {
      tap?.('b', d, n, this.now);
      this.link.ba.send(this.now, d, n);
    }, opts.kcp);
    opts.setup?.(this.a, 'a');
    opts.setup?.(this.b, 'b');
  }

  /** Advances 1 ms: update both ends, then deliver what is due in each direction. */
  step(): void {
    this.now += 1;
    this.a.update(this.now);
    this.b.update(this.now);
    this.link.ab.deliver(this.now, (d) => this.b.input(d, d.length, this.now));
    this.link.ba.deliver(this.now, (d) => this.a.input(d, d.length, this.now));
  }

  /** Every complete message waiting at k, as copies. */
  drain(k: Kcp): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (;;) {
      const n = k.recv(this.buf);
      if (n < 0) return out;
      out.push(this.buf.slice(0, n));
    }
  }

  /** Steps until pred() holds or maxMs passes; returns whether it held. */
  runUntil(pred: () => boolean, maxMs: number): boolean {
    const end = this.now + maxMs;
    while (this.now < end) {
      if (pred()) return true;
      this.step();
    }
    return pred();
  }
}
