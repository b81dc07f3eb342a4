// The hub's composition root: startHub() wires a Link on the given UdpSocket to the registry, the
// map sender, punch coordination and the relay, runs the expiry timer, and reports status().
// The CLI builds the real UdpSocket and logger; tests pass the memory twins and a ManualClock.
import type { StaticKeyPair } from '../crypto/keys.js';
import { keyId, Link } from '../link/link.js';
import type { Endpoint, UdpSocket } from '../net/udp.js';
import type { Clock, TimerHandle, WallClock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { componentLogger } from '../util/log.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import { HubPublisher, type PublishedServiceStatus } from '../publish/hub-publisher.js';
import type { PortRange } from '../publish/spec.js';
import { Relay } from './relay.js';
import { heartbeatIntervalMs, parseNetwork, Registry } from './registry.js';
import { HubServer } from './server.js';

/** Local tuning: how often the hub looks for members whose heartbeats stopped. */
export const expiryCheckIntervalMs = 5_000;
/** Local tuning: how often a summary of map distribution is logged while maps are moving. */
export const mapLogIntervalMs = 10_000;

export interface HubOptions {
  /** Informational (the socket is already bound there); shown in status. */
  listen: Endpoint;
  /** The overlay network, CIDR ("10.9.0.0/24"). */
  network: string;
  psk: Uint8Array;
  keyPair: StaticKeyPair;
  /** Allow-list of peer public keys; absent = any key that knows the network secret. */
  allowedKeys?: Uint8Array[];
  clock: Clock;
  wallClock: WallClock;
  log: Logger;
  udp: UdpSocket;
  relayBytesPerSec?: number;
  relayBurstBytes?: number;
  heartbeatMs?: number;
  /** Public TCP ports peers may publish services on (--allow-publish); absent = none. */
  allowPublish?: PortRange[];
  /** Address published ports listen on; default the --listen address (0.0.0.0 if that is). */
  publishListenHost?: string;
  /** Concurrent visitor connections per published service (--publish-max-conns). */
  publishMaxConns?: number;
}

export interface HubPeerStatus {
  publicKey: string;
  overlay: string;
  name: string;
  endpoint: string;
  lan: string[];
  bootId: string;
  lastHeartbeatAgoMs: number;
  relayedBytes: number;
}

export interface HubStatus {
  listen: string;
  network: string;
  mapVersion: number;
  peers: HubPeerStatus[];
  relayedBytes: number;
  relayedPackets: number;
  relayDrops: Record<string, number>;
  linkDrops: Record<string, number>;
  /** Control work refused per reason (hub/server.ts drops: PUNCH limits, reliable-send cap). */
  controlDrops: Record<string, number>;
  /** Published services, their connections and bytes (docs/PUBLISH.md). */
  published: PublishedServiceStatus[];
}

export interface Hub {
  readonly publicKey: Uint8Array;
  status(): HubStatus;
  /** Stops timers and the link and closes the socket. */
  close(): Promise<void>;
  /** @internal tests */
  readonly registry: Registry;
  readonly link: Link;
  readonly publisher: HubPublisher;
  readonly server: HubServer;
}

export function startHub(opts: HubOptions): Hub {
  const network = parseNetwork(opts.network);
  const log = componentLogger(opts.log, 'hub');
  const allowed = opts.allowedKeys ? new Set(opts.allowedKeys.map(keyId)) : undefined;
  const link = new Link({
    udp: opts.udp,
    keyPair: opts.keyPair,
    psk: opts.psk,
    clock: opts.clock,
    wallClock: opts.wallClock,
    log: componentLogger(opts.log, 'link'),
    answerHubKey: true,
  });
  const registry = new Registry(network);
  const relay = new Relay(opts.relayBytesPerSec, opts.relayBurstBytes);
  const heartbeatMs = opts.heartbeatMs ?? heartbeatIntervalMs;
  const publisher = new HubPublisher({
    allow: opts.allowPublish ?? [],
    listenHost: opts.publishListenHost ?? opts.listen.address,
    clock: opts.clock,
    log: componentLogger(opts.log, 'publish'),
    ...(opts.publishMaxConns !== undefined ? { maxConnsPerService: opts.publishMaxConns } : {}),
    send: (key, inner) => link.send(key, inner),
    sendReliable: (m, make, onGiveUp) => {
      const member = registry.get(m.id);
      if (member) server.sendReliable(member, make, onGiveUp);
      else onGiveUp();
    },
    sendControl: (key, msg) => server.sendControl(key, msg),
  });
  const server = new HubServer({
    publish: publisher,
    link,
    registry,
    clock: opts.clock,
    log,
    relay,
    heartbeatMs,
    // Refused at registration (not at the handshake) so the peer learns why.
    keyAllowed: (k) => allowed === undefined || allowed.has(keyId(k)),
    // One line per map change (or coalesced batch of them): how long until every member had it.
    onMapFanout: (r) => log.info(r, 'hub: map change delivered'),
  });
  let timer: TimerHandle = opts.clock.setTimer(expiryCheckIntervalMs, expire);
  let mapLogTimer: TimerHandle = opts.clock.setTimer(mapLogIntervalMs, logMaps);
  let loggedParts = 0;
  let loggedRetransmits = 0;
  let closed = false;
  // One line per interval while MAP parts are moving (a join storm's map streaming takes minutes at
  // 10,000 members: RELIABILITY.md "Hub load"); silent when idle.
  function logMaps(): void {
    if (closed) return;
    const c = server.maps.counters;
    if (c.parts !== loggedParts || c.retransmits !== loggedRetransmits) {
      log.info(
        {
          members: registry.size, mapVersion: registry.version, parts: c.parts - loggedParts, retransmits: c.retransmits - loggedRetransmits,
          giveUps: c.giveUps, snapshots: c.snapshots, inFlight: server.maps.inFlight, srttMs: Math.round(server.maps.srttMs ?? 0), queued: server.maps.queued,
          // Handshakes compete with map bytes for the loop: what waits for a DH, and the cookies sent.
          handshakeBacklog: link.handshakeBacklog, underLoad: link.underLoad, handshakes: link.stats.handshakesCompleted,
          cookiesSent: link.drops.cookie_sent, superseded: link.drops.superseded, backlogFull: link.drops.queue_full,
        },
        'hub: map distribution',
      );
      loggedParts = c.parts;
      loggedRetransmits = c.retransmits;
    }
    mapLogTimer = opts.clock.setTimer(mapLogIntervalMs, logMaps);
  }
  function expire(): void {
    if (closed) return;
    for (const m of registry.expired(opts.clock.now(), heartbeatMs)) server.removeMember(m, 'heartbeats stopped');
    timer = opts.clock.setTimer(expiryCheckIntervalMs, expire);
  }
  log.info({ listen: `${opts.listen.address}:${opts.listen.port}`, network: network.cidr }, 'hub: started');
  return {
    publicKey: opts.keyPair.publicKey,
    registry,
    link,
    publisher,
    server,
    status(): HubStatus {
      const now = opts.clock.now();
      return {
        listen: `${opts.listen.address}:${opts.listen.port}`,
        network: network.cidr,
        mapVersion: registry.version,
        peers: registry.all().map((m) => ({
          publicKey: Buffer.from(m.publicKey).toString('base64'),
          overlay: u32ToIpv4(m.overlay),
          name: m.name,
          endpoint: `${m.reflexive.address}:${m.reflexive.port}`,
          lan: m.lan.map((e) => `${e.address}:${e.port}`),
          bootId: m.bootId.toString(16),
          lastHeartbeatAgoMs: now - m.lastHeartbeatMs,
          relayedBytes: m.relayedBytes,
        })),
        relayedBytes: relay.relayedBytes,
        relayedPackets: relay.relayedPackets,
        relayDrops: { ...relay.drops },
        linkDrops: { ...link.drops },
        controlDrops: { ...server.drops },
        published: publisher.status(),
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      opts.clock.clearTimer(timer);
      opts.clock.clearTimer(mapLogTimer);
      server.close();
      publisher.close();
      await link.close();
      await opts.udp.close();
    },
  };
}
