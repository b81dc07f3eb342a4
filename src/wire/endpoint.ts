// The family-tagged UDP endpoint every control and inner codec carries (PROTOCOL.md "Endpoints"),
// since protocol version 2. Used by wire/control.ts (REGISTER, MAP, PUNCH...) and wire/inner.ts (PONG).
//
//   ep = family u8 (4|6) | address [4|16] (network order) | port u16 LE        (7 or 19 bytes)
//
// The address is text in the TS types (dotted quad, or canonical RFC 5952 IPv6 text). An IPv4
// address goes as family 4 only: a v4-mapped IPv6 address (::ffff:a.b.c.d) is encoded as family 4
// and refused as family 6 on decode, so every address has one encoding.
import { DecodeError } from '../util/errors.js';
import { ipv4Endpoint, parseIpv4 } from '../util/ipv4.js';
import { formatIpv6, IPV6_BYTES, isIpv4Mapped, mappedIpv4, parseIpv6 } from '../util/ipv6.js';
import type { WireEndpoint } from './inner.js';

export const FAMILY_V4 = 4;
export const FAMILY_V6 = 6;
export const ENDPOINT_V4_BYTES = 1 + 4 + 2;
export const ENDPOINT_V6_BYTES = 1 + IPV6_BYTES + 2;

/** The address of an endpoint in wire form, or throws TypeError when it is neither family. */
function addressOf(e: WireEndpoint): { family: 4; u32: number } | { family: 6; bytes: Uint8Array } {
  const u32 = (e as { u32?: number }).u32 ?? parseIpv4(e.address);
  if (u32 !== undefined) return { family: FAMILY_V4, u32 };
  const bytes = parseIpv6(e.address);
  if (bytes === undefined) throw new TypeError(`not an IP address: ${e.address}`);
  if (isIpv4Mapped(bytes)) return { family: FAMILY_V4, u32: mappedIpv4(bytes) };
  return { family: FAMILY_V6, bytes };
}

/** Encoded size of one endpoint (7 or 19 bytes). */
export function endpointBytes(e: WireEndpoint): number {
  return addressOf(e).family === FAMILY_V4 ? ENDPOINT_V4_BYTES : ENDPOINT_V6_BYTES;
}

/** Writes `e` at `off` (the caller made room for endpointBytes(e)); returns the bytes written. */
export function writeEndpoint(v: DataView, off: number, e: WireEndpoint): number {
  const a = addressOf(e);
  v.setUint8(off, a.family);
  if (a.family === FAMILY_V4) {
    v.setUint32(off + 1, a.u32, false);
    v.setUint16(off + 5, e.port, true);
    return ENDPOINT_V4_BYTES;
  }
  for (let i = 0; i < IPV6_BYTES; i++) v.setUint8(off + 1 + i, a.bytes[i]!);
  v.setUint16(off + 1 + IPV6_BYTES, e.port, true);
  return ENDPOINT_V6_BYTES;
}

/** Reads the endpoint at `off` of a view of `len` bytes; throws DecodeError on a short or bad one. */
export function readEndpoint(v: DataView, off: number, len: number, what: string): { endpoint: WireEndpoint; bytes: number } {
  if (off + 1 > len) throw new DecodeError(`endpoint: short ${what}`);
  const family = v.getUint8(off);
  if (family === FAMILY_V4) {
    if (off + ENDPOINT_V4_BYTES > len) throw new DecodeError(`endpoint: short ${what}`);
    return { endpoint: ipv4Endpoint(v.getUint32(off + 1, false), v.getUint16(off + 5, true)), bytes: ENDPOINT_V4_BYTES };
  }
  if (family !== FAMILY_V6) throw new DecodeError(`endpoint: ${what} of family ${family}`);
  if (off + ENDPOINT_V6_BYTES > len) throw new DecodeError(`endpoint: short ${what}`);
  const b = new Uint8Array(IPV6_BYTES);
  for (let i = 0; i < IPV6_BYTES; i++) b[i] = v.getUint8(off + 1 + i);
  if (isIpv4Mapped(b)) throw new DecodeError(`endpoint: ${what} is a v4-mapped IPv6 address`);
  return { endpoint: { address: formatIpv6(b), port: v.getUint16(off + 1 + IPV6_BYTES, true) }, bytes: ENDPOINT_V6_BYTES };
}
