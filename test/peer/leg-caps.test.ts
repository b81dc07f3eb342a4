// peer/leg-caps.ts: each end of a pair learns the other's hub leg from its PINGs (PING flag 64), so a
// peer on UDP relayed to a peer on TCP/TLS picks datagrams too (issue 21's gap). Pure rows, then two
// nodes on the virtual internet: relayed (symmetric NATs) and direct.
import { describe, expect, it } from 'vitest';
import { legOfPing, legPingFlag } from '../../src/peer/leg-caps.js';
import { decidePairTransport } from '../../src/peer/pair-transport.js';
import { PING_FLAG_FEC, PING_FLAG_PUNCH, PING_FLAG_STREAM_LEG } from '../../src/wire/inner.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import type { PeerNode } from '../../src/peer/node.js';
import { topologies, World } from '../vnet/world.js';

describe('leg-caps', () => {
  it.each<[string, 'udp' | 'tcp' | 'tls' | undefined, number]>([
    ['UDP leg: no bit', 'udp', 0],
    ['TCP leg: the bit', 'tcp', PING_FLAG_STREAM_LEG],
    ['TLS leg: the bit', 'tls', PING_FLAG_STREAM_LEG],
    ['no hub transport (tests, old callers): no bit', undefined, 0],
  ])('%s', (_why, leg, flag) => {
    expect(legPingFlag(leg)).toBe(flag);
  });

  it.each<[string, number, 'udp' | 'tcp']>([
    ['a PING with the bit: a stream leg', PING_FLAG_PUNCH | PING_FLAG_FEC | PING_FLAG_STREAM_LEG, 'tcp'],
    ['a PING without it: UDP', PING_FLAG_PUNCH | PING_FLAG_FEC, 'udp'],
    ['an older peer (never sets it): UDP, the old assumption', PING_FLAG_PUNCH, 'udp'],
  ])('%s', (_why, flags, leg) => {
    expect(legOfPing(flags)).toBe(leg);
  });

  it('the bit is 64, as allocated to this decision (16 and 32 belong to others)', () => {
    expect(PING_FLAG_STREAM_LEG).toBe(64);
  });
});

const A = '10.9.0.2';
const B = '10.9.0.3';
const legOf = (n: PeerNode, overlay: string) => n.remotes.lookup(ipv4ToU32(overlay))!.peerLeg;

describe('each end learns the other\'s hub leg on the virtual internet', { timeout: 120_000 }, () => {
  it.each([topologies.find((t) => t.expect === 'relay')!, topologies[0]!])('$name: a on TCP is known to b, and its move back to UDP too', async (topo) => {
    const w = new World(5);
    w.startHub();
    let aLeg: 'udp' | 'tcp' = 'tcp';
    const a = w.peer(topo.a, A, { hubLeg: () => aLeg });
    const b = w.peer(topo.b, B);
    await w.join(a, 6_000);
    await w.join(b, 6_000);
    w.run(12_000);
    expect(a.peers()[0]!.path).toBe(topo.expect);
    expect(legOf(b, A)).toBe('tcp');
    expect(legOf(a, B)).toBe('udp');
    // b's decision toward a when relayed: datagrams (before, b kept KCP, not knowing a's leg).
    const d = decidePairTransport({ transport: 'auto', fec: 'auto', direct: topo.expect !== 'relay', ownLeg: 'udp', peerLeg: legOf(b, A), ownUdpLossPct: 0, peerSpeaksFec: true });
    expect(d.transport).toBe(topo.expect === 'relay' ? 'datagram' : 'kcp');
    aLeg = 'udp';
    a.announceLeg();
    w.run(1_000);
    expect(legOf(b, A)).toBe('udp');
  });
});
