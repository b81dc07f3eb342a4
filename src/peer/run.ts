// The peer daemon's composition root: resolves the hub, opens the UDP socket and the TUN device,
// starts the control plane (PeerNode) and the data plane (DataPlane) and joins them.
// The CLI calls startPeerDaemon(); tests run the same code as a real process. What --metrics reads
// is daemon-metrics.ts.
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { presets } from '../arq/constants.js';
import type { PeerConfig } from '../config/schema.js';
import type { StaticKeyPair } from '../crypto/keys.js';
import { decodeKey, encodeKey } from '../crypto/keys.js';
import { pskFromSecret } from '../crypto/psk.js';
import { transportProbeKey } from '../crypto/transport-probe.js';
import { endpointKey, sameEndpoint, type Endpoint } from '../net/udp.js';
import { openUdpSocket, udpOpenError } from '../net/udp-open.js';
import { mallocTrim } from '../net/udp-native.js';
import { HubLegs } from './hub-legs.js';
import { connectStream } from '../net/stream-node.js';
import { openTun, type LinuxTunDevice } from '../tun/linux.js';
import { FastPath, fastAddonJson, fastPathTickMs } from './fast-path.js';
import { applyOverlay6, overlay6Of, overlay6Request } from './overlay6.js';
import { parseIpv6 } from '../util/ipv6.js';
import { systemClock, systemWallClock } from '../util/clock.js';
import { ConfigError, MeshdError } from '../util/errors.js';
import { overlayPrefix, type OverlayPrefix } from '../util/endpoint-filter.js';
import { ipv4ToU32, u32ToIpv4 } from '../util/ipv4.js';
import { isIpv6Text } from '../util/ipv6.js';
import { exitHubStreams } from './routes/exit-hub-streams.js';
import { componentLogger, type Logger } from '../util/log.js';
import { meshdVersion } from '../util/version.js';
import { startControlServer } from '../ops/control-server.js';
import type { HubSetJson } from '../ops/status-types.js';
import { defaultSocketPath } from '../ops/control-protocol.js';
import { readPinnedHubKey, writePinnedHubKey } from './hub-pin.js';
import { resolveHubSet } from './hub-set-config.js';
import { joinedIdentity } from './join-run.js';
import { buildPeerStatus } from './status.js';
import { NatAgent } from '../nat/agent.js';
import { defaultGateway, detectPortMapping, localAddressToward } from '../nat/port-map.js';
import { clientForRecord, clientsFor } from '../nat/port-map-client.js';
import { deleteLeftover, PortMapper } from '../nat/port-mapper.js';
import { filePortMapStore } from './port-map-store.js';
import { UserPinger } from './user-ping.js';
import { DataPlane } from './dataplane.js';
import { lanEndpointsOf } from './lan-endpoints.js';
import { PeerNode } from './node.js';
import { ControlType, REGISTER_FLAG_ROUTES } from '../wire/control.js';
import { LinuxRouteSystem } from './routes/linux-runner.js';
import { RouteManager } from './routes/route-manager.js';
import { nameTable } from './dns/answer.js';
import { integrateResolver } from './dns/resolved.js';
import { DnsServer } from './dns/server.js';
import { memoryJson } from './memory-status.js';
import { MemoryTrimmer } from './memory-trim.js';
import { peerMetricsSources } from './daemon-metrics.js';


export interface PeerDaemon {
  readonly node: PeerNode;
  readonly dataPlane: DataPlane;
  /** Says goodbye to the hub, removes the TUN device, closes the socket. */
  close(): Promise<void>;
  /** Resolves with an error when the daemon must exit on its own (e.g. the TUN was deleted). */
  readonly failed: Promise<Error>;
}

export async function resolveHub(host: string, port: number): Promise<Endpoint> {
  if (isIpv6Text(host)) return { address: host, port }; // --hub [2001:db8::1]:7000 (canonical from config/parse.ts)
  try {
    const { address } = await lookup(host, { family: 4 });
    return { address, port };
  } catch (e) {
    throw new ConfigError('--hub', `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Our LAN candidates: this host's IPv4 addresses with our UDP port, except the TUN device's and any
 * inside the overlay (lan-endpoints.ts). */
function lanEndpoints(port: number, tunName: string, overlay: OverlayPrefix, ipv6: boolean): Endpoint[] {
  return lanEndpointsOf(networkInterfaces(), port, { tunName, overlay, ipv6 });
}

function pinnedHubKey(cfg: PeerConfig): Uint8Array | undefined {
  if (cfg.hubKey) return decodeKey(cfg.hubKey, '--hub-key');
  return readPinnedHubKey(cfg.stateDir);
}

export async function startPeerDaemon(cfg: PeerConfig, keyPair: StaticKeyPair, log: Logger): Promise<PeerDaemon> {
  // No secret: the peer joined by invite (peer/join-run.ts), its psk and name are in joined.json.
  const joined = cfg.secret === '' ? joinedIdentity(cfg) : undefined;
  const psk = joined?.psk ?? pskFromSecret(cfg.secret);
  // Before the TUN exists: a pin that does not parse stops the peer (fail closed).
  const hubKey = pinnedHubKey(cfg);
  const hub = await resolveHub(cfg.hub.host, cfg.hub.port);
  // Several --hub (issue 24, peer/hub-set.ts): every hub with its pinned key; undefined with one.
  const hubSet = await resolveHubSet(cfg, hub, hubKey, log, resolveHub);
  // With --local the TUN is opened first (as before: a missing CAP_NET_ADMIN fails at once); without
  // it the address is not known until the hub assigns one, so the TUN waits for REGISTER_OK.
  // Overlay IPv6 (issue 22): --local6 ADDR/64 is put on the TUN at once; without it the hub's
  // assignment is added after REGISTER_OK (overlay6.ts); --local6 off asks for none.
  const explicit6 = typeof cfg.local6 === 'object' ? cfg.local6 : undefined;
  let tun: LinuxTunDevice | undefined = cfg.local
    ? openTun({ name: cfg.tun, address: cfg.local.address, prefixLength: cfg.local.prefixLength, mtu: cfg.mtu, ...(explicit6 ? { address6: explicit6.address, prefixLength6: explicit6.prefixLength } : {}) })
    : undefined;
  const rawUdp = await openUdpSocket(cfg.listen).catch((e: unknown) => {
    tun?.close();
    throw udpOpenError(e, cfg.listen);
  });
  // Subnet routes and exit nodes (issue 23): a crashed daemon's routes and rules go first.
  const routes: RouteManager = new RouteManager({
    advertise: cfg.advertiseRoutes,
    advertiseExitNode: cfg.advertiseExitNode,
    acceptRoutes: cfg.acceptRoutes,
    ...(cfg.exitNode !== undefined ? { exitNode: cfg.exitNode } : {}),
    exitNodeAllowLan: cfg.exitNodeAllowLan,
    nameOf: (o): string | undefined => node.map.get(o)?.name,
    log: componentLogger(log, 'routes'),
    system: new LinuxRouteSystem(componentLogger(log, 'routes')),
  });
  await routes.cleanupStale(cfg.tun);
  // The hub leg: UDP, or TCP/TLS when UDP is blocked or far lossier (issue 21, peer/hub-transport.ts),
  // one per hub with several --hub (peer/hub-legs.ts); what the data plane reads is the home hub's.
  const hubLegs = new HubLegs({
    setting: cfg.hubTransport,
    udp: rawUdp,
    hubs: hubSet ? hubSet.hubs.map((h) => h.endpoint) : [hub],
    tlsPort: cfg.hubTlsPort,
    connect: connectStream,
    probeKey: transportProbeKey(psk),
    clock: systemClock,
    log: componentLogger(log, 'hub-transport'),
    home: () => node.hubClient.hub,
    // The hub's path follows our next datagram: send one now (a heartbeat, or a fresh handshake
    // initiation while not registered, instead of waiting for the next retransmit).
    onSwitch: (to) => {
      const hc = node.hubClient;
      // Another hub than home (several hubs: the standby): its next PING carries the path; a
      // session it never had is started now.
      if (!sameEndpoint(to, hc.hub)) {
        const key = hubSet?.hubs.find((h) => sameEndpoint(h.endpoint, to))?.key;
        if (key && !node.link.hasSession(key)) node.link.rehandshake(key);
        return;
      }
      // Each pair's transport decision follows the leg at once (pair-transport.ts, leg-channel.ts).
      dataPlane?.channels.reconsiderModes();
      node.announceLeg();
      if (hc.state === 'registered') hc.heartbeat();
      else if (hc.hubKey && !node.link.hasSession(hc.hubKey)) node.link.rehandshake(hc.hubKey);
    },
  });
  const udp = hubLegs.socket;
  // NAT classification and traversal (docs/NAT.md) unless --probe-port 0: the node's socket becomes
  // the NatSocket seam over `udp` (extra sockets for birthday and prediction punching).
  const probePort = cfg.probePort ?? (hub.port < 65535 ? hub.port + 1 : 0);
  // Port mapping (docs/NAT.md): a mapping an earlier run left (it crashed) is deleted first; once
  // classified, a mapping for our port is asked from the gateway whenever a protocol answered.
  const gateway = defaultGateway();
  const portMapClient = gateway ? localAddressToward(gateway, networkInterfaces()) : undefined;
  const portMapStore = filePortMapStore(cfg.stateDir, componentLogger(log, 'portmap'));
  const portMapSocket = () => openUdpSocket({ address: cfg.listen.address, port: 0 }, { impl: 'node' });
  const leftover = probePort === 0 ? undefined : deleteLeftover(portMapStore, (r) => clientForRecord(r, { openSocket: portMapSocket, clock: systemClock }), Date.now(), componentLogger(log, 'portmap')).catch(() => undefined);
  const nat = probePort === 0 ? undefined : new NatAgent({
    main: udp, psk, clock: systemClock, wallClock: systemWallClock, log: componentLogger(log, 'nat'), hub, probePort,
    openFresh: () => openUdpSocket({ address: cfg.listen.address, port: 0 }, { impl: 'node', recvBufferBytes: 1 << 16, sendBufferBytes: 1 << 16 }),
    random01: Math.random,
    portMap: () => detectPortMapping({ openSocket: () => openUdpSocket({ address: cfg.listen.address, port: 0 }, { impl: 'node' }) }),
    portMapper: (found, onChange, onFailure) => cfg.portMap && gateway && portMapClient
      ? new PortMapper({
          gateway, internalPort: udp.local.port, clock: systemClock, wallClock: systemWallClock, log: componentLogger(log, 'portmap'), store: portMapStore, onChange, onFailure,
          clients: clientsFor(found, { gateway, client: portMapClient, openSocket: portMapSocket, clock: systemClock }),
          ...(leftover ? { after: leftover } : {}),
        })
      : undefined,
  });
  const node: PeerNode = new PeerNode({
    udp: nat ? nat.socket : udp,
    hubLeg: () => hubLegs.current,
    ...(nat ? { nat: nat.traversal } : {}),
    keyPair,
    psk,
    clock: systemClock,
    wallClock: systemWallClock,
    log,
    hub,
    ...(hubKey ? { hubKey } : {}),
    ...(hubSet ? { hubs: hubSet.hubs, onHubKeyLearnedAt: hubSet.pin } : {}),
    onHubKeyLearned: (key) => {
      try {
        writePinnedHubKey(cfg.stateDir, key);
      } catch (e) {
        log.warn({ err: e }, 'cannot pin the hub key in the state directory');
      }
    },
    // 0 (prefix 0) asks the hub to assign an address (wire/control.ts REGISTER).
    overlay: cfg.local ? ipv4ToU32(cfg.local.address) : 0,
    prefix: cfg.local?.prefixLength ?? 0,
    ...overlay6Request(cfg.local6, cfg.mtu),
    name: joined?.name ?? cfg.name,
    nameIsHint: cfg.nameIsHint,
    // Without --local the overlay is not known yet, nor does the TUN exist: only its name is excluded
    // here, and the hub drops LAN endpoints inside its --network (M7).
    ...(nat ? { advertised: () => nat.advertised() } : {}),
    lanEndpoints: cfg.listen.address === '0.0.0.0' || cfg.listen.address === '::' ? lanEndpoints(udp.local.port, cfg.tun, cfg.local ? overlayPrefix(ipv4ToU32(cfg.local.address), cfg.local.prefixLength) : overlayPrefix(0, 32), cfg.listen.address === '::') : [udp.local],
    publish: cfg.publish,
    ...(routes.enabled ? { registerFlags: REGISTER_FLAG_ROUTES } : {}),
    ...(cfg.publishBufferMb !== undefined ? { publishBufferBytes: cfg.publishBufferMb * 1048576 } : {}),
  });
  const ht = hubLegs;
  const hc = node.hubClient;
  // The mapped endpoint reaches the hub in a HEARTBEAT's endpoint list: send one when it changes.
  nat?.onMappedChange(() => hc.state === 'registered' && hc.heartbeat());
  hc.onRegistered(() => {
    routes.registered();
    const prefixes = routes.offer();
    if (prefixes.length > 0) hc.sendControlReliable((seq) => ({ type: ControlType.ROUTE_OFFER, seq, prefixes }));
  });
  hc.onOtherControl((msg) => {
    if (msg.type !== ControlType.MAP_EXT) return;
    hc.ack(msg.seq);
    routes.onMapExt(msg.version, msg.routes);
  });
  node.onMapChange(() => routes.refresh());
  // DNS (issue 23): NAME.<domain> from the map, rebuilt on every map change and registration.
  const dns = cfg.dnsDomain
    ? new DnsServer({ domain: cfg.dnsDomain, log: componentLogger(log, 'dns'), open: (b) => openUdpSocket(b, { impl: 'node', recvBufferBytes: 1 << 18, sendBufferBytes: 1 << 18 }) })
    : undefined;
  let resolver = 'not configured yet';
  const refreshNames = (): void => {
    const me = node.hubClient.assigned;
    if (dns) dns.names = nameTable([...(me ? [{ name: me.name, overlay: me.overlay }] : []), ...node.map.all()]);
  };
  node.onMapChange(refreshNames);
  hc.onRegistered(refreshNames);
  let dataPlane: DataPlane | undefined;
  let fail: (e: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  let closing = false;
  const address = (): { address: string; prefixLength: number } | undefined => {
    const a = node.hubClient.assigned;
    return cfg.local ?? (a ? { address: u32ToIpv4(a.overlay), prefixLength: a.prefix } : undefined);
  };

  const hubEndpoint = endpointKey(hub);
  const startedMs = systemClock.now();
  const pinger = new UserPinger(node, systemClock, hubEndpoint);
  // malloc's free pages back to the kernel when the RSS grew (issue 19 item 7; stops by itself
  // where the UDP addon has no trim).
  const trimmer = new MemoryTrimmer({ clock: systemClock, rss: () => process.memoryUsage.rss(), trim: mallocTrim });
  const status = () => {
    const a = address();
    const st = buildPeerStatus({
      version: meshdVersion,
      name: node.hubClient.assigned?.name ?? cfg.name,
      address: a ? `${a.address}/${a.prefixLength}` : 'not assigned yet',
      ...(tun?.address6 !== undefined && dataPlane ? { address6: tun.address6 } : {}),
      publicKey: encodeKey(keyPair.publicKey),
      tun: tun?.name ?? cfg.tun,
      mtu: cfg.mtu,
      transport: cfg.transport,
      listen: `${udp.local.address}:${udp.local.port}`,
      hubEndpoint: node.hubSet?.homeHub ? endpointKey(node.hubSet.homeHub) : hubEndpoint,
      startedMs,
      clock: systemClock,
      node,
      ...(dataPlane ? { dataPlane } : {}),
      ...(nat?.traversal.own ? { nat: nat.traversal.own } : {}),
    });
    return {
      ...st,
      ...(nat?.portMapper ? { portMapping: nat.portMapper.status().text } : {}),
      hubTransport: ht.status(),
      ...(node.hubSet ? { hubs: withLegs(node.hubSet.status(), ht.statusPerHub()) } : {}),
      ...(dataPlane ? { fec: dataPlane.fecStatus(node.remotes) } : {}),
      // Copies of interactive messages (dup-stage.ts): messages copied, copies and bytes added, received.
      ...(dataPlane ? { interactiveCopies: { ...dataPlane.dup.stats } } : {}),
      // Inner TCP windows to KCP pairs capped (tcp-window-clamp.ts): the cap, ACKs lowered, handshakes seen.
      ...(dataPlane?.clamp ? { tcpWindowClamp: { limitBytes: dataPlane.clamp.limitBytes, ...dataPlane.clamp.counters } } : {}),
      ...(routes.enabled ? { routes: routes.status() } : {}),
      memory: memoryJson(process.memoryUsage(), trimmer.stats),
      // The receive path's batching (issue 19 session 7): the socket's counters (datagrams per
      // recvmmsg, kernel drops, receive buffer) and the TUN's (packets per write).
      rxPath: { udp: rawUdp.counters, ...(tun ? { tun: tun.stats() } : {}) },
      // The native fast path (peer/fast-path.ts): entries set and removed, datagrams it sent (booked
      // once a second), the last look's verdicts by reason, and the addon's refusals.
      ...(fast && tun?.fastPath ? { fastPath: { ...fast.stats, addon: fastAddonJson(tun.fastPath.stats()), recvAddon: fast.recvAddonJson() } } : {}),
      ...(dns ? { dns: { domain: cfg.dnsDomain, listen: dns.listen ?? null, names: dns.names.size, resolver, answered: dns.counts.answered, refused: dns.counts.refused } } : {}),
    };
  };
  // The control socket answers while we register, so `meshd status` explains a hub that is not
  // answering or a refusal (the peer keeps retrying: hub-client.ts).
  let control: { close(): Promise<void> } | undefined;
  let metrics: { close(): Promise<void> } | undefined;
  let fastTimer: NodeJS.Timeout | undefined;
  let fast: FastPath | undefined;
  const cleanup = async (): Promise<void> => {
    closing = true;
    clearInterval(fastTimer);
    fast?.clearAll(); // before the TUN closes: the receive half writes to it
    trimmer.stop();
    ht.stop();
    await routes.close();
    await dns?.close();
    dataPlane?.close();
    tun?.close();
    // Deletes the gateway mapping (SIGINT, SIGTERM, a failed start, a normal stop).
    await nat?.close().catch(() => {});
    await node.stop().catch(() => {});
    await control?.close();
    await metrics?.close();
  };
  try {
    control = await startControlServer(
      defaultSocketPath(cfg.stateDir, 'peer'),
      { status, ping: (target, opts, onReply, signal) => pinger.ping(target, opts, onReply, signal) },
      componentLogger(log, 'control'),
    );
    // prom-client and node:http load only with --metrics (~1 MiB a peer without it; issue 19 item 7).
    metrics = cfg.metrics
      ? await (await import('../ops/metrics.js')).startMetrics(
          cfg.metrics,
          peerMetricsSources({ node, hubLegs, routes, nat, dataPlane: () => dataPlane }),
          componentLogger(log, 'metrics'),
        )
      : undefined;
    ht.start();
    await node.start();
    // Classify in the background (a second at most); the class reaches the hub in a HEARTBEAT.
    void nat?.classify().then((c) => c && c.nat.mapping !== 'unknown' && node.natClassified(), (e: unknown) => log.warn({ err: e }, 'nat: classification failed'));
    const a = address()!;
    const a6 = overlay6Of(explicit6, node.hubClient.assigned, log);
    // The hub's own assignment goes on after the TUN is up, so a host without IPv6 still runs (applyOverlay6).
    tun ??= openTun({ name: cfg.tun, address: a.address, prefixLength: a.prefixLength, mtu: cfg.mtu, ...(a6 && explicit6 ? { address6: a6.address, prefixLength6: a6.prefixLength } : {}) });
    applyOverlay6(tun, a6, explicit6, log);
  } catch (e) {
    await cleanup();
    throw e instanceof MeshdError ? e : new MeshdError('PEER_START', String(e));
  }
  const a = address()!;
  const overlay = ipv4ToU32(a.address);
  const a6 = tun.address6 !== undefined ? overlay6Of(explicit6, node.hubClient.assigned) : undefined;
  const dp = (dataPlane = new DataPlane({
    ...(a6 ? { local6: parseIpv6(a6.address)!, prefix6: a6.prefixLength } : {}),
    tun,
    localAddress: overlay,
    relayBudget: node.relayBudget,
    prefixLength: a.prefixLength,
    mtu: cfg.mtu,
    transport: cfg.transport,
    hubLeg: ht,
    kcpMode: cfg.kcpMode,
    preset: presets[cfg.kcpMode],
    clock: systemClock,
    defer: (fn) => setImmediate(fn),
    log: componentLogger(log, 'data'),
    // The records and the sender: a packet resolves its peer once (peer-table.ts) and goes out
    // through the link (link-sender.ts), never through the control plane. Channels follow the
    // records: a new boot id closes one, a departed peer keeps its own for a while (peer-table.ts).
    table: node.remotes,
    sender: node.sender,
    ...(routes.enabled ? { routes } : {}),
    firewall: node.firewall,
    fec: cfg.fec,
    tcpWindowClampBytes: cfg.tcpWindowClampBytes,
  }));
  node.attachData(dp.inbound);
  const net = overlayPrefix(overlay, a.prefixLength);
  // --exit-node: our TCP/TLS legs to every hub stay off the tunnel too (IPv4 hubs; the exit route is IPv4 only).
  const hubStreams = exitHubStreams(hubSet ? hubSet.hubs.map((h) => h.endpoint) : [hub], cfg.hubTransport, cfg.hubTlsPort);
  await routes.attach(tun.name, overlay, { network: net.base, length: a.prefixLength }, udp.local.port, hubStreams);
  if (dns) {
    refreshNames();
    if (await dns.start(a.address)) resolver = await integrateResolver(tun.name, a.address, cfg.dnsDomain, componentLogger(log, 'dns'));
    else resolver = 'not listening';
  }
  const device = tun;
  device.onPackets(dp.outbound.onTunBatch);
  // The native fast path (peer/fast-path.ts, tun/native/fastpath.c): small packets of a clean direct
  // pair leave from the TUN addon, and arrive through the UDP addon (net/native/fastrecv.c), without a
  // turn of JS. MESHD_FAST_PATH=0 keeps them in JS, =send the send half alone (A/B).
  if (device.fastPath && process.env.MESHD_FAST_PATH !== '0') {
    fast = new FastPath({
      port: device.fastPath,
      table: node.remotes,
      socket: nat ? nat.socket : udp,
      link: node.link,
      fecWraps: (p) => dp.fec.wraps(p),
      copiesSmall: (p) => dp.dup.copiesSmall(p),
      aclEnforcing: () => node.firewall.enforcing,
      counters: dp.counters,
      clock: systemClock,
      localAddress: overlay,
      receive: process.env.MESHD_FAST_PATH !== 'send',
    });
    const f = fast;
    node.onMapChange(() => f.clearAll());
    fastTimer = setInterval(() => f.tick(), fastPathTickMs);
    fastTimer.unref();
  }
  device.onClose((err) => {
    if (err && !closing) fail(err);
  });
  log.info(
    { hub: `${node.hubClient.hub.address}:${node.hubClient.hub.port}`, overlay: `${a.address}/${a.prefixLength}`, ...(a6 ? { overlay6: `${a6.address}/${a6.prefixLength}` } : {}), name: node.hubClient.assigned?.name ?? cfg.name, assigned: cfg.local === undefined, tun: device.name, mtu: cfg.mtu, transport: cfg.transport, kcpMode: cfg.kcpMode },
    'registered with hub',
  );

  return {
    node,
    dataPlane: dp,
    failed,
    async close() {
      await cleanup();
    },
  };
}

/** Each hub's row with the leg it is reached on (hub-legs.ts decides per hub). */
function withLegs(rows: HubSetJson[], legs: ReadonlyArray<{ hub: string; leg: string }>): HubSetJson[] {
  return rows.map((r) => {
    const leg = legs.find((l) => l.hub === r.hub)?.leg;
    return leg !== undefined ? { ...r, transport: leg } : r;
  });
}
