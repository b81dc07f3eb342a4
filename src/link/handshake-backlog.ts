// The responder's DH backlog (link.ts): initiations that passed the cheap checks (mac1, under load
// mac2, the rate limits) wait here, one per source, and are answered in slices of
// constants.ts handshakeSliceMs between turns of the event loop, so a burst of handshakes never
// holds TRANSPORT up for seconds. A retry from the same source replaces the waiting copy in place.
import { deferOn, type Clock } from '../util/clock.js';
import type { Path } from './path.js';

export class HandshakeBacklog {
  private readonly waiting = new Map<string, { datagram: Uint8Array; from: Path }>();
  private scheduled = false;
  private closed = false;
  private readonly defer: (fn: () => void) => void;

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
    private readonly sliceMs: number,
    /** Answers one initiation (the DH); an exception is handed to onError and the slice goes on. */
    private readonly answer: (datagram: Uint8Array, from: Path) => void,
    private readonly onError: (err: unknown) => void,
  ) {
    this.defer = deferOn(clock);
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Queues an initiation from `key` (its source); 'superseded' when it replaced a waiting one from
   * there, 'full' when it was refused. `datagram` is copied (the socket reuses its buffer). */
  offer(key: string, datagram: Uint8Array, from: Path): 'queued' | 'superseded' | 'full' {
    const replaces = this.waiting.has(key);
    if (!replaces && this.waiting.size >= this.limit) return 'full';
    this.waiting.set(key, { datagram: new Uint8Array(datagram), from }); // a replacement keeps its place
    this.schedule();
    return replaces ? 'superseded' : 'queued';
  }

  close(): void {
    this.closed = true;
    this.waiting.clear();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    this.defer(() => this.drain());
  }

  /** Answers waiting initiations for up to sliceMs (at least one), then yields. */
  private drain(): void {
    this.scheduled = false;
    if (this.closed) return;
    const t0 = this.clock.now();
    for (const [key, { datagram, from }] of this.waiting) {
      this.waiting.delete(key);
      try {
        this.answer(datagram, from);
      } catch (err) {
        this.onError(err);
      }
      if (this.clock.now() - t0 >= this.sliceMs) break;
    }
    if (this.waiting.size > 0) this.schedule();
  }
}
