// Which members one member's map carries under the hub's ACL policy (issue 24, docs/ACL.md "Scoped
// maps"). Pure. Member x is in m's map iff some *allow* rule could let m send to x or x send to m;
// deny rules and their order are ignored (an over-approximation: the receiving member enforces the
// policy anyway, so an extra entry costs bytes, never access). An address selector also selects a
// member that routes a prefix holding that address (subnet router, exit node: 0.0.0.0/0 holds all).
// No policy: everyone sees everyone (today's maps).
//
// View classes: a member's class is the set of allow-rule sides (from, to) that select it. Two
// members of one class see exactly the same members, so the hub decides visibility per pair of
// classes (memoised), not per pair of members: a tag policy of 200 groups has ~200 classes however
// many members join. A member named (or addressed) by a rule of its own has a class of its own.
import type { RoutePrefix } from '../wire/routes.js';
import { AclAction } from '../wire/acl.js';
import type { AclPolicyFile, AclSelector } from './acl-policy.js';

/** What the policy can tell a member by: its overlay address, name, and the prefixes it routes. */
export interface ScopeSubject {
  overlay: number;
  name: string;
  routes?: readonly RoutePrefix[];
}

function inPrefix(address: number, p: RoutePrefix): boolean {
  if (p.length <= 0) return true;
  const mask = p.length >= 32 ? 0xffffffff : ~(0xffffffff >>> p.length);
  return ((address & mask) >>> 0) === ((p.network & mask) >>> 0);
}

/** Whether one selector selects the member (pure). */
export function scopeSelects(s: AclSelector, x: ScopeSubject, tags: AclPolicyFile['tags']): boolean {
  if ('any' in s) return true;
  if ('address' in s) return s.address >>> 0 === x.overlay >>> 0 || (x.routes ?? []).some((p) => inPrefix(s.address >>> 0, p));
  if ('name' in s) return x.name !== '' && s.name === x.name;
  return x.name !== '' && (tags.get(s.tag)?.has(x.name) ?? false);
}

/** The allow-rule sides that select a member, as a class key: "f1,t1,t3" (pure). */
export function scopeClassKey(policy: AclPolicyFile, x: ScopeSubject): string {
  return sidesKey(policy.rules.map((r) => r.action === AclAction.ALLOW && r.from.some((s) => scopeSelects(s, x, policy.tags))), policy.rules.map((r) => r.action === AclAction.ALLOW && r.to.some((s) => scopeSelects(s, x, policy.tags))));
}

function sidesKey(from: readonly boolean[], to: readonly boolean[]): string {
  const parts: string[] = [];
  from.forEach((f, i) => f && parts.push(`f${i}`));
  to.forEach((t, i) => t && parts.push(`t${i}`));
  return parts.join(',');
}

interface Sides {
  from: Set<number>;
  to: Set<number>;
}

function sidesOf(key: string): Sides {
  const out: Sides = { from: new Set(), to: new Set() };
  for (const p of key === '' ? [] : key.split(',')) (p[0] === 'f' ? out.from : out.to).add(Number(p.slice(1)));
  return out;
}

function meets(a: Sides, b: Sides): boolean {
  for (const i of a.from) if (b.to.has(i)) return true;
  for (const i of a.to) if (b.from.has(i)) return true;
  return false;
}

/** Whether a member of class `a` may see one of class `b` (pure, symmetric): some allow rule's
 * `from` selects one and its `to` the other. */
export function classesMeet(a: string, b: string): boolean {
  return meets(sidesOf(a), sidesOf(b));
}

/** The visibility decision for one pair (pure): whether `x` is in `m`'s map. */
export function mapIncludes(policy: AclPolicyFile | undefined, m: ScopeSubject, x: ScopeSubject): boolean {
  if (!policy) return true;
  return classesMeet(scopeClassKey(policy, m), scopeClassKey(policy, x));
}

/** Allow-rule sides indexed by what they name, so classifying a member looks only at the rules that
 * could select it (a tag policy of 200 groups: a few rules per member, not 200). */
class SideIndex {
  readonly any: number[] = [];
  readonly byName = new Map<string, number[]>();
  readonly byAddress = new Map<number, number[]>();
  readonly addressed: Array<{ address: number; side: number }> = [];

  add(s: AclSelector, side: number, tags: AclPolicyFile['tags']): void {
    const push = <K>(m: Map<K, number[]>, k: K) => {
      const l = m.get(k);
      if (l) l.push(side);
      else m.set(k, [side]);
    };
    if ('any' in s) this.any.push(side);
    else if ('name' in s) push(this.byName, s.name);
    else if ('tag' in s) for (const n of tags.get(s.tag) ?? []) push(this.byName, n);
    else {
      push(this.byAddress, s.address >>> 0);
      this.addressed.push({ address: s.address >>> 0, side });
    }
  }
}

/** Local tuning: class pairs remembered (~80 MB at most); the rest are decided again each time
 * (a few set lookups). */
export const scopeMemoPairs = 1_000_000;

/** The classes of one policy: numbered keys and the memoised class x class visibility. A side is
 * encoded as rule * 2 (+1 for `to`). */
export class ScopeClasses {
  private readonly ids = new Map<string, number>();
  private readonly sides: Sides[] = [];
  private readonly meet = new Map<number, boolean>();
  private readonly index = new SideIndex();

  constructor(readonly policy: AclPolicyFile) {
    policy.rules.forEach((r, i) => {
      if (r.action !== AclAction.ALLOW) return;
      for (const s of new Set(r.from)) this.index.add(s, i * 2, policy.tags);
      for (const s of new Set(r.to)) this.index.add(s, i * 2 + 1, policy.tags);
    });
  }

  get count(): number {
    return this.sides.length;
  }

  classOf(x: ScopeSubject): number {
    const on = new Set<number>(this.index.any);
    if (x.name !== '') for (const side of this.index.byName.get(x.name) ?? []) on.add(side);
    for (const side of this.index.byAddress.get(x.overlay >>> 0) ?? []) on.add(side);
    if (x.routes && x.routes.length > 0) {
      for (const { address, side } of this.index.addressed) if (x.routes.some((p) => inPrefix(address, p))) on.add(side);
    }
    const sorted = [...on].sort((p, q) => p - q);
    const key = sorted.join(',');
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.sides.length;
      this.ids.set(key, id);
      const sides: Sides = { from: new Set(), to: new Set() };
      for (const side of sorted) ((side & 1) === 0 ? sides.from : sides.to).add(side >> 1);
      this.sides.push(sides);
    }
    return id;
  }

  /** Whether members of class `a` see members of class `b` (symmetric; memoised up to
   * `scopeMemoPairs` pairs: a policy naming every member makes as many classes as members). */
  sees(a: number, b: number): boolean {
    const k = a < b ? a * 0x100000 + b : b * 0x100000 + a;
    let v = this.meet.get(k);
    if (v === undefined) {
      v = meets(this.sides[a]!, this.sides[b]!);
      if (this.meet.size < scopeMemoPairs) this.meet.set(k, v);
    }
    return v;
  }
}
