// What the hub sends a member whose compiled ACL rules changed (pure; acl-distributor.ts uses it):
// the changes since the version the member acked (ACL_POLICY_DELTA), the whole policy in parts, or
// for an old peer the one-datagram ACL_POLICY (docs/ACL.md "Deltas and parts").
import { ACL_MAX_BYTES, aclPolicyBytes, AclMode, type WireAclRule } from '../wire/acl.js';
import { aclDeltaBytes, AclOpKind, type AclOp } from '../wire/acl-delta.js';

/** The changes from `old` to `next` (sources of each rule, sorted ascending as ruleSources gives
 * them), or undefined when the rules differ otherwise (count, order, ports, any-source). */
export function aclDiff(old: readonly WireAclRule[], next: readonly WireAclRule[]): AclOp[] | undefined {
  if (old.length !== next.length) return undefined;
  const ops: AclOp[] = [];
  for (let i = 0; i < next.length; i++) {
    const a = old[i]!;
    const b = next[i]!;
    if (a.rule !== b.rule || a.action !== b.action || a.proto !== b.proto || a.portLo !== b.portLo || a.portHi !== b.portHi) return undefined;
    if ((a.sources === undefined) !== (b.sources === undefined)) return undefined;
    if (a.sources === undefined || b.sources === undefined || a.sources === b.sources) continue;
    const add: number[] = [];
    const remove: number[] = [];
    let x = 0;
    let y = 0;
    while (x < a.sources.length || y < b.sources.length) {
      const u = a.sources[x];
      const w = b.sources[y];
      if (w === undefined || (u !== undefined && u < w)) {
        remove.push(u!);
        x++;
      } else if (u === undefined || w < u) {
        add.push(w);
        y++;
      } else {
        x++;
        y++;
      }
    }
    if (remove.length > 0) ops.push({ op: AclOpKind.REMOVE, index: i, sources: remove });
    if (add.length > 0) ops.push({ op: AclOpKind.ADD, index: i, sources: add });
  }
  return ops;
}

/** A whole policy as ops from nothing (base 0). */
export function aclFullOps(rules: readonly WireAclRule[]): AclOp[] {
  const ops: AclOp[] = [];
  rules.forEach((r, index) => {
    ops.push({ op: AclOpKind.DEFINE, index, rule: r.rule, action: r.action, proto: r.proto, portLo: r.portLo, portHi: r.portHi, any: r.sources === undefined });
    if (r.sources !== undefined && r.sources.length > 0) ops.push({ op: AclOpKind.ADD, index, sources: r.sources });
  });
  return ops;
}

export type AclSendKind = 'policy' | 'too-large' | 'full' | 'delta';

export interface AclSendFacts {
  /** The member's REGISTER carried the ACL_DELTA capability. */
  deltas: boolean;
  /** The rules (and mode) of the version the member acked; undefined = none known. */
  acked: { mode: AclMode; rules: readonly WireAclRule[] } | undefined;
  mode: AclMode;
  rules: readonly WireAclRule[];
}

/** How to send `rules` to a member, with the ops when they go as ACL_POLICY_DELTA. */
export function aclSendKind(f: AclSendFacts): { kind: AclSendKind; ops?: AclOp[] } {
  if (!f.deltas) return { kind: aclPolicyBytes(f) <= ACL_MAX_BYTES ? 'policy' : 'too-large' };
  const full = aclFullOps(f.rules);
  const diff = f.acked !== undefined && f.acked.mode === f.mode ? aclDiff(f.acked.rules, f.rules) : undefined;
  if (diff === undefined || aclDeltaBytes({ ops: diff }) >= aclDeltaBytes({ ops: full })) return { kind: 'full', ops: full };
  return { kind: 'delta', ops: diff };
}
