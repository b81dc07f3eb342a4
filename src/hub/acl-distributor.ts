// Sends each ACL-capable member (REGISTER flag 0x08) the rules it enforces (wire/acl.ts ACL_POLICY):
// at registration, and after a membership change or a policy reload (SIGHUP) to every member whose
// compiled rules changed, within the same coalescing window as the map delta. Reliable (ACKed) on
// the member's control sequence; no policy on the hub = OPEN (allow all) so lifting one reaches peers.
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { ACL_MAX_BYTES, AclMode, encodeAclPolicy, encodeRevoked, REVOKED_MAX_KEYS, type WireAclRule } from '../wire/acl.js';
import { aclTargetKey, compileAclFor, ruleSources } from './acl-compile.js';
import type { AclPolicyFile } from './acl-policy.js';

/** Local tuning: after a flush that took d ms the next waits at least this many times d, so that
 * recompiling every member's rules (O(members) per flush) takes at most about a third of the hub's
 * CPU in a join storm of thousands, as map fan-out does (map-sender.ts mapFlushSpacingFactor). */
export const aclFlushSpacingFactor = 2;

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
  /** Reliable send of an encoded control body built with the member's next seq. */
  sendReliable: (id: string, make: (seq: number) => Uint8Array, onGiveUp: () => void) => void;
  /** First version number: the wall clock in seconds, so a restarted hub's versions are newer. */
  firstVersion: number;
  /** Coalescing window after a change (ms); the map's, so the policy rides with the delta. */
  coalesceMs: number;
  /** Every revoked public key (hub/revocations.ts): a capable member gets them at registration. */
  revokedKeys?: () => Uint8Array[];
}

/** What a member was last sent (the rules as a string, to compare). */
interface Sent {
  key: string;
}

export class AclDistributor {
  private policy: AclPolicyFile | undefined;
  private readonly capable = new Set<string>();
  private readonly sent = new Map<string, Sent>();
  private version: number;
  private timer: TimerHandle | undefined;
  /** CPU the last coalesced flush took (ms, measured): spaces the next one (aclWindowMs). */
  private lastFlushMs = 0;
  readonly counters = { sent: 0, tooLarge: 0, givenUp: 0, revokedSent: 0 };

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
    this.changed();
  }

  /** A member registered: a capable one that is new or restarted (`fresh`: its firewall is empty)
   * gets its rules and the revoked keys now; a REGISTER repeated by a live member costs nothing. */
  registered(m: AclTarget, capable: boolean, fresh = true): void {
    if (!capable) {
      this.capable.delete(m.id);
      return;
    }
    if (!fresh && this.capable.has(m.id) && this.sent.has(m.id)) return;
    this.capable.add(m.id);
    this.sent.delete(m.id);
    this.sendTo(m, this.everyone());
    const revoked = this.o.revokedKeys?.() ?? [];
    if (revoked.length > 0) this.sendRevokedTo(m.id, revoked);
  }

  /** Keys just revoked: every capable member closes its sessions with them (REVOKED). */
  revoked(keys: Uint8Array[]): void {
    for (const id of this.capable) this.sendRevokedTo(id, keys);
  }

  private sendRevokedTo(id: string, keys: Uint8Array[]): void {
    for (let i = 0; i < keys.length; i += REVOKED_MAX_KEYS) {
      const body = encodeRevoked({ seq: 0, keys: keys.slice(i, i + REVOKED_MAX_KEYS) });
      this.counters.revokedSent++;
      this.o.sendReliable(
        id,
        (seq) => {
          new DataView(body.buffer, body.byteOffset).setUint32(1, seq, true);
          return body;
        },
        () => this.counters.givenUp++,
      );
    }
  }

  /** Membership changed: recompile for everyone after the coalescing window. */
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
    const members = this.o.members();
    const live = new Set(members.map((m) => m.id));
    for (const id of this.capable) {
      if (!live.has(id)) {
        this.capable.delete(id);
        this.sent.delete(id);
      }
    }
    if (this.capable.size === 0) return; // nobody enforces: compiling costs rules x members for nothing
    const all = this.everyone();
    const sources = this.policy ? ruleSources(this.policy, all) : [];
    // Members whom the same rules' `to` select enforce the same rules: compiled once per such set.
    const compiled = new Map<string, { rules: WireAclRule[]; key: string }>();
    for (const m of members) if (this.capable.has(m.id)) this.sendTo(m, all, sources, compiled);
  }

  private everyone(): readonly AclTarget[] {
    return (this.o.everyone ?? this.o.members)();
  }

  close(): void {
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private sendTo(m: AclTarget, members: readonly AclTarget[], sources?: Array<number[] | undefined>, compiled?: Map<string, { rules: WireAclRule[]; key: string }>): void {
    const mode = this.policy ? AclMode.ENFORCE : AclMode.OPEN;
    const target = this.policy ? aclTargetKey(this.policy, m) : '';
    let c = compiled?.get(target);
    if (!c) {
      const rules: WireAclRule[] = this.policy ? compileAclFor(this.policy, m, members, sources) : [];
      c = { rules, key: `${mode}:${JSON.stringify(rules)}` };
      compiled?.set(target, c);
    }
    const { rules, key } = c;
    if (this.sent.get(m.id)?.key === key) return;
    const version = (this.version = (this.version + 1) >>> 0);
    const body = encodeAclPolicy({ seq: 0, version, mode, rules });
    if (body.byteLength > ACL_MAX_BYTES) {
      // The member keeps its previous rules; the operator must shorten the policy (name fewer sources).
      this.counters.tooLarge++;
      this.o.log.error({ peer: m.id.slice(0, 8), name: m.name, bytes: body.byteLength, max: ACL_MAX_BYTES }, 'hub: the ACL policy for this member does not fit one message; not sent');
      return;
    }
    this.sent.set(m.id, { key });
    this.counters.sent++;
    this.o.sendReliable(
      m.id,
      (seq) => {
        new DataView(body.buffer, body.byteOffset).setUint32(1, seq, true);
        return body;
      },
      () => {
        // Not acked: send again at the next change or registration.
        this.counters.givenUp++;
        if (this.sent.get(m.id)?.key === key) this.sent.delete(m.id);
      },
    );
  }
}
