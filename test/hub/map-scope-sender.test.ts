// Scoped maps through MapSender (issue 24, docs/ACL.md "Scoped maps"): with a policy each member's
// map (full and deltas, as its PeerMap applies them) holds only whom it may reach or be reached by;
// a policy reload or a member changing class re-scopes with a full map; no policy = today's bytes.
import { describe, expect, it } from 'vitest';
import { parseAclPolicy, type AclPolicyFile } from '../../src/hub/acl-policy.js';
import { MapSender, mapCoalesceMs } from '../../src/hub/map-sender.js';
import { parseNetwork, Registry, type Member } from '../../src/hub/registry.js';
import { keyId } from '../../src/link/key-id.js';
import { ReliableSender } from '../../src/link/reliable.js';
import { PeerMap } from '../../src/peer/peer-map.js';
import { ControlType, decodeControl, type ControlMessage } from '../../src/wire/control.js';
import { decodeInner, InnerKind } from '../../src/wire/inner.js';
import { ManualClock } from '../fakes/manual-clock.js';

type MapMsg = Extract<ControlMessage, { type: ControlType.MAP }>;

function decodeMap(inner: Uint8Array): MapMsg {
  const m = decodeInner(inner);
  if (m.kind !== InnerKind.CONTROL) throw new Error('not CONTROL');
  const c = decodeControl(m.body);
  if (c.type !== ControlType.MAP) throw new Error('not MAP');
  return c;
}

const policyOf = (tags: Record<string, string[]>, rules: object[]): AclPolicyFile => parseAclPolicy(JSON.stringify({ tags, rules }), 'acl.json');
const groups = policyOf({ g1: ['a', 'b'], g2: ['c'] }, [{ from: 'tag:g1', to: 'tag:g1' }, { from: 'tag:g2', to: 'tag:g2' }]);

/** A hub's MapSender and one PeerMap per member fed from the parts it sends (every part acked). */
function setup(policy?: AclPolicyFile) {
  const clock = new ManualClock();
  const registry = new Registry(parseNetwork('10.9.0.0/16'));
  const wire: Array<{ to: string; bytes: Uint8Array }> = [];
  const peers = new Map<string, { map: PeerMap; parts: Map<string, MapMsg[]> }>();
  const rel = new Map<string, ReliableSender>();
  const maps = new MapSender({
    clock,
    registry,
    send: (m, inner) => {
      wire.push({ to: m.id, bytes: inner.slice() });
      const msg = decodeMap(inner);
      const p = peers.get(m.id)!;
      const id = `${msg.version}:${msg.base}`;
      const got = p.parts.get(id) ?? [];
      got[msg.part] = msg;
      p.parts.set(id, got);
      if (got.filter(Boolean).length === msg.parts) {
        p.parts.delete(id);
        const entries = got.flatMap((x) => x.entries);
        if (msg.base === 0) p.map.applyFull(msg.version, entries);
        else p.map.applyDelta(msg.base, msg.version, entries);
      }
      queueMicrotask(() => maps.acked(m, msg.seq));
    },
    reliableOf: (m) => {
      if (!rel.has(m.id)) rel.set(m.id, new ReliableSender(clock));
      return rel.get(m.id)!;
    },
    coalesceMs: mapCoalesceMs,
  });
  if (policy) maps.setPolicy(policy);
  let n = 0;
  const byName = new Map<string, Member>();
  const upsert = (name: string, id: string, overlay: number): Member => {
    const { member } = registry.upsert(
      { publicKey: Uint8Array.from(Buffer.from(id, 'hex')), id, overlay, name, bootId: 1n, reflexive: { address: '192.0.2.1', port: 40000 + (overlay & 0xff) }, lan: [] },
      clock.now(),
    );
    return member;
  };
  const join = (name: string): Member => {
    n++;
    const id = n.toString(16).padStart(64, '0');
    peers.set(id, { map: new PeerMap(id), parts: new Map() });
    const member = upsert(name, id, 0x0a090000 + n);
    byName.set(name, member);
    maps.sendFull(member);
    maps.changed();
    return member;
  };
  const settle = async () => {
    for (let i = 0; i < 100; i++) {
      clock.advance(20);
      await Promise.resolve();
    }
  };
  /** Names in the member's map as its peer holds it. */
  const seen = (name: string): string[] => peers.get(byName.get(name)!.id)!.map.all().map((p) => p.name).sort();
  const rename = (name: string, to: string): void => {
    const m = byName.get(name)!;
    upsert(to, m.id, m.overlay);
    byName.set(to, m);
    maps.changed();
  };
  const leave = (name: string): void => {
    const m = byName.get(name)!;
    registry.remove(m.id);
    maps.forget(m);
    maps.changed();
  };
  const member = (name: string): Member => byName.get(name)!;
  const versionOf = (name: string): number => peers.get(member(name).id)!.map.version;
  return { clock, registry, maps, wire, join, settle, seen, rename, leave, member, versionOf, keyOf: (name: string) => keyId(member(name).publicKey) };
}

describe('scoped maps', () => {
  it('gives a member of group g1 the other members of g1 and not those of g2, in full maps and deltas', async () => {
    const h = setup(groups);
    h.join('a');
    h.join('c');
    await h.settle();
    h.join('b'); // a delta to a and c; a full map to b
    await h.settle();
    expect(h.seen('a')).toEqual(['b']);
    expect(h.seen('b')).toEqual(['a']);
    expect(h.seen('c')).toEqual([]);
    expect(h.maps.scope).toEqual({ scoped: true, classes: 2, meanEntries: 1.7 }); // a: a, b; b: a, b; c: c
    h.leave('b');
    await h.settle();
    expect(h.seen('a')).toEqual([]);
    // c never got a word of a's or b's comings and goings.
    const cKey = h.keyOf('c');
    const toC = h.wire.filter((w) => w.to === cKey).flatMap((w) => decodeMap(w.bytes).entries.map((e) => e.name));
    expect(toC).toEqual(['c']);
  });

  it('sends a change only to the members who see it: 20 groups of 50, one join, 50 deltas (not 1,000)', async () => {
    const tags: Record<string, string[]> = {};
    for (let g = 0; g < 20; g++) tags[`g${g}`] = Array.from({ length: 50 }, (_, i) => `p${g}-${i}`);
    const h = setup(policyOf(tags, Object.keys(tags).map((t) => ({ from: `tag:${t}`, to: `tag:${t}` }))));
    for (let g = 0; g < 20; g++) for (let i = 0; i < (g === 7 ? 49 : 50); i++) h.join(`p${g}-${i}`);
    await h.settle();
    expect(h.seen('p7-0')).toHaveLength(48);
    h.wire.length = 0;
    const joiner = h.join('p7-49');
    await h.settle();
    const to = new Set(h.wire.map((w) => w.to));
    expect(to.size).toBe(50); // 49 deltas to g7 and the joiner's full map
    expect(h.wire.filter((w) => w.to !== joiner.id)).toHaveLength(49); // one datagram each
    expect(h.seen('p7-0')).toHaveLength(49);
    expect(h.seen('p7-49')).toHaveLength(49);
    expect(h.seen('p8-0')).toHaveLength(49);
    expect(h.maps.scope).toMatchObject({ scoped: true, classes: 20, meanEntries: 50 });
    expect(h.maps.counters.skipped).toBeGreaterThan(0);
    expect(h.maps.current).toBe(1_000); // every member current, though most hold an older version number
    // A member of another group reports the version it was last given (its HEARTBEAT): it is
    // current, nothing is sent; the next change it sees applies on top of that version.
    const before = h.versionOf('p8-0');
    expect(before).toBeLessThan(h.registry.version);
    h.wire.length = 0;
    h.maps.reported(h.member('p8-0'), before);
    await h.settle();
    expect(h.wire).toHaveLength(0);
    h.leave('p8-1');
    await h.settle();
    expect(h.seen('p8-0')).toHaveLength(48);
    expect(h.versionOf('p8-0')).toBe(h.registry.version);
  });

  it('re-scopes every member when the policy changes (SIGHUP): c comes in, b goes out', async () => {
    const h = setup(groups);
    for (const n of ['a', 'b', 'c']) h.join(n);
    await h.settle();
    expect(h.seen('a')).toEqual(['b']);
    h.maps.setPolicy(policyOf({ g1: ['a', 'c'], g2: ['b'] }, [{ from: 'tag:g1', to: 'tag:g1' }]));
    await h.settle();
    expect(h.seen('a')).toEqual(['c']);
    expect(h.seen('c')).toEqual(['a']);
    expect(h.seen('b')).toEqual([]);
    h.maps.setPolicy(undefined); // lifted: everyone again
    await h.settle();
    expect(h.seen('b')).toEqual(['a', 'c']);
    expect(h.maps.scope.scoped).toBe(false);
  });

  it('moves a member that changes class out of the maps that no longer see it', async () => {
    const h = setup(policyOf({ g1: ['a', 'b'], g2: ['c', 'd'] }, [{ from: 'tag:g1', to: 'tag:g1' }, { from: 'tag:g2', to: 'tag:g2' }]));
    for (const n of ['a', 'b', 'c']) h.join(n);
    await h.settle();
    h.rename('b', 'd'); // b re-registers as d: now in g2
    await h.settle();
    expect(h.seen('a')).toEqual([]);
    expect(h.seen('c')).toEqual(['d']);
    expect(h.seen('d')).toEqual(['c']);
  });

  it('sends the same bytes as before without a policy (a full map holds every member)', async () => {
    const run = async (lift: boolean) => {
      const h = setup();
      if (lift) h.maps.setPolicy(undefined);
      for (const n of ['a', 'b', 'c']) h.join(n);
      await h.settle();
      h.leave('b');
      await h.settle();
      return h;
    };
    const plain = await run(false);
    const lifted = await run(true);
    expect(lifted.wire.map((w) => Buffer.from(w.bytes).toString('hex'))).toEqual(plain.wire.map((w) => Buffer.from(w.bytes).toString('hex')));
    expect(plain.seen('a')).toEqual(['c']);
    expect(plain.maps.scope).toEqual({ scoped: false, classes: 0, meanEntries: 2 });
  });
});
