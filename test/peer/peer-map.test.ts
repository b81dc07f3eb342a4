// The peer's map: full replace, deltas by version rules (apply, gap, stale), self left out.
import { describe, expect, it } from 'vitest';
import { PeerMap } from '../../src/peer/peer-map.js';
import { keyId } from '../../src/link/key-id.js';
import { MapOp, type MapEntry } from '../../src/wire/control.js';

const key = (n: number) => new Uint8Array(32).fill(n);
const entry = (n: number, op = MapOp.UPSERT, port = 1000 + n): MapEntry => ({
  op, publicKey: key(n), overlay: 0x0a090000 + n, bootId: BigInt(n), name: `p${n}`, reflexive: { address: '198.51.100.1', port }, lan: [],
});

describe('PeerMap', () => {
  it('replaces on a full map and leaves itself out', () => {
    const m = new PeerMap(keyId(key(1)));
    const ev = m.applyFull(3, [entry(1), entry(2), entry(3)]);
    expect(ev.map((e) => `${e.type}:${e.peer.name}`)).toEqual(['upsert:p2', 'upsert:p3']);
    const ev2 = m.applyFull(5, [entry(3)]);
    expect(ev2.map((e) => `${e.type}:${e.peer.name}`)).toEqual(['remove:p2']);
    expect(m.version).toBe(5);
  });

  it.each([
    ['a delta from our version applies', 3, 4, 'applied'],
    ['a delta from an older base applies (entries are full states)', 2, 4, 'applied'],
    ['a delta from a version we never saw is a gap (ask for repair)', 4, 5, 'gap'],
    ['a delta we already have is stale', 1, 3, 'stale'],
  ])('%s', (_why, base, version, want) => {
    const m = new PeerMap(keyId(key(1)));
    m.applyFull(3, [entry(2)]);
    const r = m.applyDelta(base, version, [entry(2, MapOp.UPSERT, 9999)]);
    expect(Object.keys(r)[0]).toBe(want);
  });

  it('reports a changed peer with its previous state, and removes', () => {
    const m = new PeerMap(keyId(key(1)));
    m.applyFull(1, [entry(2)]);
    const r = m.applyDelta(1, 2, [entry(2, MapOp.UPSERT, 5555)]);
    expect('applied' in r && r.applied[0]?.type === 'upsert' && r.applied[0].previous?.reflexive.port).toBe(1002);
    const r2 = m.applyDelta(2, 3, [entry(2, MapOp.REMOVE)]);
    expect('applied' in r2 && r2.applied.map((e) => e.type)).toEqual(['remove']);
    expect(m.get(0x0a090002)).toBeUndefined();
  });
});

describe('address -> key memory (H1)', () => {
  it('reports an address that moves to another key, even after the first holder left the map', () => {
    const rebinds: Array<[number, string, string]> = [];
    const m = new PeerMap('self', (o, a, b) => rebinds.push([o, a, b]));
    const k1 = new Uint8Array(32).fill(1);
    const k2 = new Uint8Array(32).fill(2);
    const e = (publicKey: Uint8Array, op = MapOp.UPSERT) => ({ op, publicKey, overlay: 0x0a090003, bootId: 1n, name: 'pb', reflexive: { address: '198.51.100.1', port: 1 }, lan: [] });
    m.applyFull(1, [e(k1)]);
    m.applyDelta(1, 2, [e(k1, MapOp.REMOVE)]);
    m.applyDelta(2, 3, [e(k1)]); // the same key again: not a rebind
    expect(rebinds).toEqual([]);
    m.applyDelta(3, 4, [e(k1, MapOp.REMOVE)]);
    m.applyDelta(4, 5, [e(k2)]);
    expect(rebinds).toEqual([[0x0a090003, '01'.repeat(32), '02'.repeat(32)]]);
  });
});
