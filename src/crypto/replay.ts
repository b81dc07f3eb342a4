// Sliding anti-replay window over transport counters (WireGuard's bitmap ring, RFC 6479 style):
// a ring of 32-bit words; moving forward clears the words skipped over, so each update is O(1)
// amortised with at most REPLAY_RING_WORDS words cleared. Used by session.ts. Split into check
// (before AEAD: cheap pre-filter) and update (after authentication: marks the counter). The state
// lives in one shared buffer so the native receive fast path marks the same window.
import { MAX_SAFE_COUNTER, REPLAY_RING_WORDS, REPLAY_WINDOW_SIZE } from './constants.js';

const WORD_BITS = 32;
const RING_MASK = REPLAY_RING_WORDS - 1; // REPLAY_RING_WORDS is a power of two

/** Bytes of a window's shared state: the highest counter (a double), then the ring's words. */
export const REPLAY_SHARED_BYTES = 8 + 4 * REPLAY_RING_WORDS;

export class ReplayWindow {
  /** The window's whole state in one buffer, which the native fast path's receive half
   * (src/net/native/fastrecv.c) reads and marks with the same algorithm: one window whoever opens. */
  readonly shared = new Uint8Array(new ArrayBuffer(REPLAY_SHARED_BYTES));
  private readonly lastCell = new Float64Array(this.shared.buffer, 0, 1);
  private readonly ring = new Uint32Array(this.shared.buffer, 8, REPLAY_RING_WORDS);

  constructor() {
    this.lastCell[0] = -1;
  }

  /** Highest counter marked so far; -1 before the first. */
  private get last(): number {
    return this.lastCell[0]!;
  }

  private set last(n: number) {
    this.lastCell[0] = n;
  }

  /** Would `counter` be accepted now? Does not mark it. */
  check(counter: number): boolean {
    if (!(counter >= 0 && counter <= MAX_SAFE_COUNTER) || !Number.isInteger(counter)) return false;
    if (counter > this.last) return true;
    if (this.last - counter >= REPLAY_WINDOW_SIZE) return false;
    const word = Math.floor(counter / WORD_BITS) & RING_MASK;
    return ((this.ring[word] as number) & (1 << (counter % WORD_BITS))) === 0;
  }

  /** Marks `counter` as seen; false (and no change) when it is a replay or too old. Call only after
   * the packet authenticated, or a forged counter could advance the window. */
  update(counter: number): boolean {
    if (!this.check(counter)) return false;
    const block = Math.floor(counter / WORD_BITS);
    if (counter > this.last) {
      const current = this.last < 0 ? -1 : Math.floor(this.last / WORD_BITS);
      const steps = Math.min(block - current, REPLAY_RING_WORDS);
      for (let i = 1; i <= steps; i++) this.ring[(current + i) & RING_MASK] = 0;
      this.last = counter;
    }
    const word = block & RING_MASK;
    this.ring[word] = (this.ring[word] as number) | (1 << (counter % WORD_BITS));
    return true;
  }

  /** check + update in one call. */
  accept(counter: number | bigint): boolean {
    const n = typeof counter === 'bigint' ? (counter > BigInt(MAX_SAFE_COUNTER) ? -1 : Number(counter)) : counter;
    return this.update(n);
  }

  /** Highest counter accepted, or -1. */
  get highest(): number {
    return this.last;
  }
}
