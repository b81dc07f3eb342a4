// Which endpoints of a map entry a peer probes, and as what kind (src/peer/candidates.ts), IPv6
// included (issue 22): a global IPv6 LAN endpoint is a direct (public) candidate, a unique-local one LAN.
import { describe, expect, it } from 'vitest';
import { advertisedKind, mapCandidates } from '../../src/peer/candidates.js';
import type { PeerInfo } from '../../src/peer/peer-map.js';
import { endpointKind } from '../../src/peer/remote-peer.js';

const peer = (reflexive: string, lan: string[]): PeerInfo => {
  const ep = (s: string) => {
    const i = s.lastIndexOf(':');
    return { address: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
  };
  return { publicKey: new Uint8Array(32), id: 'x', overlay: 0x0a090003, name: 'b', bootId: 1n, reflexive: ep(reflexive), lan: lan.map(ep) };
};
const own = { address: '0.0.0.0', port: 1 };

describe('mapCandidates', () => {
  it.each<[string, PeerInfo, string[]]>([
    ['IPv4 as before: LAN endpoints then the reflexive one', peer('198.51.100.7:4000', ['192.168.1.5:7000']), ['lan 192.168.1.5:7000', 'direct 198.51.100.7:4000']],
    ['a global IPv6 LAN endpoint is direct (no NAT in front of it), after the reflexive one', peer('198.51.100.7:4000', ['192.168.1.5:7000', '[2001:db8:1::5]:7000']), ['lan 192.168.1.5:7000', 'direct 198.51.100.7:4000', 'direct 2001:db8:1::5:7000']],
    ['a unique-local IPv6 endpoint stays LAN', peer('198.51.100.7:4000', ['[fd00:1::5]:7000']), ['lan fd00:1::5:7000', 'direct 198.51.100.7:4000']],
    ['an IPv6 reflexive endpoint (registered over IPv6) is direct', peer('[2001:db8:2::7]:7000', []), ['direct 2001:db8:2::7:7000']],
    ['a global IPv6 LAN endpoint equal to the reflexive one is listed once', peer('[2001:db8:2::7]:7000', ['[2001:db8:2::7]:7000']), ['direct 2001:db8:2::7:7000']],
    ['no reflexive endpoint (::) is not probed', peer('[::]:0', ['[2001:db8:2::7]:7000']), ['direct 2001:db8:2::7:7000']],
  ])('%s', (_why, p, want) => {
    expect(mapCandidates(p, own).map((c) => `${c.kind} ${c.endpoint.address}:${c.endpoint.port}`)).toEqual(want);
  });
});

describe('advertisedKind (PUNCH candidates the peer listed as LAN)', () => {
  const reflexive = { address: '198.51.100.7', port: 4000 };
  it.each<[string, string, 'lan' | 'direct']>([
    ['an IPv4 LAN endpoint stays LAN', '192.168.1.5', 'lan'],
    ['a global IPv6 endpoint listed as LAN is direct', '2001:db8:1::5', 'direct'],
    ['a unique-local IPv6 endpoint listed as LAN stays LAN', 'fd00::5', 'lan'],
    ['an endpoint on the reflexive address (a port mapping) is direct', '198.51.100.7', 'direct'],
  ])('%s', (_why, address, want) => {
    expect(advertisedKind({ address, port: 1 }, reflexive)).toBe(want);
  });
});

describe('endpointKind (the path a datagram from a peer came over: pongs, peer-reflexive candidates, traffic)', () => {
  const p = peer('198.51.100.7:4000', ['192.168.1.5:7000', '[2001:db8:1::5]:7000', '[fd00::5]:7000']);
  it.each<[string, string, number, 'lan' | 'direct']>([
    ['a reported IPv4 LAN endpoint', '192.168.1.5', 7000, 'lan'],
    ['the reflexive endpoint', '198.51.100.7', 4000, 'direct'],
    ['a reported global IPv6 endpoint', '2001:db8:1::5', 7000, 'direct'],
    ['a reported unique-local IPv6 endpoint', 'fd00::5', 7000, 'lan'],
    ['an unreported endpoint', '203.0.113.9', 1, 'direct'],
  ])('%s is %s', (_why, address, port, want) => {
    expect(endpointKind(p, { address, port })).toBe(want);
  });
});
