// The tag policy of the scoped-map load runs (bench/load/cluster-load.mjs --scope) and, pure, who
// should hold whom: N virtual peers by index, S `server` members spread over the indices (both hubs
// home some), the rest in groups of `groupSize` in index order. The policy: each group may reach
// itself; everybody ("*", which compiles to ANY and keeps each server's ACL_POLICY small) may reach
// the servers. A member's scoped map holds the members it may reach or be reached by: its own group
// and the servers; a server holds everybody. Spare members (named in the policy, joined later to
// time one change): spare server k at index N+10+2k, spare member of group `spareGroup` at N+11+2k.
// Types: acl-scope.d.mts; tested in test/bench/acl-scope.test.ts.

/** The layout of one run: { peers, servers, groupSize, spares, spareGroup } -> a plan. */
export function scopePlan({ peers, servers = 4, groupSize = 100, spares = 4, spareGroup = 0 }) {
  if (!(peers > servers && servers >= 0 && groupSize >= 1)) throw new Error(`scope plan: peers ${peers}, servers ${servers}, group size ${groupSize}`);
  const serverAt = new Map(); // index -> server number
  // Server k at k/S of the way, odd ones half a stride further: cluster-load.mjs gives each worker a
  // contiguous run of indices and alternates the workers' hubs, so both hubs home servers.
  for (let k = 0; k < servers; k++) serverAt.set(Math.floor((k * peers) / servers) + (k % 2) * Math.floor(peers / (2 * servers)), k);
  const groupOf = new Int32Array(peers).fill(-1);
  let ordinal = 0;
  for (let i = 0; i < peers; i++) if (!serverAt.has(i)) groupOf[i] = Math.floor(ordinal++ / groupSize);
  const groups = Math.ceil(ordinal / groupSize);
  if (spareGroup >= groups) throw new Error(`scope plan: spare group ${spareGroup} of ${groups}`);
  const spareBase = peers + 10;
  const isSpare = (i) => i >= spareBase && i < spareBase + 2 * spares;
  const spareServer = (k) => spareBase + 2 * k;
  const spareMember = (k) => spareBase + 2 * k + 1;
  /** 'server', 'member' or undefined (not part of the plan). */
  function role(i) {
    if (i >= 0 && i < peers) return serverAt.has(i) ? 'server' : 'member';
    if (isSpare(i)) return (i - spareBase) % 2 === 0 ? 'server' : 'member';
    return undefined;
  }
  /** The group of a member (-1 for a server). */
  function group(i) {
    if (i >= 0 && i < peers) return groupOf[i];
    if (isSpare(i)) return role(i) === 'server' ? -1 : spareGroup;
    return -1;
  }
  function name(i) {
    if (i >= 0 && i < peers) return serverAt.has(i) ? `srv-${serverAt.get(i)}` : `g${groupOf[i]}-${i}`;
    if (isSpare(i)) return role(i) === 'server' ? `srv-spare-${(i - spareBase) / 2}` : `g${spareGroup}-spare-${(i - spareBase - 1) / 2}`;
    throw new Error(`scope plan: index ${i} has no name`);
  }
  /** Whether member a's map should hold member b (a != b): a may reach b or b may reach a. */
  function sees(a, b) {
    if (a === b) return false;
    const ra = role(a);
    const rb = role(b);
    if (ra === undefined || rb === undefined) return false;
    return ra === 'server' || rb === 'server' || group(a) === group(b);
  }
  /** The policy file (docs/ACL.md) naming every member and every spare. */
  function policy() {
    const tags = { server: [] };
    for (let g = 0; g < groups; g++) tags[`g${g}`] = [];
    const add = (i) => tags[role(i) === 'server' ? 'server' : `g${group(i)}`].push(name(i));
    for (let i = 0; i < peers; i++) add(i);
    for (let i = spareBase; i < spareBase + 2 * spares; i++) add(i);
    const rules = [{ from: '*', to: 'tag:server', comment: 'everybody may reach the servers' }];
    for (let g = 0; g < groups; g++) rules.push({ from: `tag:g${g}`, to: `tag:g${g}` });
    return { tags, rules };
  }
  return { peers, servers, groupSize, groups, spares, spareGroup, role, group, name, sees, policy, spareServer, spareMember };
}

/** How many of `members` (indices registered network-wide) are servers, and per group: what
 * compareScope needs to count a member's missing entries without walking every member. */
export function memberCounts(plan, members) {
  const counts = { all: 0, servers: 0, byGroup: new Map() };
  for (const j of members) {
    const r = plan.role(j);
    if (r === undefined) continue;
    counts.all++;
    if (r === 'server') counts.servers++;
    else counts.byGroup.set(plan.group(j), (counts.byGroup.get(plan.group(j)) ?? 0) + 1);
  }
  return counts;
}

/** Compares one member's map (a set of indices) with what it should hold among `members` (the
 * indices registered network-wide): { missing, extra } counts and up to 3 examples of each
 * (missing examples only below 5,000 members: finding them walks every member). O(held). */
export function compareScope(plan, self, held, members, counts = memberCounts(plan, members)) {
  const examples = { missing: [], extra: [] };
  let extra = 0;
  let right = 0;
  for (const j of held) {
    if (members.has(j) && plan.sees(self, j)) right++;
    else {
      extra++;
      if (examples.extra.length < 3) examples.extra.push(j);
    }
  }
  const selfIn = members.has(self) ? 1 : 0;
  const should = plan.role(self) === 'server' ? counts.all - selfIn : counts.servers + (counts.byGroup.get(plan.group(self)) ?? 0) - selfIn;
  const missing = should - right;
  if (missing > 0 && members.size < 5000) {
    for (const j of members) if (plan.sees(self, j) && !held.has(j) && examples.missing.length < 3) examples.missing.push(j);
  }
  return { missing, extra, examples };
}

/** Spares a run needs: one server and one member per cycle of four measured changes (2 + spreads of
 * them), and one more server per warm-up pair (cluster-load.mjs --warmup). */
export function sparesFor(spreads, warmups = 0) {
  return Math.max(1, Math.ceil((2 + spreads) / 4)) + warmups;
}

/** Measured change n of a scoped run (cluster-load.mjs): in cycles of four (c = the cycle), spare
 * server c joining at hub c % hubs and leaving, then spare member c of the spare group joining at
 * hub (c + 1) % hubs and leaving. */
export function scopedChangeSpec(plan, n, hubs) {
  const c = Math.floor(n / 4);
  const server = n % 4 < 2;
  return { kind: n % 2 === 0 ? 'join' : 'leave', server, at: (c + (server ? 0 : 1)) % hubs, index: server ? plan.spareServer(c) : plan.spareMember(c), key: `${n}` };
}

/** Warm-up change w (unmeasured): pair k = w / 2 is a spare server after the measured ones (the last
 * `warmups` of plan.spares) joining at hub k % hubs and leaving; every peer sees it. */
export function warmupChangeSpec(plan, w, hubs, warmups) {
  const k = Math.floor(w / 2);
  if (!(k < warmups && warmups <= plan.spares)) throw new Error(`warm-up change ${w} of ${warmups} pairs, ${plan.spares} spares`);
  return { kind: w % 2 === 0 ? 'join' : 'leave', server: true, at: k % hubs, index: plan.spareServer(plan.spares - warmups + k), key: `warmup-${w}` };
}
