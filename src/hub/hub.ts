// The hub, assembled: startHub() wires a Link on the UdpSocket it is given to the registry, the map
// sender, punch coordination, the relay and publishing, runs the expiry timer and reports status().
// It touches no OS resource itself (only published services open TCP listeners, in publish/): the
// process entry hub/run.ts passes the real socket and clocks, the in-process tests (test/vnet,
// test/publish) the memory twins and a ManualClock.
import { randomBytes } from 'node:crypto';
import type { StaticKeyPair } from '../crypto/keys.js';
import { keyId } from '../link/key-id.js';
import { Link } from '../link/link.js';
import { endpointKey, type Endpoint, type UdpSocket } from '../net/udp.js';
import type { Clock, TimerHandle, WallClock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { componentLogger } from '../util/log.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import type { AllowRule } from './route-admission.js';
import type { ExtRoute } from '../wire/routes.js';
import { HubPublisher, type PublishedServiceStatus, type PublishLimits } from '../publish/hub-publisher.js';
import type { PortRange } from '../publish/spec.js';
import { ControlType, encodeControl, REGISTER_CAP_ACL_DELTA, REGISTER_FLAG_ACL, RefusalReason } from '../wire/control.js';
import { encodeInner, InnerKind } from '../wire/inner.js';
import { BindingTable, dayMs, defaultBindingLeaseDays, leaseExpired, matchRelease, type Binding } from './bindings.js';
import { leaseCheckIntervalMs } from './lease-cluster.js';
import { appendJournal, loadBindings, saveBindings } from './binding-store.js';
import { Relay } from './relay.js';
import { CrossHub } from './cluster-forward.js';
import { startHubChannel } from './hub-channel-start.js';
import { MemberSender } from './member-sender.js';
import { memoryState, type NetworkState } from './network-state.js';
import type { HubChannel } from './hub-channel.js';
import { heartbeatIntervalMs, parseNetwork, Registry } from './registry.js';
import { network6Of } from './claim6.js';
import { HubServer } from './server.js';
import { publishCluster } from './publish-cluster.js';
import { probeDemux, ProbeResponder, type ProbeDrop } from './probe-port.js';
import { AclDistributor } from './acl-distributor.js';
import { HubListSender } from './hub-list.js';
import type { AclPolicyFile } from './acl-policy.js';
import { mapCoalesceMs } from './map-sender.js';
import { loadRevocations, saveRevocations, type Revocation } from './revocations.js';
import { startHubInvites, type HubInvites } from './invites.js';
import type { InviteStore } from './invite-store.js';
import type { InviteRequest, IssuedInvite } from './invite-issue.js';

/** Local tuning: how often the hub looks for members whose heartbeats stopped. */
export const expiryCheckIntervalMs = 5_000;
/** Local tuning: the bindings snapshot is rewritten at most this often (a join storm is one write a
 * second, not one per member); new claims are journaled (fdatasync) before REGISTER_OK, so a kill -9
 * between snapshots loses at most refreshed last-seen times. */
export const bindingSaveIntervalMs = 1_000;
/** Local tuning: how often leases are checked and live members' last-seen times refreshed. */
export const bindingSweepIntervalMs = 3_600_000;
/** Local tuning: how often a summary of map distribution is logged while maps are moving. */
export const mapLogIntervalMs = 10_000;

export interface HubOptions {
  /** Informational (the socket is already bound there); shown in status. */
  listen: Endpoint;
  /** The overlay network, CIDR ("10.9.0.0/24"). */
  network: string;
  /** The overlay IPv6 /64 (--network6, hub/claim6.ts); absent = IPv4 overlay only. */
  network6?: { address: string; prefixLength: number };
  psk: Uint8Array;
  keyPair: StaticKeyPair;
  /** Allow-list of peer public keys; absent = any key that knows the network secret. */
  allowedKeys?: Uint8Array[];
  clock: Clock;
  wallClock: WallClock;
  log: Logger;
  udp: UdpSocket;
  /** Random numbers in [0, 1) for the link's session indices and jitter and the endpoint proofs'
   * txids (default: the system's random source; seeded in tests, so a virtual internet run replays). */
  random01?: () => number;
  relayBytesPerSec?: number;
  relayBurstBytes?: number;
  heartbeatMs?: number;
  /** Public TCP ports peers may publish services on (--allow-publish); absent = none. */
  allowPublish?: PortRange[];
  /** Address published ports listen on; default the --listen address (0.0.0.0 if that is). */
  publishListenHost?: string;
  /** Concurrent visitor connections per published service (--publish-max-conns). */
  publishMaxConns?: number;
  /** Visitor and member limits for published services (the --publish-* flags). */
  publishLimits?: PublishLimits;
  /** Where the durable key -> address/name bindings live (<state-dir>/bindings.json); absent = memory only. */
  bindingsPath?: string;
  /** A binding unseen this long is freed (--binding-lease-days); default 30 days. */
  bindingLeaseMs?: number;
  /** Bindings from --allow-keys-file (`KEY ADDRESS [NAME]`): they win over first come and never expire. */
  pinnedBindings?: Array<{ publicKey: Uint8Array; overlay: number; name: string }>;
  /** Who may offer which routes (--allow-routes); absent = nobody (hub/route-admission.ts). */
  allowRoutes?: readonly AllowRule[];
  /** The NAT probe port's socket (--probe-port, default main + 1; hub/probe-port.ts); absent = no probe answers. */
  probeUdp?: UdpSocket;
  /** The shared network state of several hubs (hub/nats-state.ts; the hub closes it); absent = this
   * hub alone (hub/network-state.ts memoryState, with the bindings file at bindingsPath). With it,
   * bindingsPath and pinnedBindings are the state's business, not read here; bindingLeaseMs only
   * sets how often this hub refreshes its members' shared last-seen times and offers to sweep. */
  state?: NetworkState;
  /** Several hubs: the UDP address(es) other hubs send relayed data to (--cluster-advertise);
   * default the listen address when it is a specific one (hub/hub-channel-start.ts). */
  clusterUdp?: Endpoint[];
  /** The ACL policy (--acl, hub/acl-policy.ts); absent = allow all. */
  acl?: AclPolicyFile;
  /** Where revocations live (<state-dir>/revoked.json, hub/revocations.ts); absent = memory only. */
  revocationsPath?: string;
  /** Invites (issue 25, hub/invites.ts): the store of <state-dir>/invites.json; absent = no invites. */
  invites?: InviteStore;
  /** Admit only keys from the allow-list and keys enrolled by an invite (--invite-only). */
  inviteOnly?: boolean;
}

/** What `meshd hub revoke` revoked. */
export interface RevokedKey {
  publicKey: string;
  overlay: string;
  name: string;
  /** It was a live member (now removed). */
  wasMember: boolean;
}

/** What `meshd hub release` freed. */
export interface ReleasedBinding {
  publicKey: string;
  overlay: string;
  name: string;
  /** It was a live member (now removed; it may register again and take what is free). */
  wasMember: boolean;
}

export interface HubPeerStatus {
  publicKey: string;
  overlay: string;
  /** Its overlay IPv6 address, when it has one. */
  overlay6?: string;
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
  /** The overlay IPv6 /64 (--network6), when on. */
  network6?: string;
  mapVersion: number;
  peers: HubPeerStatus[];
  relayedBytes: number;
  relayedPackets: number;
  relayDrops: Record<string, number>;
  /** The relay's shaping queues (hub/relay-shaper.ts): bytes waiting now, the most ever, datagrams that waited. */
  relayQueue: { queuedBytes: number; peakQueuedBytes: number; delayedPackets: number };
  linkDrops: Record<string, number>;
  /** Control work refused per reason (hub/server.ts drops: PUNCH limits, reliable-send cap). */
  controlDrops: Record<string, number>;
  /** Published services, their connections and bytes (docs/PUBLISH.md). */
  published: PublishedServiceStatus[];
  /** Offered routes and their verdicts (issue 23). */
  routes: readonly ExtRoute[];
  /** NAT probes answered per port and refused per reason (hub/probe-port.ts); absent without a probe port. */
  probes?: { answered: Record<'main' | 'probe', number>; drops: Record<ProbeDrop, number> };
  /** The ACL policy (docs/ACL.md): rules in force, members enforcing it, policy messages sent. */
  acl?: { rules: number; enforcing: number; sent: number; tooLarge: number; deltas?: number; wholes?: number; parts?: number; maps?: 'scoped' | 'full'; meanMapEntries?: number };
  /** Several hubs: PUNCH and relay to and from members homed on other hubs (hub/cluster-forward.ts),
   * and the hub-to-hub UDP sessions relayed data goes over (hub/hub-channel.ts). */
  crossHub?: { counters: CrossHub['counters']; drops: CrossHub['drops']; udp?: ReturnType<HubChannel['status']> };
}

export interface Hub {
  readonly publicKey: Uint8Array;
  status(): HubStatus;
  /** Frees the bindings an address, a name or a key (base64) selects (`meshd hub release`). */
  release(selector: string): ReleasedBinding[];
  /** Revokes the key(s) a name, an address or a key selects (`meshd hub revoke`): written to the
   * state dir before it returns, the member removed, its handshakes refused, every peer told. */
  revoke(selector: string): RevokedKey[];
  /** SIGHUP: the allow-list's keys (undefined = no allow-list) and the revocations file again. */
  reloadAccess(allowedKeys: Uint8Array[] | undefined): void;
  /** `meshd hub invite`: records an invite (on disk before it returns) and gives its token. */
  invite(req: InviteRequest): IssuedInvite;
  /** A new ACL policy (SIGHUP) or none: reaches the members whose rules changed within one map delta. */
  setAcl(policy: AclPolicyFile | undefined): void;
  /** @internal tests */
  readonly bindings: BindingTable;
  /** Stops timers and the link and closes the socket. */
  close(): Promise<void>;
  /** @internal tests: this hub's own members (state.members) */
  readonly registry: Registry;
  readonly state: NetworkState;
  readonly link: Link;
  readonly publisher: HubPublisher;
  readonly server: HubServer;
}

/** What the hub seals for a key its allow-list refuses at the handshake: seq 0 (a REGISTER's seq is
 * never 0), so the peer takes it as the answer to the REGISTER it queued behind the handshake. */
const keyNotAllowed = encodeInner({
  kind: InnerKind.CONTROL,
  body: encodeControl({ type: ControlType.REGISTER_REFUSED, seq: 0, reason: RefusalReason.KEY_NOT_ALLOWED, text: 'key not in the hub allow-list' }),
});
/** The same for a revoked key (the reason older peers know, with its own text). */
const keyRevoked = encodeInner({
  kind: InnerKind.CONTROL,
  body: encodeControl({ type: ControlType.REGISTER_REFUSED, seq: 0, reason: RefusalReason.KEY_NOT_ALLOWED, text: 'key revoked by the hub operator' }),
});

export function startHub(opts: HubOptions): Hub {
  const network = parseNetwork(opts.network);
  const log = componentLogger(opts.log, 'hub');
  let allowed = opts.allowedKeys ? new Set(opts.allowedKeys.map(keyId)) : undefined;
  const revoked = new Map<string, Revocation>((opts.revocationsPath ? loadRevocations(opts.revocationsPath) : []).map((r) => [r.id, r]));
  let revokedHandshakes = 0;
  // Revoked keys are refused at the handshake (counted) like keys outside the allow-list.
  const permitted = (k: Uint8Array): boolean => {
    const id = keyId(k);
    if (revoked.has(id)) {
      revokedHandshakes++;
      return false;
    }
    if (allowed === undefined && opts.inviteOnly !== true) return true;
    return allowed?.has(id) === true || opts.invites?.enrolled(id) === true;
  };
  const state = opts.state ?? memoryState(network, new BindingTable(mergePinned(opts.bindingsPath ? loadBindings(opts.bindingsPath) : [], opts.pinnedBindings ?? [], log)));
  const registry = state.members;
  const bindings = state.bindings;
  // --allow-keys-file is enforced at the handshake: an unlisted key gets the handshake response and
  // one sealed REGISTER_REFUSED (so its daemon says why), and the hub keeps nothing for it. A key
  // that handshakes and never registers is forgotten after a grace period (link.ts `retain`).
  const probes = opts.probeUdp ? new ProbeResponder(opts.psk, opts.clock, opts.wallClock, { main: opts.udp, probe: opts.probeUdp }) : undefined;
  // Several hubs: relayed data from other hubs (outer types 10-11) is taken before the link.
  const hubData = state.bus ? startHubChannel(opts, state.bus, log) : undefined;
  const linkUdp = hubData ? hubData.udp : opts.udp;
  const link = new Link({
    udp: probes ? probeDemux(linkUdp, () => probes) : linkUdp,
    keyPair: opts.keyPair,
    psk: opts.psk,
    clock: opts.clock,
    wallClock: opts.wallClock,
    log: componentLogger(opts.log, 'link'),
    ...(opts.random01 ? { randomU32: () => (opts.random01!() * 2 ** 32) >>> 0 } : {}),
    answerHubKey: true,
    allowedKeys: permitted,
    refusal: (k: Uint8Array) => (revoked.has(keyId(k)) ? keyRevoked : keyNotAllowed),
    // Several hubs: a member homed elsewhere keeps its standby session with us (its published services).
    retain: (id) => registry.get(id) !== undefined || (state.services !== undefined && state.map.get(id) !== undefined),
  });
  const invites: HubInvites | undefined = opts.invites ? startHubInvites(opts, link, network, (id) => revoked.has(id)) : undefined;
  const leaseMs = opts.bindingLeaseMs ?? defaultBindingLeaseDays * dayMs;
  let lastSaveMs = -Infinity;
  let saveTimer: TimerHandle | undefined;
  const saveNow = (): void => {
    if (saveTimer !== undefined) opts.clock.clearTimer(saveTimer);
    saveTimer = undefined;
    if (!opts.bindingsPath) return;
    lastSaveMs = opts.clock.now();
    try {
      saveBindings(opts.bindingsPath, bindings.all());
    } catch (e) {
      log.error({ err: e, path: opts.bindingsPath }, 'hub: cannot write the bindings file; bindings live in memory until the next write');
    }
  };
  const bindingsChanged = (claim?: Binding): void => {
    if (!opts.bindingsPath) return;
    if (claim && !claim.pinned) {
      try {
        appendJournal(opts.bindingsPath, { op: 'set', binding: claim });
      } catch (e) {
        log.error({ err: e, path: opts.bindingsPath }, 'hub: cannot append to the bindings journal; the binding lives in memory until the next snapshot');
      }
    }
    if (saveTimer !== undefined) return;
    const wait = lastSaveMs + bindingSaveIntervalMs - opts.clock.now();
    if (wait <= 0) saveNow();
    else saveTimer = opts.clock.setTimer(wait, saveNow);
  };
  const heartbeatMs = opts.heartbeatMs ?? heartbeatIntervalMs;
  // The server and the publisher both reach members through the sender; the server calls the
  // publisher through the MemberServices slice it declares, and the publisher never calls the server.
  const random01 = opts.random01;
  const randomTxid = random01 ? () => (BigInt(Math.floor(random01() * 2 ** 32)) << 32n) | BigInt(Math.floor(random01() * 2 ** 32)) : () => randomBytes(8).readBigUInt64LE(0);
  const sender = new MemberSender(link, opts.clock, randomTxid);
  // A queued datagram leaves later: only to a target that is still a member.
  const relay = new Relay(opts.relayBytesPerSec, opts.relayBurstBytes, {
    clock: opts.clock,
    send: (t, inner) => void (registry.get(t.id) === t && sender.sendTo(t.id, t.publicKey, inner)),
  });
  const publisher = new HubPublisher({
    allow: opts.allowPublish ?? [],
    listenHost: opts.publishListenHost ?? opts.listen.address,
    clock: opts.clock,
    log: componentLogger(opts.log, 'publish'),
    ...(opts.publishMaxConns !== undefined ? { maxConnsPerService: opts.publishMaxConns } : {}),
    ...opts.publishLimits,
    send: (key, inner) => link.send(key, inner),
    sendReliable: (m, make, onGiveUp) => {
      // A member homed on another hub is reached over the session it keeps with us (publish-cluster.ts).
      if (registry.get(m.id) || (state.services && link.hasSession(m.publicKey))) sender.sendReliable(m, make, onGiveUp);
      else onGiveUp();
    },
    sendControl: (key, msg) => sender.sendControl(key, msg),
    ...(state.services ? { cluster: publishCluster(state, state.services, link) } : {}),
  });
  // Several hubs: the hubs' keys to peers with several --hub (HUB_LIST, hub/hub-list.ts).
  const hubList = new HubListSender({ sender, state, clock: opts.clock });
  // Several hubs: PUNCH and relay for members homed on another hub go through the state's bus.
  const crossHub = state.bus ? new CrossHub({ state, bus: state.bus, ...(hubData ? { channel: hubData.channel } : {}), sender, relay, clock: opts.clock, log: componentLogger(opts.log, 'cluster') }) : undefined;
  const server = new HubServer({
    ...(crossHub ? { elsewhere: crossHub } : {}),
    ...(opts.allowRoutes ? { allowRoutes: opts.allowRoutes } : {}),
    publish: publisher,
    sender,
    link,
    registry,
    state,
    clock: opts.clock,
    log,
    relay,
    heartbeatMs,
    // Also checked at registration, should a key leave the list while it has a session.
    keyAllowed: permitted,
    // One line per map change (or coalesced batch of them): how long until every member had it.
    onMapFanout: (r) => log.info(r, 'hub: map change delivered'),
    bindings,
    wallNow: () => opts.wallClock(),
    onBindingsChanged: bindingsChanged,
    onRegistered: (m, flags, fresh, caps) => {
      acl.registered(m, (flags & REGISTER_FLAG_ACL) !== 0, fresh, (caps & REGISTER_CAP_ACL_DELTA) !== 0);
      hubList.registered(m, flags);
    },
    onMembersChanged: () => acl.changed(),
    ...(opts.network6 ? { network6: network6Of(opts.network6) } : {}),
  });
  const acl: AclDistributor = new AclDistributor({
    clock: opts.clock,
    log,
    members: () => registry.all(),
    // With several hubs a rule's names and tags select members homed anywhere (the shared map).
    everyone: () => state.map.all(),
    sendReliable: (id, make, onGiveUp, onSettled) => {
      const m = registry.get(id);
      if (m) sender.sendReliableBody(m, make, onGiveUp, onSettled);
      else {
        onGiveUp();
        onSettled?.();
      }
    },
    firstVersion: Math.floor(opts.wallClock() / 1000),
    coalesceMs: mapCoalesceMs,
    revokedKeys: () => [...revoked.keys()].map((id) => Uint8Array.from(Buffer.from(id, 'hex'))),
  });
  /** Removes live members holding newly revoked keys and tells every capable peer. */
  const enforceRevoked = (ids: string[]): void => {
    for (const id of ids) {
      const m = registry.get(id);
      if (m) server.removeMember(m, 'key revoked by the operator');
      link.forget(Uint8Array.from(Buffer.from(id, 'hex')));
    }
    if (ids.length > 0) acl.revoked(ids.map((id) => Uint8Array.from(Buffer.from(id, 'hex'))));
  };
  if (opts.acl) acl.setPolicy(opts.acl);
  // Scoped maps (docs/ACL.md "Scoped maps"): each member's map holds whom the policy lets it reach.
  if (opts.acl) server.maps.setPolicy(opts.acl);
  // Leases: a binding unseen for --binding-lease-days is freed; live members count as seen now.
  function sweepLeases(): void {
    const now = opts.wallClock();
    let changed = false;
    for (const b of bindings.all()) {
      if (registry.get(b.id)) {
        b.lastSeenMs = now;
        changed = true;
      } else if (leaseExpired(b, now, leaseMs)) {
        state.release(b);
        changed = true;
        log.info({ peer: b.id.slice(0, 8), overlay: u32ToIpv4(b.overlay), name: b.name, lastSeen: new Date(b.lastSeenMs).toISOString() }, 'hub: binding lease expired; address and name are free');
      }
    }
    if (changed) bindingsChanged();
  }
  // Several hubs (hub/lease-cluster.ts): each hub refreshes its own members' network-wide last-seen
  // times; the hub that takes the sweep key frees the leases that ran out, for the whole network.
  function sweepClusterLeases(sweep: (nowWallMs: number) => Promise<Binding[]>): void {
    const now = opts.wallClock();
    for (const m of registry.all()) void state.seen?.(m.id, now);
    sweep(now).then(
      (freed) => {
        for (const b of freed) log.info({ peer: b.id.slice(0, 8), overlay: u32ToIpv4(b.overlay), name: b.name, lastSeen: new Date(b.lastSeenMs).toISOString() }, 'hub: binding lease expired network-wide; address and name are free');
      },
      (e: unknown) => log.warn({ err: e instanceof Error ? e.message : String(e) }, 'hub: lease sweep failed; tried again at the next check'),
    );
  }
  const sweepOnce = (): void => (opts.state === undefined ? sweepLeases() : state.sweepLeases ? sweepClusterLeases(state.sweepLeases) : undefined);
  const sweepEveryMs = leaseCheckIntervalMs(leaseMs, bindingSweepIntervalMs);
  if (opts.state === undefined) sweepLeases();
  let sweepTimer: TimerHandle = opts.clock.setTimer(sweepEveryMs, function again() {
    if (closed) return;
    sweepOnce();
    sweepTimer = opts.clock.setTimer(sweepEveryMs, again);
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
          giveUps: c.giveUps, held: c.held, snapshots: c.snapshots, inFlight: server.maps.inFlight, srttMs: Math.round(server.maps.srttMs ?? 0), queued: server.maps.queued,
          // Scoped maps (docs/ACL.md): deltas not sent (nothing the member sees), members current.
          ...(opts.acl || c.skipped > 0 ? { skipped: c.skipped, current: server.maps.current } : {}),
          // Handshakes compete with map bytes for the loop: what waits for a DH, and the cookies sent.
          handshakeBacklog: link.handshakeBacklog, underLoad: link.underLoad, handshakes: link.stats.handshakesCompleted,
          cookiesSent: link.drops.cookie_sent, superseded: link.drops.superseded, backlogFull: link.drops.backlog_full, queueFull: link.drops.queue_full,
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
  log.info({ listen: `${opts.listen.address}:${opts.listen.port}`, network: network.cidr, bindings: bindings.size }, 'hub: started');
  return {
    publicKey: opts.keyPair.publicKey,
    registry,
    state,
    bindings,
    release(selector: string): ReleasedBinding[] {
      const keyIdOf = (s: string) => (/^[A-Za-z0-9+/]{43}=$/.test(s) ? Buffer.from(s, 'base64').toString('hex') : /^[0-9a-f]{64}$/.test(s) ? s : undefined);
      const out: ReleasedBinding[] = [];
      for (const b of matchRelease(bindings.all(), selector, keyIdOf)) {
        state.release(b);
        const m = registry.get(b.id);
        if (m) server.removeMember(m, 'binding released by the operator');
        // removeMember marks the binding seen; it is gone already, so nothing is re-added.
        out.push({ publicKey: Buffer.from(b.id, 'hex').toString('base64'), overlay: u32ToIpv4(b.overlay), name: b.name, wasMember: m !== undefined });
        log.warn({ peer: b.id.slice(0, 8), overlay: u32ToIpv4(b.overlay), name: b.name, pinned: b.pinned }, 'hub: binding released by the operator');
      }
      if (out.length > 0) saveNow();
      return out;
    },
    revoke(selector: string): RevokedKey[] {
      const keyIdOf = (s: string) => (/^[A-Za-z0-9+/]{43}=$/.test(s) ? Buffer.from(s, 'base64').toString('hex') : /^[0-9a-f]{64}$/.test(s) ? s : undefined);
      const targets = new Map<string, Revocation>();
      const now = opts.wallClock();
      for (const b of matchRelease(bindings.all(), selector, keyIdOf)) targets.set(b.id, { id: b.id, name: b.name, address: u32ToIpv4(b.overlay), atMs: now });
      for (const m of registry.all()) {
        if (m.name === selector.trim() || u32ToIpv4(m.overlay) === selector.trim()) targets.set(m.id, { id: m.id, name: m.name, address: u32ToIpv4(m.overlay), atMs: now });
      }
      const raw = keyIdOf(selector.trim());
      if (raw !== undefined && !targets.has(raw)) targets.set(raw, { id: raw, name: '', address: '', atMs: now });
      const fresh = [...targets.values()].filter((r) => !revoked.has(r.id));
      if (fresh.length === 0) return [];
      const next = new Map(revoked);
      for (const r of fresh) next.set(r.id, r);
      // On disk before anything else: a revocation the operator saw succeed survives a crash.
      if (opts.revocationsPath) saveRevocations(opts.revocationsPath, [...next.values()]);
      for (const r of fresh) revoked.set(r.id, r);
      const out = fresh.map((r) => ({ publicKey: Buffer.from(r.id, 'hex').toString('base64'), overlay: r.address, name: r.name, wasMember: registry.get(r.id) !== undefined }));
      enforceRevoked(fresh.map((r) => r.id));
      for (const r of fresh) log.warn({ peer: r.id.slice(0, 8), overlay: r.address, name: r.name }, 'hub: key revoked by the operator');
      return out;
    },
    reloadAccess(allowedKeys: Uint8Array[] | undefined): void {
      allowed = allowedKeys ? new Set(allowedKeys.map(keyId)) : undefined;
      const fromFile = opts.revocationsPath ? loadRevocations(opts.revocationsPath) : [...revoked.values()];
      const before = new Set(revoked.keys());
      revoked.clear();
      for (const r of fromFile) revoked.set(r.id, r);
      const added = [...revoked.keys()].filter((id) => !before.has(id));
      // Members the reloaded lists no longer admit leave now.
      for (const m of registry.all()) {
        if (!revoked.has(m.id) && allowed !== undefined && !allowed.has(m.id) && opts.invites?.enrolled(m.id) !== true) server.removeMember(m, 'key left the allow-list');
      }
      enforceRevoked(added);
      log.info({ revoked: revoked.size, newlyRevoked: added.length, allowList: allowed?.size ?? 'none' }, 'hub: allow-list and revocations reloaded');
    },
    invite(req: InviteRequest): IssuedInvite {
      if (!invites) throw new Error('this hub keeps no invites (no --state-dir store)');
      return invites.issue(req);
    },
    setAcl(policy: AclPolicyFile | undefined): void {
      acl.setPolicy(policy);
      server.maps.setPolicy(policy);
      log.info({ rules: policy?.rules.length ?? 0, enforcing: acl.subscribers }, policy ? 'hub: ACL policy loaded' : 'hub: no ACL policy; members allow all');
    },
    link,
    publisher,
    server,
    status(): HubStatus {
      const now = opts.clock.now();
      return {
        listen: `${opts.listen.address}:${opts.listen.port}`,
        network: network.cidr,
        ...(opts.network6 ? { network6: network6Of(opts.network6).cidr } : {}),
        mapVersion: state.map.version,
        peers: registry.all().map((m) => ({
          publicKey: Buffer.from(m.publicKey).toString('base64'),
          overlay: u32ToIpv4(m.overlay),
          ...(m.overlay6 !== undefined ? { overlay6: m.overlay6 } : {}),
          name: m.name,
          endpoint: endpointKey(m.reflexive),
          lan: m.lan.map(endpointKey),
          bootId: m.bootId.toString(16),
          lastHeartbeatAgoMs: now - m.lastHeartbeatMs,
          relayedBytes: m.relayedBytes,
        })),
        relayedBytes: relay.relayedBytes,
        relayedPackets: relay.relayedPackets,
        relayDrops: { ...relay.drops },
        relayQueue: { queuedBytes: relay.queuedBytes, peakQueuedBytes: relay.peakQueuedBytes, delayedPackets: relay.delayedPackets },
        linkDrops: { ...link.drops },
        controlDrops: { ...server.drops, revoked_handshake: revokedHandshakes, ...invites?.drops() },
        published: publisher.status(),
        routes: server.routes.current,
        ...(probes ? { probes: { answered: { ...probes.answered }, drops: { ...probes.drops } } } : {}),
        acl: { rules: acl.rules, enforcing: acl.subscribers, sent: acl.counters.sent, tooLarge: acl.counters.tooLarge, deltas: acl.counters.deltas, wholes: acl.counters.wholes, parts: acl.counters.parts, ...scopeStatus(server.maps.scope) },
        ...(crossHub ? { crossHub: { counters: { ...crossHub.counters }, drops: { ...crossHub.drops }, ...(hubData ? { udp: hubData.channel.status() } : {}) } } : {}),
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      opts.clock.clearTimer(timer);
      opts.clock.clearTimer(mapLogTimer);
      opts.clock.clearTimer(sweepTimer);
      acl.close();
      hubList.close();
      if (saveTimer !== undefined) saveNow();
      server.close();
      relay.close();
      publisher.close();
      await link.close();
      await opts.udp.close();
      await opts.probeUdp?.close();
      await state.close();
    },
  };
}

/** The allow-list's bindings over the file's: a file binding of another key on a listed address or
 * name is dropped (with a warning): the operator's list wins over first come. */
function mergePinned(fromFile: Binding[], pinned: Array<{ publicKey: Uint8Array; overlay: number; name: string }>, log: Logger): Binding[] {
  const pins: Binding[] = pinned.map((p) => ({ id: keyId(p.publicKey), overlay: p.overlay >>> 0, name: p.name, lastSeenMs: 0, pinned: true }));
  const pinIds = new Set(pins.map((p) => p.id));
  const kept = fromFile.filter((b) => {
    if (pinIds.has(b.id)) return false;
    const clash = pins.find((p) => p.overlay === b.overlay || (p.name !== '' && p.name === b.name));
    if (clash) log.warn({ peer: b.id.slice(0, 8), overlay: u32ToIpv4(b.overlay), name: b.name }, 'hub: a stored binding clashes with the allow-list; the allow-list wins');
    return clash === undefined;
  });
  return [...kept, ...pins];
}

/** The map's scope as hub status shows it: scoped by the ACL policy or full, and the mean entries
 * in a member's map. */
function scopeStatus(s: { scoped: boolean; meanEntries: number }): { maps: 'scoped' | 'full'; meanMapEntries: number } {
  return { maps: s.scoped ? 'scoped' : 'full', meanMapEntries: s.meanEntries };
}
