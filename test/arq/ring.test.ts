import { describe, expect, it } from 'vitest';
import { SEQ_SLOTS_INITIAL, SeqSlots, Stack } from '../../src/arq/ring.js';
import { Rng } from '../fakes/rng.js';

interface Item {
  sn: number;
}

describe('SeqSlots', () => {
  it('starts small and allocates only what the live span asks, never past the reserved capacity', () => {
    const cases: { capacity: number; span: number; want: number }[] = [
      { capacity: 16384, span: 1, want: SEQ_SLOTS_INITIAL },
      { capacity: 16384, span: 64, want: 64 },
      { capacity: 16384, span: 65, want: 128 },
      { capacity: 16384, span: 3000, want: 4096 },
      { capacity: 16384, span: 16384, want: 16384 },
      { capacity: 32, span: 32, want: 32 },
    ];
    for (const c of cases) {
      const t = new SeqSlots<Item>(c.capacity);
      const base = 0xfffffff0; // the keys wrap past 2^32
      for (let i = 0; i < c.span; i++) t.set({ sn: (base + i) >>> 0 });
      expect(t.allocated, JSON.stringify(c)).toBe(c.want);
      expect(t.capacity).toBe(c.capacity);
      expect(t.size).toBe(c.span);
      for (let i = 0; i < c.span; i++) expect(t.get((base + i) >>> 0)?.sn).toBe((base + i) >>> 0);
    }
  });

  it('reserve raises the capacity without allocating', () => {
    const t = new SeqSlots<Item>(128);
    t.reserve(16384);
    expect(t.capacity).toBe(16384);
    expect(t.allocated).toBe(SEQ_SLOTS_INITIAL);
    for (let i = 0; i < 1000; i++) t.set({ sn: i });
    expect(t.allocated).toBe(1024);
  });

  it('behaves as a map of the live keys under a sliding window (seeded)', () => {
    const rng = new Rng(19);
    for (let round = 0; round < 10; round++) {
      const capacity = 1 << (6 + rng.int(8)); // 64 .. 8192
      const t = new SeqSlots<Item>(capacity);
      const model = new Map<number, Item>();
      let una = rng.int(2 ** 32) >>> 0;
      let nxt = una;
      for (let step = 0; step < 3000; step++) {
        const r = rng.next();
        if (r < 0.45 && ((nxt - una) >>> 0) < capacity) {
          const it = { sn: nxt };
          t.set(it);
          model.set(nxt, it);
          nxt = (nxt + 1) >>> 0;
        } else if (r < 0.75 && model.size > 0) {
          // acknowledge one in the window (selective), as an ACK does
          const sn = (una + rng.int(((nxt - una) >>> 0) || 1)) >>> 0;
          expect(t.take(sn)).toBe(model.get(sn));
          model.delete(sn);
        } else {
          // cumulative: everything below a new una goes
          const adv = rng.int(((nxt - una) >>> 0) + 1);
          for (let k = 0; k < adv; k++) {
            const sn = (una + k) >>> 0;
            expect(t.take(sn)).toBe(model.get(sn));
            model.delete(sn);
          }
          una = (una + adv) >>> 0;
        }
        expect(t.size).toBe(model.size);
        expect(t.allocated).toBeLessThanOrEqual(capacity);
      }
      for (let sn = una; sn !== nxt; sn = (sn + 1) >>> 0) expect(t.get(sn)).toBe(model.get(sn));
      const drained: number[] = [];
      t.drain((v) => drained.push(v.sn));
      expect(drained.sort((a, b) => a - b)).toEqual([...model.keys()].sort((a, b) => a - b));
      expect(t.size).toBe(0);
    }
  });
});

describe('Stack', () => {
  it('pops in reverse push order and keeps nothing it gave out (seeded against an array)', () => {
    const rng = new Rng(7);
    const st = new Stack<Item>();
    const model: Item[] = [];
    for (let step = 0; step < 5000; step++) {
      if (rng.chance(0.55)) {
        const it = { sn: step };
        st.push(it);
        model.push(it);
      } else expect(st.pop()).toBe(model.pop());
      expect(st.length).toBe(model.length);
      if (model.length > 0) expect(st.at(model.length - 1)).toBe(model[model.length - 1]);
      expect(st.at(model.length)).toBeUndefined();
    }
    expect(st.takeAll()).toEqual(model);
    expect(st.length).toBe(0);
    expect(st.pop()).toBeUndefined();
  });
});
