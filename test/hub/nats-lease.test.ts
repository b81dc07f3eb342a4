// Binding leases with several hubs (hub/lease-cluster.ts, hub/nats-state.ts seen and sweepLeases):
// a member's last-seen time is network-wide and written at most once per lease/10, exactly one hub
// frees the leases that ran out, and a key seen while a sweep judges it keeps its binding. Two
// hubs' states on one real NATS node; wall times are given, so a lease of one (virtual) second runs
// out at once.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import type { Binding } from '../../src/hub/bindings.js';
import { sweepable, touchDue, leaseCheckIntervalMs } from '../../src/hub/lease-cluster.js';
import type { NetworkState } from '../../src/hub/network-state.js';
import { keyId } from '../../src/link/key-id.js';
import { systemClock } from '../../src/util/clock.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { RefusalReason } from '../../src/wire/control.js';
import { natsSkipReason } from '../helpers/nats.js';
import { natsPairs, until } from '../helpers/nats-pair.js';

const leaseMs = 1_000;
const t0 = 1_800_000_000_000;
const key = () => keyId(generateKeyPair().publicKey);
const bound = (id: string, overlay: string, name: string, lastSeenMs = t0): Binding => ({ id, overlay: ipv4ToU32(overlay), name, lastSeenMs, pinned: false });

describe('lease decisions', () => {
  it.each([
    { why: 'written just now', stored: t0, now: t0 + 99, due: false },
    { why: 'a tenth of the lease old', stored: t0, now: t0 + 100, due: true },
    { why: 'long unwritten', stored: t0, now: t0 + 5_000, due: true },
  ])('touchDue: $why', ({ stored, now, due }) => expect(touchDue(stored, now, leaseMs)).toBe(due));

  it.each([
    { why: 'unseen past the lease, no hub serves it', b: bound('aa', '10.9.0.2', ''), inMap: false, now: t0 + 1_001, free: true },
    { why: 'unseen exactly the lease', b: bound('aa', '10.9.0.2', ''), inMap: false, now: t0 + 1_000, free: false },
    { why: 'a member of some hub now (its home failed to write)', b: bound('aa', '10.9.0.2', ''), inMap: true, now: t0 + 9_000, free: false },
    { why: 'pinned by an allow-list', b: { ...bound('aa', '10.9.0.2', ''), pinned: true }, inMap: false, now: t0 + 9_000, free: false },
  ])('sweepable: $why', ({ b, inMap, now, free }) => expect(sweepable(b, inMap, now, leaseMs)).toBe(free));

  it.each([
    { why: '30 days: hourly', lease: 30 * 86_400_000, every: 3_600_000 },
    { why: 'a 2 h lease: every 12 min', lease: 7_200_000, every: 720_000 },
    { why: 'a test lease of 1 s: at most once a second', lease: 1_000, every: 1_000 },
  ])('leaseCheckIntervalMs: $why', ({ lease, every }) => expect(leaseCheckIntervalMs(lease, 3_600_000)).toBe(every));
});

const skip = natsSkipReason();

describe.skipIf(skip !== undefined)('binding leases shared by two hubs', () => {
  const nats = natsPairs();
  const opts = { bindingLeaseMs: leaseMs, presenceTtlMs: 2_000 };

  it("a live member's last-seen time reaches the other hub, rewritten at most once per lease/10", async () => {
    const [a, b] = await nats.pair(() => opts);
    const x = key();
    expect(await a.claim(bound(x, '10.9.0.2', 'x'), undefined)).toBe(true);
    await until(() => b.bindings.get(x)?.lastSeenMs === t0);
    await a.seen!(x, t0 + 50); // not due
    await a.seen!(x, t0 + 150);
    await until(() => b.bindings.get(x)?.lastSeenMs === t0 + 150);
    await a.seen!(x, t0 + 200); // not due again
    await new Promise((r) => setTimeout(r, 300));
    expect(b.bindings.get(x)?.lastSeenMs).toBe(t0 + 150);
    expect(a.bindings.get(x)?.lastSeenMs).toBe(t0 + 150);
  }, 30_000);

  it('exactly one hub frees the leases that ran out; a member of either hub keeps its binding', async () => {
    const [a, b] = await nats.pair(() => opts);
    const [x, y] = [key(), key()];
    expect(await a.claim(bound(x, '10.9.0.2', 'x'), undefined)).toBe(true);
    expect(await b.claim(bound(y, '10.9.0.3', 'y'), undefined)).toBe(true);
    const kp = generateKeyPair();
    const live = keyId(kp.publicKey);
    expect(await b.claim(bound(live, '10.9.0.4', 'live'), undefined)).toBe(true);
    b.memberChanged(b.members.upsert({ publicKey: kp.publicKey, id: live, overlay: ipv4ToU32('10.9.0.4'), name: 'live', bootId: 1n, reflexive: { address: '198.51.100.10', port: 40000 }, lan: [] }, systemClock.now()).member, false);
    await until(() => [a, b].every((s) => s.bindings.size === 3) && a.map.get(live) !== undefined);
    const [freedA, freedB] = await Promise.all([a.sweepLeases!(t0 + 5_000), b.sweepLeases!(t0 + 5_000)]);
    const freed = [...freedA, ...freedB].map((f) => f.id).sort();
    expect(freed).toEqual([x, y].sort());
    expect(freedA.length === 0 || freedB.length === 0).toBe(true); // one hub swept
    await until(() => [a, b].every((s) => s.bindings.size === 1 && s.bindings.get(live) !== undefined));
    // The address and the name are free network-wide: another key takes them on either hub.
    expect(await b.claim(bound(key(), '10.9.0.2', 'x', t0 + 5_000), undefined)).toBe(true);
    expect(await a.claim(bound(key(), '10.9.0.3', 'y', t0 + 5_000), undefined)).toBe(true);
    const taken = await a.claim(bound(key(), '10.9.0.4', ''), undefined);
    expect(taken).toMatchObject({ reason: RefusalReason.ADDRESS_IN_USE });
  }, 30_000);

  it('a key seen on another hub while the sweep judged it keeps its address and name', async () => {
    let other: NetworkState | undefined;
    const judged: string[] = [];
    const [a, b] = await nats.pair((hubId) => ({
      ...opts,
      ...(hubId === 'hub-a' ? { sweepJudged: async (id: string) => void (judged.push(id), await other!.seen!(id, t0 + 5_000)) } : {}),
    }));
    other = b;
    const x = key();
    expect(await a.claim(bound(x, '10.9.0.2', 'x'), undefined)).toBe(true);
    await until(() => b.bindings.get(x) !== undefined);
    expect(await a.sweepLeases!(t0 + 5_000)).toEqual([]);
    expect(judged).toEqual([x]);
    await until(() => a.bindings.get(x)?.lastSeenMs === t0 + 5_000);
    expect(b.bindings.get(x)?.overlay).toBe(ipv4ToU32('10.9.0.2'));
    expect(await b.claim(bound(key(), '10.9.0.2', ''), undefined)).toMatchObject({ reason: RefusalReason.ADDRESS_IN_USE });
    expect(await a.claim(bound(key(), '10.9.0.5', 'x'), undefined)).toMatchObject({ reason: RefusalReason.NAME_TAKEN });
  }, 30_000);

  it('a key that comes back after its lease was swept is claimed again (nothing left half freed)', async () => {
    const [a, b] = await nats.pair(() => opts);
    const x = key();
    expect(await a.claim(bound(x, '10.9.0.2', 'x'), undefined)).toBe(true);
    await until(() => b.bindings.get(x) !== undefined);
    expect((await a.sweepLeases!(t0 + 5_000)).map((f) => f.id)).toEqual([x]);
    await until(() => b.bindings.get(x) === undefined);
    // It registers again on b: a new claim, over no record.
    expect(await b.claim(bound(x, '10.9.0.2', 'x', t0 + 6_000), undefined)).toBe(true);
    await until(() => a.bindings.get(x)?.lastSeenMs === t0 + 6_000);
    expect(await a.claim(bound(key(), '10.9.0.2', ''), undefined)).toMatchObject({ reason: RefusalReason.ADDRESS_IN_USE });
  }, 30_000);
});

describe('the hub runs the cluster lease checks', () => {
  it('refreshes its members and offers to sweep every lease/10, with the wall time', async () => {
    const { World } = await import('../vnet/world.js');
    const { memoryState } = await import('../../src/hub/network-state.js');
    const { BindingTable } = await import('../../src/hub/bindings.js');
    const { parseNetwork } = await import('../../src/hub/registry.js');
    const w = new World();
    const state = memoryState(parseNetwork('10.9.0.0/24'), new BindingTable([]));
    const seen: string[] = [];
    const sweeps: number[] = [];
    state.seen = async (id) => void seen.push(id);
    state.sweepLeases = async (now) => (sweeps.push(now), []);
    const hub = w.startHub({ state, bindingLeaseMs: 20_000 });
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a' });
    await w.settle(a.start());
    const id = hub.status().peers[0]!.publicKey;
    expect(id).toBeDefined();
    const before = sweeps.length;
    seen.length = 0;
    w.run(2_000); // lease/10 = 2 s: one check
    expect(sweeps.length).toBe(before + 1);
    expect(sweeps.at(-1)! - w.wall()).toBeLessThan(0);
    expect(seen.length).toBeGreaterThanOrEqual(1);
    await w.settle(a.stop());
    await w.settle(hub.close());
  }, 30_000);
});
