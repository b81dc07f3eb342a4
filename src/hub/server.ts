// The hub's dispatch: authenticated inner messages from the link -> registry, map, punch, relay.
// REGISTER (accept or refuse with a reason), HEARTBEAT (endpoints, repair), GOODBYE, PUNCH_REQUEST,
// ACK; RELAY_TO -> RELAY_FROM. Peers that are not registered can do nothing but REGISTER.
import type { Link, RemoteNode } from '../link/link.js';
import type { Path } from '../link/path.js';
import { SeqDedup } from '../link/reliable.js';
import type { Endpoint } from '../net/udp.js';
import type { Clock } from '../util/clock.js';
import { bytesEqual } from '../util/bytes.js';
import { usableEndpoints } from '../util/endpoint-filter.js';
import { DecodeError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import {
  ackSeqAt, CandidateKind, ControlType, decodeControl, encodeControl, ProtocolVersionError, REGISTER_FLAG_NAME_HINT, REGISTER_FLAG_NAT_INFO, REGISTER_FLAG_ROUTES, refusalReasonName, RefusalReason, type Candidate, type ControlMessage,
} from '../wire/control.js';
import { decodeInner, encodeInner, InnerKind, type InnerMessage } from '../wire/inner.js';
import { encodeNatClass } from '../wire/nat-class.js';
import { MemberBuckets, pairKey, punchRequestBurst, punchRequestsPerSec, punchVerdict } from './control-budget.js';
import type { CrossHub } from './cluster-forward.js';
import type { EndpointGuard } from './endpoint-guard.js';
import type { FanoutReport } from './fanout.js';
import { MapSender } from './map-sender.js';
import type { MemberSender } from './member-sender.js';
import { Relay } from './relay.js';
import type { Binding, BindingTable } from './bindings.js';
import type { ClaimLost, NetworkState } from './network-state.js';
import { decideRegister, heartbeatIntervalMs, Registry, type Member } from './registry.js';
import type { AllowRule } from './route-admission.js';
import { RouteBook } from './route-book.js';
import type { RoutePrefix } from '../wire/routes.js';
import { versionRefusal } from './version-refusal.js';
import { registerOverlay6, type Network6 } from './claim6.js';
import { relayFromInPlace } from './relay-rewrite.js';
import { encodeRelayBudget, relayBudgetKbit } from '../wire/relay-budget.js';

/** What the dispatch hands to published services (publish/hub-publisher.ts implements it; declared
 * here, by the side that calls it, so the server knows nothing else of publishing). */
export interface MemberServices {
  /** A STREAM message from a member (or from a key that is not one: `member` undefined). */
  onStream(member: Member | undefined, inner: Extract<InnerMessage, { kind: InnerKind.STREAM }>, publicKey: Uint8Array): void;
  /** A control type the dispatch does not handle; true when it was a publishing one. */
  onControl(member: Member | undefined, publicKey: Uint8Array, msg: ControlMessage): boolean;
  /** The member left or restarted: its services and streams are gone. */
  memberGone(id: string, why: string, moved?: boolean): void;
}

export interface ServerOptions {
  link: Link;
  /** Every send to a member (guarded, reliable): shared with the publisher (hub/member-sender.ts). */
  sender: MemberSender;
  /** This hub's own members (`state.members`). */
  registry: Registry;
  /** The shared state: the served map, claims network-wide (hub/network-state.ts). */
  state: NetworkState;
  clock: Clock;
  log: Logger;
  relay: Relay;
  keyAllowed: (publicKey: Uint8Array) => boolean;
  heartbeatMs?: number;
  /** Published services (PUBLISH, STREAM); docs/PUBLISH.md. */
  publish?: MemberServices;
  /** Window in which map changes are collected into one delta per member (default mapCoalesceMs). */
  mapCoalesceMs?: number;
  /** Told when a flush's deltas have reached every member (hub/map-sender.ts FanoutReport). */
  onMapFanout?: (r: FanoutReport) => void;
  /** Durable key -> address and name bindings (hub/bindings.ts); REGISTER is decided against them. */
  bindings: BindingTable;
  /** PUNCH and relay for members homed on other hubs (hub/cluster-forward.ts); absent on a single hub. */
  elsewhere?: Pick<CrossHub, 'punch' | 'relay'>;
  /** Wall clock (epoch ms) for the bindings' last-seen times. */
  wallNow: () => number;
  /** The bindings changed (the daemon persists the table); `claim` is set for a new or changed
   * key -> address/name binding, which the daemon writes through before this returns. */
  onBindingsChanged?: (claim?: Binding) => void;
  /** Who may offer which routes (--allow-routes; absent = nobody): hub/route-admission.ts. */
  allowRoutes?: readonly AllowRule[];
  /** A member registered with these REGISTER flags (the ACL distributor: hub/acl-distributor.ts);
   * `fresh`: new, or restarted (new boot id), i.e. it holds no state from us yet. */
  onRegistered?: (m: Member, flags: number, fresh: boolean, caps: number) => void;
  /** Membership changed (the same moments as a map delta). */
  onMembersChanged?: () => void;
  /** The overlay IPv6 /64 (--network6; hub/claim6.ts); absent = IPv4 overlay only. */
  network6?: Network6;
}

/** Candidates a peer may be reached on: LAN endpoints first, then the reflexive one. */
export function candidatesOf(m: Member): Candidate[] {
  return [
    ...m.lan
      .filter((e) => e.address !== m.reflexive.address || e.port !== m.reflexive.port)
      .map((endpoint) => ({ kind: CandidateKind.LAN, endpoint })),
    { kind: CandidateKind.PUBLIC, endpoint: m.reflexive },
  ];
}

/** Local tuning: a binding's last-seen time is rewritten at most this often per member (the lease
 * is measured in days; the hub's periodic sweep refreshes live members too). */
export const bindingTouchMs = 3_600_000;

/** The refusal of a claim the shared state cannot confirm now (cut from NATS, a request timed out). */
const claimUnavailable: ClaimLost = {
  reason: RefusalReason.UNAVAILABLE,
  text: "this hub cannot reach the network's shared state (NATS) to make a new address or name unique; try again later",
};

export class HubServer {
  readonly counters = { controlIn: 0, malformed: 0, fromNonMember: 0, refused: 0, versionRefused: 0, lanDropped: 0, claimUnavailable: 0 };
  /** Control work refused to keep one member from growing the hub's state or traffic (issue 17):
   * shown in hub status as control_<reason>. */
  private readonly punchDrops = { punch_rate_limited: 0, punch_in_flight: 0, punch_out_of_scope: 0 };
  /** Bytes of the inner message being handled (a REGISTER's count toward its endpoint's budget). */
  private inBytes = 0;
  private readonly punchBudget = new MemberBuckets(punchRequestsPerSec, punchRequestBurst);
  /** Pairs with a PUNCH exchange in flight -> PUNCH messages of it not yet acked or given up. */
  private readonly punchesInFlight = new Map<string, number>();
  private readonly dedup = new Map<string, SeqDedup>();
  /** Keys whose claim is on its way to the shared state (a REGISTER copy meanwhile is dropped). */
  private readonly claiming = new Set<string>();
  private closed = false;
  readonly maps: MapSender;
  /** Offered routes and the hub's verdicts (issue 23). */
  readonly routes: RouteBook;
  /** Offered prefixes by owner (scoped maps: a router is selected by the addresses it routes). */
  private readonly routesByOwner = new Map<number, RoutePrefix[]>();
  private readonly heartbeatMs: number;

  constructor(private readonly o: ServerOptions) {
    this.heartbeatMs = o.heartbeatMs ?? heartbeatIntervalMs;
    this.maps = new MapSender({
      clock: o.clock,
      registry: o.state.map,
      recipients: o.registry,
      send: (m, inner) => o.sender.sendTo(m.id, m.publicKey, inner),
      reliableOf: (m) => o.sender.reliableOf(m.id),
      ...(o.mapCoalesceMs !== undefined ? { coalesceMs: o.mapCoalesceMs } : {}),
      ...(o.onMapFanout ? { onFanout: o.onMapFanout } : {}),
      routesOf: (overlay) => this.routesByOwner.get(overlay),
    });
    const net = o.registry.network;
    this.routes = new RouteBook({
      rules: o.allowRoutes ?? [],
      overlay: { network: net.base, length: net.prefix },
      log: o.log,
      member: (id) => o.registry.get(id),
      send: (m, version, routes) => this.o.sender.sendReliable(m, (seq) => ({ type: ControlType.MAP_EXT, seq, version, routes })),
      onChanged: () => {
        this.routesByOwner.clear();
        for (const r of this.routes.current) {
          const list = this.routesByOwner.get(r.owner >>> 0) ?? [];
          list.push({ network: r.network, length: r.length });
          this.routesByOwner.set(r.owner >>> 0, list);
        }
        this.maps.routesChanged();
      },
    });
    o.link.onInner((remote, pt, from) => this.onInner(remote, pt, from));
    // The shared map changed (a member of another hub came, went or moved): maps and ACL rules follow.
    o.state.onMapChanged(() => {
      this.maps.changed();
      this.o.onMembersChanged?.();
    });
    o.state.onRehomed?.((id) => {
      const m = this.o.registry.get(id);
      if (m) this.removeMember(m, 'registered on another hub');
    });
  }

  /** Sends to a member's unproven endpoint are limited to 3x what came from it (endpoint-guard.ts). */
  get guard(): EndpointGuard {
    return this.o.sender.guard;
  }

  /** Control work refused to keep one member from growing the hub's state or traffic (issue 17):
   * shown in hub status as control_<reason>. */
  get drops(): Record<string, number> {
    return { ...this.punchDrops, ...this.o.sender.drops };
  }

  private sendControl(publicKey: Uint8Array, msg: ControlMessage): void {
    this.o.sender.sendControl(publicKey, msg);
  }

  private sendTo(id: string, publicKey: Uint8Array, inner: Uint8Array): boolean {
    return this.o.sender.sendTo(id, publicKey, inner);
  }

  /** Counts an authenticated message toward its endpoint's budget and challenges a new endpoint. */
  private heard(remote: RemoteNode, from: Endpoint, bytes: number): void {
    const proven = remote.provenPath?.kind === 'udp' ? remote.provenPath.endpoint : undefined;
    const txid = this.guard.received(remote.id, from, bytes, this.o.clock.now(), proven);
    if (txid !== undefined) this.sendTo(remote.id, remote.publicKey, encodeInner({ kind: InnerKind.PING, txid, flags: 0 }));
  }

  private onInner(remote: RemoteNode, pt: Uint8Array, from: Path): void {
    if (from.kind !== 'udp') return; // the hub never takes relayed traffic
    this.inBytes = pt.byteLength;
    // Members only: a REGISTER starts its tracking once accepted (no state for refused keys).
    const member = this.o.registry.get(remote.id);
    if (member) this.heard(remote, from.endpoint, pt.byteLength);
    // A member's ACK (one per MAP part per member: 10,000 per change at 10,000 members) is read in
    // place; decodeInner + decodeControl + onControl give the same seq and do the same with it.
    const ackSeq = member !== undefined && pt[0] === InnerKind.CONTROL ? ackSeqAt(pt, 1) : undefined;
    if (member !== undefined && ackSeq !== undefined) {
      this.counters.controlIn++;
      return this.onAck(member, ackSeq);
    }
    let inner;
    try {
      inner = decodeInner(pt);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.counters.malformed++;
      return;
    }
    if (inner.kind === InnerKind.CONTROL) {
      let msg: ControlMessage;
      try {
        msg = decodeControl(inner.body);
      } catch (e) {
        if (e instanceof ProtocolVersionError) return this.refuseVersion(remote, e);
        if (!(e instanceof DecodeError)) throw e;
        this.counters.malformed++;
        return;
      }
      this.counters.controlIn++;
      this.onControl(remote, msg, from.endpoint);
    } else if (inner.kind === InnerKind.RELAY_TO) {
      this.onRelay(remote, inner.overlay, inner.datagram, pt);
    } else if (inner.kind === InnerKind.STREAM) {
      this.o.publish?.onStream(this.o.registry.get(remote.id), inner, remote.publicKey);
    } else if (inner.kind === InnerKind.PING) {
      const pong = encodeInner({ kind: InnerKind.PONG, txid: inner.txid, observed: from.endpoint });
      if (this.guard.allow(remote.id, from.endpoint, pong.byteLength)) this.o.link.send(remote.publicKey, pong, from);
      else this.o.sender.drops.unproven_endpoint++;
    } else if (inner.kind === InnerKind.PONG) {
      // The answer to an endpoint challenge: the member receives there; what waited goes now.
      const member = this.o.registry.get(remote.id);
      if (member && this.guard.answered(remote.id, from.endpoint, inner.txid)) this.maps.resume(member);
    }
  }

  /** An ACK from a member: a MAP part's, else another reliable message's (PUNCH, STREAM_OPEN...). */
  private onAck(member: Member, seq: number): void {
    if (!this.maps.acked(member, seq)) this.o.sender.acked(member.id, seq);
  }

  private onControl(remote: RemoteNode, msg: ControlMessage, from: Endpoint): void {
    const member = this.o.registry.get(remote.id);
    switch (msg.type) {
      case ControlType.REGISTER:
        return this.onRegister(remote, msg, from);
      case ControlType.ACK:
        if (member) return this.onAck(member, msg.seq);
        // Several hubs: a member homed elsewhere acks STREAM_OPEN on its standby session (guest services).
        this.o.sender.acked(remote.id, msg.seq);
        return;
      case ControlType.HEARTBEAT:
        if (!member) {
          // Not (or no longer) registered: an ACK instead of HEARTBEAT_OK tells the peer to register.
          this.counters.fromNonMember++;
          return this.sendControl(remote.publicKey, { type: ControlType.ACK, seq: msg.seq });
        }
        // A class in a HEARTBEAT also says the peer reads one in PUNCH (older peers send none).
        let natChanged = false;
        if (msg.nat) {
          natChanged = !member.nat || !bytesEqual(encodeNatClass(member.nat), encodeNatClass(msg.nat));
          member.nat = msg.nat;
          member.natInfo = true;
        }
        if (this.o.registry.touch(member.id, from, this.usableLan(msg.lan), this.o.clock.now())) this.broadcast(member);
        // Not in the map (no delta to the members), but other hubs pass it in PUNCH: the shared entry.
        else if (natChanged) this.o.state.memberChanged(member, false);
        this.sendControl(remote.publicKey, { type: ControlType.HEARTBEAT_OK, seq: msg.seq, observed: from, mapVersion: this.o.state.map.version });
        this.maps.reported(member, msg.mapVersion);
        return;
      case ControlType.GOODBYE:
        this.sendControl(remote.publicKey, { type: ControlType.ACK, seq: msg.seq });
        if (member) this.removeMember(member, 'goodbye');
        return;
      case ControlType.HOME_MOVED:
        // Several hubs: the member registered on a faster hub. Dropped at once (no relay to it, no
        // map to it until its heartbeats would expire), its session kept: we are its standby now.
        this.sendControl(remote.publicKey, { type: ControlType.ACK, seq: msg.seq });
        if (member) this.removeMember(member, 'moved to another hub', true);
        return;
      case ControlType.PUNCH_REQUEST: {
        this.sendControl(remote.publicKey, { type: ControlType.ACK, seq: msg.seq });
        const target = this.o.registry.byOverlay(msg.target);
        if (!member || target?.id === member.id) return;
        // Scoped maps: a member learns nothing (candidates, key) of one its map does not hold.
        const other = target ?? this.o.state.map.byOverlay(msg.target);
        if (other && !this.maps.mayMeet(member, other)) {
          this.punchDrops.punch_out_of_scope++;
          return;
        }
        if (!target) {
          // A member of another hub (several hubs): its home hub punches it (hub/cluster-forward.ts).
          if (this.dedupOf(member.id).first(msg.seq)) this.o.elsewhere?.punch(member, msg.target);
          return;
        }
        if (!this.dedupOf(member.id).first(msg.seq)) return;
        const pair = pairKey(member.id, target.id);
        const v = punchVerdict(this.punchesInFlight.has(pair), () => this.punchBudget.take(member.id, this.o.clock.now()));
        if (v === 'punch') this.punchPair(member, target);
        else this.punchDrops[v === 'in_flight' ? 'punch_in_flight' : 'punch_rate_limited']++;
        return;
      }
      case ControlType.ROUTE_OFFER:
        this.sendControl(remote.publicKey, { type: ControlType.ACK, seq: msg.seq });
        if (member && this.dedupOf(member.id).first(msg.seq)) this.routes.offered(member, msg.prefixes);
        return;
      default:
        if (this.o.publish?.onControl(member, remote.publicKey, msg)) return;
        this.counters.malformed++; // hub-to-peer types sent to the hub
    }
  }

  /** A member's LAN endpoints minus those no peer should be told to probe (util/endpoint-filter.ts):
   * loopback, link-local, multicast, broadcast, unspecified, and addresses inside our --network. */
  private usableLan(lan: readonly Endpoint[]): Endpoint[] {
    return usableEndpoints(lan, this.o.registry.network, () => this.counters.lanDropped++);
  }

  private dedupOf(id: string): SeqDedup {
    let d = this.dedup.get(id);
    if (!d) {
      d = new SeqDedup();
      this.dedup.set(id, d);
    }
    return d;
  }

  private onRegister(remote: RemoteNode, msg: Extract<ControlMessage, { type: ControlType.REGISTER }>, from: Endpoint): void {
    const reg = this.o.registry;
    const nameIsHint = ((msg.flags ?? 0) & REGISTER_FLAG_NAME_HINT) !== 0;
    const d = decideRegister(
      { id: remote.id, overlay: msg.overlay, prefix: msg.prefix, name: msg.name, nameIsHint }, reg.network, reg, this.o.keyAllowed(remote.publicKey), this.o.bindings,
    );
    if (!d.ok) return this.refuse(remote, msg, d);
    // Overlay IPv6 (issue 22): the v4 address's twin or the peer's own --local6 (hub/claim6.ts).
    const d6 = registerOverlay6(msg, remote.id, d.overlay, this.o.network6, reg);
    if (d6 && !d6.ok) return this.refuse(remote, msg, d6);
    const overlay6 = d6?.ok ? d6.overlay6 : undefined;
    const old = this.o.bindings.get(remote.id);
    if (old && old.overlay === d.overlay && old.name === d.name) return this.accept(remote, msg, from, d.overlay, d.name, overlay6);
    // A copy of a REGISTER whose claim is in flight: dropped before it asks the shared state again
    // (a second claim's failure went unhandled and took the hub down).
    if (this.claiming.has(remote.id)) return;
    // A new or changed claim: unique network-wide before REGISTER_OK (at once on a single hub).
    const held = this.o.state.claim({ id: remote.id, overlay: d.overlay, name: d.name, lastSeenMs: this.o.wallNow(), pinned: old?.pinned ?? false }, old);
    if (held === true) return this.accept(remote, msg, from, d.overlay, d.name, overlay6);
    this.claiming.add(remote.id);
    held.then(
      (r) => {
        this.claiming.delete(remote.id);
        if (this.closed) return;
        if (r === true) this.accept(remote, msg, from, d.overlay, d.name, overlay6);
        else this.refuse(remote, msg, r);
      },
      (e: unknown) => {
        this.claiming.delete(remote.id);
        // Not risked: refused with the reason, the peer tries again with backoff (hub-client.ts).
        this.counters.claimUnavailable++;
        this.o.log.warn({ peer: remote.id.slice(0, 8), overlay: u32ToIpv4(d.overlay), err: e instanceof Error ? e.message : String(e) }, 'hub: the shared state did not answer a claim; registration refused for now');
        if (!this.closed) this.refuse(remote, msg, claimUnavailable);
      },
    );
  }

  private refuse(remote: RemoteNode, msg: Extract<ControlMessage, { type: ControlType.REGISTER }>, d: ClaimLost): void {
    this.counters.refused++;
    // warn: someone holds (or tries) an address or name bound to another key; repeated refusals are
    // the refused peer retrying with backoff (hub-client.ts), not a flood.
    this.o.log.warn({ peer: remote.id.slice(0, 8), reason: refusalReasonName[d.reason], overlay: u32ToIpv4(msg.overlay), name: msg.name, why: d.text }, 'hub: registration refused');
    this.sendControl(remote.publicKey, { type: ControlType.REGISTER_REFUSED, seq: msg.seq, reason: d.reason, text: d.text });
  }

  /** A REGISTER of another protocol version: refused with one line here and one on the peer. */
  private refuseVersion(remote: RemoteNode, e: ProtocolVersionError): void {
    this.counters.refused++;
    this.counters.versionRefused++;
    const d = versionRefusal(e.version);
    this.o.log.warn({ peer: remote.id.slice(0, 8), reason: 'VERSION', version: e.version, why: d.text }, 'hub: registration refused: peer speaks another protocol version');
    this.sendControl(remote.publicKey, { type: ControlType.REGISTER_REFUSED, seq: e.seq, reason: d.reason, text: d.text });
  }

  private accept(remote: RemoteNode, msg: Extract<ControlMessage, { type: ControlType.REGISTER }>, from: Endpoint, overlay: number, name: string, overlay6?: string): void {
    const reg = this.o.registry;
    this.bind(remote.id, overlay, name);
    void this.o.state.seen?.(remote.id, this.o.wallNow()); // several hubs: network-wide last-seen (when due)
    const now = this.o.clock.now();
    const prev = reg.get(remote.id);
    // A restarted peer (new boot id) lost its streams; it publishes its services again after REGISTER_OK.
    if (prev && prev.bootId !== msg.bootId) this.o.publish?.memberGone(prev.id, 'restarted');
    const { member, changed } = reg.upsert(
      { publicKey: remote.publicKey, id: remote.id, overlay: overlay >>> 0, ...(overlay6 !== undefined ? { overlay6 } : {}), name, bootId: msg.bootId, reflexive: from, lan: this.usableLan(msg.lan) },
      now,
    );
    member.natInfo = ((msg.flags ?? 0) & REGISTER_FLAG_NAT_INFO) !== 0;
    if (msg.nat) member.nat = msg.nat;
    this.o.log.info({ peer: remote.id.slice(0, 8), overlay: u32ToIpv4(member.overlay), ...(member.overlay6 !== undefined ? { overlay6: member.overlay6 } : {}), name: member.name, endpoint: `${from.address}:${from.port}` }, 'hub: registered');
    if (!prev) this.heard(remote, from, this.inBytes);
    this.sendControl(remote.publicKey, {
      type: ControlType.REGISTER_OK, seq: msg.seq, observed: from, heartbeatMs: this.heartbeatMs,
      assigned: { overlay: member.overlay, prefix: reg.network.prefix, name: member.name, ...(member.overlay6 !== undefined ? { overlay6: member.overlay6, prefix6: this.o.network6!.prefix } : {}) },
    });
    // Only a new member or a restarted one (new boot id: its map is empty) gets a full map. A REGISTER
    // again with the same key and boot id (a retransmission that outran its REGISTER_OK, a client
    // timeout, or a member forging its source to aim the map at a victim: issue 17 M2) is answered
    // with REGISTER_OK only: a map in flight carries on with its own retransmissions and the next
    // HEARTBEAT repairs what is missing. Resending per copy made an overloaded hub send O(members)
    // more datagrams exactly when it was behind, and measured 215x on the wire for an attacker.
    if (!prev || prev.bootId !== msg.bootId) this.maps.sendFull(member);
    // The relay budget, to a peer that reads it: its relayed sends pace at it from the start (issue 19 item 6).
    if (msg.relayBudget) this.o.sender.sendReliableBody(member, (seq) => encodeRelayBudget({ seq, kbitPerSec: relayBudgetKbit(this.o.relay.bytesPerSec) }), () => undefined);
    this.o.onRegistered?.(member, msg.flags ?? 0, !prev || prev.bootId !== msg.bootId, msg.caps ?? 0);
    if (changed) this.broadcast(member);
    this.routes.registered(member, ((msg.flags ?? 0) & REGISTER_FLAG_ROUTES) !== 0, !prev || prev.bootId !== msg.bootId);
  }

  /** Records (or refreshes) the key's durable binding; the table is persisted when it changed or
   * when the last-seen time is more than bindingTouchMs old (not on every re-registration). */
  private bind(id: string, overlay: number, name: string): void {
    const b = this.o.bindings;
    const old = b.get(id);
    const now = this.o.wallNow();
    if (old && old.overlay === overlay && old.name === name && now - old.lastSeenMs < bindingTouchMs) return;
    const binding = { id, overlay, name, lastSeenMs: now, pinned: old?.pinned ?? false };
    b.set(binding);
    // A new or changed claim must be on disk before REGISTER_OK goes out (journaled: a kill -9 right
    // after it loses nothing); a refreshed last-seen time can wait for the batched snapshot.
    const claim = !old || old.overlay !== overlay || old.name !== name;
    this.o.onBindingsChanged?.(claim ? binding : undefined);
  }

  /** Marks the member's binding seen now (a member leaving or expiring). */
  private seen(m: Member): void {
    const b = this.o.bindings.get(m.id);
    if (!b) return;
    b.lastSeenMs = this.o.wallNow();
    this.o.onBindingsChanged?.();
    void this.o.state.seen?.(m.id, b.lastSeenMs);
  }

  /** A member changed: within the coalescing window every member behind gets one delta with all
   * changes since its acked version (it carries the changed member's candidates, so both sides
   * start punching at about the same moment: the MAP upsert is an implicit PUNCH). */
  broadcast(changed: Member): void {
    this.o.state.memberChanged(changed, this.o.registry.get(changed.id) === undefined);
    this.maps.changed();
    this.o.onMembersChanged?.();
  }

  /** PUNCH to both members at once, each with the other's candidates; the pair counts as in
   * flight until both are acked or given up. */
  punchPair(a: Member, b: Member): void {
    const pair = pairKey(a.id, b.id);
    for (const [to, about] of [[a, b], [b, a]] as const) {
      const rel = this.o.sender.reliableOf(to.id);
      const seq = rel.nextSeq();
      const msg: ControlMessage = {
        type: ControlType.PUNCH, seq, publicKey: about.publicKey, overlay: about.overlay, candidates: candidatesOf(about),
        // The partner's class, so each side picks a technique (nat/technique.ts) without another round trip.
        ...(to.natInfo && about.nat ? { nat: about.nat } : {}),
      };
      this.punchesInFlight.set(pair, (this.punchesInFlight.get(pair) ?? 0) + 1);
      const settled = () => {
        const n = (this.punchesInFlight.get(pair) ?? 1) - 1;
        if (n > 0) this.punchesInFlight.set(pair, n);
        else this.punchesInFlight.delete(pair);
      };
      if (!rel.track(seq, () => this.sendControl(to.publicKey, msg), undefined, settled)) {
        settled();
        this.o.sender.drops.reliable_full++;
      }
    }
  }

  /** Pairs with a PUNCH exchange in flight (tests: bounded state). */
  get punchPairsInFlight(): number {
    return this.punchesInFlight.size;
  }

  /** Reliable messages pending to one member (tests: bounded state). */
  pendingFor(id: string): number {
    return this.o.sender.pendingFor(id);
  }

  /** `moved`: registered on another hub (HOME_MOVED): its session stays (the standby's), and its
   * published ports stay claimed (its new home takes them over). */
  removeMember(m: Member, why: string, moved = false): void {
    this.o.registry.remove(m.id);
    this.seen(m); // the binding stays: the address and name wait for this key (H1)
    this.maps.forget(m);
    this.o.sender.forget(m.id);
    this.dedup.delete(m.id);
    this.punchBudget.forget(m.id);
    if (!moved) this.o.link.forget(m.publicKey);
    this.o.publish?.memberGone(m.id, why, moved);
    this.routes.removed(m);
    this.o.log.info({ peer: m.id.slice(0, 8), overlay: u32ToIpv4(m.overlay), why }, 'hub: member removed');
    this.broadcast(m);
  }

  /** `pt`: the whole RELAY_TO plaintext, a fresh buffer from the link's open (crypto/session.ts),
   * which becomes the RELAY_FROM in place (hub/relay-rewrite.ts): no copy of the datagram. */
  private onRelay(remote: RemoteNode, overlay: number, datagram: Uint8Array, pt: Uint8Array): void {
    const sender = this.o.registry.get(remote.id);
    const target = this.o.registry.byOverlay(overlay);
    if (!target && sender && this.o.elsewhere?.relay(sender, overlay, datagram)) return; // homed on another hub
    // Shaped to the sender's budget (hub/relay-shaper.ts); the relay sends, now or from its timer.
    this.o.relay.offer(sender, target, datagram.byteLength, () => relayFromInPlace(pt, sender!.overlay));
  }

  close(): void {
    this.closed = true;
    this.maps.close();
    this.o.sender.close();
  }
}
