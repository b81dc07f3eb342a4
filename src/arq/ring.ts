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

/**
 * Slots keyed by a u32 sequence number modulo a power-of-two capacity. The owner guarantees that
 * the live keys span less than `capacity` (KCP's windows bound them) and calls reserve() when a
 * window grows.
 */
export class SeqSlots<T extends { sn: number }> {
  private slots: (T | undefined)[];
  private mask: number;
  size = 0;

  constructor(capacity: number) {
    const c = pow2AtLeast(capacity);
    this.slots = new Array<T | undefined>(c);
    this.mask = c - 1;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /** The item stored under exactly sn, or undefined. */
  get(sn: number): T | undefined {
    const v = this.slots[sn & this.mask];
    return v !== undefined && v.sn === sn ? v : undefined;
  }

  set(v: T): void {
    const i = v.sn & this.mask;
    if (this.slots[i] === undefined) this.size++;
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

  /** Grows so that spans up to n fit; re-places the items. */
  reserve(n: number): void {
    if (n <= this.mask + 1) return;
    const old = this.slots;
    const c = pow2AtLeast(n);
    this.slots = new Array<T | undefined>(c);
    this.mask = c - 1;
    for (const v of old) if (v !== undefined) this.slots[v.sn & this.mask] = v;
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
}
