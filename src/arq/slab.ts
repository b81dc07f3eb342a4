// Payload slots for KCP segments carved from shared slabs (kcp.ts acquire), so a segment costs no
// ArrayBuffer of its own: one per 1.4 KB segment cost ~0.75 KB of wrappers and malloc bookkeeping
// beside its payload, ~11 MB at a sender's ~15,000 in-flight segments at 200 ms (issue 19 item 7).
// Pure: no I/O, no timers. A slab is let go (left to the collector) once every slot in it is free.

/** One shared buffer cut into slots of slotBytes. */
export class Slab {
  /** Offsets of slots handed back, reused before the slab's never-used tail. */
  readonly free: number[] = [];
  /** Offset of the first never-used slot. */
  next = 0;
  /** Slots handed out and not yet freed. */
  live = 0;
  /** Index in its allocator's list of slabs with room; -1 when full, let go or of an old slot size. */
  openAt = -1;
  constructor(
    readonly bytes: Uint8Array,
    readonly slotBytes: number,
  ) {}

  get full(): boolean {
    return this.free.length === 0 && this.next + this.slotBytes > this.bytes.length;
  }
}

/** What holds a slot: its payload is data[off, off + cap). slab is undefined when it holds none. */
export interface SlotHolder {
  data: Uint8Array;
  off: number;
  cap: number;
  slab: Slab | undefined;
}

/** The payload of a holder without a slot. */
export const NO_SLOT = new Uint8Array(0);

/**
 * Hands out slots of slotBytes from slabs of minSlots slots, each next slab twice the last up to
 * maxSlots (a lane that sends little allocates little), and reuses freed slots of slabs with room
 * before carving a new slab. Frees are rare on the data path (kcp.ts keeps a transfer's segments,
 * slots and all, in its pool); a slab with no live slot is dropped at once.
 */
export class SlabAllocator {
  /** Slabs of the current slot size with a free slot; allocation takes from the last. */
  private readonly open: Slab[] = [];
  private nextSlots: number;
  private slotBytesNow: number;
  /** Slabs allocated, ever (a benchmark counter), and slabs holding a live slot now. */
  slabAllocs = 0;
  liveSlabs = 0;

  constructor(
    slotBytes: number,
    private readonly minSlots: number,
    private readonly maxSlots: number,
  ) {
    if (!Number.isInteger(slotBytes) || slotBytes <= 0) throw new RangeError(`slotBytes out of range: ${slotBytes}`);
    if (!Number.isInteger(minSlots) || minSlots <= 0 || maxSlots < minSlots) {
      throw new RangeError(`slab slots out of range: ${minSlots}..${maxSlots}`);
    }
    this.slotBytesNow = slotBytes;
    this.nextSlots = minSlots;
  }

  get slotBytes(): number {
    return this.slotBytesNow;
  }

  /**
   * A new slot size (kcp.ts setMtu): slabs of the old size serve no new slot; their live slots
   * stay valid until freed.
   */
  setSlotBytes(slotBytes: number): void {
    if (slotBytes === this.slotBytesNow) return;
    if (!Number.isInteger(slotBytes) || slotBytes <= 0) throw new RangeError(`slotBytes out of range: ${slotBytes}`);
    for (const s of this.open) s.openAt = -1;
    this.open.length = 0;
    this.slotBytesNow = slotBytes;
    this.nextSlots = this.minSlots;
  }

  /** Gives h a slot of slotBytes (freeing the one it held, if any). */
  carve(h: SlotHolder): void {
    if (h.slab !== undefined) this.free(h);
    let slab = this.open[this.open.length - 1];
    if (slab === undefined) {
      const size = this.slotBytesNow;
      slab = new Slab(new Uint8Array(this.nextSlots * size), size);
      if (this.nextSlots < this.maxSlots) this.nextSlots = Math.min(this.nextSlots * 2, this.maxSlots);
      this.slabAllocs++;
      this.liveSlabs++;
      slab.openAt = this.open.length;
      this.open.push(slab);
    }
    let off = slab.free.pop();
    if (off === undefined) {
      off = slab.next;
      slab.next += slab.slotBytes;
    }
    slab.live++;
    if (slab.full) this.unlist(slab);
    h.data = slab.bytes;
    h.off = off;
    h.cap = slab.slotBytes;
    h.slab = slab;
  }

  /** Hands h's slot back; h holds none after. A holder without a slot (or a buffer of its own) is left as is. */
  free(h: SlotHolder): void {
    const slab = h.slab;
    if (slab === undefined) return;
    const off = h.off;
    h.slab = undefined;
    h.data = NO_SLOT;
    h.off = 0;
    h.cap = 0;
    slab.live--;
    if (slab.live === 0) {
      // Let it go: nothing of it is in use, and the list must not hand it out again.
      if (slab.openAt >= 0) this.unlist(slab);
      slab.free.length = 0;
      slab.next = slab.bytes.length;
      this.liveSlabs--;
      if (this.liveSlabs === 0) this.nextSlots = this.minSlots;
      return;
    }
    slab.free.push(off);
    if (slab.openAt < 0 && slab.slotBytes === this.slotBytesNow) {
      slab.openAt = this.open.length;
      this.open.push(slab);
    }
  }

  private unlist(slab: Slab): void {
    const i = slab.openAt;
    const last = this.open.pop()!;
    if (last !== slab) {
      this.open[i] = last;
      last.openAt = i;
    }
    slab.openAt = -1;
  }
}
