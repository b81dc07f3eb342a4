// Types of acl-scope.mjs (the scoped-map load runs' plan), for test/bench/acl-scope.test.ts.
export interface ScopePlanOptions {
  peers: number;
  servers?: number;
  groupSize?: number;
  spares?: number;
  spareGroup?: number;
}
export interface ScopePolicy {
  tags: Record<string, string[]>;
  rules: Array<{ from: string; to: string; comment?: string }>;
}
export interface ScopePlan {
  peers: number;
  servers: number;
  groupSize: number;
  groups: number;
  spares: number;
  spareGroup: number;
  role(i: number): 'server' | 'member' | undefined;
  group(i: number): number;
  name(i: number): string;
  sees(a: number, b: number): boolean;
  policy(): ScopePolicy;
  spareServer(k: number): number;
  spareMember(k: number): number;
}
export function scopePlan(o: ScopePlanOptions): ScopePlan;
export interface MemberCounts {
  all: number;
  servers: number;
  byGroup: Map<number, number>;
}
export function memberCounts(plan: ScopePlan, members: Iterable<number>): MemberCounts;
export function compareScope(
  plan: ScopePlan,
  self: number,
  held: ReadonlySet<number>,
  members: ReadonlySet<number>,
  counts?: MemberCounts,
): { missing: number; extra: number; examples: { missing: number[]; extra: number[] } };
export interface ScopedChangeSpec {
  kind: 'join' | 'leave';
  server: boolean;
  at: number;
  index: number;
  key: string;
}
export function sparesFor(spreads: number, warmups?: number): number;
export function scopedChangeSpec(plan: ScopePlan, n: number, hubs: number): ScopedChangeSpec;
export function warmupChangeSpec(plan: ScopePlan, w: number, hubs: number, warmups: number): ScopedChangeSpec;
