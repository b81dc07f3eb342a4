// The endpoint filter shared by hub and peer (src/util/endpoint-filter.ts): which endpoints a node
// may be told to probe, one row per reason.
import { describe, expect, it } from 'vitest';
import { endpointRejection, overlayPrefix, usableEndpoints, type EndpointRejection } from '../../src/util/endpoint-filter.js';

const overlay = overlayPrefix(0x0a4d0002, 24); // 10.77.0.0/24

describe('endpointRejection', () => {
  it.each<[string, string, number, EndpointRejection | undefined]>([
    ['a public address', '198.51.100.10', 7000, undefined],
    ['a private LAN address outside the overlay', '192.168.1.20', 7000, undefined],
    ['another RFC 1918 prefix next to the overlay', '10.78.0.2', 7000, undefined],
    ['the old hard-coded 10.9. prefix is an ordinary LAN when the overlay is elsewhere', '10.9.0.2', 7000, undefined],
    ['the TUN address of a peer (inside the overlay)', '10.77.0.2', 7000, 'overlay'],
    ['the overlay network address', '10.77.0.0', 7000, 'overlay'],
    ['unspecified', '0.0.0.0', 7000, 'unspecified'],
    ['"this network" 0/8', '0.1.2.3', 7000, 'unspecified'],
    ['loopback', '127.0.0.1', 7000, 'loopback'],
    ['loopback, elsewhere in 127/8', '127.255.0.9', 53, 'loopback'],
    ['link-local', '169.254.10.1', 7000, 'link_local'],
    ['multicast (mDNS)', '224.0.0.251', 5353, 'multicast'],
    ['multicast, top of the range', '239.255.255.250', 1900, 'multicast'],
    ['limited broadcast', '255.255.255.255', 7000, 'broadcast'],
    ['class E reserved', '240.0.0.1', 7000, 'reserved'],
    ['port 0', '198.51.100.10', 0, 'port_zero'],
    ['a port out of range', '198.51.100.10', 70000, 'port_zero'],
    ['IPv6 global unicast (the documentation prefix counts as public, like 192.0.2.0/24)', '2001:db8::1', 7000, undefined],
    ['IPv6 global unicast elsewhere in 2000::/3', '2a00:1450::5', 443, undefined],
    ['IPv6 unique-local (a LAN address)', 'fd12:3456::9', 7000, undefined],
    ['IPv6 link-local (no zone on the wire)', 'fe80::1', 7000, 'link_local'],
    ['IPv6 site-local (deprecated)', 'fec0::1', 7000, 'reserved'],
    ['IPv6 multicast', 'ff02::1', 7000, 'multicast'],
    ['IPv6 loopback', '::1', 7000, 'loopback'],
    ['IPv6 unspecified', '::', 7000, 'unspecified'],
    ['IPv6 v4-mapped (sent as IPv4 instead)', '::ffff:192.0.2.1', 7000, 'reserved'],
    ['IPv6 v4-compatible (deprecated)', '::c000:201', 7000, 'reserved'],
    ['IPv6 discard prefix 100::/64', '100::1', 7000, 'reserved'],
    ['IPv6 port 0', '2001:db8::1', 0, 'port_zero'],
    ['IPv6 with a zone', 'fe80::1%eth0', 7000, 'not_ipv4'],
    ['IPv6 malformed', '2001:db8::1::2', 7000, 'not_ipv4'],
    ['not an address', 'example.org', 7000, 'not_ipv4'],
    ['an octet over 255', '198.51.100.256', 7000, 'not_ipv4'],
  ])('%s: %s:%d -> %s', (_why, address, port, expected) => {
    expect(endpointRejection({ address, port }, overlay)).toBe(expected);
  });

  it('without an overlay prefix, overlay addresses are not judged', () => {
    expect(endpointRejection({ address: '10.77.0.2', port: 1 })).toBeUndefined();
  });
});

describe('overlayPrefix', () => {
  it.each<[number, number, number, number]>([
    [0x0a090002, 24, 0x0a090000, 0xffffff00],
    [0x0a4d0102, 16, 0x0a4d0000, 0xffff0000],
    [0xc0a80101, 32, 0xc0a80101, 0xffffffff],
    [0xc0a80101, 0, 0, 0],
  ])('%i/%i -> base %i mask %i', (a, p, base, mask) => {
    expect(overlayPrefix(a, p)).toEqual({ base, mask });
  });
});

describe('usableEndpoints', () => {
  it('keeps the order of the usable ones and reports each dropped one', () => {
    const dropped: string[] = [];
    const out = usableEndpoints(
      [{ address: '127.0.0.1', port: 1 }, { address: '192.0.2.5', port: 7000 }, { address: '10.77.0.3', port: 7000 }, { address: '198.51.100.1', port: 7000 }],
      overlay,
      (why, e) => dropped.push(`${why} ${e.address}`),
    );
    expect(out).toEqual([{ address: '192.0.2.5', port: 7000 }, { address: '198.51.100.1', port: 7000 }]);
    expect(dropped).toEqual(['loopback 127.0.0.1', 'overlay 10.77.0.3']);
  });
});
