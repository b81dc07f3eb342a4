// IPv4 packets for data-path tests: a 20-byte header (TTL 64, checksum set) and `seq` as a u32 at
// offset 28 (the first payload word after a UDP or ICMP header), which the tests read back to tell
// packets apart. The header checksum covers the header only, so callers may fill the rest after.
import { setIpv4Checksum } from '../../src/tun/ip-packet.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export function ipv4TestPacket(src: string | number, dst: string | number, protocol: number, size: number, seq: number): { p: Uint8Array; v: DataView } {
  const p = new Uint8Array(size);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, size);
  p[8] = 64;
  p[9] = protocol;
  v.setUint32(12, typeof src === 'string' ? ipv4ToU32(src) : src);
  v.setUint32(16, typeof dst === 'string' ? ipv4ToU32(dst) : dst);
  v.setUint32(28, seq);
  setIpv4Checksum(p);
  return { p, v };
}

/** The `seq` ipv4TestPacket wrote. */
export const testPacketSeq = (p: Uint8Array): number => new DataView(p.buffer, p.byteOffset).getUint32(28);
