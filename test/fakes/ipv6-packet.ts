// IPv6 packets for data-path tests, the sibling of ipv4-packet.ts: a 40-byte header (hop limit 64,
// payload length from `size`) with `nextHeader` and the addresses set and the rest zero; callers
// fill the upper layer (ports, ICMPv6 type, checksum) after. IPv6 has no header checksum.
import { parseIpv6 } from '../../src/util/ipv6.js';

export const IPPROTO_TCP6 = 6;
export const IPPROTO_UDP6 = 17;
export const IPPROTO_ICMPV6 = 58;

export function ipv6TestPacket(src: Uint8Array | string, dst: Uint8Array | string, nextHeader: number, size: number): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x60;
  p[4] = (size - 40) >> 8;
  p[5] = (size - 40) & 0xff;
  p[6] = nextHeader;
  p[7] = 64;
  p.set(typeof src === 'string' ? parseIpv6(src)! : src, 8);
  p.set(typeof dst === 'string' ? parseIpv6(dst)! : dst, 24);
  return p;
}
