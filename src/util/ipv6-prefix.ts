// IPv6 overlay addresses as 16-byte arrays (what inner packets carry) and their text forms. Parsing
// is ip-num's (no hand-written v6 parser, issue 22); formatting is RFC 5952's canonical form. Also
// the default overlay /64 of a network (--network6): a ULA prefix derived from the network secret.
import { createHash } from 'node:crypto';
import { IPv6, Validator } from 'ip-num';

export const ipv6Bytes = 16;

/** "fd00::1" -> 16 bytes; undefined for anything ip-num does not take as an IPv6 address. */
export function parseIpv6(s: string): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length > 45 || !s.includes(':')) return undefined;
  if (!Validator.isValidIPv6String(s)[0]) return undefined;
  let v: bigint;
  try {
    v = IPv6.fromString(s).getValue();
  } catch {
    return undefined;
  }
  const out = new Uint8Array(ipv6Bytes);
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (>= 2) of zero groups as "::". */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Canonical text of a v6 address string, or undefined when it does not parse. */
export function canonicalIpv6(s: string): string | undefined {
  const b = parseIpv6(s);
  return b ? formatIpv6(b) : undefined;
}

/** True when a[aOff..] and b[bOff..] agree on their first `length` bits (0..128). */
export function samePrefix6(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, length: number): boolean {
  let i = 0;
  for (; i + 8 <= length; i += 8) if (a[aOff + (i >> 3)] !== b[bOff + (i >> 3)]) return false;
  const rest = length - i;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[aOff + (i >> 3)]! & mask) === (b[bOff + (i >> 3)]! & mask);
}

/** The address with its host bits (past `length`) cleared. */
export function maskIpv6(a: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(ipv6Bytes);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, length - i * 8));
    out[i] = a[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** 16 bytes at p[off] as a map key (32 hex digits). */
export function ipv6Key(p: Uint8Array, off = 0): string {
  return Buffer.from(p.buffer, p.byteOffset + off, ipv6Bytes).toString('hex');
}

/**
 * The default overlay v6 prefix of a network: fdXX:XXXX:XXXX:YYYY::/64 from SHA-256 of the network
 * secret (RFC 4193 asks for 40 random bits of global id; a hash of the secret gives each network
 * its own, the same on every hub restart, so two networks do not collide).
 */
export function ulaPrefixFromSecret(secret: string | Uint8Array): string {
  const h = createHash('sha256').update('meshd overlay6 ula\0').update(secret).digest();
  const b = new Uint8Array(16);
  b[0] = 0xfd;
  b.set(h.subarray(0, 7), 1); // 40-bit global id + 16-bit subnet id
  return `${formatIpv6(b)}/64`;
}
