// Which interface addresses a peer advertises as LAN candidates (src/peer/lan-endpoints.ts): never
// its TUN device, never an address inside the overlay, whatever --network is (M7).
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { lanEndpointsOf } from '../../src/peer/lan-endpoints.js';
import { overlayPrefix } from '../../src/util/endpoint-filter.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';

const v4 = (address: string, internal = false): NetworkInterfaceInfo =>
  ({ address, family: 'IPv4', internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: `${address}/24` }) as NetworkInterfaceInfo;
const v6 = (address: string): NetworkInterfaceInfo =>
  ({ address, family: 'IPv6', internal: false, netmask: 'ffff:ffff:ffff:ffff::', mac: '00:00:00:00:00:00', cidr: `${address}/64`, scopeid: 0 }) as NetworkInterfaceInfo;

describe('lanEndpointsOf', () => {
  it.each<[string, string, Record<string, NetworkInterfaceInfo[]>, string[]]>([
    ['the default network: the TUN address is left out', '10.9.0.0/24', { lo: [v4('127.0.0.1', true)], eth0: [v4('192.0.2.2')], mtun0: [v4('10.9.0.2')] }, ['192.0.2.2:7000']],
    ['another --network: its TUN address is left out too (was advertised: M7)', '10.77.0.0/24', { eth0: [v4('192.0.2.2')], mtun0: [v4('10.77.0.2')] }, ['192.0.2.2:7000']],
    ['another --network: a LAN in 10.9.x is a real LAN now', '10.77.0.0/24', { eth0: [v4('10.9.5.7')], mtun0: [v4('10.77.0.2')] }, ['10.9.5.7:7000']],
    ['the TUN by name even with an address outside the overlay', '10.77.0.0/24', { eth0: [v4('192.0.2.2')], mtun0: [v4('172.16.0.9')] }, ['192.0.2.2:7000']],
    ['an address inside the overlay on another device (a second meshd, a bridge)', '10.77.0.0/24', { eth0: [v4('192.0.2.2')], br0: [v4('10.77.0.9')] }, ['192.0.2.2:7000']],
    ['link-local and IPv6 left out', '10.9.0.0/24', { eth0: [v4('169.254.3.4'), v6('2001:db8::2'), v4('198.51.100.10')] }, ['198.51.100.10:7000']],
  ])('%s', (_why, network, ifs, expected) => {
    const [base, prefix] = network.split('/');
    const got = lanEndpointsOf(ifs, 7000, { tunName: 'mtun0', overlay: overlayPrefix(ipv4ToU32(base!), Number(prefix)) });
    expect(got.map((e) => `${e.address}:${e.port}`)).toEqual(expected);
  });

  const linkLocal = (address: string): NetworkInterfaceInfo => ({ ...v6(address), address: `${address}`, scopeid: 2 }) as NetworkInterfaceInfo;
  it.each<[string, Record<string, NetworkInterfaceInfo[]>, string[]]>([
    ['global and unique-local IPv6 after the IPv4 ones; link-local and the TUN left out', { eth0: [v6('2001:db8:1::2'), linkLocal('fe80::2'), v4('198.51.100.10'), v6('fd00:1::2')], mtun0: [v6('2001:db8:9::9')] }, ['198.51.100.10', '2001:db8:1::2', 'fd00:1::2']],
    ['canonical text, each address once', { eth0: [v6('2001:0DB8:1:0:0:0:0:2')], eth1: [v6('2001:db8:1::2')] }, ['2001:db8:1::2']],
    ['at most MAX_LAN_ENDPOINTS (8), the IPv4 ones first', { eth0: [...Array.from({ length: 6 }, (_, i) => v6(`2001:db8::${i + 1}`)), v4('192.0.2.2'), v4('192.0.2.3'), v4('192.0.2.4')] }, ['192.0.2.2', '192.0.2.3', '192.0.2.4', '2001:db8::1', '2001:db8::2', '2001:db8::3', '2001:db8::4', '2001:db8::5']],
  ])('with an IPv6 socket: %s', (_why, ifs, expected) => {
    const got = lanEndpointsOf(ifs, 7000, { tunName: 'mtun0', overlay: overlayPrefix(ipv4ToU32('10.9.0.0'), 24), ipv6: true });
    expect(got.map((e) => e.address)).toEqual(expected);
    expect(got.every((e) => e.port === 7000)).toBe(true);
  });
});
