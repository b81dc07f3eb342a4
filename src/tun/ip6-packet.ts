// IPv6 header peeks, the bounded walk of an extension-header chain, and the ICMPv6 packets the data
// path builds itself (destination unreachable when no peer owns a destination, packet too big when
// a packet exceeds the tunnel MTU, echo replies for tests): the v6 siblings of ip-packet.ts. Pure:
// bytes in, bytes out; malformed input gives undefined.
//
//   IPv6 header (RFC 8200)                      ICMPv6 error (RFC 4443)
//    0      1      2      3                      0      1      2      3
//   |ver|  class  |   flow label  |             | type | code |   checksum    |
//   | payload length | next | hop |             |   unused, or MTU (type 2)     |
//   |   source address (16)       |             | as much of the original as fits in 1280 bytes
//   |   destination address (16)  |
//   extension headers: next u8 | len u8 (units of 8 bytes, after the first 8) | ...; fragment: 8 bytes;
//   AH: len in units of 4 bytes, plus 2.

import { internetChecksum } from './ip-packet.js';

export const ipv6HeaderBytes = 40;
export const ipProtoIcmpv6 = 58;
export const ipProtoNoNext = 59;
export const icmpv6DestUnreachableType = 1;
export const icmpv6PacketTooBigType = 2;
export const icmpv6EchoRequestType = 128;
export const icmpv6EchoReplyType = 129;
/** Destination unreachable code 3: address unreachable (our "no peer owns it", like ICMPv4 host unreachable). */
export const icmpv6CodeAddressUnreachable = 3;
/** The IPv6 minimum MTU (RFC 8200): an ICMPv6 error never exceeds it, the overlay MTU never goes below it. */
export const ipv6MinMtu = 1280;
/** Local choice: an inner packet with more extension headers than this is dropped (real traffic has 0-2). */
export const maxExtensionHeaders = 8;
const hopLimit = 64;

const extHopByHop = 0;
const extRouting = 43;
const extFragment = 44;
const extEsp = 50;
const extAh = 51;
const extDestOpts = 60;
const extMobility = 135;
const extHip = 139;
const extShim6 = 140;

/** Where an inner packet's upper layer starts, after its extension headers. */
export interface Ipv6Upper {
  /** The upper-layer protocol (6 TCP, 17 UDP, 58 ICMPv6, 59 none, 50 ESP...). */
  proto: number;
  /** Offset of the upper-layer header in the packet. */
  offset: number;
  /** A fragment header was seen: a non-first fragment carries no upper header (offset is its data). */
  fragment: boolean;
  /** Fragment offset (8-byte units) if `fragment`, else 0. */
  fragmentOffset: number;
}

/** True for a whole IPv6 packet: version 6, at least 40 bytes, payload length that matches exactly. */
export function ipv6Whole(p: Uint8Array): boolean {
  if (p.length < ipv6HeaderBytes || p[0]! >> 4 !== 6) return false;
  return ipv6HeaderBytes + ((p[4]! << 8) | p[5]!) === p.length;
}

/** Source and destination as offsets (8 and 24), for callers that compare bytes in place. */
export const ipv6SrcOffset = 8;
export const ipv6DstOffset = 24;

/**
 * Walks the extension-header chain of a whole packet: at most maxExtensionHeaders headers, each
 * inside the packet. Undefined (drop) for a truncated or too long chain, or a second fragment header.
 */
export function ipv6Upper(p: Uint8Array): Ipv6Upper | undefined {
  if (!ipv6Whole(p)) return undefined;
  let next = p[6]!;
  let off = ipv6HeaderBytes;
  let fragment = false;
  let fragmentOffset = 0;
  for (let n = 0; ; n++) {
    // Hop-by-hop options only right after the IPv6 header (RFC 8200 4.1).
    if (next === extHopByHop && n !== 0) return undefined;
    switch (next) {
      case extHopByHop:
      case extRouting:
      case extDestOpts:
      case extMobility:
      case extHip:
      case extShim6: {
        if (off + 8 > p.length) return undefined;
        const len = (p[off + 1]! + 1) * 8;
        if (off + len > p.length) return undefined;
        next = p[off]!;
        off += len;
        break;
      }
      case extAh: {
        if (off + 8 > p.length) return undefined;
        const len = (p[off + 1]! + 2) * 4;
        if (off + len > p.length) return undefined;
        next = p[off]!;
        off += len;
        break;
      }
      case extFragment: {
        if (fragment || off + 8 > p.length) return undefined;
        fragment = true;
        fragmentOffset = ((p[off + 2]! << 8) | p[off + 3]!) >> 3;
        next = p[off]!;
        off += 8;
        break;
      }
      default:
        return { proto: next, offset: off, fragment, fragmentOffset };
    }
    if (n + 1 >= maxExtensionHeaders && isExtension(next)) return undefined;
  }
}

function isExtension(h: number): boolean {
  return (
    h === extHopByHop || h === extRouting || h === extFragment || h === extDestOpts || h === extAh ||
    h === extMobility || h === extHip || h === extShim6
  );
}

/** ESP (50) ends the walk: what follows is encrypted. Exported for the fuzz test's oracle. */
export const ipProtoEsp = extEsp;

/** The RFC 8200 8.1 pseudo-header sum plus the upper-layer bytes p[off, end): 0 when a checksum verifies. */
export function ipv6UpperChecksum(p: Uint8Array, proto: number, off: number, end = p.length): number {
  const len = end - off;
  // Pseudo-header: src, dst, upper-layer length (32 bits), three zero bytes, next header.
  const pseudo = new Uint8Array(40 + len + (len & 1));
  pseudo.set(p.subarray(ipv6SrcOffset, ipv6SrcOffset + 32), 0);
  pseudo[32] = (len >>> 24) & 0xff;
  pseudo[33] = (len >>> 16) & 0xff;
  pseudo[34] = (len >>> 8) & 0xff;
  pseudo[35] = len & 0xff;
  pseudo[39] = proto;
  pseudo.set(p.subarray(off, end), 40);
  return internetChecksum(pseudo, 0, 40 + len);
}

function writeHeader(out: Uint8Array, payloadLen: number, src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
  out[0] = 0x60;
  out[4] = (payloadLen >> 8) & 0xff;
  out[5] = payloadLen & 0xff;
  out[6] = ipProtoIcmpv6;
  out[7] = hopLimit;
  out.set(src.subarray(srcOff, srcOff + 16), ipv6SrcOffset);
  out.set(dst.subarray(dstOff, dstOff + 16), ipv6DstOffset);
}

function fillIcmpChecksum(out: Uint8Array): void {
  out[42] = 0;
  out[43] = 0;
  const c = ipv6UpperChecksum(out, ipProtoIcmpv6, ipv6HeaderBytes);
  out[42] = c >> 8;
  out[43] = c & 0xff;
}

function isUnspecified(p: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (p[off + i] !== 0) return false;
  return true;
}

/**
 * An ICMPv6 error (type, code, 32-bit parameter) from `from` (16 bytes) to the sender of
 * `original`, quoting as much of it as fits in 1280 bytes. Undefined when none may be sent
 * (RFC 4443 2.4 e): malformed original, an ICMPv6 error itself, an unspecified or multicast source,
 * or (except packet too big) a multicast destination.
 */
export function icmpv6Error(original: Uint8Array, from: Uint8Array, type: number, code: number, param = 0): Uint8Array | undefined {
  const up = ipv6Upper(original);
  if (up === undefined) return undefined;
  if (up.proto === ipProtoIcmpv6 && !up.fragment && (up.offset >= original.length || original[up.offset]! < 128)) return undefined;
  if (original[ipv6SrcOffset] === 0xff || isUnspecified(original, ipv6SrcOffset)) return undefined;
  if (type !== icmpv6PacketTooBigType && original[ipv6DstOffset] === 0xff) return undefined;
  const quote = Math.min(original.length, ipv6MinMtu - ipv6HeaderBytes - 8);
  const out = new Uint8Array(ipv6HeaderBytes + 8 + quote);
  writeHeader(out, 8 + quote, from, 0, original, ipv6SrcOffset);
  out[40] = type;
  out[41] = code;
  out[44] = (param >>> 24) & 0xff;
  out[45] = (param >>> 16) & 0xff;
  out[46] = (param >>> 8) & 0xff;
  out[47] = param & 0xff;
  out.set(original.subarray(0, quote), 48);
  fillIcmpChecksum(out);
  return out;
}

/** Destination unreachable, address unreachable (type 1 code 3): no peer owns the destination. */
export function icmpv6AddressUnreachable(original: Uint8Array, from: Uint8Array): Uint8Array | undefined {
  return icmpv6Error(original, from, icmpv6DestUnreachableType, icmpv6CodeAddressUnreachable);
}

/** Packet too big (type 2) with the MTU: IPv6 routers never fragment, the sender must. */
export function icmpv6PacketTooBig(original: Uint8Array, from: Uint8Array, mtu: number): Uint8Array | undefined {
  return icmpv6Error(original, from, icmpv6PacketTooBigType, 0, mtu);
}

/** The echo reply to a whole, checksummed ICMPv6 echo request without extension headers; else undefined. */
export function icmpv6EchoReply(request: Uint8Array): Uint8Array | undefined {
  if (!ipv6Whole(request) || request[6] !== ipProtoIcmpv6 || request.length < 48) return undefined;
  if (request[40] !== icmpv6EchoRequestType || request[41] !== 0) return undefined;
  if (ipv6UpperChecksum(request, ipProtoIcmpv6, ipv6HeaderBytes) !== 0) return undefined;
  const out = new Uint8Array(request.length);
  writeHeader(out, request.length - ipv6HeaderBytes, request, ipv6DstOffset, request, ipv6SrcOffset);
  out.set(request.subarray(ipv6HeaderBytes), ipv6HeaderBytes);
  out[40] = icmpv6EchoReplyType;
  fillIcmpChecksum(out);
  return out;
}
