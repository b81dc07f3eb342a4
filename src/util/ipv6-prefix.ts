// IPv6 overlay prefixes: comparing and masking 16-byte addresses in place (what inner packets carry),
// map keys, and the default overlay /64 of a network (--network6): a ULA prefix derived from the
// network secret. Text forms are util/ipv6.ts's (ip-num; no hand-written v6 parser, issue 22).
import { createHash } from 'node:crypto';
import { canonicalIpv6, formatIpv6, parseIpv6 } from './ipv6.js';

export const ipv6Bytes = 16;

// Parsing and formatting are util/ipv6.ts's (the codec's, through ip-num); re-exported for the
// overlay's callers.
export { canonicalIpv6, formatIpv6, parseIpv6 };

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
