// A peer's data plane on the virtual internet for in-process tests: a ChannelTun and a DataPlane
// (kcp fast2, MTU 1378) attached to a World node, deferring on the world's clock; and the UDP/IPv4
// packets the tests feed it. One copy for the vnet tests (duplicates --change, session 7).
import { presets } from '../../src/arq/constants.js';
import { DataPlane } from '../../src/peer/dataplane.js';
import type { PeerNode } from '../../src/peer/node.js';
import { setIpv4Checksum } from '../../src/tun/ip-packet.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { ChannelTun } from '../fakes/channel-tun.js';
import { testLogger } from '../fakes/logger.js';
import type { World } from './world.js';

export function vnetDataPlane(w: World, node: PeerNode, overlay: string): { tun: ChannelTun; dp: DataPlane } {
  const tun = new ChannelTun({ mtu: 1378 });
  const dp = new DataPlane({
    tun, localAddress: ipv4ToU32(overlay), prefixLength: 24, mtu: 1378, transport: 'kcp', preset: presets.fast2, clock: w.clock,
    defer: (fn) => w.clock.setTimer(0, fn), log: testLogger('dp'), table: node.remotes, sender: node.sender,
  });
  node.attachData(dp.inbound);
  tun.onPackets((b) => dp.outbound.onTunBatch(b));
  return { tun, dp };
}

/** A UDP/IPv4 packet of `size` bytes from src:sport to dst:dport carrying `seq` at offset 28. */
export function udpTestPacket(src: string, dst: string, sport: number, dport: number, seq: number, size: number): Uint8Array {
  const p = new Uint8Array(size);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, size);
  p[8] = 64;
  p[9] = 17;
  v.setUint32(12, ipv4ToU32(src));
  v.setUint32(16, ipv4ToU32(dst));
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint16(24, size - 20);
  v.setUint32(28, seq);
  setIpv4Checksum(p);
  return p;
}
