// Issue 24 "how to prove", with real processes in namespaces (test/helpers/cluster-lab.ts): a 3-node
// NATS JetStream cluster, 2 `meshd hub --cluster` hubs on public addresses, peers behind nftables
// NATs homed on different hubs (a: home NAT on hub 1, b: symmetric NAT on hub 2, c: symmetric NAT on
// hub 1, so b <-> c is relayed across the hubs). One topology, its stages in order:
//  1. ping and ssh between all pairs;
//  2. the NATS node holding the hubs' connections killed with -9: pings pass, a new claim works;
//  3. both hubs cut from NATS (nftables drop): direct pairs keep working past the presence TTL, a
//     new address claim is refused with a reason; NATS back: the refused peer joins and every hub
//     serves it.
// Hub failover for peers (--hub A --hub B) is not here: it needs the multihub branch.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot, toolsMissing } from '../helpers/root.js';
import { requireDist, say, statusPeer, type StatusJson } from '../helpers/mesh-lab.js';
import { natsSkipReason } from '../helpers/nats.js';
import { ClusterLab, type ClusterPeerSpec } from '../helpers/cluster-lab.js';
import { ssh, startSshd, type Sshd } from '../helpers/sshd.js';
import { defaultPresenceTtlMs } from '../../src/hub/nats-state.js';

const tag = 'cluster';
const first: ClusterPeerSpec[] = [
  { name: 'a', placement: 'nat', hub: 1 },
  { name: 'b', placement: 'symmetric', hub: 2 },
  { name: 'c', placement: 'symmetric', hub: 1 },
];
const pairs: Array<[string, string]> = [['a', 'b'], ['b', 'a'], ['a', 'c'], ['c', 'a'], ['b', 'c'], ['c', 'b']];

interface ClusterJson {
  hubId: string;
  connection: string;
  hubs: Array<{ hubId: string; members: number }>;
  mapMembers?: number;
}

describeRoot('several hubs on NATS JetStream: real hubs, peers and NATs in namespaces', () => {
  let m: ClusterLab | undefined;
  const sshds = new Map<string, Sshd>();
  const timings: Record<string, number> = {};

  /** Runs a stage; on failure prints every process's last lines. */
  async function stage(name: string, body: (m: ClusterLab) => Promise<void>): Promise<void> {
    if (m === undefined) throw new Error('the topology did not come up (see beforeAll)');
    const t0 = Date.now();
    try {
      await body(m);
    } catch (e) {
      say(tag, `FAILED in "${name}": ${(e as Error).message}\n${m.logs()}`);
      throw e;
    } finally {
      timings[name] = Date.now() - t0;
      say(tag, `stage "${name}" took ${timings[name]} ms`);
    }
  }

  async function cluster(m: ClusterLab, hub: 1 | 2): Promise<ClusterJson | undefined> {
    return (await m.status(m.hub(hub).daemon))?.cluster as ClusterJson | undefined;
  }

  async function until<T>(what: string, get: () => Promise<T | undefined>, ms: number): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await get();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function allPairsPing(m: ClusterLab, names: string[], count: number): Promise<void> {
    for (const x of names) {
      for (const y of names) {
        if (x === y) continue;
        const r = await m.ping(x, m.peer(y).overlay, count);
        expect(r.received, `${x} -> ${y}: ${r.out}`).toBe(count);
      }
    }
  }

  beforeAll(async () => {
    requireDist();
    natsSkipReason();
    const missing = toolsMissing(['nats-server', 'curl', 'sshd', 'ssh']);
    if (missing !== undefined) throw new Error(`${missing} (.ci/run installs it)`);
    const lab = new ClusterLab(tag);
    const t0 = Date.now();
    try {
      await lab.startNats();
      await lab.startHub(1);
      await lab.startHub(2);
      for (const s of first) lab.addPeer(s);
      for (const s of first) await lab.peer(s.name).daemon.waitMsg('registered with hub', {}, { timeoutMs: 30_000 });
      for (const s of first) sshds.set(s.name, await startSshd(lab, s.name));
    } catch (e) {
      console.log(lab.logs());
      lab.dispose();
      throw e;
    }
    m = lab;
    timings.setup = Date.now() - t0;
    say(tag, `3 NATS nodes, 2 hubs, 3 peers registered, sshd in each: ${timings.setup} ms`);
  }, 120_000);

  afterAll(() => {
    say(tag, `timings (ms): ${JSON.stringify(timings)}`);
    m?.dispose();
  });

  it('1. peers homed on different hubs reach each other: ping and ssh between all pairs, b <-> c relayed', async () => {
    await stage('all pairs', async (m) => {
      for (const [x, y] of pairs) {
        const ms = await m.waitPing(x, m.peer(y).overlay, 30_000);
        say(tag, `${x} -> ${y}: first reply after ${ms} ms`);
      }
      // a (EIM) and b (random-port EDM) on different hubs: birthday, PUNCH through both hubs.
      const t0 = Date.now();
      await Promise.all([m.waitPath('a', 'b', 'direct', 40_000), m.waitPath('a', 'c', 'direct', 40_000)]);
      timings.directAcrossHubs = Date.now() - t0;
      await allPairsPing(m, ['a', 'b', 'c'], 3);
      for (const [x, y] of pairs) {
        const r = await ssh(m, x, m.peer(y).overlay, sshds.get(y)!.clientKey, 'hostname; echo meshd-ok');
        expect(r.code, `ssh ${x} -> ${y}: ${r.stderr}`).toBe(0);
        expect(r.stdout).toContain('meshd-ok');
      }
      const st = (await m.status(m.peer('b').daemon)) as StatusJson | undefined;
      const toC = st ? statusPeer(st, m.peer('c').overlay, 'c') : undefined;
      say(tag, `paths: a->b ${m.lastPath('a', 'b')}, a->c ${m.lastPath('a', 'c')} (both direct ${timings.directAcrossHubs} ms after the first pings), b->c ${toC?.path}`);
      expect(toC?.path).toBe('relay');
    });
  }, 90_000);

  it('2. the NATS node holding the hubs\' connections killed with -9: pings pass, a new claim works', async () => {
    await stage('one NATS node killed', async (m) => {
      const conns = await m.natsConnections();
      const victim = m.nats[conns.indexOf(Math.max(...conns))]!;
      say(tag, `client connections per NATS node: ${conns.join(', ')}; killing ${victim.name} (kill -9)`);
      m.killNats(victim);
      await allPairsPing(m, ['a', 'b', 'c'], 3);
      const t0 = Date.now();
      m.addPeer({ name: 'd', placement: 'nat', hub: 2 });
      await m.peer('d').daemon.waitMsg('registered with hub', {}, { timeoutMs: 40_000 });
      timings.claimAfterNodeLoss = Date.now() - t0;
      say(tag, `new peer d (hub 2) registered ${timings.claimAfterNodeLoss} ms after it started, one NATS node down`);
      const ms = await m.waitPing('a', m.peer('d').overlay, 30_000);
      await m.waitPath('a', 'd', 'direct', 30_000);
      say(tag, `a (hub 1) -> d (hub 2): first reply after ${ms} ms, direct after ${Date.now() - t0 - timings.claimAfterNodeLoss} ms`);
      for (const h of [1, 2] as const) {
        const c = await cluster(m, h);
        say(tag, `hub ${h} cluster: ${JSON.stringify(c)}`);
        expect(c?.connection).toBe('connected');
        expect(c?.hubs.length).toBe(1);
      }
    });
  }, 120_000);

  it('3. both hubs cut from NATS: existing pairs keep working, a new claim is refused with a reason; NATS back: it reconciles', async () => {
    await stage('cut from NATS', async (m) => {
      const cutAt = Date.now();
      m.cutFromNats(1);
      m.cutFromNats(2);
      say(tag, 'both hubs cut from NATS (nftables drop both ways)');
      const seen = await until('hub 1 says its NATS connection is down', async () => {
        const c = await cluster(m, 1);
        return c && c.connection !== 'connected' ? c : undefined;
      }, 30_000);
      timings.cutNoticed = Date.now() - cutAt;
      say(tag, `hub 1 says ${seen.connection} ${timings.cutNoticed} ms after the cut`);
      // A new address claim while cut off: refused with a reason the peer logs.
      const e = m.addPeer({ name: 'e', placement: 'nat', hub: 1 });
      const refusal = await e.daemon.waitFor('a refusal', (o) => typeof o.code === 'string' && o.code.startsWith('HUB_REFUSED_'), { timeoutMs: 20_000 });
      say(tag, `new peer e while cut off: ${String(refusal.code)}: ${String(refusal.msg)}`);
      expect(refusal.code).toBe('HUB_REFUSED_UNAVAILABLE');
      // Existing direct pairs keep working past the presence TTL: each hub keeps its last view.
      const pastTtl = cutAt + defaultPresenceTtlMs + 3_000 - Date.now();
      if (pastTtl > 0) await new Promise((r) => setTimeout(r, pastTtl));
      for (const [x, y] of [['a', 'b'], ['b', 'a'], ['a', 'c'], ['c', 'a'], ['a', 'd'], ['d', 'a']] as const) {
        const r = await m.ping(x, m.peer(y).overlay, 3);
        expect(r.received, `${x} -> ${y} ${Date.now() - cutAt} ms into the cut: ${r.out}`).toBe(3);
      }
      // Each hub keeps serving its last view: the other hub's members stay in its map.
      for (const h of [1, 2] as const) {
        const c = await cluster(m, h);
        say(tag, `hub ${h} ${Date.now() - cutAt} ms into the cut: ${c?.connection}, ${c?.mapMembers} members in its map`);
        expect(c?.connection).not.toBe('connected');
        expect(c?.mapMembers).toBe(4);
      }
      const relayed = await m.ping('b', m.peer('c').overlay, 3);
      const db = await m.ping('d', m.peer('b').overlay, 3);
      say(tag, `${Date.now() - cutAt} ms into the cut: direct pairs answer; b -> c (relayed across hubs over NATS) ${relayed.received}/3, d -> b (${m.lastPath('d', 'b') ?? 'relay'}) ${db.received}/3`);
      expect(e.daemon.seen((o) => o.msg === 'registered with hub').length).toBe(0);

      const healAt = Date.now();
      m.healFromNats(1);
      m.healFromNats(2);
      say(tag, 'NATS reachable again');
      await until('both hubs connected and seeing each other', async () => {
        const [c1, c2] = [await cluster(m, 1), await cluster(m, 2)];
        return c1?.connection === 'connected' && c2?.connection === 'connected' && c1.hubs.length === 1 && c2.hubs.length === 1 ? true : undefined;
      }, 60_000);
      timings.hubsReconnected = Date.now() - healAt;
      await e.daemon.waitMsg('registered with hub', {}, { timeoutMs: 70_000 });
      timings.refusedPeerJoined = Date.now() - healAt;
      say(tag, `hubs reconnected ${timings.hubsReconnected} ms after the heal; e registered after ${timings.refusedPeerJoined} ms`);
      for (const x of ['a', 'b', 'd']) {
        const ms = await m.waitPing(x, e.overlay, 30_000);
        say(tag, `${x} -> e: first reply after ${ms} ms`);
      }
      await allPairsPing(m, ['a', 'b', 'c'], 3);
    });
  }, 180_000);
});
