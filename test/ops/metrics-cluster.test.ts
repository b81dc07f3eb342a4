// The cluster in metrics (issue 24): meshd_cluster_* families as Prometheus text (golden), one read
// of the cluster per scrape, the mapping from a hub's cluster status (hub/cluster-metrics.ts), and
// the status two real hubs' states give it on one NATS node.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { clusterMetricsOf } from '../../src/hub/cluster-metrics.js';
import type { ClusterStatus } from '../../src/hub/network-state.js';
import { keyId } from '../../src/link/key-id.js';
import { buildRegistry, type ClusterMetrics } from '../../src/ops/metrics.js';
import { systemClock } from '../../src/util/clock.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { natsSkipReason } from '../helpers/nats.js';
import { natsPairs } from '../helpers/nats-pair.js';

const sample: ClusterMetrics = {
  natsConnected: true, partitioned: false, hubsSeen: 1, membersByHub: { '3f2a9c01d4e5b6a7': 5, '8c1d00aa00bb00cc': 2 }, presenceWriteFailures: 3,
  hubUdpSessions: 1, hubUdpDrops: { malformed: 0, replayed: 2 }, forwardDrops: { no_hub_path: 1 }, relayed: { out: 1520, in: 1498 },
};

const golden = `# HELP meshd_cluster_nats_connected Whether the hub is connected to NATS (1) or not (0)
# TYPE meshd_cluster_nats_connected gauge
meshd_cluster_nats_connected 1

# HELP meshd_cluster_partitioned Whether the hub's view of the shared state is unsound (1: cut from NATS or its writes failing; it serves its last view and refuses new claims)
# TYPE meshd_cluster_partitioned gauge
meshd_cluster_partitioned 0

# HELP meshd_cluster_hubs_seen Other hubs of the network seen alive
# TYPE meshd_cluster_hubs_seen gauge
meshd_cluster_hubs_seen 1

# HELP meshd_cluster_members Members of the served map by home hub
# TYPE meshd_cluster_members gauge
meshd_cluster_members{hub="3f2a9c01d4e5b6a7"} 5
meshd_cluster_members{hub="8c1d00aa00bb00cc"} 2

# HELP meshd_cluster_presence_write_failures_total Presence writes that failed (each retried within the TTL)
# TYPE meshd_cluster_presence_write_failures_total counter
meshd_cluster_presence_write_failures_total 3

# HELP meshd_cluster_hub_udp_sessions Hub-to-hub UDP sessions (relayed data between hubs)
# TYPE meshd_cluster_hub_udp_sessions gauge
meshd_cluster_hub_udp_sessions 1

# HELP meshd_cluster_hub_udp_drops_total Hub-to-hub UDP frames dropped, by reason
# TYPE meshd_cluster_hub_udp_drops_total counter
meshd_cluster_hub_udp_drops_total{reason="malformed"} 0
meshd_cluster_hub_udp_drops_total{reason="replayed"} 2

# HELP meshd_cluster_forward_drops_total Cross-hub PUNCH and relay refused, by reason
# TYPE meshd_cluster_forward_drops_total counter
meshd_cluster_forward_drops_total{reason="no_hub_path"} 1

# HELP meshd_cluster_relayed_total Datagrams relayed to (out) and from (in) other hubs
# TYPE meshd_cluster_relayed_total counter
meshd_cluster_relayed_total{direction="out"} 1520
meshd_cluster_relayed_total{direction="in"} 1498

# HELP meshd_cluster_acl_mismatch Live other hubs whose --acl policy differs from this hub's (every hub should load the same file)
# TYPE meshd_cluster_acl_mismatch gauge
meshd_cluster_acl_mismatch 0
`;

describe('meshd_cluster_* metrics', () => {
  it('print as this golden text', async () => {
    expect(await buildRegistry({ cluster: () => sample }).metrics()).toBe(golden);
  });

  it('read the cluster once per scrape, and again at the next', async () => {
    let reads = 0;
    const r = buildRegistry({ cluster: () => ({ ...sample, hubsSeen: ++reads }) });
    expect(await r.metrics()).toContain('meshd_cluster_hubs_seen 1\n');
    expect(await r.metrics()).toContain('meshd_cluster_hubs_seen 2\n');
    expect(reads).toBe(2);
  });

  it('are absent on a single hub (no cluster source)', async () => {
    expect(await buildRegistry({ hubRegisteredPeers: () => 1 }).metrics()).not.toContain('meshd_cluster_');
  });

  const status = (over: Partial<ClusterStatus>): ClusterStatus => ({ hubId: 'aa', connection: 'connected', hubs: [{ hubId: 'bb', members: 4, lastSeenAgoMs: 100 }], mapMembers: 7, ownMembers: 3, viewSound: true, presence: { writeFailures: 2, lastWriteAgoMs: 10 }, ...over });
  it.each([
    { why: 'connected, sound view', s: status({}), connected: true, partitioned: false },
    { why: 'writes failing (a NATS node rejoining): unsound view', s: status({ viewSound: false }), connected: true, partitioned: true },
    { why: 'cut from NATS', s: status({ connection: 'reconnecting', viewSound: false }), connected: false, partitioned: true },
  ])('clusterMetricsOf: $why', ({ s, connected, partitioned }) => {
    const m = clusterMetricsOf(s, { counters: { punchesOut: 0, punchesIn: 0, relayedOut: 9, relayedIn: 8, relayedBytesOut: 0, relayedBytesIn: 0 }, drops: { malformed: 0, unknown_target: 0, no_home: 0, bus_refused: 1, punch_rate_limited: 0, unknown_sender: 0, sender_is_ours: 0, key_mismatch: 0, relay_refused: 0, wrong_home: 0, no_hub_path: 0 }, udp: { sessions: [], drops: { malformed: 0, unknown_epoch: 3, bad_key: 0, replayed: 0, bad_tag: 0, no_path: 0, send_failed: 0 } } });
    expect(m).toMatchObject({ natsConnected: connected, partitioned, hubsSeen: 1, membersByHub: { aa: 3, bb: 4 }, presenceWriteFailures: 2, hubUdpSessions: 0, relayed: { out: 9, in: 8 } });
    expect(m.hubUdpDrops.unknown_epoch).toBe(3);
    expect(m.forwardDrops.bus_refused).toBe(1);
  });
});

const skip = natsSkipReason();
describe.skipIf(skip !== undefined)('a hub sharing NATS, in metrics', () => {
  const nats = natsPairs();
  it('shows NATS connected, a sound view, the other hub and the members homed on each', async () => {
    const [a, b] = await nats.pair();
    for (const [s, overlay] of [[a, '10.9.0.2'], [b, '10.9.0.3'], [b, '10.9.0.4']] as const) {
      const kp = generateKeyPair();
      s.memberChanged(s.members.upsert({ publicKey: kp.publicKey, id: keyId(kp.publicKey), overlay: ipv4ToU32(overlay), name: '', bootId: 1n, reflexive: { address: '198.51.100.10', port: 40000 }, lan: [] }, systemClock.now()).member, false);
    }
    const end = Date.now() + 10_000;
    let m = clusterMetricsOf(a.status()!, undefined);
    while (!(m.hubsSeen === 1 && m.membersByHub['hub-b'] === 2 && m.membersByHub['hub-a'] === 1) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      m = clusterMetricsOf(a.status()!, undefined);
    }
    expect(m).toMatchObject({ natsConnected: true, partitioned: false, hubsSeen: 1, membersByHub: { 'hub-a': 1, 'hub-b': 2 } });
  }, 30_000);
});
