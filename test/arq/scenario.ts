// The reference's published scenario (kcp test.cpp; docs/ARQ.md) on virtual time: 10 %
// round-trip loss (5 % each way), one-way delay 30..61 ms delivered FIFO, windows 128, kcp1 sends
// an 8-byte (index, time) message every 20 ms, kcp2 echoes it, kcp1 measures the RTT of each echo.
// Used by test/arq/scenario.test.ts and bench/arq-scenario.ts.
import { Kcp } from '../../src/arq/kcp.js';
import { LinkSim } from '../fakes/link-sim.js';
import { Rng } from '../fakes/rng.js';

/** test.cpp's Random(size): draws 0..size-1 without replacement, refilling when empty. */
class BagRandom {
  private left: number[] = [];
  constructor(
    private readonly size: number,
    private readonly rng: Rng,
  ) {}
  next(): number {
    if (this.left.length === 0) for (let i = 0; i < this.size; i++) this.left.push(i);
    const i = this.rng.int(this.left.length);
    const v = this.left[i]!;
    this.left[i] = this.left[this.left.length - 1]!;
    this.left.pop();
    return v;
  }
}

export type ScenarioMode = 'default' | 'normal' | 'fast';

export interface ScenarioResult {
  mode: ScenarioMode;
  messages: number;
  avgRttMs: number;
  maxRttMs: number;
  /** Datagrams kcp1 sent (test.cpp's tx1). */
  tx1: number;
  /** Virtual duration (ms). */
  durationMs: number;
  inOrder: boolean;
}

/** Runs until `messages` echoes came back in order (test.cpp uses 1000), or maxMs virtual ms. */
export function runScenario(mode: ScenarioMode, seed: number, messages = 1000, maxMs = 600_000): ScenarioResult {
  // test.cpp's LatencySimulator: per-direction loss lostrate/2, delay rttmin/2 + rand() % ((rttmax-rttmin)/2), FIFO, 1000 queued max.
  // Its loss draws from a shuffled bag of 0..99 (exactly 5 drops per 100 datagrams each way), and
  // its delays are whole ms: both are reproduced here in front of a lossless FIFO LinkSim.
  const delayRng = new Rng(seed * 7 + 1);
  const link = new LinkSim({ delayMs: 30, fifo: true, queueLimit: 1000 }, seed);
  const bag12 = new BagRandom(100, new Rng(seed * 7 + 2));
  const bag21 = new BagRandom(100, new Rng(seed * 7 + 3));
  let now = 0;
  let tx1 = 0;
  const k1 = new Kcp(0x11223344, (d, n) => {
    tx1++;
    if (bag12.next() >= 5) link.ab.send(now + delayRng.int(32), d, n);
  });
  const k2 = new Kcp(0x11223344, (d, n) => {
    if (bag21.next() >= 5) link.ba.send(now + delayRng.int(32), d, n);
  });
  k1.setWndSize(128, 128);
  k2.setWndSize(128, 128);
  if (mode === 'default') {
    k1.setNodelay(0, 10, 0, 0);
    k2.setNodelay(0, 10, 0, 0);
  } else if (mode === 'normal') {
    k1.setNodelay(0, 10, 0, 1);
    k2.setNodelay(0, 10, 0, 1);
  } else {
    k1.setNodelay(2, 10, 2, 1);
    k2.setNodelay(2, 10, 2, 1);
    k1.rxMinrto = 10;
    k1.fastresend = 1;
  }
  const msg = new Uint8Array(8);
  const view = new DataView(msg.buffer);
  const buf = new Uint8Array(2000);
  const bufView = new DataView(buf.buffer);
  let slap = now + 20;
  let index = 0;
  let next = 0;
  let sumRtt = 0;
  let maxRtt = 0;
  let inOrder = true;
  const start = now;
  while (next < messages && now - start < maxMs) {
    now += 1;
    k1.update(now);
    k2.update(now);
    for (; now >= slap; slap += 20) {
      view.setUint32(0, index++, true);
      view.setUint32(4, now, true);
      k1.send(msg);
    }
    link.ab.deliver(now, (d) => k2.input(d));
    link.ba.deliver(now, (d) => k1.input(d));
    for (;;) {
      const n = k2.recv(buf);
      if (n < 0) break;
      k2.send(buf, n);
    }
    for (;;) {
      const n = k1.recv(buf);
      if (n < 0) break;
      const sn = bufView.getUint32(0, true);
      const rtt = now - bufView.getUint32(4, true);
      if (sn !== next) inOrder = false;
      next++;
      sumRtt += rtt;
      if (rtt > maxRtt) maxRtt = rtt;
    }
  }
  return {
    mode,
    messages: next,
    avgRttMs: next > 0 ? Math.floor(sumRtt / next) : 0,
    maxRttMs: maxRtt,
    tx1,
    durationMs: now - start,
    inOrder,
  };
}
