// Applies every part of one ACL_POLICY_DELTA version (wire/acl-delta.ts) to the policy the peer holds
// (pure): the new whole policy, or why it cannot be applied. acl-receive.ts assembles the parts and
// hands the result to the firewall, so a policy is enforced whole or not at all.
import type { AclPolicyMessage, WireAclRule } from '../wire/acl.js';
import { AclOpKind, type AclDeltaMessage } from '../wire/acl-delta.js';

export type AclDeltaResult = { ok: true; policy: AclPolicyMessage } | { ok: false; why: 'base' | 'malformed'; text: string };

/** `held` = the policy in force (undefined: none yet); `parts` = every part of one version, any order. */
export function applyAclDelta(held: AclPolicyMessage | undefined, parts: readonly AclDeltaMessage[]): AclDeltaResult {
  const h = parts[0];
  if (h === undefined) return { ok: false, why: 'malformed', text: 'no parts' };
  const fromNothing = h.base === 0;
  if (!fromNothing && (held === undefined || held.version !== h.base)) return { ok: false, why: 'base', text: `base ${h.base}, holding ${held?.version ?? 'none'}` };
  if (!fromNothing && (held!.mode !== h.mode || held!.rules.length !== h.nrules)) return { ok: false, why: 'malformed', text: 'a delta changes the mode or the rule count' };
  const rules: Array<WireAclRule | undefined> = fromNothing ? new Array<WireAclRule | undefined>(h.nrules).fill(undefined) : held!.rules.map((r) => r);
  // Sets only for the rules this version touches; the others are shared with the held policy.
  const touched = new Map<number, Set<number> | undefined>();
  const sourcesOf = (i: number): Set<number> | undefined | null => {
    if (touched.has(i)) return touched.get(i);
    const r = rules[i];
    if (r === undefined) return null;
    const s = r.sources === undefined ? undefined : new Set(r.sources);
    touched.set(i, s);
    return s;
  };
  const ordered = [...parts].sort((a, b) => a.part - b.part);
  for (const p of ordered) {
    for (const e of p.ops) {
      if (e.op === AclOpKind.DEFINE) {
        rules[e.index] = { rule: e.rule, action: e.action, proto: e.proto, portLo: e.portLo, portHi: e.portHi, sources: e.any ? undefined : [] };
        touched.set(e.index, e.any ? undefined : new Set());
        continue;
      }
      const s = sourcesOf(e.index);
      if (s === null) return { ok: false, why: 'malformed', text: `rule ${e.index} changed before it is defined` };
      if (s === undefined) return { ok: false, why: 'malformed', text: `rule ${e.index} takes any source` };
      for (const a of e.sources) {
        if (e.op === AclOpKind.ADD ? s.has(a) : !s.has(a)) return { ok: false, why: 'malformed', text: `rule ${e.index}: ${e.op === AclOpKind.ADD ? 'adds a source it has' : 'removes a source it lacks'}` };
        if (e.op === AclOpKind.ADD) s.add(a);
        else s.delete(a);
      }
    }
  }
  const out: WireAclRule[] = [];
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r === undefined) return { ok: false, why: 'malformed', text: `rule ${i} never defined` };
    if (!touched.has(i)) out.push(r);
    else {
      const s = touched.get(i);
      out.push({ ...r, sources: s === undefined ? undefined : [...s].sort((a, b) => a - b) });
    }
  }
  return { ok: true, policy: { seq: h.seq, version: h.version, mode: h.mode, rules: out } };
}
