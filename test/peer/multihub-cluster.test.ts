// Peers with two hubs (peer/hub-set.ts) on two in-process hubs sharing one network state through a
// real 3-node NATS JetStream cluster (hub/nats-state.ts): both peers are homed on hub 1 and relayed
// through it (symmetric NATs); hub 1 vanishes (nothing in or out; its NATS presence lives on, so the
// shared state must take the re-homed members at once): within 5 s both are registered on hub 2,
// served as its own members, their maps hold each other and relayed packets flow again.
// Needs nats-server (test/helpers/nats.ts: skipped with a reason when absent, a failure under CI=true).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { startHub, type Hub } from '../../src/hub/hub.js';
import { startNatsState } from '../../src/hub/nats-state.js';
import type { NetworkState } from '../../src/hub/network-state.js';
import { parseNetwork } from '../../src/hub/registry.js';
import { keyId } from '../../src/link/key-id.js';
import type { Endpoint } from '../../src/net/udp.js';
import type { PeerNode } from '../../src/peer/node.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';
import { testLogger } from '../fakes/logger.js';
import { natsSkipReason, startNatsCluster, type NatsCluster } from '../helpers/nats.js';
import { natPresets } from '../vnet/vnet.js';
import { HUB_ENDPOINT, NETWORK, SECRET, World } from '../vnet/world.js';

const skip = natsSkipReason();
const HUB2: Endpoint = { address: '203.0.113.2', port: 7000 };
const symmetric = (nat: string, lanIp: string) => ({ nat, config: natPresets.symmetric, lanIp });
const ip = (text: string) => encodeInner({ kind: InnerKind.IP, packet: new Uint8Array(Buffer.from(text)) });

let worlds = 0;
function isolatedWorld(): World {
  const n = ++worlds;
  return new (class extends World {
    override readonly psk = derivePsk(`${SECRET} multihub ${n}`);
  })();
}

/** Runs the manual clock in 50 ms steps while real NATS I/O happens between them, until `ok`
 * (bounded); returns the virtual ms it took. */
async function runUntil(w: World, what: string, ok: () => boolean, maxSteps = 600): Promise<number> {
  const t0 = w.clock.now();
  for (let i = 0; i < maxSteps && !ok(); i++) {
    w.clock.advance(50);
    await new Promise((r) => setTimeout(r, 5));
  }
  if (!ok()) throw new Error(`not reached: ${what}`);
  return w.clock.now() - t0;
}

describe.skipIf(skip !== undefined)('peers with two hubs sharing NATS', () => {
  let cluster: NatsCluster;
  const hubs: Hub[] = [];
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  }, 30_000);
  afterAll(async () => {
    await Promise.allSettled(hubs.map((h) => h.close()));
    await cluster?.stop();
  });

  it('fail over from a vanished home hub to the other: re-homed at once, map and relay keep working', async () => {
    const w = isolatedWorld();
    const network = parseNetwork(NETWORK);
    // Presence on the manual clock with a TTL far beyond the test: hub 1's presence never expires here.
    const keys2 = generateKeyPair();
    const state = (hubId: string, hubKey: Uint8Array): Promise<NetworkState> =>
      startNatsState({ servers: cluster.urls, network, psk: w.psk, hubId, hubKey, clock: w.clock, log: testLogger(`nats ${hubId}`), presenceTtlMs: 3_600_000 });
    const hub1 = w.startHub({ state: await state('mh-1', w.hubKeys.publicKey) });
    w.net.host(HUB2.address);
    const hub2 = startHub({
      listen: HUB2, network: NETWORK, psk: w.psk, keyPair: keys2, clock: w.clock, wallClock: w.wall, log: testLogger('hub 2'),
      udp: w.net.open(HUB2.address, HUB2.port), state: await state('mh-2', keys2.publicKey),
    });
    hubs.push(hub1, hub2);
    const both = [{ endpoint: HUB_ENDPOINT, key: w.hubKeys.publicKey }, { endpoint: HUB2, key: keys2.publicKey }];
    const a = w.peer(symmetric('natA', '192.168.1.2'), '10.9.0.2', { name: 'a', hubs: both });
    const b = w.peer(symmetric('natB', '192.168.2.2'), '10.9.0.3', { name: 'b', hubs: both });
    const atB: string[] = [];
    b.onInner((_f, inner) => atB.push(Buffer.from(inner.subarray(1)).toString()));
    const registered = (n: PeerNode) => n.hubClient.state === 'registered';
    void a.start();
    void b.start();
    await runUntil(w, 'both registered', () => registered(a) && registered(b));
    const names = (h: Hub) => h.status().peers.map((p) => p.name).sort();
    expect(names(hub1)).toEqual(['a', 'b']);
    await runUntil(w, 'each in the other\'s map', () => a.peers().some((p) => p.name === 'b') && b.peers().some((p) => p.name === 'a'));
    a.sendTo(ipv4ToU32('10.9.0.3'), ip('before'));
    await runUntil(w, 'relayed through hub 1', () => atB.includes('before'));
    expect(a.peers().find((p) => p.name === 'b')!.path).toBe('relay');

    // Hub 1 vanishes: nothing in or out (its process and its NATS presence go on).
    w.net.dropIf = (src, dst) => src.address === HUB_ENDPOINT.address || dst.address === HUB_ENDPOINT.address;
    let n = 0;
    const took = await runUntil(w, 'relayed packets arrive again', () => {
      if (registered(a)) a.sendTo(ipv4ToU32('10.9.0.3'), ip(`after ${n++}`));
      return atB.some((x) => x.startsWith('after')) && names(hub2).join() === 'a,b';
    });
    expect(took).toBeLessThan(5_000);
    expect(a.hubClient.hub).toEqual(HUB2);
    expect(b.hubClient.hub).toEqual(HUB2);
    // Served as homed on hub 2 although hub 1's presence has not expired.
    expect(hub2.state.bus!.homeOf(keyId(a.link.publicKey))).toBeUndefined();
    expect(hub1.state.bus!.homeOf(keyId(a.link.publicKey))).toBe('mh-2');
    expect(a.peers().some((p) => p.name === 'b')).toBe(true);
    expect(b.peers().some((p) => p.name === 'a')).toBe(true);
    await w.settle(Promise.all([a.stop(), b.stop()]));
  }, 90_000);

  it('a hub listed without a key is trusted once the home hub vouches for its key (HUB_LIST)', async () => {
    const w = isolatedWorld();
    const network = parseNetwork(NETWORK);
    const keys2 = generateKeyPair();
    const state = (hubId: string, hubKey: Uint8Array): Promise<NetworkState> =>
      startNatsState({ servers: cluster.urls, network, psk: w.psk, hubId, hubKey, clock: w.clock, log: testLogger(`nats ${hubId}`), presenceTtlMs: 3_600_000 });
    const hub1 = w.startHub({ state: await state('v-1', w.hubKeys.publicKey) });
    w.net.host(HUB2.address);
    const hub2 = startHub({
      listen: HUB2, network: NETWORK, psk: w.psk, keyPair: keys2, clock: w.clock, wallClock: w.wall, log: testLogger('hub 2'),
      udp: w.net.open(HUB2.address, HUB2.port), state: await state('v-2', keys2.publicKey),
    });
    hubs.push(hub1, hub2);
    // Each hub must have seen the other's presence (its key) before the peer registers.
    await runUntil(w, 'hub 1 knows hub 2', () => (hub1.state.hubKeys?.() ?? []).length === 2);
    const c = w.peer({ open: '198.51.100.30' }, '10.9.0.4', { name: 'c', hubs: [{ endpoint: HUB_ENDPOINT, key: w.hubKeys.publicKey }, { endpoint: HUB2 }] });
    const learned: string[] = [];
    (c.hubSet as unknown as { o: { onKeyLearned?: (h: Endpoint, k: Uint8Array) => void } }).o.onKeyLearned = (h, k) => learned.push(`${h.address} ${Buffer.from(k).toString('base64')}`);
    void c.start();
    await runUntil(w, 'hub 2 becomes standby with the vouched key', () => c.hubSet!.status()[1]!.role === 'standby');
    expect(c.hubSet!.status()[1]!.key).toBe(Buffer.from(keys2.publicKey).toString('base64'));
    expect(learned).toEqual([`203.0.113.2 ${Buffer.from(keys2.publicKey).toString('base64')}`]);
    expect(c.hubSet!.status()[0]!.role).toBe('home');
    await w.settle(c.stop());
  }, 90_000);
});
