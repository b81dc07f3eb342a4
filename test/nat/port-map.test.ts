import { describe, expect, it } from 'vitest';
import { detectPortMapping, isIgdSearchResponse, isNatPmpAddressResponse, isPcpAnnounceResponse, parseDefaultGateway, pcpAnnounce, pcpPort, ssdpGroup, ssdpSearch } from '../../src/nat/port-map.js';
import type { Endpoint, UdpHandler, UdpSocket } from '../../src/net/udp.js';
import { toHex } from '../../src/util/bytes.js';
import { ManualClock } from '../fakes/manual-clock.js';

const route = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00020000\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
`;

describe('port mapping helpers', () => {
  it.each([
    ['the default route\'s gateway, little-endian hex', route, '192.0.2.1'],
    ['no default route', route.split('\n').slice(0, 2).join('\n'), undefined],
    ['a default route without a gateway (point-to-point)', 'h\nppp0\t00000000\t00000000\t0001\n', undefined],
  ])('parseDefaultGateway: %s', (_why, text, want) => {
    expect(parseDefaultGateway(text)).toBe(want);
  });

  it('PCP ANNOUNCE: version 2, opcode 0, lifetime 0, the client as an IPv4-mapped address (RFC 6887)', () => {
    expect(toHex(pcpAnnounce('192.0.2.2'))).toBe(`0200 0000 00000000 ${'00'.repeat(10)} ffff c0000202`.replace(/\s+/g, ''));
  });

  it.each([
    ['a response (R bit) to ANNOUNCE, any result', '02800003' + '00'.repeat(20), true],
    ['our own request echoed back', toHex(pcpAnnounce('192.0.2.2')), false],
    ['NAT-PMP version 0', '00800003' + '00'.repeat(20), false],
    ['short', '0280', false],
  ])('isPcpAnnounceResponse: %s', (_why, hex, want) => {
    expect(isPcpAnnounceResponse(Buffer.from(hex, 'hex'))).toBe(want);
  });

  it.each([
    ['an address response, result 0', '0080000000000000c6336407', true],
    ['an address response with an error result (still NAT-PMP)', '008000030000000000000000', true],
    ['our own request echoed back', '0000', false],
    ['a map response (opcode 129)', '0081000000000000c6336407', false],
    ['PCP', '02800003' + '00'.repeat(20), false],
    ['short', '0080', false],
  ])('isNatPmpAddressResponse: %s', (_why, hex, want) => {
    expect(isNatPmpAddressResponse(Buffer.from(hex, 'hex'))).toBe(want);
  });

  it('SSDP M-SEARCH: the IGD:1 search to 239.255.255.250:1900, CRLF lines, an empty line last', () => {
    expect(new TextDecoder().decode(ssdpSearch(1))).toBe(
      'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n',
    );
  });

  const ssdp = (status: string, st: string) => new TextEncoder().encode(`${status}\r\nCACHE-CONTROL: max-age=120\r\nLOCATION: http://192.0.2.1:5000/rootDesc.xml\r\n${st}\r\nUSN: uuid:x::y\r\n\r\n`);
  it.each([
    ['miniupnpd: IGD:1', ssdp('HTTP/1.1 200 OK', 'ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1'), true],
    ['IGD:2, lower-case header, no space', ssdp('HTTP/1.1 200 OK', 'st:urn:schemas-upnp-org:device:InternetGatewayDevice:2'), true],
    ['a WANIPConnection service', ssdp('HTTP/1.0 200 OK', 'ST: urn:schemas-upnp-org:service:WANIPConnection:1'), true],
    ['a media server', ssdp('HTTP/1.1 200 OK', 'ST: urn:schemas-upnp-org:device:MediaServer:1'), false],
    ['a search (ours, looped back)', ssdpSearch(1), false],
    ['an error status', ssdp('HTTP/1.1 404 Not Found', 'ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1'), false],
    ['no ST', ssdp('HTTP/1.1 200 OK', 'SERVER: x'), false],
    ['binary', new Uint8Array([0, 128, 0, 0]), false],
  ])('isIgdSearchResponse: %s', (_why, d, want) => {
    expect(isIgdSearchResponse(d)).toBe(want);
  });

  /** A gateway at 192.0.2.1 that answers the protocols it is given, behind fake sockets. */
  function gatewaySockets(speaks: { upnp?: boolean; natpmp?: boolean; pcp?: boolean; from?: string; missFirst?: boolean }) {
    const sent: Array<{ to: Endpoint; data: Uint8Array }> = [];
    let closed = 0;
    const open = async (): Promise<UdpSocket> => {
      let handler: UdpHandler | undefined;
      const reply = (d: Uint8Array, from: Endpoint): void => queueMicrotask(() => handler?.(Buffer.from(d), from));
      return {
        local: { address: '192.0.2.2', port: 40000 + sent.length },
        send(data, to) {
          sent.push({ to, data: data.slice() });
          // A lossy LAN: the first request of each protocol never arrives.
          if (speaks.missFirst && sent.filter((s) => s.to.port === to.port && s.data[0] === data[0]).length === 1) return;
          const gw = speaks.from ?? '192.0.2.1';
          if (to.address === ssdpGroup.address && to.port === ssdpGroup.port && speaks.upnp) reply(ssdp('HTTP/1.1 200 OK', 'ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1'), { address: gw, port: 1900 });
          if (to.port === pcpPort && data[0] === 0 && speaks.natpmp) reply(Buffer.from('008000000000000ac6336407', 'hex'), { address: gw, port: pcpPort });
          if (to.port === pcpPort && data[0] === 2 && speaks.pcp) reply(Buffer.from('02800000' + '00'.repeat(20), 'hex'), { address: gw, port: pcpPort });
        },
        onMessage(h) {
          handler = h;
        },
        async close() {
          closed++;
        },
      };
    };
    return { open, sent, closed: () => closed };
  }

  it.each([
    ['all three', { upnp: true, natpmp: true, pcp: true }, ['upnp', 'natpmp', 'pcp']],
    ['NAT-PMP only', { natpmp: true }, ['natpmp']],
    ['UPnP only', { upnp: true }, ['upnp']],
    ['none', {}, []],
    ['NAT-PMP and PCP answers from another host do not count; an IGD anywhere on the link does', { upnp: true, natpmp: true, pcp: true, from: '192.0.2.9' }, ['upnp']],
  ])('detectPortMapping: %s', async (_why, speaks, want) => {
    const g = gatewaySockets(speaks);
    expect(await detectPortMapping({ gateway: '192.0.2.1', openSocket: g.open, timeoutMs: 50 })).toEqual(want);
    expect(g.sent.map((s) => `${s.to.address}:${s.to.port} ${s.data[0]}`).sort()).toEqual(['192.0.2.1:5351 0', '192.0.2.1:5351 2', '239.255.255.250:1900 77']);
    expect(toHex(g.sent.find((s) => s.to.port === pcpPort && s.data[0] === 2)!.data)).toBe(toHex(pcpAnnounce('192.0.2.2')));
    expect(g.closed()).toBe(3);
  });

  it('detectPortMapping: a gateway that misses the first probe of each protocol is found by the resend (500 ms later)', async () => {
    const g = gatewaySockets({ upnp: true, natpmp: true, pcp: true, missFirst: true });
    const clock = new ManualClock(0);
    const p = detectPortMapping({ gateway: '192.0.2.1', openSocket: g.open, clock });
    await clock.drive(2_000);
    expect(await p).toEqual(['upnp', 'natpmp', 'pcp']);
    // Two sends each: the lost one and the answered resend; nothing after the answer.
    expect(g.sent.map((s) => `${s.to.port} ${s.data[0]}`).sort()).toEqual(['1900 77', '1900 77', '5351 0', '5351 0', '5351 2', '5351 2']);
    expect(g.closed()).toBe(3);
    expect(clock.pending).toBe(0);
  });
});
