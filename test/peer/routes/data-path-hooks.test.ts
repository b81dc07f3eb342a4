// The data-path hooks of issue 23 in outbound.ts and inbound.ts: a destination outside the overlay
// goes to the peer routeVia names; a source inside the prefixes routed to the sender and a
// destination inside our own admitted prefixes pass; everything else stays a counted drop.
import { describe, expect, it } from 'vitest';
import { DataCounters } from '../../../src/peer/counters.js';
import { deliverPacket, type InboundContext } from '../../../src/peer/inbound.js';
import { routePacket, type OutboundContext } from '../../../src/peer/outbound.js';
import { setIpv4Checksum } from '../../../src/tun/ip-packet.js';
import { ipv4ToU32 } from '../../../src/util/ipv4.js';
import { sourceAllowed } from '../../../src/peer/routes/source-check.js';

const A = ipv4ToU32('10.9.0.2');
const B = ipv4ToU32('10.9.0.3');
const ADV = ipv4ToU32('10.9.0.5');
const lan = { network: ipv4ToU32('192.168.50.0'), length: 24 };

function packet(src: string, dst: string): Uint8Array {
  const p = new Uint8Array(40);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, 40);
  p[8] = 64;
  p[9] = 17;
  v.setUint32(12, ipv4ToU32(src));
  v.setUint32(16, ipv4ToU32(dst));
  setIpv4Checksum(p);
  return p;
}

function outbound(withRoutes: boolean) {
  const sent: number[] = [];
  const counters = new DataCounters();
  const ctx: OutboundContext = {
    counters, localAddress: B, prefixMask: 0xffffff00, prefixNetwork: ipv4ToU32('10.9.0.0'), mtu: 1378,
    channelFor: (dst) => (dst === A ? { send: () => (sent.push(dst), true) } : undefined),
    writeTun: () => {},
    flushQueued: () => {},
    ...(withRoutes ? { routeVia: (dst: number) => (sourceAllowed([lan], dst) ? A : undefined) } : {}),
  };
  return { ctx, sent, counters };
}

function inbound(withRoutes: boolean, local = B) {
  const written: Uint8Array[] = [];
  const counters = new DataCounters();
  const ctx: InboundContext = {
    counters, localAddress: local, kcpInput: () => true, writeTun: (p) => (written.push(p), true),
    ...(withRoutes ? { sourceAllowed: (from: number, src: number) => from === A && sourceAllowed([lan], src), forwardAllowed: (dst: number) => sourceAllowed([lan], dst) } : {}),
  };
  return { ctx, written, counters };
}

describe('outbound routeVia', () => {
  it.each([
    ['a LAN address behind a goes to a', true, '192.168.50.10', [A], undefined],
    ['an address no route covers: no_route', true, '8.8.8.8', [], 'no_route'],
    ['without routes (the old behaviour): no_route', false, '192.168.50.10', [], 'no_route'],
  ])('%s', (_why, withRoutes, dst, sent, drop) => {
    const o = outbound(withRoutes);
    routePacket(o.ctx, packet('10.9.0.3', dst));
    expect(o.sent).toEqual(sent);
    if (drop) expect((o.counters.drops as Record<string, number>)[drop]).toBe(1);
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
    const i = inbound(withRoutes, local);
    deliverPacket(i.ctx, A, packet(src, dst));
    expect(i.written.length).toBe(written ? 1 : 0);
    if (drop) expect((i.counters.drops as Record<string, number>)[drop]).toBe(1);
  });
});
