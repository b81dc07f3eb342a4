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

/** The rules `dst` enforces, in file order (one wire rule per port range). */
export function compileAclFor(policy: AclPolicyFile, dst: AclMember, members: readonly AclMember[]): WireAclRule[] {
  const out: WireAclRule[] = [];
  for (const r of policy.rules) {
    if (!r.to.some((s) => selects(s, dst, policy.tags))) continue;
    let sources: number[] | undefined;
    if (!r.from.some((s) => 'any' in s)) {
      const set = new Set<number>();
      for (const s of r.from) if ('address' in s) set.add(s.address >>> 0);
      for (const m of members) if (r.from.some((s) => selects(s, m, policy.tags))) set.add(m.overlay >>> 0);
      sources = [...set].sort((a, b) => a - b).slice(0, ACL_ANY_SOURCE - 1);
    }
    for (const [portLo, portHi] of r.ports) out.push({ rule: r.rule, action: r.action, proto: r.proto, portLo, portHi, sources });
  }
  return out;
}
