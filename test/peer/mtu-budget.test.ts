import { describe, expect, it } from 'vitest';
import { defaultTunMtu } from '../../src/config/schema.js';
import { underlayPacketBytes, type UnderlayPath } from '../../src/peer/mtu-budget.js';

const underlayMtu = 1500;

// Every way a full-size TUN packet leaves a peer. Relayed messages are never FEC-framed
// (peer/fec-stage.ts), so FEC rows are direct only.
const paths: [string, UnderlayPath][] = [];
for (const family of [4, 6] as const) {
  for (const kcp of [true, false]) {
    const mode = kcp ? 'kcp' : 'datagram';
    paths.push([`v${family} direct ${mode}`, { family, relayed: false, kcp, fec: false }]);
    paths.push([`v${family} direct ${mode} + FEC`, { family, relayed: false, kcp, fec: true }]);
    paths.push([`v${family} relayed ${mode}`, { family, relayed: true, kcp, fec: false }]);
  }
}

describe('MTU budget (docs/PROTOCOL.md "MTU budget")', () => {
  it.each(paths)('a default-MTU packet fits a 1500-byte underlay: %s', (_, p) => {
    expect(underlayPacketBytes(defaultTunMtu, p)).toBeLessThanOrEqual(underlayMtu);
  });

  it('the worst case (relayed KCP over an IPv6 hub leg) fills 1500 exactly: no byte is wasted', () => {
    expect(underlayPacketBytes(defaultTunMtu, { family: 6, relayed: true, kcp: true, fec: false })).toBe(underlayMtu);
  });

  it.each([
    // [what, packet bytes, path, underlay bytes]: the sum by hand, header by header.
    ['v4 direct kcp', 1378, { family: 4, relayed: false, kcp: true, fec: false }, 20 + 8 + 16 + 1 + 24 + 1378 + 16],
    ['v4 relayed kcp (the old default filled v4 exactly)', 1378, { family: 4, relayed: true, kcp: true, fec: false }, 1500],
    ['v6 relayed kcp, old default: 20 over', 1378, { family: 6, relayed: true, kcp: true, fec: false }, 1520],
    ['v6 direct datagram + FEC', 1358, { family: 6, relayed: false, kcp: false, fec: true }, 40 + 8 + 16 + 9 + 1 + 1358 + 16],
  ] as [string, number, UnderlayPath, number][])('%s', (_, bytes, p, want) => {
    expect(underlayPacketBytes(bytes, p)).toBe(want);
  });
});
