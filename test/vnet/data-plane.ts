// A peer's data plane on the virtual internet for in-process tests: a ChannelTun and a DataPlane
// (kcp fast2, MTU 1378) attached to a World node, deferring on the world's clock; and the UDP/IPv4
// packets the tests feed it; and a pair behind symmetric NATs that the hub relays. One copy for the
// vnet tests (duplicates --change, sessions 7 and 8).
import { expect } from 'vitest';
import { presets } from '../../src/arq/constants.js';
import { DataPlane, type DataPlaneOptions } from '../../src/peer/dataplane.js';
import type { PeerNode } from '../../src/peer/node.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';
import { ChannelTun } from '../fakes/channel-tun.js';
import { IPPROTO_UDP, ipv4TestPacket } from '../fakes/ipv4-packet.js';
import { testLogger } from '../fakes/logger.js';
import type { LinkQuality } from '../fakes/memory-udp.js';
import { natPresets } from './vnet.js';
import { World } from './world.js';

export interface VnetDataPlaneOptions {
  /** The TUN's and the data plane's MTU; default 1378. */
  mtu?: number;
  /** The home hub's relay budget (PeerNode.relayBudget) when the test wants relayed pairs to pace at it. */
  relayBudget?: DataPlaneOptions['relayBudget'];
}

export function vnetDataPlane(w: World, node: PeerNode, overlay: string, o: VnetDataPlaneOptions = {}): { tun: ChannelTun; dp: DataPlane } {
  const mtu = o.mtu ?? 1378;
  const tun = new ChannelTun({ mtu });
  const dp = new DataPlane({
    tun, localAddress: ipv4ToU32(overlay), prefixLength: 24, mtu, transport: 'kcp', preset: presets.fast2, clock: w.clock,
    defer: (fn) => w.clock.setTimer(0, fn), log: testLogger('dp'), table: node.remotes, sender: node.sender,
    ...(o.relayBudget ? { relayBudget: o.relayBudget } : {}),
  });
  node.attachData(dp.inbound);
  tun.onPackets((b) => dp.outbound.onTunBatch(b));
  return { tun, dp };
}

/** A UDP/IPv4 packet of `size` bytes from src:sport to dst:dport carrying `seq` at offset 28. */
export function udpTestPacket(src: string, dst: string, sport: number, dport: number, seq: number, size: number): Uint8Array {
  const { p, v } = ipv4TestPacket(src, dst, IPPROTO_UDP, size, seq);
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint16(24, size - 20);
  return p;
}

export interface RelayedPairOptions {
  seed: number;
  internet: LinkQuality;
  /** The hub's --relay-rate in bytes/s; its policing burst is the daemon's: max(2 MB, 1 s of it). */
  relayBytesPerSec: number;
  a: string;
  b: string;
  mtu?: number;
  /** Each peer's data plane paces relayed pairs at the budget its hub sent (RELAY_BUDGET). */
  paceAtBudget?: boolean;
}

/** Two peers behind symmetric NATs (no direct path), joined, with data planes, once A's path to B is
 * the relay. */
export async function relayedPair(o: RelayedPairOptions) {
  const w = new World(o.seed, { internet: o.internet });
  w.startHub({ relayBytesPerSec: o.relayBytesPerSec, relayBurstBytes: Math.max(2_000_000, o.relayBytesPerSec) });
  const a = w.peer({ nat: 'natA', config: natPresets.symmetric, lanIp: '192.168.1.2' }, o.a);
  const b = w.peer({ nat: 'natB', config: natPresets.symmetric, lanIp: '192.168.2.2' }, o.b);
  await w.join(a);
  await w.join(b);
  const plane = (node: PeerNode, overlay: string) =>
    vnetDataPlane(w, node, overlay, { ...(o.mtu ? { mtu: o.mtu } : {}), ...(o.paceAtBudget ? { relayBudget: node.relayBudget } : {}) });
  const pa = plane(a, o.a);
  const pb = plane(b, o.b);
  a.sendTo(ipv4ToU32(o.b), encodeInner({ kind: InnerKind.KEEPALIVE }));
  w.run(8_000);
  expect(a.peers()[0]!.path).toBe('relay');
  return { w, a, b, pa, pb };
}
