// The data-path hooks of issue 23 in outbound.ts and inbound.ts: a destination outside the overlay
// goes to the record of the peer routeVia names; a source inside the prefixes routed to the sender
// and a destination inside our own admitted prefixes pass; everything else stays a counted drop.
import { describe, expect, it } from 'vitest';
import { presets } from '../../../src/arq/constants.js';
import type { PeerSender } from '../../../src/peer/channel.js';
import { DataPlane } from '../../../src/peer/dataplane.js';
import type { PeerInfo } from '../../../src/peer/peer-map.js';
import { RemotePeers } from '../../../src/peer/peer-table.js';
import { sourceAllowed } from '../../../src/peer/routes/source-check.js';
import type { PacketBatch } from '../../../src/tun/device.js';
import { InnerKind } from '../../../src/wire/inner.js';
import { ipv4ToU32 } from '../../../src/util/ipv4.js';
import { testLogger } from '../../fakes/logger.js';
import { ManualClock } from '../../fakes/manual-clock.js';
import { ipv4TestPacket, IPPROTO_UDP } from '../../fakes/ipv4-packet.js';

const A = ipv4ToU32('10.9.0.2');
const B = ipv4ToU32('10.9.0.3');
const ADV = ipv4ToU32('10.9.0.5');
const lan = { network: ipv4ToU32('192.168.50.0'), length: 24 };

function packet(src: string, dst: string): Uint8Array {
  return ipv4TestPacket(src, dst, IPPROTO_UDP, 40, 0).p;
}

function info(overlay: number, key: number): PeerInfo {
  const publicKey = new Uint8Array(32).fill(key);
  return { publicKey, id: Buffer.from(publicKey).toString('hex'), overlay, name: '', bootId: 9n, reflexive: { address: '0.0.0.0', port: 0 }, lan: [] };
}

/** A data plane at `local` with peer A in its table; routes hooks as the route manager gives them. */
function plane(withRoutes: boolean, local = B) {
  const clock = new ManualClock();
  const table = new RemotePeers({ bootId: 1n, clock, random01: () => 0.5 });
  const a = table.upsert(info(A, 2));
  const sent: number[] = [];
  const sender: PeerSender = { send: (peer) => (sent.push(peer.overlay), true) };
  const written: Uint8Array[] = [];
  const tun = { write: (p: Uint8Array) => (written.push(p), true) };
  const routes = {
    routeVia: (dst: number) => (sourceAllowed([lan], dst) ? A : undefined),
    sourceAllowed: (from: number, src: number) => from === A && sourceAllowed([lan], src),
    forwardAllowed: (dst: number) => sourceAllowed([lan], dst),
  };
  const dp = new DataPlane({
    tun, localAddress: local, prefixLength: 24, mtu: 1378, transport: 'datagram', preset: presets.fast2, clock,
    defer: (fn) => fn(), log: testLogger(), table, sender, ...(withRoutes ? { routes } : {}),
  });
  return { dp, a, sent, written };
}

const drops = (dp: DataPlane) => dp.counters.drops as Record<string, number>;

describe('outbound routeVia', () => {
  it.each([
    ['a LAN address behind a goes to a', true, '192.168.50.10', [A], undefined],
    ['an address no route covers: no_route', true, '198.51.100.8', [], 'no_route'],
    ['without routes (the old behaviour): no_route', false, '192.168.50.10', [], 'no_route'],
  ])('%s', (_why, withRoutes, dst, sent, drop) => {
    const o = plane(withRoutes);
    const p = packet('10.9.0.3', dst);
    o.dp.outbound.onTunBatch({ data: p, lengths: Uint32Array.of(p.byteLength), count: 1, slotSize: p.byteLength } as unknown as PacketBatch);
    expect(o.sent).toEqual(sent);
    if (drop) expect(drops(o.dp)[drop]).toBe(1);
  });
});

describe('inbound sourceAllowed / forwardAllowed', () => {
  it.each([
    ['a reply from the LAN behind a', true, B, '192.168.50.10', '10.9.0.3', true, undefined],
    ['a source outside a’s prefixes: spoofed', true, B, '192.168.70.5', '10.9.0.3', false, 'spoofed_source'],
    ['without routes any other source is spoofed (the old behaviour)', false, B, '192.168.50.10', '10.9.0.3', false, 'spoofed_source'],
    ['on the advertiser (10.9.0.5): for its LAN, forwarded', true, ADV, '10.9.0.2', '192.168.50.10', true, undefined],
    ['on the advertiser: elsewhere, not for us', true, ADV, '10.9.0.2', '192.168.51.10', false, 'not_for_us'],
  ])('%s', (_why, withRoutes, local, src, dst, written, drop) => {
    const i = plane(withRoutes, local);
    const p = packet(src, dst);
    const inner = new Uint8Array(p.byteLength + 1);
    inner[0] = InnerKind.IP;
    inner.set(p, 1);
    i.dp.inbound.receive(i.a, inner);
    expect(i.written.length).toBe(written ? 1 : 0);
    if (drop) expect(drops(i.dp)[drop]).toBe(1);
  });
});
