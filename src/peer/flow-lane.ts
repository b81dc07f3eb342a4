// Which KCP lane of a peer pair carries an IP packet (docs/PROTOCOL.md "Lanes"). One ordered KCP
// stream for everything made a ping wait behind a bulk transfer's queue and its repairs
// (head-of-line blocking); each flow now rides its own lane, as fq_codel gives each flow its queue.
// Pure: the data plane (kcp-lanes.ts) calls it per packet, for IPv4 and IPv6 packets alike.
import { ipv6Upper } from '../tun/ip6-packet.js';

/** Lanes per peer pair (protocol: both ends derive lane convs as pairConv ^ lane, lane < this). */
export const kcpLaneCount = 16;
/** ICMP and other protocols without ports: small control traffic that must never queue behind bulk. */
export const controlLane = 0;

const protoTcp = 6;
const protoUdp = 17;

/**
 * The lane for one IPv4 packet (header already checked by the caller). TCP and UDP flows hash to
 * lanes 1..count-1 on their addresses and ports, symmetrically so both directions of a flow share a
 * lane; fragments hash without ports (only the first fragment has them); the rest use lane 0.
 */
export function flowLane(p: Uint8Array, count = kcpLaneCount): number {
  if (p[0]! >> 4 === 6) return flowLane6(p, count);
  const proto = p[9]!;
  if (proto !== protoTcp && proto !== protoUdp) return controlLane;
  const ihl = (p[0]! & 0x0f) * 4;
  const src = ((p[12]! << 24) | (p[13]! << 16) | (p[14]! << 8) | p[15]!) >>> 0;
  const dst = ((p[16]! << 24) | (p[17]! << 16) | (p[18]! << 8) | p[19]!) >>> 0;
  // More-fragments flag or a fragment offset: not every piece carries the ports.
  const fragmented = ((p[6]! & 0x3f) | p[7]!) !== 0;
  let ports = 0;
  if (!fragmented && p.byteLength >= ihl + 4) {
    const sport = (p[ihl]! << 8) | p[ihl + 1]!;
    const dport = (p[ihl + 2]! << 8) | p[ihl + 3]!;
    ports = (sport + dport) ^ (Math.min(sport, dport) << 16);
  }
  return laneOfHash(src, dst, ports, proto, count);
}

/**
 * The lane for one IPv6 packet: the same hash over each address folded to 32 bits, with the upper
 * protocol and ports found past the extension headers (ip6-packet.ts, bounded); a fragment or a
 * chain that does not parse hashes without ports (its flow still keeps one lane).
 */
export function flowLane6(p: Uint8Array, count = kcpLaneCount): number {
  const up = ipv6Upper(p);
  const proto = up?.proto ?? p[6]!;
  if (proto !== protoTcp && proto !== protoUdp) return controlLane;
  const src = (readU32(p, 8) ^ readU32(p, 12) ^ readU32(p, 16) ^ readU32(p, 20)) >>> 0;
  const dst = (readU32(p, 24) ^ readU32(p, 28) ^ readU32(p, 32) ^ readU32(p, 36)) >>> 0;
  let ports = 0;
  if (up !== undefined && !up.fragment && p.byteLength >= up.offset + 4) {
    const o = up.offset;
    const sport = (p[o]! << 8) | p[o + 1]!;
    const dport = (p[o + 2]! << 8) | p[o + 3]!;
    ports = (sport + dport) ^ (Math.min(sport, dport) << 16);
  }
  return laneOfHash(src, dst, ports, proto, count);
}

function readU32(p: Uint8Array, o: number): number {
  return ((p[o]! << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!) >>> 0;
}

function laneOfHash(src: number, dst: number, ports: number, proto: number, count: number): number {
  // Sums and min() are symmetric in (src, dst) and (sport, dport).
  let h = (src + dst) ^ Math.imul(Math.min(src, dst) >>> 0, 0x9e3779b1) ^ Math.imul(ports, 0x85ebca6b) ^ proto;
  // murmur3's finaliser: spreads every input bit over the low bits we take.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return 1 + ((h >>> 0) % (count - 1));
}

/** The conv of `lane` in the pair whose lane-0 conv is `base`. */
export function laneConv(base: number, lane: number): number {
  return (base ^ lane) >>> 0;
}

/** The lane a conv belongs to in the pair `base`, or undefined if it is not one of that pair's. */
export function laneOfConv(base: number, conv: number, count = kcpLaneCount): number | undefined {
  const lane = (base ^ conv) >>> 0;
  return lane < count ? lane : undefined;
}
