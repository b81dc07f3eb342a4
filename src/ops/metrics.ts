// Prometheus metrics over HTTP (`--metrics 127.0.0.1:9101`) with prom-client. Every metric reads
// the daemon's own counters at scrape time through MetricsSources, so the data path does no extra
// work. Used by the peer and hub daemons; only the metrics whose source is given are exported.
import { createServer } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { parseEndpoint, type Endpoint } from '../net/udp.js';
import { ConfigError, MeshdError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { UserPath } from './status-types.js';

/** Cumulative traffic of one (peer, direction, path): the daemon keeps one such counter set per path. */
export interface TrafficSample {
  peer: string;
  direction: 'in' | 'out';
  path: UserPath;
  packets: number;
  bytes: number;
}

/** Several hubs sharing NATS (issue 24), as a hub sees the cluster at scrape time. */
export interface ClusterMetrics {
  /** The NATS connection is up. */
  natsConnected: boolean;
  /** This hub's view of the shared state is unsound (cut from NATS, its presence writes or watch
   * failing): it keeps serving its last view, refuses new claims and judges no other hub dead. */
  partitioned: boolean;
  /** Other hubs seen alive. */
  hubsSeen: number;
  /** Members of the served map by home hub id (this hub's included). */
  membersByHub: Record<string, number>;
  /** Presence writes that failed (each retried within the TTL), since start. */
  presenceWriteFailures: number;
  /** Hub-to-hub UDP sessions (relayed data between hubs). */
  hubUdpSessions: number;
  /** Hub-to-hub UDP frames dropped, by reason (hub/hub-channel.ts). */
  hubUdpDrops: Record<string, number>;
  /** Cross-hub PUNCH and relay refused, by reason (hub/cluster-forward.ts). */
  forwardDrops: Record<string, number>;
  /** Datagrams relayed to and from other hubs. */
  relayed: { out: number; in: number };
  /** Live other hubs whose --acl policy differs from this hub's (hub/cluster-acl.ts). */
  aclMismatch?: number;
}

/**
 * Functions the daemon supplies; each returns cumulative counts since start (never decreasing),
 * keyed by the label value. They run at scrape time and must be cheap and must not throw.
 */
export interface MetricsSources {
  /** meshd_packets_total and meshd_bytes_total {peer,direction,path}. */
  traffic?(): Iterable<TrafficSample>;
  /** meshd_drops_total{reason}: peer/counters.ts drops. */
  drops?(): Record<string, number>;
  /** meshd_handshakes_total{result}: e.g. ok, bad_mac, replay, timeout. */
  handshakes?(): Record<string, number>;
  /** meshd_punch_attempts_total{outcome}: e.g. direct, lan, failed. */
  punchAttempts?(): Record<string, number>;
  /** meshd_kcp_retransmits_total{peer}. */
  kcpRetransmits?(): Record<string, number>;
  /** meshd_hub_transport_switches_total{to}: the peer's hub leg switches, by the leg switched to (issue 21). */
  hubTransportSwitches?(): Record<string, number>;
  /** meshd_route_packets_total{route}: packets sent into a subnet route or exit node, or forwarded for our own (issue 23). */
  routePackets?(): Record<string, number>;
  /** meshd_family_packets_total{family}: overlay packets by family and direction (ipv4_in, ipv6_out...). */
  familyPackets?(): Record<string, number>;
  /** meshd_hub_relay_bytes_total (hub). */
  hubRelayBytes?(): number;
  /** meshd_hub_registered_peers (hub, a gauge). */
  hubRegisteredPeers?(): number;
  /** meshd_publish_visitor_events_total{event}: visitor connections opened, refused by reason, idle-closed, budget resets (hub). */
  publishVisitorEvents?(): Record<string, number>;
  /** meshd_cluster_* (a hub with --cluster): read once per scrape. */
  cluster?(): ClusterMetrics;
}

export interface MetricsServer {
  /** The bound address (the real port when asked for port 0). */
  readonly address: Endpoint;
  close(): Promise<void>;
}

/** Parses the --metrics value "ip:port"; throws ConfigError naming the option. */
export function parseMetricsListen(s: string): Endpoint {
  const e = parseEndpoint(s);
  if (!e) throw new ConfigError('--metrics', `expects ip:port, e.g. 127.0.0.1:9101 (got ${JSON.stringify(s)})`);
  return e;
}

/** The registry with meshd's metrics, reading `sources` at collect time. Exported for tests. */
export function buildRegistry(sources: MetricsSources): Registry {
  const registry = new Registry();
  const registers = [registry];
  const byLabel = (name: string, help: string, label: string, read: () => Record<string, number>): void => {
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [k, v] of Object.entries(read())) this.inc({ [label]: k }, v);
      },
    });
  };
  const { traffic, drops, handshakes, punchAttempts, kcpRetransmits, hubRelayBytes, hubRegisteredPeers } = sources;
  if (traffic) {
    // Each counter reads the source in its own collect: a shared read would leave whichever the
    // registry serialises first one scrape behind.
    const trafficCounter = (name: string, help: string, field: 'packets' | 'bytes'): void => {
      new Counter({
        name,
        help,
        labelNames: ['peer', 'direction', 'path'],
        registers,
        collect() {
          this.reset();
          for (const t of traffic()) this.inc({ peer: t.peer, direction: t.direction, path: t.path }, t[field]);
        },
      });
    };
    trafficCounter('meshd_packets_total', 'Overlay packets by peer, direction (in, out) and path (direct, lan, relay)', 'packets');
    trafficCounter('meshd_bytes_total', 'Overlay bytes by peer, direction (in, out) and path (direct, lan, relay)', 'bytes');
  }
  if (drops) byLabel('meshd_drops_total', 'Packets dropped, by reason', 'reason', drops);
  if (handshakes) byLabel('meshd_handshakes_total', 'Handshakes by result', 'result', handshakes);
  if (punchAttempts) byLabel('meshd_punch_attempts_total', 'Hole-punch attempts by outcome', 'outcome', punchAttempts);
  if (sources.publishVisitorEvents) {
    byLabel('meshd_publish_visitor_events_total', 'Visitor connections to published services: opened, refused_<reason>, idle_closed, budget_reset', 'event', sources.publishVisitorEvents);
  }
  if (kcpRetransmits) byLabel('meshd_kcp_retransmits_total', 'KCP segments retransmitted, by peer', 'peer', kcpRetransmits);
  if (sources.hubTransportSwitches) byLabel('meshd_hub_transport_switches_total', 'Hub transport switches, by the leg switched to', 'to', sources.hubTransportSwitches);
  if (sources.familyPackets) byLabel('meshd_family_packets_total', 'Overlay packets by address family and direction (ipv4_in, ipv4_out, ipv6_in, ipv6_out)', 'family', sources.familyPackets);
  if (sources.routePackets) byLabel('meshd_route_packets_total', 'Packets through subnet routes and exit nodes, by route and via', 'route', sources.routePackets);
  if (hubRelayBytes) {
    new Counter({
      name: 'meshd_hub_relay_bytes_total',
      help: 'Bytes the hub relayed between peers',
      registers,
      collect() {
        this.reset();
        this.inc(hubRelayBytes());
      },
    });
  }
  if (hubRegisteredPeers) {
    new Gauge({
      name: 'meshd_hub_registered_peers',
      help: 'Peers currently registered with the hub',
      registers,
      collect() {
        this.set(hubRegisteredPeers());
      },
    });
  }
  if (sources.cluster) clusterMetrics(sources.cluster, registers);
  return registry;
}

/** The meshd_cluster_* families: one read of the cluster per scrape (the first family collected
 * reads it; the others use that reading). */
function clusterMetrics(read: () => ClusterMetrics, registers: Registry[]): void {
  let last: ClusterMetrics | undefined;
  const now = (first: boolean): ClusterMetrics => (first || !last ? (last = read()) : last);
  const gauge = (name: string, help: string, value: (c: ClusterMetrics) => number, first = false): void => {
    new Gauge({ name, help, registers, collect() {
      this.set(value(now(first)));
    } });
  };
  const byLabel = (name: string, help: string, label: string, kind: 'counter' | 'gauge', values: (c: ClusterMetrics) => Record<string, number>): void => {
    if (kind === 'counter') {
      new Counter({ name, help, labelNames: [label], registers, collect() {
        this.reset();
        for (const [k, v] of Object.entries(values(now(false)))) this.inc({ [label]: k }, v);
      } });
      return;
    }
    new Gauge({ name, help, labelNames: [label], registers, collect() {
      this.reset();
      for (const [k, v] of Object.entries(values(now(false)))) this.set({ [label]: k }, v);
    } });
  };
  gauge('meshd_cluster_nats_connected', 'Whether the hub is connected to NATS (1) or not (0)', (c) => (c.natsConnected ? 1 : 0), true);
  gauge('meshd_cluster_partitioned', "Whether the hub's view of the shared state is unsound (1: cut from NATS or its writes failing; it serves its last view and refuses new claims)", (c) => (c.partitioned ? 1 : 0));
  gauge('meshd_cluster_hubs_seen', 'Other hubs of the network seen alive', (c) => c.hubsSeen);
  byLabel('meshd_cluster_members', 'Members of the served map by home hub', 'hub', 'gauge', (c) => c.membersByHub);
  new Counter({ name: 'meshd_cluster_presence_write_failures_total', help: 'Presence writes that failed (each retried within the TTL)', registers, collect() {
    this.reset();
    this.inc(now(false).presenceWriteFailures);
  } });
  gauge('meshd_cluster_hub_udp_sessions', 'Hub-to-hub UDP sessions (relayed data between hubs)', (c) => c.hubUdpSessions);
  byLabel('meshd_cluster_hub_udp_drops_total', 'Hub-to-hub UDP frames dropped, by reason', 'reason', 'counter', (c) => c.hubUdpDrops);
  byLabel('meshd_cluster_forward_drops_total', 'Cross-hub PUNCH and relay refused, by reason', 'reason', 'counter', (c) => c.forwardDrops);
  byLabel('meshd_cluster_relayed_total', 'Datagrams relayed to (out) and from (in) other hubs', 'direction', 'counter', (c) => ({ out: c.relayed.out, in: c.relayed.in }));
  gauge('meshd_cluster_acl_mismatch', "Live other hubs whose --acl policy differs from this hub's (every hub should load the same file)", (c) => c.aclMismatch ?? 0);
}

/**
 * Serves GET /metrics on `listen`. Any address is allowed; the metrics name peers and their
 * traffic, so bind to loopback unless a firewall guards the port. Fails with METRICS_LISTEN.
 */
export async function startMetrics(listen: Endpoint, sources: MetricsSources, log: Logger = silentLogger()): Promise<MetricsServer> {
  const registry = buildRegistry(sources);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(path === '/' ? 200 : 404, { 'content-type': 'text/plain; charset=utf-8' }).end(path === '/' ? 'meshd: metrics at /metrics\n' : 'not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (e: unknown) => {
        log.warn({ err: e }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new MeshdError('METRICS_LISTEN', `--metrics ${listen.address}:${listen.port}: cannot listen: ${e.code ?? e.message}`)));
    server.listen(listen.port, listen.address, () => resolve());
  });
  server.on('error', (e) => log.warn({ err: e }, 'metrics server error'));
  const bound = server.address();
  const address = typeof bound === 'object' && bound !== null ? { address: bound.address, port: bound.port } : listen;
  log.info({ listen: `${address.address}:${address.port}` }, 'metrics listening');
  let closed: Promise<void> | undefined;
  return {
    address,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
