// PeerNode: the peer's control plane and path selection; it keeps the RemotePeer records
// (peer-table.ts) in step with the hub's map, and the data plane reads them.
//
// What the data plane (KCP, TUN) uses:
//   const node = new PeerNode(opts)    binds the Link to opts.udp; nothing is sent yet
//   await node.start()                 learns/pins the hub key, registers; resolves at the first REGISTER_OK.
//                                      A refusal (hubClient.lastRefusal, code HUB_REFUSED_<REASON>) is
//                                      logged and retried with backoff, never left as a zombie
//   node.remotes                       the records: lookup(dst) for outbound, one per map member
//   node.sender                        seals an inner message for a record on its current path
//                                      (direct endpoint, else the hub relay); queued while a handshake runs
//   node.attachData(receiver)          authenticated KCP/IP inner messages from peers, with the record
//   node.sendTo / node.onInner         the same by overlay address, for tests and tools (not the data path)
//   node.onMapChange((events) => ...)  peers joining/leaving/changing
//   node.peers()                       status per peer (path kind, endpoint, rtt)
//   await node.stop()                  GOODBYE to the hub, then closes the link and the socket
// PING/PONG/KEEPALIVE never reach the data plane. Paths: first packet over the relay, direct once a
// PONG confirms a candidate (LAN over public), back to relay ~3 s after a direct path stops answering.
import type { StaticKeyPair } from '../crypto/keys.js';
import { compareBytes } from '../crypto/noise.js';
import { keyId } from '../link/key-id.js';
import { Link, type RemoteNode } from '../link/link.js';
import { relayPath, udpPath, type Path } from '../link/path.js';
import { newHandshakeAfterSilenceMs } from '../link/constants.js';
import { endpointKey, sameEndpoint, type Endpoint } from '../net/udp.js';
import type { Clock, TimerHandle, WallClock } from '../util/clock.js';
import { endpointRejection, overlayPrefix, type OverlayPrefix } from '../util/endpoint-filter.js';
import { DecodeError } from '../util/errors.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import { componentLogger, type Logger } from '../util/log.js';
import { CandidateKind, decodeControl, MAX_LAN_ENDPOINTS, REGISTER_CAP_ACL_DELTA, REGISTER_FLAG_ACL, type Candidate } from '../wire/control.js';
import { decodeInner, encodeInner, InnerKind, PING_FLAG_PUNCH, PING_FLAG_USER } from '../wire/inner.js';
import { ServiceManager, type ServiceStatus } from '../publish/service-manager.js';
import type { PublishSpec } from '../publish/spec.js';
import { advertisedKind, mapCandidates, usableCandidates } from './candidates.js';
import { HubClient } from './hub-client.js';
import { HubSet, type HubSpec } from './hub-set.js';
import { standbyServiceMessage } from './standby-services.js';
import { LinkSender } from './link-sender.js';
import type { PathKind } from './path.js';
import { PeerMap, type MapEvent, type PeerInfo } from './peer-map.js';
import type { DirectCandidate } from './peer-paths.js';
import { RemotePeers } from './peer-table.js';
import { endpointKind, type RemotePeer } from './remote-peer.js';
import { askAgainMs, type NatPeerStatus, type NatTraversal } from '../nat/traversal.js';
import type { NatClass } from '../wire/nat-class.js';
import { AclFirewall } from './acl-firewall.js';
import { AclReceiver } from './acl-receive.js';
import { ACL_POLICY_TYPE, REVOKED_TYPE } from '../wire/acl.js';
import { ACL_DELTA_TYPE } from '../wire/acl-delta.js';
import { RevokedKeys } from './revoked-keys.js';
import { capsAskIntervalMs, fecPingFlags, onPingFlags, PEER_CAP_FEC } from './fec-caps.js';
import { legOfPing, legPingFlag } from './leg-caps.js';
import type { HubLeg } from './transport-choice.js';
import { INNER_KIND_FEC } from '../fec/frame.js';
import { INNER_KIND_DUP } from './dup-stage.js';
import { pathTickDelayMs, pathTickMs } from './path-tick.js';
import { HUB_LIST_TYPE, REGISTER_FLAG_HUB_LIST } from '../wire/hub-list.js';
import { RELAY_BUDGET_TYPE } from '../wire/relay-budget.js';
import { RelayBudget } from './relay-budget.js';

/** Local tuning: how long a peer that left the map keeps its session, in case a restarted hub lists
 * it again (members re-register within one heartbeat, 20 s, of each other); 3 heartbeats. */
export const departedSessionKeepMs = 60_000;

export { pathTickMs } from './path-tick.js';

export interface PeerNodeOptions {
  udp: import('../net/udp.js').UdpSocket;
  keyPair: StaticKeyPair;
  psk: Uint8Array;
  clock: Clock;
  wallClock: WallClock;
  log: Logger;
  hub: Endpoint;
  /** Our hub leg now (hub-transport.ts), stated in every PING (leg-caps.ts); absent = UDP. */
  hubLeg?: () => HubLeg;
  hubKey?: Uint8Array;
  onHubKeyLearned?: (key: Uint8Array) => void;
  /** Several hubs (`--hub A --hub B`, peer/hub-set.ts): home and standby chosen among them; `hub`
   * and `hubKey` are then unused. One (or none): `hub` alone, exactly as before. */
  hubs?: readonly HubSpec[];
  /** Several hubs: the first hub's key learned on first use (pin it per hub). */
  onHubKeyLearnedAt?: (hub: Endpoint, key: Uint8Array) => void;
  overlay: number;
  prefix: number;
  /** Overlay IPv6 to ask the hub for (REGISTER flag 0x10): an address, "::" = assign; absent = none. */
  overlay6?: string;
  prefix6?: number;
  name?: string;
  /** `name` is the host name (no --name): the hub may give host-2, host-3... */
  nameIsHint?: boolean;
  /** Our LAN endpoints (interface address + our port); default: the socket's local address. */
  lanEndpoints?: Endpoint[];
  /** Endpoints advertised before the LAN ones: the port mapping on our NAT (nat/port-mapper.ts). */
  advertised?: () => Endpoint[];
  bootId?: bigint;
  random01?: () => number;
  /** Services to publish through the hub (--publish); docs/PUBLISH.md. */
  publish?: readonly PublishSpec[];
  /** Budget for bytes buffered in published-service streams (--publish-buffer-mb). */
  publishBufferBytes?: number;
  /** More REGISTER flag bits (REGISTER_FLAG_ROUTES: this peer wants MAP_EXT). */
  registerFlags?: number;
  /** False: REGISTER without the ACL_DELTA capability, so the hub sends whole ACL_POLICY messages
   * (tests: an older peer). Default true. */
  aclDeltas?: boolean;
  /** NAT traversal beyond direct probing (src/nat, docs/NAT.md); `udp` is then its NatSocket. */
  nat?: NatTraversal;
}

export interface PeerStatus {
  overlay: string;
  name: string;
  publicKey: string;
  bootId: bigint;
  path: PathKind;
  endpoint: string | undefined;
  rttMs: number | undefined;
  session: boolean;
  /** The traversal technique that won or is being tried, or why the pair is relayed (src/nat). */
  nat?: NatPeerStatus;
}

export type InnerFromPeer = (overlay: number, inner: Uint8Array, peer: PeerInfo) => void;

/** Where authenticated KCP and IP inner messages go (inbound.ts Inbound), with the sender's record. */
export interface DataReceiver {
  receive(peer: RemotePeer, inner: Uint8Array): void;
}

export class PeerNode {
  readonly link: Link;
  readonly hubClient: HubClient;
  /** The home hub's relay budget (RELAY_BUDGET), read by the data plane's relayed pairs. */
  readonly relayBudget = new RelayBudget();
  /** Several hubs: home, standby, failover (absent with one hub). */
  readonly hubSet: HubSet | undefined;
  readonly map: PeerMap;
  readonly bootId: bigint;
  /** candidate: an endpoint from the map, a PUNCH or a PING source that we will not probe. */
  readonly drops = { unknownPeer: 0, relayMismatch: 0, malformed: 0, unknownKind: 0, candidate: 0 };
  /** Published services (absent without --publish). */
  readonly services: ServiceManager | undefined;
  /** One record per remote peer in the map (and, for a while, per departed one). */
  readonly remotes: RemotePeers;
  /** The data path's sender over the link. */
  readonly sender: LinkSender;
  /** The hub's ACL for this peer (acl-firewall.ts), enforced by the data plane's inbound stage 6a. */
  readonly firewall: AclFirewall;
  /** ACL_POLICY messages from the hub: applied, stale duplicates, malformed (acl-receive.ts). */
  readonly aclPolicies: AclReceiver;
  /** Keys the hub revoked: their sessions closed, their handshakes refused (revoked-keys.ts). */
  readonly revoked: RevokedKeys;
  private readonly log: Logger;
  private readonly overlayNet: OverlayPrefix;
  private readonly random01: () => number;
  private data: DataReceiver | undefined;
  private pongHandler: ((peer: PeerInfo, txid: bigint, from: Path) => void) | undefined;
  private mapHandlers: Array<(ev: MapEvent[]) => void> = [];
  private tick: TimerHandle | undefined;
  /** When the path tick is due (clock ms; path-tick.ts). */
  private tickAt = Infinity;
  private stopped = false;
  /** When node.ts last asked the peers whose FEC capability it lacks (fec-caps.ts). */
  private capsAskedAt = -Infinity;

  constructor(private readonly o: PeerNodeOptions) {
    this.log = componentLogger(o.log, 'peer', { overlay: u32ToIpv4(o.overlay) });
    this.random01 = o.random01 ?? Math.random;
    this.overlayNet = overlayPrefix(o.overlay, o.prefix);
    this.bootId = o.bootId ?? BigInt.asUintN(64, (BigInt(Math.floor(this.random01() * 2 ** 32)) << 32n) | BigInt(Math.floor(this.random01() * 2 ** 32)));
    this.remotes = new RemotePeers({ bootId: this.bootId, clock: o.clock, random01: this.random01 });
    this.map = new PeerMap(keyId(o.keyPair.publicKey), (overlay, oldId, newId) =>
      this.log.error(
        { address: u32ToIpv4(overlay), oldKey: Buffer.from(oldId, 'hex').toString('base64'), newKey: Buffer.from(newId, 'hex').toString('base64') },
        'peer: an overlay address changed key (released by the hub operator, or the hub lost its bindings): check it is expected',
      ),
    );
    this.link = new Link({
      udp: o.udp,
      keyPair: o.keyPair,
      psk: o.psk,
      clock: o.clock,
      wallClock: o.wallClock,
      log: componentLogger(o.log, 'link', { overlay: u32ToIpv4(o.overlay) }),
      relay: (overlay, datagram) => this.hubClient.relay(overlay, datagram),
      relayFrame: (frame) => this.hubClient.relayFrame(frame),
      rehandshakeAfterSilenceMs: newHandshakeAfterSilenceMs,
      // The data path reads each plaintext during the call only (inbound.ts; the FEC decoder copies
      // what it keeps); onLinkInner copies everything else.
      openInPlace: true,
      // Seeded in tests (the handshake retry's and the rekey's jitter are timings); session indices
      // and the jitter come from the system's random source otherwise.
      ...(o.random01 ? { randomU32: () => (o.random01!() * 2 ** 32) >>> 0 } : {}),
      // Handshakes only from the hub and from the keys in the current map (M5).
      allowedKeys: (k) => this.hubClient.isHub(k) || this.hubSet?.isHub(k) === true || (this.map.byId(keyId(k)) !== undefined && !this.revoked.has(keyId(k))),
      retain: (id) => this.map.byId(id) !== undefined || this.isHubId(id) || this.hubSet?.isHubId(id) === true,
    });
    this.sender = new LinkSender(this.link, o.clock);
    this.firewall = new AclFirewall(o.clock);
    this.aclPolicies = new AclReceiver(this.firewall, (seq) => this.hubClient.ack(seq), componentLogger(o.log, 'acl'));
    this.revoked = new RevokedKeys((seq) => this.hubClient.ack(seq), (k) => {
      // Unlisted now (the map delta that removes it may come later): its paths reset, then no session.
      this.remotes.remove(keyId(k));
      this.link.forget(k);
    }, this.log);
    const lan = o.lanEndpoints ?? (o.udp.local.address !== '0.0.0.0' ? [o.udp.local] : []);
    this.hubClient = new HubClient({
      link: this.link,
      clock: o.clock,
      wallClock: o.wallClock,
      log: componentLogger(o.log, 'hub-client'),
      hub: o.hub,
      psk: o.psk,
      ...(o.hubKey ? { hubKey: o.hubKey } : {}),
      ...(o.onHubKeyLearned ? { onHubKeyLearned: o.onHubKeyLearned } : {}),
      overlay: o.overlay,
      prefix: o.prefix,
      ...(o.overlay6 !== undefined ? { overlay6: o.overlay6, prefix6: o.prefix6 ?? 0 } : {}),
      name: o.name ?? '',
      ...(o.nameIsHint ? { nameIsHint: true } : {}),
      registerFlags: (o.registerFlags ?? 0) | REGISTER_FLAG_ACL | (o.hubs && o.hubs.length > 1 ? REGISTER_FLAG_HUB_LIST : 0),
      ...(o.aclDeltas === false ? {} : { registerCaps: REGISTER_CAP_ACL_DELTA }),
      relayBudget: true,
      lan: () => (o.advertised ? [...o.advertised(), ...lan].slice(0, MAX_LAN_ENDPOINTS) : lan),
      bootId: this.bootId,
      random: this.random01,
      map: this.map,
      ...(o.nat ? { natClass: () => o.nat!.own } : {}),
      ...(o.hubs && o.hubs.length > 1 ? { managed: true, otherHubKeyResponse: (d: Uint8Array, from: Endpoint) => this.hubSet?.onHubKeyResponse(d, from) ?? false } : {}),
    });
    this.hubSet = o.hubs && o.hubs.length > 1
      ? new HubSet({
          hubs: o.hubs, link: this.link, client: this.hubClient, psk: o.psk, clock: o.clock, wallClock: o.wallClock, log: componentLogger(o.log, 'hub-set'), random: this.random01,
          ...(o.onHubKeyLearnedAt ? { onKeyLearned: o.onHubKeyLearnedAt } : {}),
          // The new home's ACL versions are its own (each hub numbers from its start time).
          onHomeChanged: () => this.firewall.newSource(),
          fromOther: (r, inner) => standbyServiceMessage(this.services, this.link, r, inner, () => this.drops.malformed++),
        })
      : undefined;
    o.nat?.attach({ probe: (id, to) => this.natProbe(id, to), isDirect: (id) => this.remotes.get(id)?.paths.direct !== undefined });
    this.link.onInner((r, pt, from) => this.onLinkInner(r, pt, from));
    this.link.onSessionUp((r) => this.onSessionUp(r));
    this.hubClient.onMapEvents((ev) => this.onMap(ev));
    this.hubClient.onPunch((key, overlay, cands, nat) => this.onPunch(key, overlay, cands, nat));
    const hc = this.hubClient;
    // Each registration: the hub (maybe another) says its relay budget again after REGISTER_OK.
    hc.onRegistered(() => this.relayBudget.forget());
    const services = (this.services = o.publish?.length
      ? new ServiceManager({
          specs: o.publish,
          clock: o.clock,
          log: componentLogger(o.log, 'publish', { overlay: u32ToIpv4(o.overlay) }),
          hub: { sendInner: (inner) => hc.sendInner(inner), sendControl: (make) => hc.sendControlOnce(make) },
          ...(o.publishBufferBytes !== undefined ? { bufferBytes: o.publishBufferBytes } : {}),
        })
      : undefined);
    if (services) {
      hc.onRegistered(() => services.onRegistered());
      hc.onOtherControl((msg) => services.onControl(msg, (seq) => hc.ack(seq)));
    }
  }

  async start(): Promise<void> {
    this.scheduleTick(pathTickMs);
    const started = this.hubClient.start();
    this.hubSet?.start();
    await started;
  }

  /** KCP and IP inner messages from peers go to `receiver` (the data plane's inbound stage). */
  attachData(receiver: DataReceiver): void {
    this.data = receiver;
  }

  /** attachData by overlay address (tests and tools). */
  onInner(handler: InnerFromPeer): void {
    this.attachData({ receive: (peer, inner) => handler(peer.overlay, inner, peer.info) });
  }

  onMapChange(handler: (ev: MapEvent[]) => void): void {
    this.mapHandlers.push(handler);
  }

  /** Seals `inner` (encodeInner KCP | IP) for the peer at `overlay` (tests and tools; the data path
   * resolves the record once and calls `sender`). False when no such peer is in the map. */
  sendTo(overlay: number, inner: Uint8Array): boolean {
    const rec = this.remotes.lookup(overlay);
    return rec !== undefined && this.sender.send(rec, inner);
  }

  /** Every PONG from a peer (after path bookkeeping), for `meshd ping`. */
  onPong(handler: (peer: PeerInfo, txid: bigint, from: Path) => void): void {
    this.pongHandler = handler;
  }

  /** Sends a user PING to the peer on the path data would take now; the path, or undefined if unknown. */
  sendUserPing(overlay: number, txid: bigint): Path | undefined {
    const rec = this.remotes.lookup(overlay);
    if (!rec?.listed || this.stopped) return undefined;
    const d = rec.paths.current(this.o.clock.now());
    const path = d ? d.via : rec.relay;
    return this.link.send(rec.publicKey, encodeInner({ kind: InnerKind.PING, txid, flags: PING_FLAG_USER | this.pingFlags(rec) }), path) ? path : undefined;
  }

  /** This node's NAT class is known (src/nat): tell the hub, and ask a PUNCH (it brings the partner's
   * class) for every pair not yet direct when this side is the hard one. */
  natClassified(): void {
    this.hubClient.heartbeat();
    if (!this.o.nat?.asksForPunch) return;
    for (const peer of this.map.all()) {
      if (this.link.hasSession(peer.publicKey) && !this.remotes.get(peer.id)?.paths.direct) this.hubClient.requestPunch(peer.overlay);
    }
  }

  /** Published services and their connections (for `meshd status`); [] without --publish. */
  publishStatus(): ServiceStatus[] {
    return this.services?.status() ?? [];
  }

  peers(): PeerStatus[] {
    const now = this.o.clock.now();
    return this.map.all().map((peer) => {
      const d = this.remotes.get(peer.id)?.paths.current(now);
      return {
        overlay: u32ToIpv4(peer.overlay),
        name: peer.name,
        publicKey: Buffer.from(peer.publicKey).toString('base64'),
        bootId: peer.bootId,
        path: d ? d.kind : 'relay',
        endpoint: d ? endpointKey(d.endpoint) : undefined,
        rttMs: d?.rttMs,
        session: this.link.hasSession(peer.publicKey),
        ...(this.o.nat?.status(peer.id) ? { nat: this.o.nat.status(peer.id)! } : {}),
      };
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.services?.close();
    this.hubSet?.stop();
    await this.hubClient.stop();
    this.stopped = true;
    this.sender.close();
    if (this.tick !== undefined) this.o.clock.clearTimer(this.tick);
    await this.o.nat?.close();
    await this.link.close();
    await this.o.udp.close();
  }

  // ---- internals ----

  private isHubId(id: string): boolean {
    const k = this.hubClient.hubKey;
    return k !== undefined && keyId(k) === id;
  }

  /** A traversal probe (nat/traversal.ts) for a peer: a PING counted by its PeerPaths. */
  private natProbe(id: string, to: Endpoint): void {
    const rec = this.remotes.get(id);
    if (!rec || !rec.listed || this.stopped || endpointRejection(to, this.overlayNet) !== undefined) return;
    const ping = rec.paths.probe(to, this.o.clock.now());
    this.link.send(rec.publicKey, encodeInner({ kind: InnerKind.PING, txid: ping.txid, flags: PING_FLAG_PUNCH | this.pingFlags(rec) }), udpPath(to));
  }

  private candidatesOf(peer: PeerInfo): DirectCandidate[] {
    return this.usable(mapCandidates(peer, this.o.udp.local));
  }

  private usable(cands: DirectCandidate[]): DirectCandidate[] {
    const { usable, refused } = usableCandidates(cands, this.overlayNet);
    this.drops.candidate += refused;
    return usable;
  }

  /** The lower key connects (over the relay) so two new peers do not both initiate. */
  private connect(peer: PeerInfo): void {
    if (compareBytes(this.o.keyPair.publicKey, peer.publicKey) < 0 && !this.link.hasSession(peer.publicKey)) {
      this.link.send(peer.publicKey, encodeInner({ kind: InnerKind.KEEPALIVE }), relayPath(peer.overlay));
    }
  }

  private onMap(events: MapEvent[]): void {
    const now = this.o.clock.now();
    for (const ev of events) {
      const peer = ev.peer;
      if (ev.type === 'remove') {
        this.remotes.remove(peer.id);
        this.o.nat?.forget(peer.id);
        this.forgetUnlessBack(peer);
        this.log.info({ peer: u32ToIpv4(peer.overlay) }, 'peer: left');
        continue;
      }
      const prev = ev.previous;
      // A new boot id (it restarted) gives the record a new conv, and its channel is closed.
      const rec = this.remotes.upsert(peer);
      const p = rec.paths;
      if (prev && prev.bootId !== peer.bootId) {
        // It restarted: its keys and endpoints are new.
        this.link.forget(peer.publicKey);
        rec.link = undefined;
        p.reset(now);
      }
      const moved = prev !== undefined && (!sameEndpoint(prev.reflexive, peer.reflexive) || prev.lan.length !== peer.lan.length);
      if (moved) p.reset(now);
      this.log.info({ peer: u32ToIpv4(peer.overlay), name: peer.name, endpoint: `${peer.reflexive.address}:${peer.reflexive.port}` }, prev ? 'peer: changed' : 'peer: joined');
      // The MAP upsert is the punch signal: both sides got it at about the same moment.
      if (this.link.hasSession(peer.publicKey)) {
        p.startPunch(this.candidatesOf(peer), now);
        this.scheduleTick(pathTickMs);
      } else this.connect(peer);
    }
    for (const h of this.mapHandlers) h(events);
  }

  private onPunch(publicKey: Uint8Array, overlay: number, cands: Candidate[], nat?: NatClass): void {
    const peer = this.map.byId(keyId(publicKey));
    if (!peer || peer.overlay !== overlay) return;
    if (this.o.nat?.onPunch(peer.id, nat, peer.reflexive, this.hubClient.observed, this.o.clock.now()) === 'ask-again') {
      this.o.clock.setTimer(askAgainMs, () => this.stopped || this.hubClient.requestPunch(peer.overlay));
    }
    const list = this.usable(cands.map((c) => ({ kind: c.kind === CandidateKind.LAN ? advertisedKind(c.endpoint, peer.reflexive) : 'direct', endpoint: c.endpoint })));
    const p = this.remotes.get(peer.id)!.paths;
    if (this.link.hasSession(publicKey)) p.startPunch(list, this.o.clock.now());
    else {
      p.setCandidates(list);
      this.connect(peer);
    }
    // A punch round or a NAT traversal attempt is timed in path ticks.
    this.scheduleTick(pathTickMs);
  }

  /**
   * A peer that left the map keeps its session for departedSessionKeepMs and loses it only if it
   * is not listed again by then. A restarted hub's first maps hold only the members that have
   * re-registered so far; forgetting at once made the other end's packets "unknown index" here
   * until its own rehandshake after 15 s of silence (e2e faults 5). A revoked key is forgotten
   * at once by the REVOKED path, not here.
   */
  private forgetUnlessBack(peer: PeerInfo): void {
    const key = peer.publicKey;
    this.o.clock.setTimer(departedSessionKeepMs, () => {
      if (this.stopped || this.remotes.get(peer.id)?.listed) return;
      this.link.forget(key);
    });
  }

  private onSessionUp(r: RemoteNode): void {
    const peer = this.map.byId(r.id);
    const rec = this.remotes.get(r.id);
    if (!peer || !rec) return;
    rec.link = r;
    const p = rec.paths;
    if (!p.direct && !p.punching) p.startPunch(this.candidatesOf(peer), this.o.clock.now());
    this.scheduleTick(pathTickMs);
    if ((rec.caps & PEER_CAP_FEC) === 0) this.sendCapsPing(rec, this.pingFlags(rec));
    // A hard NAT here: ask for a PUNCH now, it brings the partner's class (src/nat).
    if (this.o.nat?.asksForPunch) this.hubClient.requestPunch(peer.overlay);
  }

  private onTick(): void {
    this.tick = undefined;
    this.tickAt = Infinity;
    if (this.stopped) return;
    const now = this.o.clock.now();
    this.o.nat?.tick(now);
    const askCaps = now - this.capsAskedAt >= capsAskIntervalMs;
    if (askCaps) this.capsAskedAt = now;
    // The earliest time any path has work again (path-tick.ts): the tick sleeps until then.
    let dueMs = this.o.nat?.busy ? now : Infinity;
    for (const peer of this.map.all()) {
      const rec = this.remotes.get(peer.id);
      const p = rec?.paths;
      if (!rec || !p || !this.link.hasSession(peer.publicKey)) continue;
      const hadDirect = p.direct;
      for (const ping of p.due(now)) {
        this.link.send(peer.publicKey, encodeInner({ kind: InnerKind.PING, txid: ping.txid, flags: PING_FLAG_PUNCH | this.pingFlags(rec) }), udpPath(ping.endpoint));
      }
      if (askCaps && (rec.caps & PEER_CAP_FEC) === 0) this.sendCapsPing(rec, this.pingFlags(rec));
      if (hadDirect && !p.current(now)) {
        this.log.info({ peer: u32ToIpv4(peer.overlay), path: 'relay', why: 'direct path stopped answering' }, 'path changed');
        this.o.nat?.pathLost(hadDirect.endpoint);
      }
      if (p.wantsRetry(now)) {
        this.hubClient.requestPunch(peer.overlay);
        p.startPunch(this.candidatesOf(peer), now);
      }
      dueMs = Math.min(dueMs, p.nextDueMs(now));
      if ((rec.caps & PEER_CAP_FEC) === 0) dueMs = Math.min(dueMs, this.capsAskedAt + capsAskIntervalMs);
    }
    this.scheduleTick(pathTickDelayMs(dueMs, now));
  }

  /** (Re)arms the path tick `ms` from now, unless it is already due sooner. */
  private scheduleTick(ms: number): void {
    if (this.stopped) return;
    const at = this.o.clock.now() + ms;
    if (this.tick !== undefined && this.tickAt <= at) return;
    if (this.tick !== undefined) this.o.clock.clearTimer(this.tick);
    this.tickAt = at;
    this.tick = this.o.clock.setTimer(ms, () => this.onTick());
  }

  /**
   * Every authenticated inner message. The sender's record is looked up once, by the key the link
   * names; KCP and IP go straight to the data plane's inbound stage with it (inbound.ts), without
   * decoding; the rest (hub CONTROL and relay, PING/PONG) is the control plane's.
   */
  private onLinkInner(r: RemoteNode, pt: Uint8Array, from: Path): void {
    const kind = pt[0];
    if ((kind === InnerKind.KCP || kind === InnerKind.IP || kind === INNER_KIND_FEC || kind === INNER_KIND_DUP) && !this.hubClient.isHub(r.publicKey)) return this.onPeerData(r, pt, from);
    let inner;
    try {
      // The link opened it in place (a view of the socket's receive slot): control and the rest
      // may keep parts of it, so they get their own copy.
      inner = decodeInner(Buffer.from(pt));
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.drops.malformed++;
      return;
    }
    // Several hubs: PONGs and everything from a hub other than home are the hub set's.
    if (this.hubSet?.heard(r, inner, from)) return;
    if (this.hubClient.isHub(r.publicKey)) {
      if (inner.kind === InnerKind.CONTROL && inner.body[0] === ACL_POLICY_TYPE) {
        this.aclPolicies.receive(inner.body);
      } else if (inner.kind === InnerKind.CONTROL && inner.body[0] === ACL_DELTA_TYPE) {
        this.aclPolicies.receiveDelta(inner.body);
      } else if (inner.kind === InnerKind.CONTROL && inner.body[0] === REVOKED_TYPE) {
        this.revoked.receive(inner.body);
      } else if (inner.kind === InnerKind.CONTROL && inner.body[0] === RELAY_BUDGET_TYPE) {
        if (!this.relayBudget.receive(inner.body, (seq) => this.hubClient.ack(seq))) this.drops.malformed++;
      } else if (inner.kind === InnerKind.CONTROL && inner.body[0] === HUB_LIST_TYPE) {
        if (this.hubSet?.onHubList(inner.body, (seq) => this.hubClient.ack(seq)) === false) this.drops.malformed++;
      } else if (inner.kind === InnerKind.CONTROL) {
        try {
          this.hubClient.onControl(decodeControl(inner.body));
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
          this.drops.malformed++;
        }
      } else if (inner.kind === InnerKind.RELAY_FROM) {
        this.link.receive(inner.datagram, relayPath(inner.overlay));
      } else if (inner.kind === InnerKind.STREAM) {
        this.services?.onStream(inner);
      } else if (inner.kind === InnerKind.PING) {
        // The hub's endpoint challenge (hub/endpoint-guard.ts): echo the txid from where it reached us.
        const observed = from.kind === 'udp' ? from.endpoint : { address: '0.0.0.0', port: 0 };
        this.link.send(r.publicKey, encodeInner({ kind: InnerKind.PONG, txid: inner.txid, observed }), from);
      }
      return;
    }
    const rec = this.recordOf(r, from);
    if (!rec) return;
    const peer = rec.info;
    const now = this.o.clock.now();
    // Authenticated: an extra socket it came on may now carry this pair (nat/nat-socket.ts).
    if (from.kind === 'udp' && (inner.kind === InnerKind.PING || inner.kind === InnerKind.PONG)) this.o.nat?.authenticated(from.endpoint);
    switch (inner.kind) {
      case InnerKind.PING: {
        const observed = from.kind === 'udp' ? from.endpoint : { address: '0.0.0.0', port: 0 };
        this.link.send(r.publicKey, encodeInner({ kind: InnerKind.PONG, txid: inner.txid, observed }), from);
        const caps = onPingFlags(rec.caps, inner.flags);
        rec.caps = caps.caps;
        rec.peerLeg = legOfPing(inner.flags);
        if (caps.answer) this.sendCapsPing(rec, this.pingFlags(rec));
        if (from.kind === 'udp') {
          if (endpointRejection(from.endpoint, this.overlayNet) === undefined) {
            rec.paths.sawPingFrom(from.endpoint, endpointKind(peer, from.endpoint), now);
            // A triggered check or a new punch round: due at the next fast tick.
            if (rec.paths.nextDueMs(now) <= now) this.scheduleTick(pathTickMs);
          } else this.drops.candidate++;
        }
        return;
      }
      case InnerKind.PONG:
        if (from.kind === 'udp' && rec.paths.onPong(inner.txid, from.endpoint, now) === 'upgraded') {
          const d = rec.paths.direct!;
          this.log.info({ peer: u32ToIpv4(peer.overlay), path: d.kind, endpoint: `${d.endpoint.address}:${d.endpoint.port}`, rttMs: d.rttMs }, 'path changed');
        }
        this.pongHandler?.(peer, inner.txid, from);
        return;
      default:
        this.drops.unknownKind++;
    }
  }

  /** A PING that only carries FEC capability flags (fec-caps.ts), on the path data takes now. */
  /** The flags of every PING we send to `rec`: FEC capability (fec-caps.ts) and our hub leg (leg-caps.ts). */
  private pingFlags(rec: RemotePeer): number {
    return fecPingFlags(rec.caps) | legPingFlag(this.o.hubLeg?.());
  }

  /** Our hub leg switched: one PING to each peer with a session states the new leg (leg-caps.ts). */
  announceLeg(): void {
    for (const rec of this.remotes.values()) if (rec.listed && this.link.hasSession(rec.publicKey)) this.sendCapsPing(rec, this.pingFlags(rec));
  }

  private sendCapsPing(rec: RemotePeer, flags: number): void {
    if (!rec.listed || this.stopped) return;
    const d = rec.paths.current(this.o.clock.now());
    const txid = BigInt(Math.floor(this.random01() * 2 ** 32));
    this.link.send(rec.publicKey, encodeInner({ kind: InnerKind.PING, txid, flags }), d ? d.via : rec.relay);
  }

  /** The record of a listed peer that sent `from` (a relayed packet must come from its own address). */
  private recordOf(r: RemoteNode, from: Path): RemotePeer | undefined {
    const rec = this.remotes.get(r.id);
    if (!rec?.listed) {
      this.drops.unknownPeer++;
      return undefined;
    }
    if (from.kind === 'relay' && from.overlay !== rec.overlay) {
      this.drops.relayMismatch++;
      return undefined;
    }
    rec.link = r;
    return rec;
  }

  /** Inbound stages 1-3 of the data path (inbound.ts): a KCP or IP message from a peer. */
  private onPeerData(r: RemoteNode, pt: Uint8Array, from: Path): void {
    const rec = this.recordOf(r, from);
    if (!rec) return;
    rec.paths.noteData(this.o.clock.now());
    rec.traffic.wire('in', from.kind === 'relay' ? 'relay' : endpointKind(rec.info, from.endpoint), pt.byteLength);
    this.data?.receive(rec, pt);
  }
}
