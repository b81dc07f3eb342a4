// MAP parts built from encoded entries must be exactly what encodeControl writes for the same
// message (the hub caches and reuses them; a peer decodes them with the ordinary codec).
import { describe, expect, it } from 'vitest';
import { buildParts, encodeMapEntry, withSeq } from '../../src/hub/map-parts.js';
import { mapPartBudgetBytes } from '../../src/hub/map-sender.js';
import { ControlType, decodeControl, encodeControl, MAP_HEADER_BYTES, mapEntryBytes, MapOp, type MapEntry } from '../../src/wire/control.js';
import { decodeInner, encodeInner, InnerKind } from '../../src/wire/inner.js';

const entry = (i: number): MapEntry => ({
  op: i % 7 === 0 ? MapOp.REMOVE : MapOp.UPSERT,
  publicKey: new Uint8Array(32).fill(i & 255),
  overlay: (0x0a090000 + i) >>> 0,
  bootId: BigInt(i) * 0x1_0000_0001n,
  name: i % 3 === 0 ? '' : `peer-number-${i}-é`,
  reflexive: { address: `198.51.100.${i % 250}`, port: 40000 + i },
  lan: Array.from({ length: i % 3 }, (_, k) => ({ address: `192.168.${k}.${i % 250}`, port: 5000 + k })),
});

describe('MAP parts', () => {
  it('encodes an entry to exactly its share of encodeControl and mapEntryBytes', () => {
    for (let i = 0; i < 20; i++) {
      const e = entry(i);
      const whole = encodeControl({ type: ControlType.MAP, seq: 9, version: 1, base: 0, part: 0, parts: 1, entries: [e] });
      expect(Buffer.from(encodeMapEntry(e)).toString('hex')).toBe(Buffer.from(whole.subarray(MAP_HEADER_BYTES)).toString('hex'));
      expect(encodeMapEntry(e).byteLength).toBe(mapEntryBytes(e));
    }
  });

  it('builds parts within the budget, every entry once, byte-identical to encodeControl with the seq written in', () => {
    const entries = Array.from({ length: 90 }, (_, i) => entry(i));
    const parts = buildParts(77, 5, entries.map(encodeMapEntry), mapPartBudgetBytes);
    expect(parts.length).toBeGreaterThan(3);
    let from = 0;
    parts.forEach((p, i) => {
      const seq = 0xfedc0000 + i;
      const bytes = withSeq(p, seq);
      const want = encodeInner({
        kind: InnerKind.CONTROL,
        body: encodeControl({ type: ControlType.MAP, seq, version: 77, base: 5, part: i, parts: parts.length, entries: entries.slice(from, from + p.entries) }),
      });
      expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(want).toString('hex'));
      const inner = decodeInner(bytes);
      if (inner.kind !== InnerKind.CONTROL) throw new Error('not CONTROL');
      expect(inner.body.byteLength).toBeLessThanOrEqual(mapPartBudgetBytes);
      expect(decodeControl(inner.body)).toMatchObject({ type: ControlType.MAP, seq, part: i, parts: parts.length });
      from += p.entries;
    });
    expect(from).toBe(entries.length);
  });

  it('writes a new seq over the old one (the same part goes to many members)', () => {
    const [p] = buildParts(3, 0, [encodeMapEntry(entry(1))], mapPartBudgetBytes);
    withSeq(p!, 0xffffffff);
    const inner = decodeInner(withSeq(p!, 42));
    if (inner.kind !== InnerKind.CONTROL) throw new Error('not CONTROL');
    expect(decodeControl(inner.body).seq).toBe(42);
  });

  it('gives an empty delta one part with no entries', () => {
    const parts = buildParts(4, 4, [], mapPartBudgetBytes);
    expect(parts.length).toBe(1);
    const inner = decodeInner(withSeq(parts[0]!, 1));
    if (inner.kind !== InnerKind.CONTROL) throw new Error('not CONTROL');
    expect(decodeControl(inner.body)).toMatchObject({ entries: [], parts: 1 });
  });
});
