// ACL_POLICY and ACL_POLICY_DELTA from the hub (wire/acl.ts, wire/acl-delta.ts) -> the peer's
// firewall (acl-firewall.ts). node.ts hands over every CONTROL body of type 40 or 62 that came on the
// hub's authenticated session. A policy is ACKed (a stale duplicate too, so the hub stops resending),
// a malformed one is counted and not ACKed. Delta parts are collected per version and applied only
// when every part is in (never half a policy); a part whose base is not the version in force is not
// ACKed, so the hub gives up on it and sends the whole policy (docs/ACL.md "Deltas and parts").
import { DecodeError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { decodeAclPolicy, type AclPolicyMessage } from '../wire/acl.js';
import { decodeAclDelta, type AclDeltaMessage } from '../wire/acl-delta.js';
import { applyAclDelta } from './acl-delta-apply.js';
import type { AclFirewall } from './acl-firewall.js';

/** Parts of one version being collected (at most one version at a time). */
interface Assembly {
  version: number;
  base: number;
  parts: Array<AclDeltaMessage | undefined>;
  have: number;
}

export class AclReceiver {
  readonly counters = { applied: 0, stale: 0, malformed: 0, deltas: 0, wholes: 0, baseMismatch: 0, partsDropped: 0 };
  private assembly: Assembly | undefined;

  constructor(
    private readonly firewall: Pick<AclFirewall, 'apply' | 'held'>,
    private readonly ack: (seq: number) => void,
    private readonly log: Logger,
  ) {}

  receive(body: Uint8Array): void {
    let m;
    try {
      m = decodeAclPolicy(body);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.counters.malformed++;
      this.log.debug({ err: e.message }, 'acl: malformed policy from the hub dropped');
      return;
    }
    this.ack(m.seq);
    this.apply(m);
  }

  receiveDelta(body: Uint8Array): void {
    let m;
    try {
      m = decodeAclDelta(body);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.counters.malformed++;
      this.log.debug({ err: e.message }, 'acl: malformed policy delta from the hub dropped');
      return;
    }
    const held = this.firewall.held();
    if (held !== undefined && ((m.version - held.version) | 0) <= 0) {
      this.ack(m.seq); // a retransmission of a version in force (or older): the hub stops resending
      this.counters.stale++;
      return;
    }
    if (m.base !== 0 && m.base !== held?.version) {
      this.counters.baseMismatch++;
      this.log.debug({ base: m.base, holding: held?.version ?? 0 }, 'acl: policy delta for a version not in force; not acked (the hub sends it whole)');
      return;
    }
    let a = this.assembly;
    if (a !== undefined && (a.version !== m.version || a.base !== m.base || a.parts.length !== m.parts)) {
      if (((m.version - a.version) | 0) < 0) {
        this.counters.partsDropped++;
        return; // older than the one being collected
      }
      this.counters.partsDropped += a.have;
      a = undefined;
    }
    if (a === undefined) a = this.assembly = { version: m.version, base: m.base, parts: new Array<AclDeltaMessage | undefined>(m.parts).fill(undefined), have: 0 };
    this.ack(m.seq);
    if (a.parts[m.part] !== undefined) return;
    a.parts[m.part] = m;
    a.have++;
    if (a.have < a.parts.length) return;
    this.assembly = undefined;
    const r = applyAclDelta(held, a.parts as AclDeltaMessage[]);
    if (!r.ok) {
      if (r.why === 'base') this.counters.baseMismatch++;
      else this.counters.malformed++;
      this.log.warn({ version: m.version, base: m.base, why: r.text }, 'acl: policy delta not applied');
      return;
    }
    if (m.base === 0) this.counters.wholes++;
    else this.counters.deltas++;
    this.apply(r.policy);
  }

  private apply(m: AclPolicyMessage): void {
    if (!this.firewall.apply(m)) {
      this.counters.stale++;
      return;
    }
    this.counters.applied++;
    this.log.info({ version: m.version, mode: m.mode === 1 ? 'enforce' : 'open', rules: m.rules.length }, 'acl: policy from the hub applied');
  }
}
