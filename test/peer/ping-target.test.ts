// `meshd ping TARGET` resolution (peer/user-ping.ts): addresses before names (issue 17, Low).
import { describe, expect, it } from 'vitest';
import type { PeerInfo } from '../../src/peer/peer-map.js';
import { resolvePingTarget } from '../../src/peer/user-ping.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';

const peer = (id: string, overlay: string, name: string): PeerInfo => ({
  publicKey: new Uint8Array(32), id, overlay: ipv4ToU32(overlay), name, bootId: 1n, reflexive: { address: '198.51.100.1', port: 1 }, lan: [],
});
// "mallory" registered (through an older hub) under the name "10.9.0.3", listed before the real one.
const all = [peer('m', '10.9.0.9', '10.9.0.3'), { ...peer('b', '10.9.0.3', 'b'), overlay6: 'fd00:1:2:3::a09:3' }];

describe('resolvePingTarget', () => {
  it.each([
    ['an address means the address, even if a name equals it', '10.9.0.3', 'b'],
    ['a name', 'b', 'b'],
    ['an address nobody has falls back to a name equal to it', '10.9.0.9', 'm'],
    ['unknown', 'nobody', undefined],
    ['an overlay IPv6 address (issue 22)', 'fd00:1:2:3::a09:3', 'b'],
    ['the same IPv6 address spelled out in full', 'FD00:1:2:3:0:0:a09:3', 'b'],
    ['an IPv6 address nobody has', 'fd00:1:2:3::a09:9', undefined],
  ])('%s', (_why, target, want) => {
    expect(resolvePingTarget(all, target)?.id).toBe(want);
  });
});
