// The hub's decision on routes members offer (issue 23, docs/ROUTES.md): a prefix is admitted only
// if --allow-routes lists it (or a wider prefix) for that member's name or key, it does not overlap
// the overlay, and no other member offers the identical prefix (a tie: both refused, with the
// reason). Overlapping prefixes of different lengths are all admitted: receivers use the longest.
// 0.0.0.0/0 is an exit node offer: several exit nodes are no tie, clients pick one by name.
import { prefixMask } from '../util/ipv4.js';
import { RouteVerdict, type ExtRoute, type RoutePrefix } from '../wire/routes.js';

/** One --allow-routes entry: `who` (a member name or its base64 public key) may offer `prefix` or narrower. */
export interface AllowRule extends RoutePrefix {
  who: string;
}

export interface RouteOffer extends RoutePrefix {
  /** The offering member: overlay address, name and base64 key. */
  owner: number;
  name: string;
  key: string;
}

/** `outer` contains `inner` (equal counts). */
export function prefixContains(outer: RoutePrefix, inner: RoutePrefix): boolean {
  return outer.length <= inner.length && ((inner.network & prefixMask(outer.length)) >>> 0) === outer.network;
}

export function prefixesOverlap(a: RoutePrefix, b: RoutePrefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a);
}

function allowed(o: RouteOffer, rules: readonly AllowRule[]): boolean {
  // A 0.0.0.0/0 rule admits the exit node offer only, not every subnet: the two are different grants.
  return rules.some((r) => (r.who === o.name || r.who === o.key) && prefixContains(r, o) && (r.length > 0 || o.length === 0));
}

/** The verdict on every offer, sorted by owner then prefix (the MAP_EXT order). */
export function admitRoutes(offers: readonly RouteOffer[], rules: readonly AllowRule[], overlay: RoutePrefix): ExtRoute[] {
  const out: ExtRoute[] = offers.map((o) => {
    let verdict = RouteVerdict.ADMITTED;
    if (o.length > 0 && prefixesOverlap(o, overlay)) verdict = RouteVerdict.OVERLAPS_OVERLAY;
    else if (!allowed(o, rules)) verdict = RouteVerdict.NOT_ALLOWED;
    return { owner: o.owner, network: o.network, length: o.length, verdict };
  });
  // Ties among the allowed: the identical prefix from two members (exit nodes excepted).
  const owners = new Map<string, Set<number>>();
  for (const r of out) {
    if (r.verdict !== RouteVerdict.ADMITTED || r.length === 0) continue;
    const k = `${r.network}/${r.length}`;
    const s = owners.get(k) ?? new Set<number>();
    s.add(r.owner);
    owners.set(k, s);
  }
  for (const r of out) {
    if (r.verdict === RouteVerdict.ADMITTED && r.length > 0 && owners.get(`${r.network}/${r.length}`)!.size > 1) r.verdict = RouteVerdict.TIE;
  }
  return out.sort((a, b) => a.owner - b.owner || a.network - b.network || a.length - b.length);
}
