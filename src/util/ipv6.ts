// IPv6 addresses as 16 bytes (what the codecs and the native socket carry) and as canonical text
// (RFC 5952: lower case, longest zero run as "::"), the form every Endpoint.address holds. Parsing
// and compression are ip-num's (no hand-written v6 parser); used by wire/endpoint.ts, net/ and
// util/endpoint-filter.ts.
import { collapseIPv6Number, IPv6, Validator } from './ip-num.js';

export const IPV6_BYTES = 16;

/** True when `s` is written as an IPv6 address (the one test used to tell the families apart). */
export function isIpv6Text(s: string): boolean {
  return s.includes(':');
}

/** "2001:db8::1" -> 16 bytes; undefined for anything ip-num does not take, and for zone ids
 * ("fe80::1%eth0": a zone means nothing to another host). Dotted v4 tails ("::ffff:192.0.2.1") parse. */
export function parseIpv6(s: string): Uint8Array | undefined {
  if (s.includes('%') || !Validator.isValidIPv6String(s)[0]) return undefined;
  let n: bigint;
  try {
    n = IPv6.fromString(s).value;
  } catch {
    return undefined;
  }
  const out = new Uint8Array(IPV6_BYTES);
  for (let i = IPV6_BYTES - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** 16 bytes -> canonical text ("2001:db8::1"). */
export function formatIpv6(b: Uint8Array): string {
  if (b.byteLength !== IPV6_BYTES) throw new RangeError(`ipv6: ${b.byteLength} bytes`);
  const groups: string[] = [];
  for (let i = 0; i < IPV6_BYTES; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return collapseIPv6Number(groups.join(':'));
}

/** The canonical text of an IPv6 address given as text, or undefined when it is not one. */
export function canonicalIpv6(s: string): string | undefined {
  const b = parseIpv6(s);
  return b === undefined ? undefined : formatIpv6(b);
}

/** ::ffff:a.b.c.d, the form a dual-stack socket reports an IPv4 peer in. */
export function isIpv4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** The IPv4 address of a v4-mapped IPv6 address as a u32. */
export function mappedIpv4(b: Uint8Array): number {
  return ((b[12]! << 24) | (b[13]! << 16) | (b[14]! << 8) | b[15]!) >>> 0;
}

/** True when every byte is zero (the unspecified address "::"). */
export function isZeroIpv6(b: Uint8Array): boolean {
  for (let i = 0; i < b.byteLength; i++) if (b[i] !== 0) return false;
  return true;
}
