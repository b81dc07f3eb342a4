// Compiles the hub's ACL policy (acl-policy.ts) into the rules one receiving member enforces, with
// names and tags resolved to the overlay addresses of today's members (wire/acl.ts WireAclRule).
// Pure; acl-distributor.ts recompiles on every membership change and sends what changed.
import { ACL_ANY_SOURCE, type WireAclRule } from '../wire/acl.js';
import type { AclPolicyFile, AclSelector } from './acl-policy.js';

export interface AclMember {
  overlay: number;
  name: string;
}

function selects(s: AclSelector, m: AclMember, tags: AclPolicyFile['tags']): boolean {
  if ('any' in s) return true;
  if ('address' in s) return s.address === m.overlay >>> 0;
  if ('name' in s) return m.name !== '' && s.name === m.name;
  return m.name !== '' && (tags.get(s.tag)?.has(m.name) ?? false);
}

/** Per policy: the rules by the names their `from` selects (names and tags' names), the addresses
 * they list, and which take any source; built once per policy (the distributor flushes often). */
interface RuleIndex {
  byName: Map<string, number[]>;
  addresses: Array<number[] | undefined>;
}
const indexes = new WeakMap<AclPolicyFile, RuleIndex>();

function ruleIndex(policy: AclPolicyFile): RuleIndex {
  let ix = indexes.get(policy);
  if (ix) return ix;
  const byName = new Map<string, number[]>();
  const addresses = policy.rules.map((r, i) => {
    if (r.from.some((s) => 'any' in s)) return undefined;
    const list: number[] = [];
    for (const s of r.from) {
      if ('address' in s) list.push(s.address >>> 0);
      const names = 'name' in s ? [s.name] : 'tag' in s ? (policy.tags.get(s.tag) ?? []) : [];
      for (const n of names) {
        const l = byName.get(n);
        if (l) l.push(i);
        else byName.set(n, [i]);
      }
    }
    return list;
  });
  ix = { byName, addresses };
  indexes.set(policy, ix);
  return ix;
}

/** Each rule's source addresses among `members` (undefined = any): computed once per membership
 * change. The rules are indexed by the names their `from` selects (ruleIndex), so it costs
 * members x the rules naming each, not rules x members (20,000 members, 200 group rules). */
export function ruleSources(policy: AclPolicyFile, members: readonly AclMember[]): Array<number[] | undefined> {
  const { byName, addresses } = ruleIndex(policy);
  const sets = addresses.map((a) => (a === undefined ? undefined : new Set<number>(a)));
  for (const m of members) {
    if (m.name === '') continue;
    const rules = byName.get(m.name);
    if (rules === undefined) continue;
    for (const i of rules) sets[i]?.add(m.overlay >>> 0);
  }
  return sets.map((set) => (set === undefined ? undefined : [...set].sort((a, b) => a - b).slice(0, ACL_ANY_SOURCE - 1)));
}

/** Which rules' `to` select the member, as a key: members with one key enforce the same rules
 * (the distributor compiles once per key). */
export function aclTargetKey(policy: AclPolicyFile, dst: AclMember): string {
  let key = '';
  policy.rules.forEach((r, i) => {
    if (r.to.some((s) => selects(s, dst, policy.tags))) key += `${i},`;
  });
  return key;
}

/** The rules `dst` enforces, in file order (one wire rule per port range). */
export function compileAclFor(policy: AclPolicyFile, dst: AclMember, members: readonly AclMember[], sources = ruleSources(policy, members)): WireAclRule[] {
  const out: WireAclRule[] = [];
  policy.rules.forEach((r, i) => {
    if (!r.to.some((s) => selects(s, dst, policy.tags))) return;
    for (const [portLo, portHi] of r.ports) out.push({ rule: r.rule, action: r.action, proto: r.proto, portLo, portHi, sources: sources[i] });
  });
  return out;
}
