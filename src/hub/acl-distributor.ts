// Sends each ACL-capable member (REGISTER flag 0x08) the rules it enforces: at registration, and
// after a membership change or a policy reload (SIGHUP) to every member whose compiled rules changed,
// within the same coalescing window as the map delta. Rules are compiled once per class of members
// (the set of rules whose `to` selects them) per flush; a member with the ACL_DELTA capability gets
// what changed since the version it acked (ACL_POLICY_DELTA, wire/acl-delta.ts), or the whole policy
// in parts; an older one the one-datagram ACL_POLICY (wire/acl.ts). One version in flight per member;
// reliable (ACKed) on its control sequence. No policy on the hub = OPEN, so lifting one reaches peers.
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { AclMode, encodeAclPolicy, encodeRevoked, REVOKED_MAX_KEYS, type WireAclRule } from '../wire/acl.js';
import { encodeAclDelta, splitAclDelta } from '../wire/acl-delta.js';
import { aclTargetKey, compileAclFor, ruleSources } from './acl-compile.js';
import { aclSendKind } from './acl-delta.js';
import type { AclPolicyFile } from './acl-policy.js';

/** Local tuning: after a flush that took d ms the next waits at least this many times d, so that
 * recompiling takes at most about a third of the hub's CPU in a join storm of thousands, as map
 * fan-out does (map-sender.ts mapFlushSpacingFactor). */
export const aclFlushSpacingFactor = 2;
/** Local tuning: encoded deltas kept per compiled version (one per base version members hold). */
const deltaCacheMax = 8;

/** Coalescing window of the next flush (pure): the base window, or longer after a costly flush. */
export function aclWindowMs(baseMs: number, lastFlushMs: number): number {
  return Math.max(baseMs, Math.ceil(lastFlushMs * aclFlushSpacingFactor));
}

export interface AclTarget {
  id: string;
  overlay: number;
  name: string;
}

export interface AclDistributorOptions {
  clock: Clock;
  log: Logger;
  /** Today's members of this hub: the ones this distributor sends rules to. */
  members: () => readonly AclTarget[];
  /** Every member of the network, whatever its hub (with several hubs, the shared map): names and
   * tags in the rules resolve against these. Default: `members`. */
  everyone?: () => readonly AclTarget[];
  /** Reliable send of an encoded control body built with the member's next seq; `onSettled` once
   * when it leaves (acked, given up after `onGiveUp`, or cancelled). */
  sendReliable: (id: string, make: (seq: number) => Uint8Array, onGiveUp: () => void, onSettled?: () => void) => void;
  /** First version number: the wall clock in seconds, so a restarted hub's versions are newer. */
  firstVersion: number;
  /** Coalescing window after a change (ms); the map's, so the policy rides with the delta. */
  coalesceMs: number;
  /** Every revoked public key (hub/revocations.ts): a capable member gets them at registration. */
  revokedKeys?: () => Uint8Array[];
}

/** One class's rules at one version, shared by every member of the class. */
interface Compiled {
  version: number;
  mode: AclMode;
  rules: WireAclRule[];
  /** Encoded ACL_POLICY (old peers), made once. */
  policy?: Uint8Array;
  /** Encoded ACL_POLICY_DELTA parts by base version (0 = whole), made once per base. */
  parts: Map<number, { bodies: Uint8Array[]; whole: boolean } | 'too-large'>;
}

interface MemberAcl {
  target: AclTarget;
  /** Class key (acl-compile.ts aclTargetKey), for the name and policy it was computed with. */
  key: string;
  keyName: string;
  keyOverlay: number;
  keyEpoch: number;
  deltas: boolean;
  /** What the member holds once what is in flight lands (compared by reference). */
  sent: Compiled | undefined;
  /** The version the member acked, with its rules: the base of the next delta. */
  acked: { version: number; mode: AclMode; rules: WireAclRule[] } | undefined;
  inFlight: boolean;
  /** Highest version sent: the next must be newer (a member that moved class). */
  lastVersion: number | undefined;
  /** Bumped at a fresh registration: callbacks of an older incarnation's sends are ignored. */
  epoch: number;
  /** The last flush that found it a member. */
  round: number;
}

export class AclDistributor {
  private policy: AclPolicyFile | undefined;
  private policyEpoch = 0;
  private readonly capable = new Map<string, MemberAcl>();
  /** Each class's latest compile (by class key), rebuilt for a new policy. */
  private classes = new Map<string, Compiled>();
  /** The rules' sources at the last flush (registrations between flushes use them). */
  private sources: Array<number[] | undefined> | undefined;
  private version: number;
  private timer: TimerHandle | undefined;
  /** CPU the last coalesced flush took (ms, measured): spaces the next one (aclWindowMs). */
  private lastFlushMs = 0;
  private round = 0;
  readonly counters = { sent: 0, tooLarge: 0, givenUp: 0, revokedSent: 0, deltas: 0, wholes: 0, parts: 0 };

  constructor(private readonly o: AclDistributorOptions) {
    this.version = o.firstVersion >>> 0;
  }

  get rules(): number {
    return this.policy?.rules.length ?? 0;
  }

  get subscribers(): number {
    return this.capable.size;
  }

  /** A new policy (or none): every capable member gets its rules if they changed. */
  setPolicy(p: AclPolicyFile | undefined): void {
    this.policy = p;
    this.policyEpoch++;
    this.classes = new Map();
    this.sources = undefined;
    this.changed();
  }

  /** A member registered: a capable one that is new or restarted (`fresh`: its firewall is empty)
   * gets its rules and the revoked keys now; a REGISTER repeated by a live member costs nothing.
   * `deltas`: its REGISTER carried the ACL_DELTA capability. */
  registered(m: AclTarget, capable: boolean, fresh = true, deltas = false): void {
    if (!capable) {
      this.capable.delete(m.id);
      return;
    }
    const had = this.capable.get(m.id);
    if (!fresh && had && had.sent !== undefined && had.deltas === deltas) return;
    const s: MemberAcl = { target: m, key: '', keyName: '', keyOverlay: -1, keyEpoch: -1, deltas, sent: undefined, acked: undefined, inFlight: false, lastVersion: had?.lastVersion, epoch: (had?.epoch ?? 0) + 1, round: this.round };
    this.capable.set(m.id, s);
    this.sendTo(s, this.compiledFor(s));
    const revoked = this.o.revokedKeys?.() ?? [];
    if (revoked.length > 0) this.sendRevokedTo(m.id, revoked);
  }

  /** Keys just revoked: every capable member closes its sessions with them (REVOKED). */
  revoked(keys: Uint8Array[]): void {
    for (const id of this.capable.keys()) this.sendRevokedTo(id, keys);
  }

  private sendRevokedTo(id: string, keys: Uint8Array[]): void {
    for (let i = 0; i < keys.length; i += REVOKED_MAX_KEYS) {
      const body = encodeRevoked({ seq: 0, keys: keys.slice(i, i + REVOKED_MAX_KEYS) });
      this.counters.revokedSent++;
      this.o.sendReliable(id, (seq) => withSeq(body, seq), () => this.counters.givenUp++);
    }
  }

  /** Membership changed: recompile after the coalescing window. */
  changed(): void {
    if (this.timer !== undefined) return;
    this.timer = this.o.clock.setTimer(aclWindowMs(this.o.coalesceMs, this.lastFlushMs), () => {
      this.timer = undefined;
      const t0 = performance.now();
      this.flush();
      this.lastFlushMs = performance.now() - t0;
    });
  }

  flush(): void {
    // Nobody enforces (no member registered with the ACL flag): nothing to refresh, drop or compile;
    // a map change then costs no walk over every member here.
    if (this.capable.size === 0) return;
    // Members that left are dropped (one lookup per member, no set of the live ones).
    const round = ++this.round;
    for (const m of this.o.members()) {
      const s = this.capable.get(m.id);
      if (s === undefined) continue;
      s.target = m;
      s.round = round;
    }
    for (const [id, s] of this.capable) if (s.round !== round) this.capable.delete(id);
    if (this.capable.size === 0) return; // nobody enforces: compiling costs rules x members for nothing
    this.sources = this.policy ? ruleSources(this.policy, this.everyone()) : [];
    // Each class present is compiled once; a class whose rules did not change keeps its version.
    const fresh = new Map<string, Compiled>();
    for (const s of this.capable.values()) {
      const key = this.keyOf(s);
      if (!fresh.has(key)) fresh.set(key, this.compile(key, s.target));
    }
    this.classes = fresh;
    for (const s of this.capable.values()) {
      const c = fresh.get(s.key)!;
      if (s.sent !== c && !s.inFlight) this.sendTo(s, c);
    }
  }

  private everyone(): readonly AclTarget[] {
    return (this.o.everyone ?? this.o.members)();
  }

  close(): void {
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private keyOf(s: MemberAcl): string {
    const t = s.target;
    if (s.keyEpoch !== this.policyEpoch || s.keyName !== t.name || s.keyOverlay !== t.overlay) {
      s.key = this.policy ? aclTargetKey(this.policy, t) : '';
      s.keyName = t.name;
      s.keyOverlay = t.overlay;
      s.keyEpoch = this.policyEpoch;
    }
    return s.key;
  }

  /** The member's class compile: the latest one, or compiled now (a class new since the last flush). */
  private compiledFor(s: MemberAcl): Compiled {
    const key = this.keyOf(s);
    let c = this.classes.get(key);
    if (!c) {
      c = this.compile(key, s.target);
      this.classes.set(key, c);
    }
    return c;
  }

  private compile(key: string, m: AclTarget): Compiled {
    const mode = this.policy ? AclMode.ENFORCE : AclMode.OPEN;
    if (this.policy && this.sources === undefined) this.sources = ruleSources(this.policy, this.everyone());
    const rules: WireAclRule[] = this.policy ? compileAclFor(this.policy, m, [], this.sources) : [];
    const prev = this.classes.get(key);
    if (prev && prev.mode === mode && sameRules(prev.rules, rules)) return prev;
    return { version: this.nextVersion(), mode, rules, parts: new Map() };
  }

  private nextVersion(): number {
    this.version = (this.version + 1) >>> 0 || 1;
    return this.version;
  }

  private sendTo(s: MemberAcl, compiled: Compiled): void {
    let c = compiled;
    if (s.lastVersion !== undefined && ((c.version - s.lastVersion) | 0) <= 0) {
      // The member moved to a class compiled before its last version: the class gets a newer one.
      c = { ...c, version: this.nextVersion(), parts: new Map() };
      if (this.classes.get(s.key) === compiled) this.classes.set(s.key, c);
    }
    const bodies = this.bodiesFor(s, c);
    if (bodies === undefined) {
      // The member keeps its previous rules; the operator must shorten the policy (name fewer sources).
      this.counters.tooLarge++;
      this.o.log.error({ peer: s.target.id.slice(0, 8), name: s.target.name, rules: c.rules.length, deltas: s.deltas }, s.deltas ? 'hub: the ACL policy for this member does not fit its parts; not sent' : 'hub: the ACL policy for this member does not fit one message (the peer does not take deltas); not sent');
      s.sent = c;
      return;
    }
    s.sent = c;
    s.lastVersion = c.version;
    s.inFlight = true;
    this.counters.sent++;
    this.counters.parts += bodies.length;
    const epoch = s.epoch;
    let left = bodies.length;
    let failed = false;
    for (const body of bodies) {
      this.o.sendReliable(
        s.target.id,
        (seq) => withSeq(body, seq),
        () => {
          if (!failed) this.counters.givenUp++;
          failed = true;
        },
        () => {
          if (--left > 0 || this.capable.get(s.target.id) !== s || s.epoch !== epoch) return;
          s.inFlight = false;
          if (failed) {
            // Not acked: the next send is whole, at the next flush (which this asks for).
            s.acked = undefined;
            s.sent = undefined;
            this.changed();
            return;
          }
          s.acked = { version: c.version, mode: c.mode, rules: c.rules };
          const now = this.classes.get(s.key);
          if (now !== undefined && now !== s.sent) this.sendTo(s, now);
        },
      );
    }
  }

  /** The encoded message(s) taking `s` to `c`; undefined when too large. */
  private bodiesFor(s: MemberAcl, c: Compiled): Uint8Array[] | undefined {
    if (!s.deltas) {
      this.counters.wholes++;
      if (c.policy === undefined) {
        const { kind } = aclSendKind({ deltas: false, acked: undefined, mode: c.mode, rules: c.rules });
        if (kind === 'too-large') return undefined;
        c.policy = encodeAclPolicy({ seq: 0, version: c.version, mode: c.mode, rules: c.rules });
      }
      return [c.policy];
    }
    const base = s.acked?.version ?? 0;
    let cached = c.parts.get(base);
    if (cached === undefined) {
      const pick = aclSendKind({ deltas: true, acked: s.acked, mode: c.mode, rules: c.rules });
      const from = pick.kind === 'delta' ? base : 0;
      cached = c.parts.get(from);
      if (cached === undefined) {
        try {
          cached = { bodies: splitAclDelta({ base: from, version: c.version, mode: c.mode, nrules: c.rules.length }, pick.ops ?? []).map(encodeAclDelta), whole: from === 0 };
        } catch (e) {
          if (!(e instanceof RangeError)) throw e;
          cached = 'too-large';
        }
        if (c.parts.size >= deltaCacheMax) c.parts.clear();
        c.parts.set(from, cached);
      }
      if (from !== base) c.parts.set(base, cached);
    }
    if (cached === 'too-large') return undefined;
    if (cached.whole) this.counters.wholes++;
    else this.counters.deltas++;
    return cached.bodies;
  }
}

/** Writes the member's seq into a shared body (the sender encodes it into the datagram at once). */
function withSeq(body: Uint8Array, seq: number): Uint8Array {
  new DataView(body.buffer, body.byteOffset).setUint32(1, seq, true);
  return body;
}

function sameRules(a: readonly WireAclRule[], b: readonly WireAclRule[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.rule !== y.rule || x.action !== y.action || x.proto !== y.proto || x.portLo !== y.portLo || x.portHi !== y.portHi) return false;
    if (x.sources === y.sources) continue;
    if (x.sources === undefined || y.sources === undefined || x.sources.length !== y.sources.length) return false;
    for (let k = 0; k < x.sources.length; k++) if (x.sources[k] !== y.sources[k]) return false;
  }
  return true;
}
