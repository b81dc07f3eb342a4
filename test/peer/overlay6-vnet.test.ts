// Overlay IPv6 in process (issue 22): a hub with --network6 and peers on the virtual internet. The
// hub assigns each asking peer its v4 address's twin or takes its --local6, refuses a v6 address
// held by another key, serves overlay6 in the map; an ICMPv6 echo crosses from one data plane's TUN
// to the other's and back while IPv4 flows beside it; a spoofed v6 inner source is dropped and counted.
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/arq/constants.js';
import { DataPlane } from '../../src/peer/dataplane.js';
import { HubRefusedError } from '../../src/peer/hub-client.js';
import type { PeerNode } from '../../src/peer/node.js';
import { icmpv6EchoReply, ipv6UpperChecksum } from '../../src/tun/ip6-packet.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { parseIpv6 } from '../../src/util/ipv6.js';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';
import { ChannelTun } from '../fakes/channel-tun.js';
import { testLogger } from '../fakes/logger.js';
import { World } from '../vnet/world.js';
import { ipv4TestPacket, IPPROTO_UDP } from '../fakes/ipv4-packet.js';
import { ipv6TestPacket, IPPROTO_ICMPV6 } from '../fakes/ipv6-packet.js';

const NET6 = { address: 'fd00:1:2:3::', prefixLength: 64 };
const A6 = 'fd00:1:2:3::a09:2'; // 10.9.0.2's twin
const B6 = 'fd00:1:2:3:1::b'; // b's own --local6

function echoRequest(src: string, dst: string, seq: number): Uint8Array {
  const p = ipv6TestPacket(src, dst, IPPROTO_ICMPV6, 40 + 16);
  p[40] = 128;
  p[44] = 0x12;
  p[47] = seq;
  p.set(Buffer.from('meshd!!!'), 48);
  const c = ipv6UpperChecksum(p, 58, 40);
  p[42] = c >> 8;
  p[43] = c & 0xff;
  return p;
}
function udp4(src: string, dst: string): Uint8Array {
  const { p, v } = ipv4TestPacket(src, dst, IPPROTO_UDP, 32, 0);
  v.setUint16(20, 5000);
  v.setUint16(22, 5001);
  return p;
}

function dataPlaneFor(w: World, node: PeerNode, overlay: string) {
  const tun = new ChannelTun();
  const a = node.hubClient.assigned!;
  const dp = new DataPlane({
    tun, localAddress: ipv4ToU32(overlay), prefixLength: 24, mtu: 1378, transport: 'kcp', preset: presets.fast2, clock: w.clock,
    defer: (fn) => fn(), log: testLogger('dp'), table: node.remotes, sender: node.sender,
    ...(a.overlay6 !== undefined ? { local6: parseIpv6(a.overlay6)!, prefix6: a.prefix6 ?? 64 } : {}),
  });
  node.attachData(dp.inbound);
  tun.onPackets(dp.outbound.onTunBatch);
  return { tun, dp };
}

async function mesh() {
  const w = new World(5);
  w.startHub({ network6: NET6 });
  const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { overlay6: '::' });
  const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { overlay6: B6 });
  const c = w.peer({ open: '198.51.100.30' }, '10.9.0.4'); // an older or --local6 off peer: no flag 0x10
  for (const n of [a, b, c]) await w.join(n);
  w.run(3_000);
  return { w, a, b, c };
}

describe('overlay IPv6 through the hub and two data planes', () => {
  it('the hub assigns the twin, takes a --local6, gives none to a peer that did not ask; the map carries them', async () => {
    const { w, a, b, c } = await mesh();
    expect(a.hubClient.assigned).toMatchObject({ overlay6: A6, prefix6: 64 });
    expect(b.hubClient.assigned).toMatchObject({ overlay6: B6, prefix6: 64 });
    expect(c.hubClient.assigned?.overlay6).toBeUndefined();
    expect(a.map.get(ipv4ToU32('10.9.0.3'))?.overlay6).toBe(B6);
    expect(b.map.get(ipv4ToU32('10.9.0.2'))?.overlay6).toBe(A6);
    expect(a.map.get(ipv4ToU32('10.9.0.4'))?.overlay6).toBeUndefined();
    expect(w.hub.status().peers.find((p) => p.overlay === '10.9.0.2')?.overlay6).toBe(A6);
  });

  it('an ICMPv6 echo crosses both ways while IPv4 flows beside it', async () => {
    const { w, a, b } = await mesh();
    const pa = dataPlaneFor(w, a, '10.9.0.2');
    const pb = dataPlaneFor(w, b, '10.9.0.3');
    for (let seq = 1; seq <= 5; seq++) {
      pa.tun.inject(echoRequest(A6, B6, seq), udp4('10.9.0.2', '10.9.0.3'));
      w.run(200);
      const atB = pb.tun.take();
      expect(atB.map((p) => p[0]! >> 4)).toEqual([6, 4]);
      pb.tun.inject(icmpv6EchoReply(atB[0]!)!);
      w.run(200);
      const atA = pa.tun.take();
      expect(atA.length).toBe(1);
      expect(atA[0]![40]).toBe(129); // echo reply
      expect(atA[0]![47]).toBe(seq);
    }
    expect(Object.entries(pa.dp.counters.drops).filter(([, n]) => n > 0)).toEqual([]);
    expect(Object.entries(pb.dp.counters.drops).filter(([, n]) => n > 0)).toEqual([]);
  });

  it("a v6 inner packet with another member's source is dropped and counted at the receiver", async () => {
    const { w, a, b } = await mesh();
    const pb = dataPlaneFor(w, b, '10.9.0.3');
    const ip = (p: Uint8Array) => encodeInner({ kind: InnerKind.IP, packet: p });
    for (const src of ['fd00:1:2:3::a09:4', 'fd00:1:2:3::a09:3', 'fd00:1:2:3::99', '2001:db8::1']) a.sendTo(ipv4ToU32('10.9.0.3'), ip(echoRequest(src, B6, 1)));
    a.sendTo(ipv4ToU32('10.9.0.3'), ip(echoRequest(A6, B6, 2)));
    w.run(500);
    expect(pb.tun.take().map((p) => p[47])).toEqual([2]);
    expect(pb.dp.counters.drops.spoofed_source).toBe(4);
  });

  it("no key registers another key's v6 address: an explicit one, or a twin of another v4 address", async () => {
    const { w } = await mesh();
    const thief = w.peer({ open: '198.51.100.40' }, '10.9.0.5', { overlay6: B6 });
    await expect(w.join(thief)).rejects.toBeInstanceOf(HubRefusedError);
    expect(thief.hubClient.lastRefusal?.code).toBe('HUB_REFUSED_ADDRESS_IN_USE');
    const twinThief = w.peer({ open: '198.51.100.50' }, '10.9.0.6', { overlay6: A6 });
    await expect(w.join(twinThief)).rejects.toBeInstanceOf(HubRefusedError);
    const outside = w.peer({ open: '198.51.100.60' }, '10.9.0.7', { overlay6: 'fd00:1:2:4::7' });
    await expect(w.join(outside)).rejects.toBeInstanceOf(HubRefusedError);
    expect(outside.hubClient.lastRefusal?.code).toBe('HUB_REFUSED_OUTSIDE_NETWORK');
  });
});
