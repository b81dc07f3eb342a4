// Which kind a map's advertised endpoints get (peer/candidates.ts): a port mapping on the peer's
// public (reflexive) address is a public candidate, not a LAN one.
import { describe, expect, it } from 'vitest';
import { advertisedKind, mapCandidates } from '../../src/peer/candidates.js';
import type { PeerInfo } from '../../src/peer/peer-map.js';

const ep = (s: string) => ({ address: s.split(':')[0]!, port: Number(s.split(':')[1]) });

describe('advertisedKind', () => {
  it.each([
    ['a mapped port on the NAT\'s public address (PCP, NAT-PMP, UPnP)', '198.51.100.101:51820', '198.51.100.101:40123', 'direct'],
    ['an interface address on a private LAN', '192.168.1.2:51820', '198.51.100.101:40123', 'lan'],
    ['another public address (a second uplink): still a LAN endpoint', '203.0.113.7:51820', '198.51.100.101:40123', 'lan'],
    ['no reflexive known yet (0.0.0.0): nothing is public', '0.0.0.0:51820', '0.0.0.0:0', 'lan'],
  ])('%s', (_why, e, reflexive, kind) => {
    expect(advertisedKind(ep(e), ep(reflexive))).toBe(kind);
  });

  it('mapCandidates lists a mapped endpoint as direct beside the reflexive one', () => {
    const peer = { reflexive: ep('198.51.100.101:40123'), lan: [ep('198.51.100.101:51820'), ep('192.168.1.2:51820')] } as unknown as PeerInfo;
    expect(mapCandidates(peer, ep('192.168.2.2:51820')).map((c) => `${c.kind} ${c.endpoint.address}:${c.endpoint.port}`)).toEqual([
      'direct 198.51.100.101:51820', 'lan 192.168.1.2:51820', 'direct 198.51.100.101:40123',
    ]);
  });
});
