// The peer's route table: longest-prefix match from an IPv4 destination to whatever owns it (the
// RemotePeer record). Overlay addresses are /32 routes today; advertised subnets (issue 23) and exit
// nodes (0.0.0.0/0) are wider routes into the same table, so one lookup per packet serves them all.
// IPv6 prefixes get a sibling table keyed the same way when the overlay grows a v6 family.
import { prefixMask } from '../util/ipv4.js';

/** One route: `network/length` (network already masked) -> value. */
export interface Route<T> {
  readonly network: number;
  readonly length: number;
  readonly value: T;
}

export class RouteTableError extends Error {
  readonly code = 'ROUTE_INVALID';
}

export { prefixMask };

/** True when `addr` lies inside one of `prefixes` (networks already masked). */
export function inPrefixes(prefixes: readonly { readonly network: number; readonly length: number }[], addr: number): boolean {
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i]!;
    if (((addr & prefixMask(p.length)) >>> 0) === p.network) return true;
  }
  return false;
}

/**
 * One Map per prefix length in use, probed from the longest down: a lookup costs one Map.get per
 * distinct length (1 for a plain overlay, 2-3 with subnet routes and a default route), with no
 * allocation, which a bit trie would not beat at these sizes.
 */
export class RouteTable<T> {
  private readonly byLength = new Map<number, Map<number, T>>();
  /** Prefix lengths in use, longest first. */
  private lengths: number[] = [];

  get size(): number {
    let n = 0;
    for (const m of this.byLength.values()) n += m.size;
    return n;
  }

  /** Adds or replaces the route for `address/length` (host bits are cleared). */
  set(address: number, length: number, value: T): void {
    if (!Number.isInteger(length) || length < 0 || length > 32) throw new RouteTableError(`prefix length ${length} is not 0-32`);
    let m = this.byLength.get(length);
    if (!m) {
      m = new Map();
      this.byLength.set(length, m);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    m.set((address & prefixMask(length)) >>> 0, value);
  }

  /** Removes the route for `address/length`; true if there was one. */
  delete(address: number, length: number): boolean {
    const m = this.byLength.get(length);
    if (!m || !m.delete((address & prefixMask(length)) >>> 0)) return false;
    if (m.size === 0) {
      this.byLength.delete(length);
      this.lengths = this.lengths.filter((l) => l !== length);
    }
    return true;
  }

  /** Removes every route whose value is `value` (a peer that left); returns how many. */
  deleteValue(value: T): number {
    let n = 0;
    for (const r of this.routes()) {
      if (r.value === value && this.delete(r.network, r.length)) n++;
    }
    return n;
  }

  /** The value of the exact route `address/length`, not a covering one. */
  getExact(address: number, length: number): T | undefined {
    return this.byLength.get(length)?.get((address & prefixMask(length)) >>> 0);
  }

  /** Longest-prefix match for one destination; undefined when no route covers it. */
  lookup(address: number): T | undefined {
    const lengths = this.lengths;
    for (let i = 0; i < lengths.length; i++) {
      const length = lengths[i]!;
      const v = this.byLength.get(length)!.get((address & prefixMask(length)) >>> 0);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Every route, longest prefixes first. */
  routes(): Route<T>[] {
    const out: Route<T>[] = [];
    for (const length of this.lengths) {
      for (const [network, value] of this.byLength.get(length)!) out.push({ network, length, value });
    }
    return out;
  }

  clear(): void {
    this.byLength.clear();
    this.lengths = [];
  }
}
