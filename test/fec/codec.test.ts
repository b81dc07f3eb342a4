// The FEC state machines (fec/encoder.ts, fec/decoder.ts) on a manual clock: shards leave and arrive
// at once, parity repairs as soon as k shards are there, partial groups flush at the deadline,
// duplicates and stale shards are dropped, memory is bounded.
import { describe, expect, it } from 'vitest';
import { FecDecoder } from '../../src/fec/decoder.js';
import { FecEncoder, partialParity, ringFrame } from '../../src/fec/encoder.js';
import { decodeFecFrame, encodeFecFrame, FEC_DATA_HEADER_BYTES, FecOp } from '../../src/fec/frame.js';
import { toHex } from '../../src/util/bytes.js';
import { Rng } from '../fakes/rng.js';

function rig(k: number, m: number, flushMs = 10, firstGroup = 0) {
  const parity: Uint8Array[] = [];
  const enc = new FecEncoder({ k, m, flushMs, firstGroup, emit: (f) => parity.push(f.slice()) });
  const got: Array<{ hex: string; repaired: boolean }> = [];
  const dec = new FecDecoder({ deliver: (s, repaired) => got.push({ hex: toHex(s), repaired }) });
  return { enc, dec, parity, got };
}

const shard = (i: number, len = 5 + (i % 7)) => Uint8Array.from({ length: len }, (_, b) => (i * 31 + b) & 0xff);

describe('FecEncoder', () => {
  it('with m = 0 hands back the shard itself: FEC adds no bytes on a clean path', () => {
    const { enc, parity } = rig(10, 0);
    const s = shard(1);
    expect(enc.send(s, 0)).toBe(s);
    enc.poll(1000);
    expect(parity).toEqual([]);
    expect(enc.stats.overheadBytes).toBe(0);
    expect(enc.deadline()).toBeUndefined();
  });

  it('sends each DATA frame at once and the parity with the k-th shard', () => {
    const { enc, parity } = rig(3, 2);
    const frames = [0, 1, 2].map((i) => enc.send(shard(i, 4 + i), 0));
    expect(frames.map((f) => decodeFecFrame(f))).toEqual([0, 1, 2].map((i) => ({ op: FecOp.DATA, group: 0, index: i, shard: shard(i, 4 + i) })));
    expect(parity.map((p) => decodeFecFrame(p))).toMatchObject([
      { op: FecOp.PARITY, group: 0, index: 0, k: 3, m: 2 },
      { op: FecOp.PARITY, group: 0, index: 1, k: 3, m: 2 },
    ]);
    expect(parity[0]!.byteLength).toBe(9 + 2 + 6); // header, coded length, longest shard
    expect(enc.deadline()).toBeUndefined();
    expect(decodeFecFrame(enc.send(shard(3), 1))).toMatchObject({ group: 1, index: 0 });
  });

  it('holds no packet: a partial group parity leaves at its deadline, scaled down', () => {
    const { enc, parity } = rig(10, 3, 10);
    enc.send(shard(0), 100);
    enc.send(shard(1), 104);
    expect(enc.deadline()).toBe(110);
    enc.poll(109);
    expect(parity).toEqual([]);
    enc.poll(110);
    expect(parity.map((p) => decodeFecFrame(p))).toMatchObject([{ op: FecOp.PARITY, index: 0, k: 2, m: 1 }]);
    expect(enc.stats).toMatchObject({ groups: 1, partialGroups: 1, dataFrames: 2, parityFrames: 1 });
  });

  it.each([
    [1, 10, 3, 1, 'a lone packet gets one parity (a duplicate)'],
    [5, 10, 3, 2, 'half a group gets half the parity, rounded up'],
    [10, 10, 3, 3, 'a full group gets all'],
    [1, 20, 2, 1, 'never below one'],
  ])('partialParity(%i of k=%i, m=%i) = %i: %s', (n, k, m, want) => {
    expect(partialParity(n, k, m)).toBe(want);
  });

  it('a shape change closes the open group first', () => {
    const { enc, parity } = rig(10, 3);
    enc.send(shard(0), 0);
    enc.setShape({ k: 5, m: 1, flushMs: 10 }, 1);
    expect(parity.map((p) => decodeFecFrame(p))).toMatchObject([{ group: 0, k: 1, m: 1 }]);
    enc.setShape({ k: 5, m: 0, flushMs: 10 }, 2);
    expect(enc.active).toBe(false);
  });

  it('sendInPlace writes the header into reserved headroom and codes the same parity as send', () => {
    const a = rig(2, 1);
    const b = rig(2, 1);
    for (let i = 0; i < 2; i++) {
      const s = shard(i);
      const f = new Uint8Array(FEC_DATA_HEADER_BYTES + s.byteLength);
      f.set(s, FEC_DATA_HEADER_BYTES);
      b.enc.sendInPlace(f, 0);
      expect(toHex(f)).toBe(toHex(a.enc.send(s, 0)));
    }
    expect(b.parity.map(toHex)).toEqual(a.parity.map(toHex));
  });

  it('send frames each shard in a ring of k buffers: no new buffer per packet, the same bytes as a fresh frame', () => {
    const { enc, parity } = rig(3, 1);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 9; i++) {
      const s = shard(i);
      const f = enc.send(s, 0);
      expect(toHex(f)).toBe(toHex(encodeFecFrame({ op: FecOp.DATA, group: Math.floor(i / 3), index: i % 3, shard: s })));
      frames.push(f);
    }
    expect(new Set(frames.map((f) => f.buffer)).size).toBe(3); // index i of every group shares one buffer
    expect(frames[3]!.buffer).toBe(frames[0]!.buffer);
    // The parity of each group was coded before the next group overwrote its frames.
    const p = rig(3, 1);
    for (let i = 0; i < 9; i++) p.enc.send(shard(i), 0).slice();
    expect(parity.map(toHex)).toEqual(p.parity.map(toHex));
  });

  it('a group closed by its deadline inside send frees index 0 for the new group', () => {
    const { enc, parity } = rig(4, 1, 10);
    const a = enc.send(shard(0), 0);
    enc.send(shard(1), 1);
    const b = enc.send(shard(2), 20); // the first group closes here (deadline 10), the new one starts at index 0
    expect(parity).toHaveLength(1);
    expect(b.buffer).toBe(a.buffer);
    expect(decodeFecFrame(b)).toMatchObject({ group: 1, index: 0 });
  });

  it.each([
    [100, 1509, 'an MTU-sized slot for a small shard'],
    [1500, 1509, 'a full MTU shard fits the first slot'],
    [3000, 3009, 'a longer shard grows the slot'],
  ])('ringFrame(%i bytes of shard) keeps a slot of %i bytes: %s', (len, slot) => {
    const ring: Uint8Array[] = [];
    const f = ringFrame(ring, 0, FEC_DATA_HEADER_BYTES + len);
    expect(f.byteLength).toBe(FEC_DATA_HEADER_BYTES + len);
    expect(ring[0]!.byteLength).toBe(slot);
    expect(ringFrame(ring, 0, FEC_DATA_HEADER_BYTES + 10).buffer).toBe(f.buffer);
  });

  it('grows its parity buffers for a shard longer than an MTU', () => {
    const { enc, dec, parity, got } = rig(2, 1);
    const big = shard(9, 3000);
    const f0 = enc.send(shard(0), 0);
    enc.send(big, 0);
    dec.push(f0, 0);
    dec.push(parity[0]!, 0);
    expect(got.at(-1)).toEqual({ hex: toHex(big), repaired: true });
  });
});

describe('FecDecoder', () => {
  /** Sends n shards through a (k, m) encoder; `drop(i)` loses the i-th frame on the wire (data and parity in send order). */
  function run(k: number, m: number, n: number, drop: (i: number, f: Uint8Array) => boolean, firstGroup = 0) {
    const r = rig(k, m, 10, firstGroup);
    const wire: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      wire.push(r.enc.send(shard(i), 0).slice()); // the encoder reuses its frames
      wire.push(...r.parity.splice(0));
    }
    r.enc.poll(1e6);
    wire.push(...r.parity.splice(0));
    wire.forEach((f, i) => {
      if (!drop(i, f)) r.dec.push(f, n);
    });
    return r;
  }

  it('delivers every data shard as it comes and drops the spare parity', () => {
    const { got, dec } = run(4, 2, 8, () => false);
    expect(got).toEqual([...Array(8).keys()].map((i) => ({ hex: toHex(shard(i)), repaired: false })));
    expect(dec.stats).toMatchObject({ repaired: 0, spareParity: 4, unrecoverableGroups: 0 });
  });

  it('repairs a lost shard on the first parity, with its own length', () => {
    const { got, dec } = run(4, 2, 4, (i) => i === 1);
    expect(got.map((g) => g.hex)).toEqual([0, 2, 3, 1].map((i) => toHex(shard(i))));
    expect(got[3]!.repaired).toBe(true);
    expect(dec.stats).toMatchObject({ repaired: 1, spareParity: 1 });
  });

  it('repairs m lost shards, gives up on m + 1 and counts the group when it times out', () => {
    const two = run(4, 2, 4, (i) => i === 0 || i === 3);
    expect(two.got.filter((g) => g.repaired).map((g) => g.hex)).toEqual([toHex(shard(0)), toHex(shard(3))]);
    const three = run(4, 2, 4, (i) => i < 3);
    expect(three.got.map((g) => g.hex)).toEqual([toHex(shard(3))]);
    three.dec.expire(4 + 299);
    expect(three.dec.stats.unrecoverableGroups).toBe(0);
    three.dec.expire(4 + 300);
    expect(three.dec.stats).toMatchObject({ unrecoverableGroups: 1, unrecoveredShards: 3 });
    expect(three.dec.openGroups).toBe(0);
  });

  it('parity before data (reordering): data still delivered at once, repair when k are present', () => {
    const r = rig(3, 1);
    const frames = [0, 1, 2].map((i) => r.enc.send(shard(i), 0));
    r.dec.push(r.parity[0]!, 0);
    r.dec.push(frames[2]!, 0);
    expect(r.got).toEqual([{ hex: toHex(shard(2)), repaired: false }]);
    r.dec.push(frames[0]!, 0);
    expect(r.got.map((g) => [g.hex, g.repaired])).toEqual([
      [toHex(shard(2)), false],
      [toHex(shard(0)), false],
      [toHex(shard(1)), true],
    ]);
    r.dec.push(frames[1]!, 0); // the original, after its repair
    expect(r.got).toHaveLength(3);
    expect(r.dec.stats.duplicates).toBe(1);
  });

  it('drops a duplicated DATA frame and a duplicated PARITY frame', () => {
    const r = rig(3, 2);
    const f = r.enc.send(shard(0), 0);
    r.dec.push(f, 0);
    r.dec.push(f, 0);
    r.enc.poll(100);
    r.dec.push(r.parity[0]!, 100);
    expect(r.dec.stats.duplicates).toBe(1);
    expect(r.got).toHaveLength(1);
  });

  it('groups across the u32 wrap of the group id', () => {
    const { got, dec } = run(2, 1, 8, (i) => i % 3 === 0, 0xfffffffe);
    expect(new Set(got.map((g) => g.hex))).toEqual(new Set([...Array(8).keys()].map((i) => toHex(shard(i)))));
    expect(dec.stats.repaired).toBe(4);
  });

  it('bounds memory: at most maxGroups, the oldest forgotten (and counted when incomplete); its late data still delivered, late parity dropped', () => {
    const parity: Uint8Array[] = [];
    const enc = new FecEncoder({ k: 4, m: 1, flushMs: 10, emit: (f) => parity.push(f.slice()) });
    const got: Uint8Array[] = [];
    const dec = new FecDecoder({ deliver: (s) => got.push(s), maxGroups: 4 });
    const held: Uint8Array[] = [];
    for (let g = 0; g < 10; g++) {
      for (let i = 0; i < 4; i++) {
        const f = enc.send(shard(g * 4 + i), g).slice(); // the encoder reuses its frames
        if (i === 1) held.push(f);
        else dec.push(f, g);
      }
      expect(dec.openGroups).toBeLessThanOrEqual(4);
    }
    // No parity arrived, so k is unknown: the gap below the highest index seen is what counts.
    expect(dec.stats).toMatchObject({ unrecoverableGroups: 6, unrecoveredShards: 6 });
    dec.push(held[0]!, 10);
    dec.push(parity[0]!, 10);
    expect(dec.stats).toMatchObject({ lateData: 1, lateParity: 1 });
    expect(toHex(got.at(-1)!)).toBe(toHex(shard(1)));
  });

  it('counts and drops frames that do not decode or disagree with their group, and never throws', () => {
    const r = rig(3, 2);
    r.dec.push(Uint8Array.of(5), 0);
    r.dec.push(Uint8Array.of(5, 9), 0);
    const f = r.enc.send(shard(0), 0);
    r.enc.send(shard(1), 0);
    r.enc.send(shard(2), 0);
    r.dec.push(f, 0);
    r.dec.push(r.parity[0]!, 50);
    const wrongK = r.parity[0]!.slice();
    wrongK[7] = 2;
    wrongK[8] = 2;
    r.dec.push(wrongK, 50);
    expect(r.dec.stats.badFrames).toBe(3);
  });

  it('seeded random loss of at most m per group: every shard delivered exactly once', () => {
    const rng = new Rng(1919);
    for (let round = 0; round < 20; round++) {
      const k = 1 + rng.int(20);
      const m = 1 + rng.int(4);
      const n = k * (1 + rng.int(5));
      const r = rig(k, m);
      const wire: Array<{ f: Uint8Array; group: number }> = [];
      for (let i = 0; i < n; i++) {
        wire.push({ f: r.enc.send(shard(i, 1 + rng.int(1400)), 0).slice(), group: Math.floor(i / k) });
        for (const p of r.parity.splice(0)) wire.push({ f: p, group: Math.floor(i / k) });
      }
      const lostPerGroup = new Map<number, number>();
      const sent: string[] = [];
      for (const w of wire) {
        const d = decodeFecFrame(w.f);
        if (d.op === FecOp.DATA) sent.push(toHex(d.shard));
        const lost = lostPerGroup.get(w.group) ?? 0;
        if (lost < m && rng.chance(0.2)) {
          lostPerGroup.set(w.group, lost + 1);
          continue;
        }
        r.dec.push(w.f, 0);
      }
      expect(r.got.map((g) => g.hex).sort()).toEqual(sent.sort());
      expect(r.dec.stats.unrecoverableGroups).toBe(0);
    }
  });
  it('reuses forgotten groups and kept slots without carrying anything over: 400 seeded groups through a decoder that keeps 3', () => {
    // Groups are forgotten (maxGroups 3) complete or not, then reused for new ids; slots go round
    // with symbols of every length. Per group up to m + 1 frames are lost and the data reordered.
    const rng = new Rng(2016);
    const k = 6;
    const m = 2;
    const parity: Uint8Array[] = [];
    const enc = new FecEncoder({ k, m, flushMs: 10, emit: (f) => parity.push(f.slice()) });
    const got: Array<{ hex: string; repaired: boolean }> = [];
    const dec = new FecDecoder({ deliver: (s, repaired) => got.push({ hex: toHex(s), repaired }), maxGroups: 3 });
    const want: string[] = [];
    let repairs = 0;
    const slot = new Uint8Array(4096);
    for (let g = 0; g < 400; g++) {
      const frames: Array<{ f: Uint8Array; hex?: string }> = [];
      for (let i = 0; i < k; i++) {
        const sh = new Uint8Array(4 + rng.int(1400)).map((_, b) => (b * 7 + g) & 0xff);
        new DataView(sh.buffer).setUint32(0, g * k + i, true); // every shard unlike any other
        frames.push({ f: enc.send(sh, 0).slice(), hex: toHex(sh) });
      }
      for (const f of parity.splice(0)) frames.push({ f });
      const lost = new Set<number>();
      for (let n = rng.int(m + 2); lost.size < n; ) lost.add(rng.int(frames.length));
      for (let i = 0; i < frames.length; i++) {
        const hex = frames[i]!.hex;
        if (hex === undefined) continue;
        if (!lost.has(i)) want.push(hex);
        else if (lost.size <= m) {
          want.push(hex);
          repairs++;
        }
      }
      // The data that is left in a random order, then the parity (parity first would repair
      // shards still on their way: counted as repaired, then dropped as duplicates).
      const order = frames.filter((_, i) => !lost.has(i));
      for (let i = k - lost.size; i > 0; i--) {
        const j = rng.int(i + 1);
        if (order[i]!.hex !== undefined && order[j]!.hex !== undefined) [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (const { f } of order) {
        slot.set(f);
        dec.push(slot.subarray(0, f.byteLength), 0);
        slot.fill(0xee);
      }
    }
    expect(repairs).toBeGreaterThan(100);
    expect(got.map((x) => x.hex).sort()).toEqual(want.sort());
    expect(got.filter((x) => x.repaired).length).toBe(repairs);
    expect(dec.stats.badFrames).toBe(0);
  });

  it('copies what it keeps: frames handed in one reused receive slot, overwritten after each push, still repair (also a symbol past a slot)', () => {
    // The peer decrypts in place in the native socket's receive slots, which the next batch overwrites:
    // the decoder must not keep views of them. 6 groups of 4 + 2, two data shards lost in each, the
    // parity arriving before the data that is left (reordering); slots are reused across groups.
    const rng = new Rng(7);
    const k = 4;
    const r = rig(k, 2);
    const groups: Uint8Array[][] = [];
    const sent: string[] = [];
    for (let g = 0; g < 6; g++) {
      const frames: Uint8Array[] = [];
      for (let i = 0; i < k; i++) {
        const sh = shard(g * k + i, g === 5 && i === 1 ? 2500 : 1 + rng.int(1400));
        sent.push(toHex(sh));
        frames.push(r.enc.send(sh, 0).slice());
      }
      groups.push([...r.parity.splice(0), frames[1]!, frames[3]!]); // data 0 and 2 lost
    }
    const slot = new Uint8Array(4096);
    for (const frames of groups) {
      for (const f of frames) {
        slot.set(f);
        r.dec.push(slot.subarray(0, f.byteLength), 0);
        slot.fill(0xee); // the next recvmmsg batch
      }
    }
    expect(r.got.map((g) => g.hex).sort()).toEqual(sent.sort());
    expect(r.dec.stats).toMatchObject({ repaired: 12, unrecoverableGroups: 0, badFrames: 0 });
  });
});
