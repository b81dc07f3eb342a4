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

/** Each rule's source addresses among `members` (undefined = any): computed once per membership
 * change, so compiling for every member costs rules x members, not members squared. */
export function ruleSources(policy: AclPolicyFile, members: readonly AclMember[]): Array<number[] | undefined> {
  return policy.rules.map((r) => {
    if (r.from.some((s) => 'any' in s)) return undefined;
    const set = new Set<number>();
    for (const s of r.from) if ('address' in s) set.add(s.address >>> 0);
    for (const m of members) if (r.from.some((s) => selects(s, m, policy.tags))) set.add(m.overlay >>> 0);
    return [...set].sort((a, b) => a - b).slice(0, ACL_ANY_SOURCE - 1);
  });
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
