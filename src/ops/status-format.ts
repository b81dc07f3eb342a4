// Pure rendering of the control socket's answers for humans: `meshd status` tables (like `wg show`
// and `tailscale status`) and `meshd ping` lines. Inputs are the JSON of ops/status-types.ts.
import { MeshdError } from '../util/errors.js';
import { printable } from '../util/printable.js';

/** A peer name from the network, safe to print (no terminal escapes, no bidi overrides). */
export const printableName = printable;
import type { PingReply, PingSummary } from './control-protocol.js';
import type { DnsJson, HubSetJson, HubStatusJson, HubTransportJson, PeerStatusJson, PublishedJson, RoutesJson, StaleHandshakeJson } from './status-types.js';

/** 1536 -> "1.5 KiB"; binary units, one decimal below 10, whole numbers above. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${n} B`;
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** 75_000 -> "1m15s"; whole seconds, the two largest units. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${m % 60}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** 12_300 -> "12s ago"; null -> "never". */
export function formatAgo(ms: number | null): string {
  return ms === null ? 'never' : `${formatDuration(ms)} ago`;
}

/** 1.234 -> "1.2ms", 31.6 -> "32ms"; null -> "-". */
export function formatRtt(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 10 ? `${ms.toFixed(1)}ms` : `${Math.round(ms)}ms`;
}

/** The table's short key: the first 8 characters of the base64 public key. */
export function shortKey(key: string): string {
  return key.slice(0, 8);
}

/** Left-aligned columns two spaces apart, no trailing spaces. Control characters become '?'. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const clean = [header, ...rows].map((r) => r.map((c) => printable(c)));
  const widths = header.map((_, i) => Math.max(...clean.map((r) => (r[i] ?? '').length)));
  return clean.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

function formatHubTransport(t: HubTransportJson): string {
  const pct = (v: number | null) => (v === null ? '-' : `${v}%`);
  const ms = (v: number | null) => (v === null ? '-' : `${v} ms`);
  return `hub transport ${t.leg.toUpperCase()} (${t.setting}): ${t.reason}, for ${formatDuration(t.sinceMsAgo)}; switches ${t.switches}; udp loss ${pct(t.udp.lossPct)} rtt ${ms(t.udp.rttMs)}; ${t.stream.kind} ${t.stream.up ? 'up' : 'down'} loss ${pct(t.stream.lossPct)} rtt ${ms(t.stream.rttMs)}`;
}

/** Several hubs: one row each (role, RTT, last heard, why it is not in use). */
export function formatHubSet(hubs: readonly HubSetJson[]): string {
  const rows = hubs.map((h) => [
    h.hub, h.role, h.transport ?? '-', formatRtt(h.rttMs), formatAgo(h.lastHeardMsAgo), h.key ? shortKey(h.key) : '-',
    `${h.why ?? ''}${h.retryInMs !== null ? `${h.why ? '; ' : ''}retry in ${formatDuration(h.retryInMs)}` : ''}`,
  ]);
  return renderTable(['HUB', 'ROLE', 'LEG', 'RTT', 'HEARD', 'KEY', 'WHY'], rows);
}

export function formatPeerStatus(s: PeerStatusJson): string {
  const lines = [
    `peer ${printable(s.name)} ${s.address}${s.address6 ? ` ${s.address6}` : ''}  key ${shortKey(s.publicKey)}  tun ${s.tun} mtu ${s.mtu}  ${s.transport}  listen ${s.listen}  up ${formatDuration(s.uptimeMs)}`,
    `hub ${s.hub.endpoint}  ${s.hub.registered ? 'registered' : s.hub.refused ? `not registered (${printable(s.hub.refused)}; retrying)` : 'not registered'}  reflexive ${s.hub.reflexive ?? '-'}  heard ${formatAgo(s.hub.lastHeardMsAgo)}`,
    ...(s.hubTransport ? [formatHubTransport(s.hubTransport)] : []),
    ...(s.hubs ? ['', formatHubSet(s.hubs)] : []),
    '',
  ];
  if (s.peers.length === 0) lines.push('no other peers in the network yet');
  else {
    const rows = s.peers.map((p) => [
      p.name,
      p.address6 ? `${p.address} ${p.address6}` : p.address,
      shortKey(p.publicKey),
      p.path ?? '-',
      p.endpoint ?? '-',
      formatRtt(p.rttMs),
      p.lossPct === null ? '-' : `${Math.round(p.lossPct)}%`,
      formatBytes(p.rxBytes),
      formatBytes(p.txBytes),
      formatAgo(p.lastHeardMsAgo),
      formatAgo(p.lastHandshakeMsAgo),
    ]);
    lines.push(renderTable(['NAME', 'ADDRESS', 'KEY', 'PATH', 'ENDPOINT', 'RTT', 'LOSS', 'IN', 'OUT', 'HEARD', 'HANDSHAKE'], rows));
  }
  pushTraversal(lines, s);
  pushChannelModes(lines, s);
  const drops = Object.entries(s.drops).filter(([, n]) => n > 0);
  const t6 = s.traffic6 && s.traffic6.rxPackets + s.traffic6.txPackets > 0 ? `  of which IPv6 in ${s.traffic6.rxPackets} out ${s.traffic6.txPackets} pkts` : '';
  lines.push('', `traffic in ${formatBytes(s.traffic.rxBytes)} (${s.traffic.rxPackets} pkts)  out ${formatBytes(s.traffic.txBytes)} (${s.traffic.txPackets} pkts)${t6}`);
  lines.push(drops.length === 0 ? 'drops none' : `drops ${drops.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  if (s.acl?.mode === 'enforce') {
    const d = Object.entries(s.acl.drops).filter(([, n]) => n > 0);
    lines.push(`acl v${s.acl.version}: ${s.acl.rules} rules, ${s.acl.flows} flows, ${s.acl.allowedAsReply} replies allowed; denied ${d.length === 0 ? 'none' : d.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  }
  pushPublished(lines, s.services);
  pushRoutes(lines, s.routes);
  pushDns(lines, s.dns);
  pushStale(lines, s.staleHandshake);
  return `${lines.join('\n')}\n`;
}

/** This node's NAT class and, per pair with a traversal, the technique that won or why it is relayed. */
function pushTraversal(lines: string[], s: PeerStatusJson): void {
  if (s.nat) {
    const n = s.nat;
    lines.push('', `nat mapping ${n.mapping}  filtering ${n.filtering}  allocation ${n.allocation}${n.allocation === 'sequential' ? ` (delta ${n.delta})` : ''}  port mapping ${n.portMap.length ? n.portMap.join(',') : 'none'}`);
    if (s.portMapping) lines.push(`port mapping: ${printable(s.portMapping)}`);
  }
  const rows = s.peers.filter((p) => p.traversal).map((p) => {
    const t = p.traversal!;
    const took = t.timeToDirectMs !== undefined ? ` in ${(t.timeToDirectMs / 1000).toFixed(1)} s` : '';
    return [p.name, t.technique, t.state + took, `${t.probes}`, printable(t.reason)];
  });
  if (rows.length > 0) lines.push('', renderTable(['PEER', 'TECHNIQUE', 'STATE', 'PROBES', 'WHY'], rows));
}

/** One line per peer: the pair's transport decision (peer/pair-transport.ts), its FEC shape (k+m;
 * `none` while the path is clean, `off` where FEC may not run) and why, with what FEC repaired. */
function pushChannelModes(lines: string[], s: PeerStatusJson): void {
  const fec = s.fec ?? {};
  const rows = s.peers.filter((p) => p.channelMode || fec[p.address]).map((p) => {
    const c = p.channelMode;
    const f = fec[p.address];
    const gate = c?.fec ?? (f !== undefined && f.k > 0);
    const shape = !gate || f === undefined ? 'off' : f.m > 0 ? `${f.k}+${f.m}` : 'none';
    const why = [c?.why ?? '-'];
    if (f !== undefined && gate) {
      why.push(`shape ${f.why}`);
      if (f.parityFrames + f.repaired + f.unrecovered > 0) why.push(`parity ${f.parityFrames} frames (${formatBytes(f.overheadBytes)}), repaired ${f.repaired}, unrecovered ${f.unrecovered}`);
    }
    return [p.name, c?.mode ?? '-', shape, printable(why.join('; '))];
  });
  if (rows.length > 0) lines.push('', renderTable(['PEER', 'CHANNEL', 'FEC', 'WHY'], rows));
}

/** One line when a handshake was refused as stale: the usual cause is a clock without NTP. */
function pushStale(lines: string[], st: StaleHandshakeJson | undefined): void {
  if (!st) return;
  const dir = st.skewS > 0 ? 'ahead of' : 'behind';
  lines.push('', `clock: a handshake from ${shortKey(st.remote)} (${st.from}) was refused as stale ${formatAgo(st.agoMs)}: its clock is ${Math.abs(st.skewS)} s ${dir} ours (limit 180 s)`);
}

function pushRoutes(lines: string[], r: RoutesJson | undefined): void {
  if (!r) return;
  lines.push('', `routes: offered ${r.offered.length ? r.offered.join(', ') : 'none'}; ${r.acceptRoutes ? 'accepting' : 'not accepting (--accept-routes)'}`);
  if (r.exitNode) lines.push(`exit node: ${r.exitNode}`);
  else if (r.exitNodeWhy) lines.push(`exit node: not in use: ${r.exitNodeWhy}`);
  if (r.routes.length === 0) return;
  const rows = r.routes.map((x) => [x.route, x.via, x.state, x.why, String(x.packets), formatBytes(x.bytes)]);
  lines.push(renderTable(['ROUTE', 'VIA', 'STATE', 'WHY', 'PKTS', 'BYTES'], rows));
}

function pushDns(lines: string[], d: DnsJson | undefined): void {
  if (!d) return;
  lines.push('', `dns: *.${d.domain} on ${d.listen ?? 'not listening'} (${d.names} names, ${d.answered} answered, ${d.refused} refused); ${d.resolver}`);
}

function pushPublished(lines: string[], services: readonly PublishedJson[] | undefined): void {
  if (!services || services.length === 0) return;
  const rows = services.map((p) => [
    p.name,
    `:${p.port}`,
    p.target ?? p.owner ?? '-',
    p.state === 'refused' ? `refused: ${p.reason ?? ''}` : (p.state ?? 'published'),
    `${p.connections}/${p.totalConnections}`,
    formatBytes(p.bytesIn),
    formatBytes(p.bytesOut),
  ]);
  lines.push('', renderTable(['SERVICE', 'PORT', 'TARGET', 'STATE', 'CONNS', 'IN', 'OUT'], rows));
}

/** The hub-to-hub UDP sessions (hub/hub-channel.ts): one line each, then what was dropped. */
function hubUdpLines(udp: NonNullable<NonNullable<HubStatusJson['cluster']>['crossHub']>['udp']): string[] {
  if (!udp) return [];
  const dropped = Object.entries(udp.drops).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
  return [
    ...udp.sessions.map((x) => `hub-to-hub udp: ${x.hubId} at ${x.endpoint || '?'}: out ${x.framesOut} (${formatBytes(x.bytesOut)}), in ${x.framesIn} (${formatBytes(x.bytesIn)})`),
    `hub-to-hub udp: ${udp.sessions.length} session(s); frames dropped: ${dropped || 'none'}`,
  ];
}

export function formatHubStatus(s: HubStatusJson): string {
  const lines = [
    `hub key ${shortKey(s.publicKey)}  network ${s.network}  listen ${s.listen}  up ${formatDuration(s.uptimeMs)}  map v${s.mapVersion}`,
    `relayed ${formatBytes(s.relayedBytes)} (${s.relayedPackets} pkts)${s.acl && s.acl.rules > 0 ? `  acl ${s.acl.rules} rules, ${s.acl.enforcing} members enforcing` : ''}${s.acl?.maps === 'scoped' ? `, maps scoped (mean ${s.acl.meanMapEntries ?? 0} entries)` : ''}`,
    ...(s.stream ? [`stream tcp ${s.stream.tcp ?? 'off'}  tls ${s.stream.tls ?? 'off'}  connections ${s.stream.connections}`] : []),
    ...(s.cluster
      ? [`cluster: hub ${s.cluster.hubId}, NATS ${s.cluster.connection}, ${s.cluster.mapMembers} members in the map; other hubs: ${s.cluster.hubs.map((h) => `${h.hubId} (${h.members} members, seen ${formatAgo(h.lastSeenAgoMs)})`).join(', ') || 'none'}`,
        ...(s.cluster.crossHub
          ? [`cross-hub: relayed ${s.cluster.crossHub.counters.relayedOut ?? 0} out, ${s.cluster.crossHub.counters.relayedIn ?? 0} in; punches ${s.cluster.crossHub.counters.punchesOut ?? 0} out, ${s.cluster.crossHub.counters.punchesIn ?? 0} in; dropped ${Object.values(s.cluster.crossHub.drops).reduce((a, b) => a + b, 0)}; watches remade ${s.cluster.watchRestarts ?? 0}`,
            ...hubUdpLines(s.cluster.crossHub.udp)]
          : []),
        ...(s.cluster.presence
          ? [`presence: ${s.cluster.presence.writeFailures} writes failed (retried within the TTL), last written ${formatAgo(s.cluster.presence.lastWriteAgoMs)}`]
          : []),
        ...(s.cluster.acl && s.cluster.acl.mismatched.length > 0
          ? [`acl: MISMATCH: this hub's --acl ${s.cluster.acl.digest ?? 'none'}; ${s.cluster.acl.mismatched.map((h) => `${h.hubId} has ${h.digest ?? 'none'}`).join(', ')} (give every hub the same file)`]
          : [])]
      : []),
    `join with: meshd peer --hub <this host>:${s.listen.split(':').pop()} --hub-key ${s.publicKey}`,
    '',
  ];
  if (s.members.length === 0) lines.push('no peers registered');
  else {
    const rows = s.members.map((m) => [
      m.name,
      m.address6 ? `${m.address} ${m.address6}` : m.address,
      shortKey(m.publicKey),
      m.reflexive,
      m.lan.length === 0 ? '-' : m.lan.join(','),
      formatAgo(m.lastHeartbeatMsAgo),
      formatDuration(m.registeredMsAgo),
      formatBytes(m.relayedBytes),
    ]);
    lines.push(renderTable(['NAME', 'ADDRESS', 'KEY', 'REFLEXIVE', 'LAN', 'HEARTBEAT', 'REGISTERED', 'RELAYED'], rows));
  }
  if (s.bindings !== undefined && s.bindings.length > 0) {
    const rows = s.bindings.map((b) => [b.name === '' ? '-' : b.name, b.address, shortKey(b.publicKey), b.lastSeen ?? 'never', b.pinned ? 'allow-list' : 'first come']);
    lines.push('', 'held for keys not registered now (free one with meshd hub release NAME|ADDRESS|KEY):');
    lines.push(renderTable(['NAME', 'ADDRESS', 'KEY', 'LAST SEEN', 'BOUND BY'], rows));
  }
  pushPublished(lines, s.published);
  if (s.routes !== undefined && s.routes.length > 0) {
    lines.push('', renderTable(['ROUTE', 'OFFERED BY', 'ADDRESS', 'VERDICT'], s.routes.map((r) => [r.route, r.owner, r.address, r.verdict])));
  }
  pushStale(lines, s.staleHandshake);
  return `${lines.join('\n')}\n`;
}

/** Dispatches on `role`; an answer of another shape (a daemon of another version?) is STATUS_SHAPE. */
export function formatStatus(s: unknown): string {
  const role = typeof s === 'object' && s !== null ? (s as { role?: unknown }).role : undefined;
  try {
    if (role === 'peer') return formatPeerStatus(s as PeerStatusJson);
    if (role === 'hub') return formatHubStatus(s as HubStatusJson);
  } catch (e) {
    throw new MeshdError('STATUS_SHAPE', `the daemon's status has an unexpected shape (${(e as Error).message}); try --json`);
  }
  throw new MeshdError('STATUS_SHAPE', 'the daemon answered a status without a known role; try --json');
}

function who(target: string, name?: string, address?: string): string {
  if (name && address) return `${printable(name)} (${address})`;
  return printable(name ?? address ?? target);
}

/** "pong from b (10.9.0.3) via 198.51.100.7:41641 (direct) in 1.2ms" */
export function formatPingReply(target: string, r: PingReply): string {
  return `pong from ${who(target, r.name, r.address)} via ${r.endpoint ?? 'hub'} (${r.path}) in ${formatRtt(r.rttMs)}`;
}

/** The closing line of `meshd ping`. */
export function formatPingSummary(s: PingSummary, untilDirect: boolean): string {
  const peer = who(s.target, s.name, s.address);
  if (s.received === 0) return `no reply from ${peer} (${s.sent} sent)`;
  if (untilDirect && !s.direct) return `no direct path to ${peer} yet: ${s.received}/${s.sent} replies, all relayed`;
  const loss = s.sent === 0 ? 0 : Math.round((100 * (s.sent - s.received)) / s.sent);
  return `${s.sent} sent, ${s.received} received, ${loss}% loss`;
}
