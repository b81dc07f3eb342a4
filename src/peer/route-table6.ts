// The peer's IPv6 route table: longest-prefix match from an IPv6 destination (16 bytes, read in
// place from a packet) to whatever owns it (the RemotePeer record). The sibling of route-table.ts;
// overlay v6 addresses are /128 routes, the only kind today (no v6 subnet routes yet).
import { ipv6Key, maskIpv6 } from '../util/ipv6-prefix.js';
import { RouteTableError } from './route-table.js';

/**
 * One Map per prefix length in use, keyed by the masked address in hex; probed from the longest
 * down. A /128 lookup costs one 16-byte hex key and one Map.get.
 */
export class RouteTable6<T> {
  private readonly byLength = new Map<number, Map<string, T>>();
  private lengths: number[] = [];
  private readonly scratch = new Uint8Array(16);

  get size(): number {
    let n = 0;
    for (const m of this.byLength.values()) n += m.size;
    return n;
  }

  set(address: Uint8Array, length: number, value: T): void {
    if (!Number.isInteger(length) || length < 0 || length > 128 || address.length !== 16) throw new RouteTableError(`bad IPv6 route /${length}`);
    let m = this.byLength.get(length);
    if (!m) {
      m = new Map();
      this.byLength.set(length, m);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    m.set(ipv6Key(maskIpv6(address, length)), value);
  }

  delete(address: Uint8Array, length: number): boolean {
    const m = this.byLength.get(length);
    if (!m || !m.delete(ipv6Key(maskIpv6(address, length)))) return false;
    if (m.size === 0) {
      this.byLength.delete(length);
      this.lengths = this.lengths.filter((l) => l !== length);
    }
    return true;
  }

  getExact(address: Uint8Array, length: number): T | undefined {
    return this.byLength.get(length)?.get(ipv6Key(maskIpv6(address, length)));
  }

  /** Longest-prefix match for the 16 bytes at p[off]. */
  lookup(p: Uint8Array, off = 0): T | undefined {
    for (let i = 0; i < this.lengths.length; i++) {
      const length = this.lengths[i]!;
      let key: string;
      if (length === 128) key = ipv6Key(p, off);
      else {
        const s = this.scratch;
        for (let j = 0; j < 16; j++) {
          const bits = Math.max(0, Math.min(8, length - j * 8));
          s[j] = p[off + j]! & ((0xff << (8 - bits)) & 0xff);
        }
        key = ipv6Key(s);
      }
      const v = this.byLength.get(length)!.get(key);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  clear(): void {
    this.byLength.clear();
    this.lengths = [];
  }
}
