// PUNCH and relay between members homed on different hubs of one network (issue 24 item 3). A
// PUNCH_REQUEST for a member of the served map that is not this hub's own goes as a signal
// (hub/cluster-signal.ts) over the state's bus to the target's home hub, which sends the PUNCH to its
// member. A RELAY_TO for one goes over UDP to that hub (hub/hub-channel.ts, never over the bus),
// which sends the RELAY_FROM; both hubs shape it to the relay budgets (Relay.offer), as local relay.
// What another hub sends is trusted no more than a peer: decoded, checked against the map (the
// sender a member of that hub, the target one of ours), budgeted, dropped and counted when anything
// is off. Built by hub/hub.ts; called from hub/server.ts.
import { bytesEqual } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { TokenBucket } from '../util/token-bucket.js';
import { DecodeError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { ControlType } from '../wire/control.js';
import { encodeInner, InnerKind } from '../wire/inner.js';
import { decodeSignal, encodeSignal, SignalType, type PunchMessage } from './cluster-signal.js';
import { punchRequestBurst, punchRequestsPerSec } from './control-budget.js';
import type { MemberSender } from './member-sender.js';
import type { HubChannel } from './hub-channel.js';
import type { ClusterBus, NetworkState } from './network-state.js';
import type { Member } from './registry.js';
import type { Relay } from './relay.js';
import { candidatesOf } from './server.js';

/** Local tuning: per-member punch buckets kept past the members present before the idle ones are
 * dropped (bounded state whatever the bus sends). */
const spareBuckets = 1_024;

export type ForwardDrop =
  | 'malformed' | 'unknown_target' | 'no_home' | 'bus_refused' | 'punch_rate_limited'
  | 'unknown_sender' | 'sender_is_ours' | 'key_mismatch' | 'relay_refused' | 'wrong_home' | 'no_hub_path';

export interface CrossHubOptions {
  state: NetworkState;
  bus: ClusterBus;
  /** The hub-to-hub UDP channel relayed datagrams go over (absent: none go; counted no_hub_path). */
  channel?: HubChannel;
  sender: MemberSender;
  relay: Relay;
  clock: Clock;
  log: Logger;
}

export class CrossHub {
  readonly counters = { punchesOut: 0, punchesIn: 0, relayedOut: 0, relayedIn: 0, relayedBytesOut: 0, relayedBytesIn: 0 };
  readonly drops: Record<ForwardDrop, number> = {
    malformed: 0, unknown_target: 0, no_home: 0, bus_refused: 0, punch_rate_limited: 0,
    unknown_sender: 0, sender_is_ours: 0, key_mismatch: 0, relay_refused: 0, wrong_home: 0, no_hub_path: 0,
  };
  /** PUNCH budgets of our members: asked for (out) and asked about by other hubs' members (in). */
  private readonly punchOut = new Map<string, TokenBucket>();
  private readonly punchIn = new Map<string, TokenBucket>();

  constructor(private readonly o: CrossHubOptions) {
    o.bus.onSignal((b) => this.received(b));
    o.channel?.onData((hub, from, to, datagram) => this.fromHub(hub, from, to, datagram));
  }

  /** A map member not homed here, by overlay, with its live home hub ('no_home' when its hub is
   * unseen: counted); undefined when the overlay is ours or not in the map. */
  private elsewhere(overlay: number): { target: Member; home: string } | 'no_home' | undefined {
    const target = this.o.state.map.byOverlay(overlay);
    if (!target || this.o.state.members.get(target.id)) return undefined;
    const home = this.o.bus.homeOf(target.id);
    if (home !== undefined) return { target, home };
    this.drops.no_home++;
    return 'no_home';
  }

  /** Takes a PUNCH token of one of our members; buckets of members gone are dropped past a margin. */
  private take(buckets: Map<string, TokenBucket>, id: string): boolean {
    const now = this.o.clock.now();
    if (buckets.size > this.o.state.members.size + spareBuckets) {
      for (const k of [...buckets.keys()]) if (!this.o.state.members.get(k)) buckets.delete(k);
    }
    let b = buckets.get(id);
    if (!b) {
      b = new TokenBucket(punchRequestsPerSec, punchRequestBurst, now);
      buckets.set(id, b);
    }
    return b.take(now);
  }

  /** PUNCH budgets held (tests: bounded state). */
  get buckets(): number {
    return this.punchOut.size + this.punchIn.size;
  }

  /** PUNCH_REQUEST from `member` for an overlay not homed here: true when the target is a member of
   * another hub (handled: PUNCH to our member now, the signal to the target's hub). */
  punch(member: Member, targetOverlay: number): boolean {
    const found = this.elsewhere(targetOverlay);
    if (found === undefined) return false;
    if (found === 'no_home') return true;
    const { target, home } = found;
    if (!this.take(this.punchOut, member.id)) {
      this.drops.punch_rate_limited++;
      return true;
    }
    const about: PunchMessage = {
      type: ControlType.PUNCH, seq: 0, publicKey: member.publicKey, overlay: member.overlay, candidates: candidatesOf(member), ...(member.nat ? { nat: member.nat } : {}),
    };
    if (!this.o.bus.send(home, encodeSignal({ type: SignalType.PUNCH_FORWARD, from: member.overlay, to: target.overlay, punch: about }))) {
      this.drops.bus_refused++;
      return true;
    }
    this.counters.punchesOut++;
    this.o.sender.sendReliable(member, (seq) => ({
      type: ControlType.PUNCH, seq, publicKey: target.publicKey, overlay: target.overlay, candidates: candidatesOf(target),
      ...(member.natInfo && target.nat ? { nat: target.nat } : {}),
    }));
    return true;
  }

  /** RELAY_TO from `sender` for an overlay not homed here: true when the target is a member of
   * another hub (handled: shaped to the relay budgets and sent over UDP to its hub, or dropped and
   * counted). */
  relay(sender: Member, overlay: number, datagram: Uint8Array): boolean {
    const found = this.elsewhere(overlay);
    if (found === undefined) return false;
    if (found === 'no_home') return true;
    const { target, home } = found;
    const channel = this.o.channel;
    if (!channel) {
      this.drops.no_hub_path++;
      return true;
    }
    // The datagram is copied by `make` (the caller's buffer may be reused); it leaves now or when
    // the sender's budget allows, sealed for the hub at that moment.
    this.o.relay.offer(sender, target, datagram.byteLength, () => datagram.slice(), (copy) => {
      if (!channel.send(home, sender.overlay, overlay, copy)) {
        this.drops.no_hub_path++;
        return;
      }
      this.counters.relayedOut++;
      this.counters.relayedBytesOut += copy.byteLength;
    });
    return true;
  }

  /** The two ends of what another hub sends: a member of ours as the target, a member of the map
   * homed elsewhere as the sender; undefined (and counted) otherwise. */
  private ends(fromOverlay: number, toOverlay: number): { target: Member; from: Member } | undefined {
    const target = this.o.state.members.byOverlay(toOverlay);
    if (!target) {
      this.drops.unknown_target++; // left, or re-homed meanwhile: the sender's map catches up
      return undefined;
    }
    const from = this.o.state.map.byOverlay(fromOverlay);
    if (!from) {
      this.drops.unknown_sender++;
      return undefined;
    }
    if (this.o.state.members.get(from.id)) {
      this.drops.sender_is_ours++; // our own member cannot arrive from another hub
      return undefined;
    }
    return { target, from };
  }

  /** A relayed datagram from hub `hub` over the hub-to-hub channel (authenticated as that hub's).
   * Never throws. */
  fromHub(hub: string, fromOverlay: number, toOverlay: number, datagram: Uint8Array): void {
    const ends = this.ends(fromOverlay, toOverlay);
    if (!ends) return;
    const { target, from } = ends;
    if (this.o.bus.homeOf(from.id) !== hub) {
      this.drops.wrong_home++; // a hub speaks only for its own members
      return;
    }
    const verdict = this.o.relay.offer(from, target, datagram.byteLength, () => encodeInner({ kind: InnerKind.RELAY_FROM, overlay: from.overlay, datagram }));
    if (verdict !== 'forward') {
      this.drops.relay_refused++;
      return;
    }
    this.counters.relayedIn++;
    this.counters.relayedBytesIn += datagram.byteLength;
  }

  /** A signal from another hub (bytes as the bus delivered them). Never throws. */
  received(b: Uint8Array): void {
    let s;
    try {
      s = decodeSignal(b);
    } catch (e) {
      if (!(e instanceof DecodeError)) this.o.log.warn({ err: e }, 'cluster: signal decode failed');
      this.drops.malformed++;
      return;
    }
    const ends = this.ends(s.from, s.to);
    if (!ends) return;
    const { target, from } = ends;
    if (!bytesEqual(s.punch.publicKey, from.publicKey)) {
      this.drops.key_mismatch++;
      return;
    }
    if (!this.take(this.punchIn, target.id)) {
      this.drops.punch_rate_limited++;
      return;
    }
    this.counters.punchesIn++;
    const { nat, ...rest } = s.punch;
    this.o.sender.sendReliable(target, (seq) => ({ ...rest, seq, ...(target.natInfo && nat ? { nat } : {}) }));
  }
}

