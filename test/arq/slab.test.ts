// The slab allocator (src/arq/slab.ts): slots reused, slabs growing from min to max slots, a slab
// let go only when every slot in it is free, and no two live holders sharing a byte (seeded fuzz).
import { describe, expect, it } from 'vitest';
import { NO_SLOT, SlabAllocator, type SlotHolder } from '../../src/arq/slab.js';

function holder(): SlotHolder {
  return { data: NO_SLOT, off: 0, cap: 0, slab: undefined };
}

/** mulberry32: a small seeded PRNG, so a failing fuzz case replays. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SlabAllocator', () => {
  it('carves slabs of min slots doubling to max, one slot after another', () => {
    const s = new SlabAllocator(100, 4, 16);
    const hs = Array.from({ length: 4 + 8 + 16 + 16 }, holder);
    for (const h of hs) s.carve(h);
    expect(s.slabAllocs).toBe(4);
    expect(s.liveSlabs).toBe(4);
    expect(hs.map((h) => h.data.length)).toEqual([
      ...Array<number>(4).fill(400),
      ...Array<number>(8).fill(800),
      ...Array<number>(32).fill(1600),
    ]);
    expect(hs.slice(0, 4).map((h) => h.off)).toEqual([0, 100, 200, 300]);
    expect(hs.every((h) => h.cap === 100)).toBe(true);
  });

  it('reuses a freed slot before carving a new slab', () => {
    const s = new SlabAllocator(64, 4, 4);
    const hs = Array.from({ length: 4 }, holder);
    for (const h of hs) s.carve(h);
    const { data, off } = hs[2]!;
    s.free(hs[2]!);
    expect(hs[2]!.slab).toBeUndefined();
    expect(hs[2]!.cap).toBe(0);
    const again = holder();
    s.carve(again);
    expect(again.data).toBe(data);
    expect(again.off).toBe(off);
    expect(s.slabAllocs).toBe(1);
  });

  it('lets a slab go only when all its slots are free, and never hands it out again', () => {
    const s = new SlabAllocator(32, 4, 4);
    const hs = Array.from({ length: 8 }, holder);
    for (const h of hs) s.carve(h);
    const first = hs[0]!.data;
    expect(s.liveSlabs).toBe(2);
    for (const h of hs.slice(0, 3)) s.free(h);
    expect(s.liveSlabs).toBe(2); // one slot of the first slab is still live
    s.free(hs[3]!);
    expect(s.liveSlabs).toBe(1);
    // The next slots come from the second slab's free ones, then a new slab, never the first.
    s.free(hs[4]!);
    const a = holder();
    const b = holder();
    s.carve(a);
    s.carve(b);
    expect(a.data).toBe(hs[5]!.data);
    expect(b.data).not.toBe(first);
    expect(b.data).not.toBe(hs[5]!.data);
    expect(s.slabAllocs).toBe(3);
  });

  it('starts again from min slots once every slab is gone', () => {
    const s = new SlabAllocator(10, 2, 8);
    const hs = Array.from({ length: 2 + 4 + 8 }, holder);
    for (const h of hs) s.carve(h);
    for (const h of hs) s.free(h);
    expect(s.liveSlabs).toBe(0);
    const h = holder();
    s.carve(h);
    expect(h.data.length).toBe(20);
  });

  it('after setSlotBytes carves slots of the new size, and old slots stay valid until freed', () => {
    const s = new SlabAllocator(50, 4, 4);
    const old = holder();
    s.carve(old);
    old.data.fill(7, old.off, old.off + old.cap);
    s.setSlotBytes(80);
    const hs = Array.from({ length: 4 }, holder);
    for (const h of hs) {
      s.carve(h);
      h.data.fill(9, h.off, h.off + h.cap);
    }
    expect(hs.every((h) => h.cap === 80 && h.data !== old.data)).toBe(true);
    expect(old.data.subarray(old.off, old.off + 50).every((x) => x === 7)).toBe(true);
    s.free(old);
    expect(s.liveSlabs).toBe(1);
  });

  it('freeing a holder without a slot does nothing', () => {
    const s = new SlabAllocator(10, 1, 1);
    const h = holder();
    s.free(h);
    const own: SlotHolder = { data: new Uint8Array(30), off: 0, cap: 30, slab: undefined };
    s.free(own);
    expect(own.cap).toBe(30);
    expect(s.liveSlabs).toBe(0);
  });

  it.each([
    [0, 4, 4, 'no slot size'],
    [1.5, 4, 4, 'a fractional slot size'],
    [64, 0, 4, 'no slots per slab'],
    [64, 8, 4, 'max slots below min'],
  ])('rejects slotBytes %d, slots %d..%d (%s)', (slotBytes, minSlots, maxSlots) => {
    expect(() => new SlabAllocator(slotBytes, minSlots, maxSlots)).toThrow(RangeError);
  });

  it.each([1, 2, 3, 0xdecaf])('fuzz (seed %i): live holders never share a byte, and their bytes stay theirs', (seed) => {
    const rand = prng(seed);
    let size = 24;
    const s = new SlabAllocator(size, 2, 16);
    const live: { h: SlotHolder; tag: number }[] = [];
    let tag = 0;
    for (let step = 0; step < 4000; step++) {
      const r = rand();
      if (r < 0.55 || live.length === 0) {
        const h = holder();
        s.carve(h);
        tag = (tag % 255) + 1;
        h.data.fill(tag, h.off, h.off + h.cap);
        live.push({ h, tag });
      } else if (r < 0.98) {
        const i = Math.floor(rand() * live.length);
        s.free(live[i]!.h);
        live[i] = live[live.length - 1]!;
        live.pop();
      } else {
        size = 16 + Math.floor(rand() * 32);
        s.setSlotBytes(size);
      }
      if (step % 50 === 0 || step === 3999) {
        // Every live holder's bytes are still its tag: no other carve handed out any of them.
        let wrong = 0;
        for (const { h, tag: t } of live) {
          for (let i = h.off; i < h.off + h.cap; i++) if (h.data[i] !== t) wrong++;
        }
        expect(wrong).toBe(0);
        const slabs = new Set(live.map(({ h }) => h.slab));
        expect(s.liveSlabs).toBe(slabs.size);
      }
    }
    for (const { h } of live) s.free(h);
    expect(s.liveSlabs).toBe(0);
  });
});
