// A peer with two hubs on the virtual internet (peer/hub-set.ts): it registers on the faster one,
// moves to the other within a few seconds when its home stops answering, starts on the second when
// the first is down, refuses a hub answering with another key than the pinned one, and a single
// --hub sends no PING of the hub set. Each hub here has its own memory state: the shared map across
// hubs is test/peer/multihub-cluster.test.ts's.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { parseAclPolicy } from '../../src/hub/acl-policy.js';
import { BindingTable } from '../../src/hub/bindings.js';
import { startHub, type Hub } from '../../src/hub/hub.js';
import { memoryState } from '../../src/hub/network-state.js';
import { parseNetwork } from '../../src/hub/registry.js';
import type { Endpoint } from '../../src/net/udp.js';
import { ClusterError } from '../../src/hub/nats-state.js';
import { homeDeadMs, registerDeadMs, switchDwellMs } from '../../src/peer/hub-choice.js';
import type { PeerNode } from '../../src/peer/node.js';
import { testLogger } from '../fakes/logger.js';
import { HUB_ENDPOINT, NETWORK, World } from '../vnet/world.js';

const HUB2: Endpoint = { address: '203.0.113.2', port: 7000 };

function twoHubs(w: World, opts: { stuckClaims?: boolean | 'unavailable'; acl?: [string, string] } = {}): { hub1: Hub; hub2: Hub; key2: Uint8Array } {
  // stuckClaims: hub 1 answers PINGs but never a REGISTER (its claims never settle), or, 'unavailable',
  // refuses every REGISTER with UNAVAILABLE (its claims cannot be confirmed: a hub cut from NATS).
  const state = memoryState(parseNetwork(NETWORK), new BindingTable([]));
  if (opts.stuckClaims === 'unavailable') state.claim = () => Promise.reject(new ClusterError('CLUSTER_UNREACHABLE', 'the NATS connection is down'));
  else if (opts.stuckClaims) state.claim = () => new Promise(() => undefined);
  const acl = (i: number) => (opts.acl ? { acl: parseAclPolicy(opts.acl[i]!, `hub${i + 1}.json`) } : {});
  const hub1 = w.startHub({ ...(opts.stuckClaims ? { state } : {}), ...acl(0) });
  const keys2 = generateKeyPair();
  w.net.host(HUB2.address);
  const hub2 = startHub({
    listen: HUB2, network: NETWORK, psk: w.psk, keyPair: keys2, clock: w.clock, wallClock: w.wall, log: testLogger('hub 2'),
    udp: w.net.open(HUB2.address, HUB2.port), ...acl(1),
  });
  return { hub1, hub2, key2: keys2.publicKey };
}

/** Runs the manual clock in 50 ms steps until `ok` (bounded); returns the virtual ms it took. */
async function runUntil(w: World, what: string, ok: () => boolean, maxMs = 30_000): Promise<number> {
  const t0 = w.clock.now();
  while (!ok()) {
    if (w.clock.now() - t0 > maxMs) throw new Error(`not reached within ${maxMs} ms: ${what}`);
    w.clock.advance(50);
    await new Promise<void>((r) => setImmediate(r));
  }
  return w.clock.now() - t0;
}

const homeOf = (n: PeerNode) => n.hubSet?.status().find((h) => h.role === 'home')?.hub;
const names = (h: Hub) => h.status().peers.map((p) => p.name);

describe('a peer with two hubs', () => {
  it('registers on one, and on the other within a few seconds when its home stops answering', async () => {
    const w = new World();
    const { hub1, hub2, key2 } = twoHubs(w);
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a', hubs: [{ endpoint: HUB_ENDPOINT, key: w.hubKeys.publicKey }, { endpoint: HUB2, key: key2 }] });
    void a.start();
    await runUntil(w, 'registered', () => a.hubClient.state === 'registered');
    // Equal RTTs: the hub listed first is home, the other standby.
    expect(homeOf(a)).toBe('203.0.113.1:7000');
    expect(a.hubSet!.status().map((h) => h.role)).toEqual(['home', 'standby']);
    expect(names(hub1)).toEqual(['a']);
    expect(names(hub2)).toEqual([]);
    // Hub 1 vanishes (kill -9: nothing in or out).
    w.net.dropIf = (src, dst) => src.address === HUB_ENDPOINT.address || dst.address === HUB_ENDPOINT.address;
    const took = await runUntil(w, 're-registered on hub 2', () => names(hub2).includes('a') && a.hubClient.state === 'registered');
    expect(took).toBeLessThan(5_000);
    expect(took).toBeGreaterThan(homeDeadMs - 1_000);
    expect(homeOf(a)).toBe('203.0.113.2:7000');
    expect(a.hubSet!.switches['home-lost']).toBe(1);
    // While it stays silent it is never standby again (it is tried with backoff, and stays down).
    const roles = new Set<string>();
    for (let t = 0; t < 20_000; t += 250) {
      w.clock.advance(250);
      roles.add(a.hubSet!.status()[0]!.role);
    }
    expect([...roles].sort()).toEqual(['down', 'trying']);
    expect(homeOf(a)).toBe('203.0.113.2:7000');
    // Hub 1 comes back: tried again with backoff, it becomes standby; home stays on hub 2 (no flapping).
    w.net.dropIf = undefined;
    await runUntil(w, 'hub 1 standby again', () => a.hubSet!.status()[0]!.role === 'standby', 90_000);
    w.run(30_000);
    expect(homeOf(a)).toBe('203.0.113.2:7000');
    expect(a.hubSet!.switches['much-faster']).toBe(0);
    await w.settle(a.stop());
    await w.settle(Promise.all([hub1.close(), hub2.close()]));
  }, 60_000);

  it('makes the hub with the lower RTT home at start, even when listed second', async () => {
    const w = new World();
    const { hub1, hub2, key2 } = twoHubs(w);
    // Hub 1 is 30 ms further away each way than hub 2: it answers within the start window.
    const transmit = w.net.transmit.bind(w.net);
    w.net.transmit = (from, data, to) => {
      if (to.address === HUB_ENDPOINT.address || from.local.address === HUB_ENDPOINT.address) w.clock.setTimer(30, () => transmit(from, data, to));
      else transmit(from, data, to);
    };
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a', hubs: [{ endpoint: HUB_ENDPOINT, key: w.hubKeys.publicKey }, { endpoint: HUB2, key: key2 }] });
    void a.start();
    await runUntil(w, 'registered', () => a.hubClient.state === 'registered');
    expect(homeOf(a)).toBe('203.0.113.2:7000');
    expect(names(hub2)).toEqual(['a']);
    expect(names(hub1)).toEqual([]);
    // Chosen at start by RTT, not first home on hub 1 and then moved.
    expect(a.hubSet!.switches).toEqual({ first: 1, 'home-lost': 0, 'much-faster': 0 });
    const [rtt1, rtt2] = a.hubSet!.status().map((h) => h.rttMs!);
    expect(rtt1! - rtt2!).toBeGreaterThan(50);
    await w.settle(a.stop());
    await w.settle(Promise.all([hub1.close(), hub2.close()]));
  }, 60_000);

  it('does not move home for delay spikes on it, and moves after a sustained slowdown outlasts the dwell', async () => {
    const w = new World();
    const { hub1, hub2, key2 } = twoHubs(w);
    let mode: 'none' | 'spikes' | 'slow' = 'none';
    let seed = 12345;
    const chance = (p: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) < p;
    const transmit = w.net.transmit.bind(w.net);
    w.net.transmit = (from, data, to) => {
      const toHub1 = to.address === HUB_ENDPOINT.address || from.local.address === HUB_ENDPOINT.address;
      // Spikes: a datagram in four to or from hub 1 late by 100 ms, at random (a loaded host); slow: all.
      const late = toHub1 && (mode === 'slow' || (mode === 'spikes' && chance(0.25)));
      if (late) w.clock.setTimer(100, () => transmit(from, data, to));
      else transmit(from, data, to);
    };
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a', hubs: [{ endpoint: HUB_ENDPOINT, key: w.hubKeys.publicKey }, { endpoint: HUB2, key: key2 }] });
    void a.start();
    await runUntil(w, 'registered', () => a.hubClient.state === 'registered');
    expect(homeOf(a)).toBe('203.0.113.1:7000');
    mode = 'spikes';
    w.run(40_000);
    expect(a.hubSet!.switches['much-faster']).toBe(0);
    expect(homeOf(a)).toBe('203.0.113.1:7000');
    mode = 'slow';
    const t0 = w.clock.now();
    await runUntil(w, 'home moved to the faster hub', () => homeOf(a) === '203.0.113.2:7000', 60_000);
    expect(w.clock.now() - t0).toBeGreaterThanOrEqual(switchDwellMs);
    expect(a.hubSet!.switches['much-faster']).toBe(1);
    await w.settle(a.stop());
    await w.settle(Promise.all([hub1.close(), hub2.close()]));
  }, 60_000);

  it('tells its old home when it moves to a much faster hub: dropped there at once, kept as standby', async () => {
    const w = new World();
    const { hub1, hub2, key2 } = twoHubs(w);
    let slow = false;
    const transmit = w.net.transmit.bind(w.net);
    w.net.transmit = (from, data, to) => {
      const toHub1 = to.address === HUB_ENDPOINT.address || from.local.address === HUB_ENDPOINT.address;
      if (slow && toHub1) w.clock.setTimer(100, () => transmit(from, data, to));
      else transmit(from, data, to);
    };
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a', hubs: [{ endpoint: HUB_ENDPOINT, key: w.hubKeys.publicKey }, { endpoint: HUB2, key: key2 }] });
    void a.start();
    await runUntil(w, 'registered', () => a.hubClient.state === 'registered');
    expect(homeOf(a)).toBe('203.0.113.1:7000');
    slow = true;
    await runUntil(w, 'home moved to the faster hub', () => homeOf(a) === '203.0.113.2:7000' && names(hub2).includes('a'), 60_000);
    // The old home lets it go within a round trip or two (HOME_MOVED), not after its heartbeats expire.
    const took = await runUntil(w, 'the old home dropped a', () => !names(hub1).includes('a'), 10_000);
    expect(took).toBeLessThan(2_000);
    // Its session with the old hub stays: that hub is its standby and keeps answering its PINGs.
    w.run(30_000);
    expect(a.hubSet!.movedCounts).toEqual({ sent: 1, acked: 1 });
    expect(a.hubSet!.status().find((h) => h.hub === '203.0.113.1:7000')?.role).toBe('standby');
    expect(names(hub2)).toContain('a');
    expect(names(hub1)).not.toContain('a');
    await w.settle(a.stop());
    await w.settle(Promise.all([hub1.close(), hub2.close()]));
  }, 60_000);

  it('starts on the second hub when the first is down', async () => {
    const w = new World();
    const { hub1, hub2, key2 } = twoHubs(w);
    w.net.dropIf = (src, dst) => src.address === HUB_ENDPOINT.address || dst.address === HUB_ENDPOINT.address;
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a', hubs: [{ endpoint: HUB_ENDPOINT, key: w.hubKeys.publicKey }, { endpoint: HUB2, key: key2 }] });
    void a.start();
    const took = await runUntil(w, 'registered on hub 2', () => names(hub2).includes('a') && a.hubClient.state === 'registered');
    expect(took).toBeLessThan(2_000);
    expect(homeOf(a)).toBe('203.0.113.2:7000');
    expect(a.hubSet!.switches.first).toBe(1);
    await w.settle(a.stop());
    await w.settle(Promise.all([hub1.close(), hub2.close()]));
  }, 60_000);

  it('takes the new home\'s ACL policy although its version is not newer (each hub numbers its own)', async () => {
    const w = new World();
    const one = JSON.stringify({ rules: [{ from: '*', to: '*', proto: 'tcp', ports: 22 }] });
    const two = JSON.stringify({ rules: [{ from: '*', to: '*', proto: 'tcp', ports: 80 }, { from: '*', to: '*', proto: 'udp', ports: 53 }] });
    const { hub1, hub2, key2 } = twoHubs(w, { acl: [one, two] });
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a', hubs: [{ endpoint: HUB_ENDPOINT, key: w.hubKeys.publicKey }, { endpoint: HUB2, key: key2 }] });
    void a.start();
    await runUntil(w, 'hub 1\'s policy', () => a.firewall.status().rules === 1);
    const v1 = a.firewall.status().version;
    w.net.dropIf = (src, dst) => src.address === HUB_ENDPOINT.address || dst.address === HUB_ENDPOINT.address;
    await runUntil(w, 'hub 2\'s policy', () => a.firewall.status().rules === 2);
    // Both hubs started in the same second: hub 2's version is no newer than the one it replaces.
    expect(a.firewall.status().version).toBeLessThanOrEqual(v1);
    await w.settle(a.stop());
    await w.settle(Promise.all([hub1.close(), hub2.close()]));
  }, 60_000);

  it('leaves a home that answers PINGs but never the REGISTER, for the other hub', async () => {
    const w = new World();
    const { hub1, hub2, key2 } = twoHubs(w, { stuckClaims: true });
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a', hubs: [{ endpoint: HUB_ENDPOINT, key: w.hubKeys.publicKey }, { endpoint: HUB2, key: key2 }] });
    void a.start();
    const took = await runUntil(w, 'registered on hub 2', () => names(hub2).includes('a') && a.hubClient.state === 'registered');
    expect(took).toBeGreaterThan(registerDeadMs);
    expect(took).toBeLessThan(registerDeadMs + 2_000);
    expect(a.hubSet!.status()[0]!).toMatchObject({ role: 'down', why: 'no answer to REGISTER' });
    await w.settle(a.stop());
    await w.settle(Promise.all([hub1.close(), hub2.close()]));
  }, 60_000);

  it('leaves a home that refuses every REGISTER with UNAVAILABLE (cut from its shared state), for the other hub', async () => {
    const w = new World();
    const { hub1, hub2, key2 } = twoHubs(w, { stuckClaims: 'unavailable' });
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a', hubs: [{ endpoint: HUB_ENDPOINT, key: w.hubKeys.publicKey }, { endpoint: HUB2, key: key2 }] });
    void a.start();
    const took = await runUntil(w, 'registered on hub 2', () => names(hub2).includes('a') && a.hubClient.state === 'registered');
    expect(took).toBeGreaterThan(registerDeadMs);
    expect(took).toBeLessThan(registerDeadMs + 2_000);
    expect(a.hubSet!.status()[0]!).toMatchObject({ role: 'down', why: 'REGISTER refused: UNAVAILABLE' });
    await w.settle(a.stop());
    await w.settle(Promise.all([hub1.close(), hub2.close()]));
  }, 60_000);

  it('refuses a hub answering with another key than the pinned one (HUB_KEY_MISMATCH) and uses the other', async () => {
    const w = new World();
    const { hub1, hub2, key2 } = twoHubs(w);
    const wrong = generateKeyPair().publicKey;
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a', hubs: [{ endpoint: HUB_ENDPOINT, key: wrong }, { endpoint: HUB2, key: key2 }] });
    void a.start();
    await runUntil(w, 'registered on hub 2', () => names(hub2).includes('a') && a.hubClient.state === 'registered');
    await runUntil(w, 'hub 1 refused', () => a.hubSet!.status()[0]!.role === 'refused');
    expect(a.hubSet!.status()[0]!.why).toMatch(/^HUB_KEY_MISMATCH/);
    expect(names(hub1)).toEqual([]);
    // Refused for good: not tried again.
    const handshakes = a.link.stats.handshakesInitiated;
    w.run(120_000);
    expect(a.hubSet!.status()[0]!.role).toBe('refused');
    expect(a.link.stats.handshakesInitiated - handshakes).toBeLessThan(10);
    await w.settle(a.stop());
    await w.settle(Promise.all([hub1.close(), hub2.close()]));
  }, 60_000);

  it('learns the first hub key on first use; a second hub without a key is not used', async () => {
    const w = new World();
    const { hub1, hub2 } = twoHubs(w);
    const learned: string[] = [];
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a', learnKey: true, hubs: [{ endpoint: HUB_ENDPOINT }, { endpoint: HUB2 }] });
    (a.hubSet as unknown as { o: { onKeyLearned?: (h: Endpoint, k: Uint8Array) => void } }).o.onKeyLearned = (h, k) => learned.push(`${h.address} ${Buffer.from(k).toString('base64')}`);
    void a.start();
    await runUntil(w, 'registered on hub 1', () => names(hub1).includes('a') && a.hubClient.state === 'registered');
    expect(learned).toEqual([`203.0.113.1 ${Buffer.from(w.hubKeys.publicKey).toString('base64')}`]);
    expect(a.hubSet!.status().map((h) => h.role)).toEqual(['home', 'no-key']);
    expect(names(hub2)).toEqual([]);
    await w.settle(a.stop());
    await w.settle(Promise.all([hub1.close(), hub2.close()]));
  }, 60_000);

  it('one hub: no hub set, nothing new on the wire', async () => {
    const w = new World();
    const hub = w.startHub();
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a' });
    expect(a.hubSet).toBeUndefined();
    const pings = { n: 0 };
    const sent = a.link.send.bind(a.link);
    a.link.send = (k, pt, to) => {
      if (pt[0] === 3) pings.n++;
      return sent(k, pt, to);
    };
    await w.join(a);
    w.run(30_000);
    expect(pings.n).toBe(0);
    await w.settle(a.stop());
    await w.settle(hub.close());
  }, 60_000);
});
