// Allocation-free containers for kcp.ts: a growable FIFO (snd_queue, rcv_queue) and a table of
// slots indexed by sequence number modulo a power of two (snd_buf, rcv_buf). The reference uses
// linked lists; slots give O(1) ack and insert lookups for the same ordering.

function pow2AtLeast(n: number): number {
  let c = 8;
  while (c < n) c *= 2;
  return c;
}

/** First-in first-out queue on a circular array that doubles when full. */
export class Fifo<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(capacity = 16) {
    this.items = new Array<T | undefined>(pow2AtLeast(capacity));
  }

  get length(): number {
    return this.count;
  }

  push(v: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = v;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const v = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return v;
  }

  /** The i-th item from the front (0 = next out), or undefined. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.items[(this.head + i) & (this.items.length - 1)];
  }

  last(): T | undefined {
    return this.at(this.count - 1);
  }

  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.items = next;
    this.head = 0;
  }
}

/** Local tuning: slots a SeqSlots starts with; it doubles on a collision up to its reserved capacity. */
export const SEQ_SLOTS_INITIAL = 64;

/**
 * Slots keyed by a u32 sequence number modulo a power-of-two capacity. The owner guarantees that
 * the live keys span less than the reserved capacity (KCP's windows bound them) and calls reserve()
 * when a window grows. The table itself starts at SEQ_SLOTS_INITIAL slots and doubles when a key
 * lands on a slot held by another, up to the reserved capacity: a lane that carries pings keeps
 * 64 slots instead of a 16,384-slot table (128 KB of V8 heap per table, two per control block,
 * three lanes per pair; issue 19 item 7).
 */
export class SeqSlots<T extends { sn: number }> {
  private slots: (T | undefined)[];
  private mask: number;
  private limit: number;
  size = 0;

  constructor(capacity: number, initial = SEQ_SLOTS_INITIAL) {
    this.limit = pow2AtLeast(capacity);
    const c = Math.min(this.limit, pow2AtLeast(initial));
    this.slots = new Array<T | undefined>(c);
    this.mask = c - 1;
  }

  /** The reserved capacity: live keys may span up to it. */
  get capacity(): number {
    return this.limit;
  }

  /** Slots allocated now (<= capacity); for tests. */
  get allocated(): number {
    return this.mask + 1;
  }

  /** The item stored under exactly sn, or undefined. */
  get(sn: number): T | undefined {
    const v = this.slots[sn & this.mask];
    return v !== undefined && v.sn === sn ? v : undefined;
  }

  set(v: T): void {
    let i = v.sn & this.mask;
    let held = this.slots[i];
    // Another key here: the live span outgrew the table (never the reserved capacity). Double until
    // the two part; at the capacity the old rule stands (the owner's span guarantee).
    while (held !== undefined && held.sn !== v.sn && this.mask + 1 < this.limit) {
      this.resize(2 * (this.mask + 1));
      i = v.sn & this.mask;
      held = this.slots[i];
    }
    if (held === undefined) this.size++;
    this.slots[i] = v;
  }

  /** Removes and returns the item under sn, if present. */
  take(sn: number): T | undefined {
    const i = sn & this.mask;
    const v = this.slots[i];
    if (v === undefined || v.sn !== sn) return undefined;
    this.slots[i] = undefined;
    this.size--;
    return v;
  }

  /** Lets live keys span up to n (allocates nothing until a collision asks for it). */
  reserve(n: number): void {
    if (n > this.limit) this.limit = pow2AtLeast(n);
  }

  /** Calls fn on every item (unordered) and empties the table. */
  drain(fn: (v: T) => void): void {
    for (let i = 0; i < this.slots.length; i++) {
      const v = this.slots[i];
      if (v !== undefined) {
        this.slots[i] = undefined;
        fn(v);
      }
    }
    this.size = 0;
  }

  private resize(c: number): void {
    const old = this.slots;
    this.slots = new Array<T | undefined>(c);
    this.mask = c - 1;
    for (const v of old) if (v !== undefined) this.slots[v.sn & this.mask] = v;
  }
}

/**
 * Last-in first-out stack whose array never shrinks under it. V8 trims an array's store when pop()
 * takes it under half (and drops it at empty), so the next pushes copy it again: a KCP segment pool
 * swinging between empty and thousands of spares within a round trip reallocated its store at every
 * swing, each copy past 128 KB straight into old space (issue 19 item 7, session 17).
 */
export class Stack<T> {
  private items: (T | undefined)[] = [];
  private top = 0;

  get length(): number {
    return this.top;
  }

  push(v: T): void {
    this.items[this.top++] = v;
  }

  pop(): T | undefined {
    if (this.top === 0) return undefined;
    const v = this.items[--this.top];
    this.items[this.top] = undefined;
    return v;
  }

  /** The i-th from the bottom (0 = first pushed), or undefined. */
  at(i: number): T | undefined {
    return i >= 0 && i < this.top ? this.items[i] : undefined;
  }

  /** Empties the stack and returns what it held, bottom first; the store goes with it. */
  takeAll(): T[] {
    const out = this.items.slice(0, this.top) as T[];
    this.items = [];
    this.top = 0;
    return out;
  }
}
