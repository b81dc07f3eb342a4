// The in-memory twin of net/stream-node.ts: a pair of StreamConn ends joined by the real framing
// (net/stream-frame.ts), the bytes cut into chunks of a seeded random size, delivered synchronously.
// `rawWrite` lets a test put arbitrary bytes on the wire (garbage, a broken length).
import { encodeFrame, FrameReader } from '../../src/net/stream-frame.js';
import type { StreamConn, StreamCounters, StreamKind } from '../../src/net/stream-node.js';
import type { Endpoint } from '../../src/net/udp.js';
import { Rng } from './rng.js';

export class MemoryStreamConn implements StreamConn {
  readonly counters: StreamCounters = { framesIn: 0, framesOut: 0, sendFull: 0 };
  other!: MemoryStreamConn;
  /** When set, send() refuses (a full send buffer). */
  full = false;
  private handler: ((d: Buffer) => void) | undefined;
  private closeHandlers: ((why: string) => void)[] = [];
  private done = false;
  private readonly reader = new FrameReader((d) => {
    this.counters.framesIn++;
    this.handler?.(Buffer.from(d));
  });

  constructor(
    readonly kind: StreamKind,
    readonly remote: Endpoint,
    private readonly rng: Rng,
  ) {}

  get closed(): boolean {
    return this.done;
  }

  send(d: Uint8Array): boolean {
    if (this.done) return false;
    if (this.full) {
      this.counters.sendFull++;
      return false;
    }
    this.counters.framesOut++;
    this.rawWrite(encodeFrame(d));
    return true;
  }

  /** Bytes onto the wire as they are, in random chunks. */
  rawWrite(bytes: Uint8Array): void {
    for (let off = 0; off < bytes.length && !this.done; ) {
      const n = 1 + this.rng.int(64);
      this.other.receiveBytes(bytes.subarray(off, off + n));
      off += n;
    }
  }

  private receiveBytes(b: Uint8Array): void {
    if (this.done) return;
    try {
      this.reader.push(b);
    } catch {
      this.close('bad frame');
    }
  }

  onDatagram(h: (d: Buffer) => void): void {
    this.handler = h;
  }

  onClose(h: (why: string) => void): void {
    if (this.done) h('closed');
    else this.closeHandlers.push(h);
  }

  close(why = 'closed locally'): void {
    if (this.done) return;
    this.done = true;
    this.handler = undefined;
    for (const h of this.closeHandlers.splice(0)) h(why);
    this.other.close('closed by remote');
  }
}

/** Two joined ends: `client` (remote = server address) and `server` (remote = client address). */
export function streamPair(kind: StreamKind, client: Endpoint, server: Endpoint, seed = 1): { client: MemoryStreamConn; server: MemoryStreamConn } {
  const rng = new Rng(seed);
  const c = new MemoryStreamConn(kind, server, rng);
  const s = new MemoryStreamConn(kind, client, rng);
  c.other = s;
  s.other = c;
  return { client: c, server: s };
}
