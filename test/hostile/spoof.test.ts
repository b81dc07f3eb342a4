// Issue 10, spoofing in process: an inner packet carrying another peer's source address is dropped
// (spoofed_source), replayed data packets are refused by the replay window, no key can register
// (or move to) another key's overlay address, and the hub relays to no node outside the network.
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/arq/constants.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { udpPath } from '../../src/link/path.js';
import { DataPlane } from '../../src/peer/dataplane.js';
import { HubRefusedError } from '../../src/peer/hub-client.js';
import { PeerNode } from '../../src/peer/node.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';
import { ChannelTun } from '../fakes/channel-tun.js';
import { testLogger } from '../fakes/logger.js';
import { capturedMesh, ipMsg, snapshot } from './harness.js';
import { HUB_ENDPOINT } from '../vnet/world.js';
import { ipv4TestPacket, IPPROTO_UDP } from '../fakes/ipv4-packet.js';

/** A minimal IPv4/UDP packet src -> dst carrying `text`. */
function udpPacket(src: string, dst: string, text: string): Uint8Array {
  const body = Buffer.from(text);
  const { p, v } = ipv4TestPacket(src, dst, IPPROTO_UDP, 28 + body.length, 0);
  v.setUint16(20, 5000);
  v.setUint16(22, 5001);
  v.setUint16(24, 8 + body.length);
  p.set(body, 28);
  return p;
}

/** b's data plane (datagram transport) on a ChannelTun, wired as src/peer/run.ts does. */
function dataPlaneFor(node: PeerNode, overlay: string, clock: ConstructorParameters<typeof DataPlane>[0]['clock']) {
  const tun = new ChannelTun();
  const dp = new DataPlane({
    tun, localAddress: ipv4ToU32(overlay), prefixLength: 24, mtu: 1378, transport: 'datagram', preset: presets.normal, clock,
    defer: (fn) => fn(), log: testLogger('dp'), table: node.remotes, sender: node.sender,
  });
  node.attachData(dp.inbound);
  return { tun, dp };
}

const ipInner = (p: Uint8Array) => encodeInner({ kind: InnerKind.IP, packet: p });

describe('spoofing', () => {
  it("an inner packet with another peer's source address is dropped and counted; the honest one is delivered", async () => {
    const m = await capturedMesh();
    const { w, a } = m;
    const { tun, dp } = dataPlaneFor(m.b, '10.9.0.3', w.clock);
    tun.take();
    // a (10.9.0.2) is authenticated, but claims to be c (10.9.0.4), an outsider and the hub side.
    for (const src of ['10.9.0.4', '10.9.0.3', '192.0.2.50', '10.9.0.99']) a.sendTo(ipv4ToU32('10.9.0.3'), ipInner(udpPacket(src, '10.9.0.3', `as ${src}`)));
    a.sendTo(ipv4ToU32('10.9.0.3'), ipInner(udpPacket('10.9.0.2', '10.9.0.3', 'honest')));
    a.sendTo(ipv4ToU32('10.9.0.3'), ipInner(udpPacket('10.9.0.2', '10.9.0.4', 'not for b')));
    w.run(500);
    const got = tun.take().map((p) => Buffer.from(p.subarray(28)).toString());
    expect(got).toEqual(['honest']);
    expect(dp.counters.drops.spoofed_source).toBe(4);
    expect(dp.counters.drops.not_for_us).toBe(1);
  });

  it('replayed data packets (byte-exact, from the real sender or elsewhere) are refused by the replay window', async () => {
    const m = await capturedMesh();
    const { w, a, b } = m;
    const { tun, dp } = dataPlaneFor(b, '10.9.0.3', w.clock);
    const mark = m.captured.length;
    for (let i = 0; i < 20; i++) a.sendTo(ipv4ToU32('10.9.0.3'), ipInner(udpPacket('10.9.0.2', '10.9.0.3', `once ${i}`)));
    w.run(300);
    const first = tun.take().map((p) => Buffer.from(p.subarray(28)).toString());
    expect(first).toHaveLength(20);
    const data = m.captured.slice(mark).filter((c) => c.label === 'Transport/peer-peer' && c.to.address === '198.51.100.20');
    expect(data.length).toBeGreaterThanOrEqual(20);
    const snap = snapshot(m);
    const before = b.link.drops.auth_failed;
    for (const c of data) {
      b.link.receive(c.data, udpPath(c.from)); // from a's real endpoint
      b.link.receive(c.data, udpPath({ address: '203.0.113.66', port: 4444 })); // and from an attacker
    }
    w.run(300);
    expect(tun.take()).toEqual([]);
    expect(b.link.drops.auth_failed - before).toBe(2 * data.length);
    expect(dp.counters.rxPackets).toBe(20);
    expect(snapshot(m)).toEqual(snap); // in particular b's view of a's endpoint did not roam to the attacker
  });

  it("no key can register another key's overlay address or name, nor move onto one; the owner is untouched", async () => {
    const m = await capturedMesh();
    const { w, a, b } = m;
    const snap = snapshot(m);
    const tries: Array<[string, string]> = [];
    for (const [overlay, name] of [['10.9.0.2', 'mallory'], ['10.9.0.9', 'peer-2'], ['10.9.0.3', 'peer-3']] as const) {
      const x = w.peer({ open: '198.51.100.66' }, overlay, { name });
      try {
        await w.join(x);
        tries.push([overlay, 'accepted']);
      } catch (e) {
        tries.push([overlay, (e as HubRefusedError).code]);
      }
      await x.link.close();
      await (x as unknown as { o: { udp: { close(): Promise<void> } } }).o.udp.close();
    }
    expect(tries).toEqual([
      ['10.9.0.2', 'HUB_REFUSED_ADDRESS_IN_USE'],
      ['10.9.0.9', 'HUB_REFUSED_NAME_TAKEN'],
      ['10.9.0.3', 'HUB_REFUSED_ADDRESS_IN_USE'],
    ]);
    // A member re-registering with a neighbour's address (its own key, a REGISTER naming b's overlay).
    const moved = new PeerNode({
      udp: w.net.host('198.51.100.67').open(51820), keyPair: generateKeyPair(), psk: w.psk, clock: w.clock, wallClock: w.wall,
      log: testLogger('mover'), hub: HUB_ENDPOINT, hubKey: w.hubKeys.publicKey, overlay: ipv4ToU32('10.9.0.20'), prefix: 24, name: 'mover',
    });
    await w.join(moved);
    expect(snapshot(m)).not.toEqual(snap); // the mover joined at 10.9.0.20
    const joined = snapshot(m);
    const hc = moved.hubClient as unknown as { overlay: number };
    hc.overlay = ipv4ToU32('10.9.0.2');
    (moved.hubClient as unknown as { register(): void }).register();
    w.run(3_000);
    expect(w.hub.status().peers.find((p) => p.overlay === '10.9.0.2')!.publicKey).toBe(Buffer.from(a.link.publicKey).toString('base64'));
    // Refused, and retrying with backoff (never registered on a neighbour's address).
    expect(moved.hubClient.state).not.toBe('registered');
    expect(moved.hubClient.lastRefusal?.code).toBe('HUB_REFUSED_ADDRESS_IN_USE');
    expect(snapshot(m)).toEqual(joined);
    a.sendTo(ipv4ToU32('10.9.0.3'), ipMsg('owner still reachable'));
    w.run(500);
    expect(m.atB.at(-1)).toBe('owner still reachable');
    expect(Buffer.from(b.map.get(ipv4ToU32('10.9.0.2'))!.publicKey)).toEqual(Buffer.from(a.link.publicKey));
  });

  it('a member cannot make the hub relay outside the network, to an unknown address, to itself or to the hub', async () => {
    const m = await capturedMesh();
    const { w, a } = m;
    // A raw link holding a's key: a member speaking to the hub directly, as a modified client would.
    const relayBefore = { ...w.hub.status().relayDrops };
    const packetsBefore = w.hub.status().relayedPackets;
    const hubSentBefore = w.hub.link.stats.sent;
    const targets = ['203.0.113.9', '192.0.2.1', '10.9.1.5', '10.9.0.99', '10.9.0.0', '10.9.0.255', '10.9.0.1', '10.9.0.2'];
    for (const dst of targets) {
      (a.hubClient as unknown as { relay(o: number, d: Uint8Array): void }).relay(ipv4ToU32(dst), new Uint8Array(64).fill(1));
    }
    w.run(200);
    const st = w.hub.status();
    expect(st.relayedPackets).toBe(packetsBefore);
    expect(st.relayDrops.unknown_target! - relayBefore.unknown_target!).toBe(targets.length - 1);
    expect(st.relayDrops.to_self! - relayBefore.to_self!).toBe(1);
    // The hub answered nothing to those (at most a heartbeat/map exchange ran meanwhile).
    expect(w.hub.link.stats.sent - hubSentBefore).toBeLessThan(5);
  });
});
