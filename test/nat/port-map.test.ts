import { describe, expect, it } from 'vitest';
import { isPcpAnnounceResponse, parseDefaultGateway, pcpAnnounce } from '../../src/nat/port-map.js';
import { toHex } from '../../src/util/bytes.js';

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
});
