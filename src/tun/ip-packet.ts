// IPv4 header peeks and the few ICMP packets the data path builds itself (echo replies for tests,
// destination unreachable: host unreachable when no peer owns a destination, fragmentation needed
// when a packet exceeds the tunnel MTU). Pure: bytes in, bytes out; malformed input gives undefined.
//
//   IPv4 header (RFC 791)                    ICMP destination unreachable (RFC 792, RFC 1191)
//    0      1      2      3                   0      1      2      3
//   |ver/ihl| tos  |  total length |          | type | code |   checksum    |
//   |  identification | flags/frag |          |    unused   | next-hop MTU  |  (code 4 only)
//   |  ttl  | proto|   checksum    |          | original IP header + first 8 bytes of its payload
//   |        source address        |
//   |      destination address     |

export const ipv4MinHeaderBytes = 20;
export const icmpHeaderBytes = 8;
export const ipProtoIcmp = 1;
export const ipProtoTcp = 6;
export const ipProtoUdp = 17;
export const icmpEchoReplyType = 0;
export const icmpDestUnreachableType = 3;
export const icmpEchoRequestType = 8;
export const icmpCodeHostUnreachable = 1;
export const icmpCodeFragmentationNeeded = 4;
/** TTL of packets we originate; local choice (Linux's default). */
export const originTtl = 64;
/** Bytes of the original datagram quoted after its header (RFC 792: 64 bits). */
const quotedPayloadBytes = 8;

/** The IP version nibble, or undefined for an empty packet. */
export function ipVersion(p: Uint8Array): number | undefined {
  return p.length === 0 ? undefined : p[0]! >> 4;
}

/** Header length in bytes of a plausible IPv4 packet (version 4, 20 <= IHL*4 <= length), else undefined. */
export function ipv4HeaderLength(p: Uint8Array): number | undefined {
  if (p.length < ipv4MinHeaderBytes || p[0]! >> 4 !== 4) return undefined;
  const hl = (p[0]! & 0x0f) * 4;
  return hl < ipv4MinHeaderBytes || hl > p.length ? undefined : hl;
}

/** Total length field, if the header is plausible and hl <= total <= bytes available. */
export function ipv4TotalLength(p: Uint8Array): number | undefined {
  const hl = ipv4HeaderLength(p);
  if (hl === undefined) return undefined;
  const total = (p[2]! << 8) | p[3]!;
  return total < hl || total > p.length ? undefined : total;
}

export function ipv4Protocol(p: Uint8Array): number | undefined {
  return ipv4HeaderLength(p) === undefined ? undefined : p[9]!;
}

/** Source address as an unsigned 32-bit number (see util/ipv4.ts). */
export function ipv4Src(p: Uint8Array): number | undefined {
  return ipv4HeaderLength(p) === undefined ? undefined : readU32(p, 12);
}

/** Destination address as an unsigned 32-bit number: what routing looks at. */
export function ipv4Dst(p: Uint8Array): number | undefined {
  return ipv4HeaderLength(p) === undefined ? undefined : readU32(p, 16);
}

/** RFC 1071 one's-complement checksum of b[start, end). Verifying a block that holds its checksum gives 0. */
export function internetChecksum(b: Uint8Array, start = 0, end = b.length): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** True when the IPv4 header is plausible and its checksum verifies. */
export function ipv4ChecksumOk(p: Uint8Array): boolean {
  const hl = ipv4HeaderLength(p);
  return hl !== undefined && internetChecksum(p, 0, hl) === 0;
}

/** Recomputes the header checksum of an IPv4 packet in place. */
export function setIpv4Checksum(p: Uint8Array, headerLength = (p[0]! & 0x0f) * 4): void {
  p[10] = 0;
  p[11] = 0;
  const c = internetChecksum(p, 0, headerLength);
  p[10] = c >> 8;
  p[11] = c & 0xff;
}

/** A big-endian unsigned 32-bit word at `off` (addresses; tcp-window-clamp.ts keys flows by them). */
export function readU32(p: Uint8Array, off: number): number {
  return ((p[off]! << 24) | (p[off + 1]! << 16) | (p[off + 2]! << 8) | p[off + 3]!) >>> 0;
}

function writeU32(p: Uint8Array, off: number, v: number): void {
  p[off] = v >>> 24;
  p[off + 1] = (v >>> 16) & 0xff;
  p[off + 2] = (v >>> 8) & 0xff;
  p[off + 3] = v & 0xff;
}

function isFragment(p: Uint8Array): boolean {
  return (((p[6]! << 8) | p[7]!) & 0x3fff) !== 0; // MF flag or a fragment offset
}

/** A 20-byte header (no options) for an ICMP packet we originate; checksum filled in. */
function writeIcmpIpHeader(out: Uint8Array, total: number, id: number, src: number, dst: number): void {
  out[0] = 0x45;
  out[1] = 0;
  out[2] = total >> 8;
  out[3] = total & 0xff;
  out[4] = (id >> 8) & 0xff;
  out[5] = id & 0xff;
  out[6] = 0;
  out[7] = 0;
  out[8] = originTtl;
  out[9] = ipProtoIcmp;
  writeU32(out, 12, src);
  writeU32(out, 16, dst);
  setIpv4Checksum(out, ipv4MinHeaderBytes);
}

/**
 * The echo reply to an ICMP echo request (same identifier, sequence and data; addresses swapped;
 * IP options dropped), or undefined if `request` is not a whole, unfragmented, checksummed echo request.
 */
export function icmpEchoReply(request: Uint8Array): Uint8Array | undefined {
  const total = ipv4TotalLength(request);
  if (total === undefined || request[9] !== ipProtoIcmp || isFragment(request) || !ipv4ChecksumOk(request)) return undefined;
  const hl = (request[0]! & 0x0f) * 4;
  const icmpLen = total - hl;
  if (icmpLen < icmpHeaderBytes || request[hl] !== icmpEchoRequestType || request[hl + 1] !== 0) return undefined;
  if (internetChecksum(request, hl, total) !== 0) return undefined;
  const out = new Uint8Array(ipv4MinHeaderBytes + icmpLen);
  out.set(request.subarray(hl, total), ipv4MinHeaderBytes);
  const id = (request[4]! << 8) | request[5]!;
  writeIcmpIpHeader(out, out.length, id, readU32(request, 16), readU32(request, 12));
  out[ipv4MinHeaderBytes] = icmpEchoReplyType;
  out[ipv4MinHeaderBytes + 2] = 0;
  out[ipv4MinHeaderBytes + 3] = 0;
  const c = internetChecksum(out, ipv4MinHeaderBytes, out.length);
  out[ipv4MinHeaderBytes + 2] = c >> 8;
  out[ipv4MinHeaderBytes + 3] = c & 0xff;
  return out;
}

/** ICMP types that are errors themselves: never answered with another error (RFC 1122 3.2.2). */
function isIcmpError(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/**
 * ICMP destination unreachable (type 3) from `from` to the sender of `original`, quoting its header
 * and first 8 payload bytes. `nextHopMtu` is written for code 4 (fragmentation needed). Undefined
 * when no error may be sent: malformed original, a non-first fragment, an ICMP error, or a source
 * that is unspecified, multicast or broadcast.
 */
export function icmpDestinationUnreachable(original: Uint8Array, from: number, code: number, nextHopMtu = 0): Uint8Array | undefined {
  const total = ipv4TotalLength(original);
  if (total === undefined || !ipv4ChecksumOk(original)) return undefined;
  const hl = (original[0]! & 0x0f) * 4;
  if ((((original[6]! << 8) | original[7]!) & 0x1fff) !== 0) return undefined;
  if (original[9] === ipProtoIcmp && (total < hl + 1 || isIcmpError(original[hl]!))) return undefined;
  const src = readU32(original, 12);
  if (src === 0 || src >>> 28 === 0xe || src === 0xffffffff) return undefined;
  const quoteLen = Math.min(total, hl + quotedPayloadBytes);
  const out = new Uint8Array(ipv4MinHeaderBytes + icmpHeaderBytes + quoteLen);
  writeIcmpIpHeader(out, out.length, 0, from >>> 0, src);
  const icmp = ipv4MinHeaderBytes;
  out[icmp] = icmpDestUnreachableType;
  out[icmp + 1] = code & 0xff;
  if (code === icmpCodeFragmentationNeeded) {
    out[icmp + 6] = (nextHopMtu >> 8) & 0xff;
    out[icmp + 7] = nextHopMtu & 0xff;
  }
  out.set(original.subarray(0, quoteLen), icmp + icmpHeaderBytes);
  const c = internetChecksum(out, icmp, out.length);
  out[icmp + 2] = c >> 8;
  out[icmp + 3] = c & 0xff;
  return out;
}

/** Host unreachable (type 3 code 1): no peer owns the destination. */
export function icmpHostUnreachable(original: Uint8Array, from: number): Uint8Array | undefined {
  return icmpDestinationUnreachable(original, from, icmpCodeHostUnreachable);
}

/** Fragmentation needed (type 3 code 4) with the next-hop MTU: a DF packet larger than the tunnel MTU. */
export function icmpFragmentationNeeded(original: Uint8Array, from: number, nextHopMtu: number): Uint8Array | undefined {
  return icmpDestinationUnreachable(original, from, icmpCodeFragmentationNeeded, nextHopMtu);
}
