// FEC through the whole peer (node.ts + data plane) on the virtual internet with seeded loss: both
// peers learn from each other's PINGs that they speak FEC (direct and relayed pairs), then a bulk
// transfer arrives byte-exact with losses repaired by parity, and a clean path carries no FEC byte.
import { describe, expect, it } from 'vitest';
import type { PeerNode } from '../../src/peer/node.js';
import { PEER_CAP_FEC } from '../../src/peer/fec-caps.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { vnetDataPlane } from '../vnet/data-plane.js';
import { topologies, World } from '../vnet/world.js';
import { IPPROTO_UDP, ipv4TestPacket } from '../fakes/ipv4-packet.js';

const A = '10.9.0.2';
const B = '10.9.0.3';

function udpPacket(seq: number, size = 1000): Uint8Array {
  const { p, v } = ipv4TestPacket(A, B, IPPROTO_UDP, size, seq);
  v.setUint16(20, 4000);
  v.setUint16(22, 5000);
  for (let i = 32; i < size; i++) p[i] = (seq + i) & 0xff;
  return p;
}

const dataPlaneFor = vnetDataPlane;

async function mesh(topo: (typeof topologies)[number], loss: number) {
  // Two public hosts talk as on one LAN in test/vnet: the same quality for both.
  const q = { loss, delayMs: 10, jitterMs: 2 };
  const w = new World(3, { internet: q, lan: q });
  w.startHub();
  const a = w.peer(topo.a, A);
  const b = w.peer(topo.b, B);
  await w.join(a, 6_000);
  await w.join(b, 6_000);
  w.run(12_000);
  return { w, a, b };
}

const capsOf = (n: PeerNode, overlay: string) => n.remotes.lookup(ipv4ToU32(overlay))!.caps;

describe('FEC between two peers on the virtual internet', { timeout: 120_000 }, () => {
  it.each([topologies[0]!, topologies.find((t) => t.expect === 'relay')!])('$name: each side learns the other speaks FEC', async (topo) => {
    const { a, b } = await mesh(topo, 0);
    expect(a.peers()[0]!.path).toBe(topo.expect);
    expect(capsOf(a, B) & PEER_CAP_FEC).toBe(PEER_CAP_FEC);
    expect(capsOf(b, A) & PEER_CAP_FEC).toBe(PEER_CAP_FEC);
  });

  it.each([
    [0, false],
    [0.05, true],
  ])('at %s loss a bulk transfer arrives byte-exact; parity only on the lossy path', async (loss, lossy) => {
    const { w, a, b } = await mesh(topologies[0]!, loss);
    const pa = dataPlaneFor(w, a, A);
    const pb = dataPlaneFor(w, b, B);
    const n = 4000;
    const got: Uint8Array[] = [];
    for (let i = 0; i < n; i += 10) {
      for (let j = i; j < i + 10; j++) pa.tun.inject(udpPacket(j));
      w.clock.advance(5);
      got.push(...pb.tun.take());
    }
    for (let t = 0; t < 3000; t += 5) {
      w.clock.advance(5);
      got.push(...pb.tun.take());
    }
    const seqs = got.map((p) => new DataView(p.buffer, p.byteOffset).getUint32(28)).sort((x, y) => x - y);
    expect(seqs).toEqual([...Array(n).keys()]);
    expect(got.every((p) => Buffer.from(p).equals(Buffer.from(udpPacket(new DataView(p.buffer, p.byteOffset).getUint32(28)))))).toBe(true);
    const sa = pa.dp.fecStatus(a.remotes)[B]!;
    const sb = pb.dp.fecStatus(b.remotes)[A]!;
    if (process.env.MESHD_TEST_LOGS) console.log(JSON.stringify({ sa, sb, ch: pa.dp.status() }));
    if (lossy) {
      expect(sa.m).toBeGreaterThan(0);
      expect(sb.repaired).toBeGreaterThan(0);
    } else {
      expect(sa).toMatchObject({ m: 0, parityFrames: 0, overheadBytes: 0 });
      expect(sb).toMatchObject({ m: 0, parityFrames: 0, overheadBytes: 0 });
    }
  });
});
