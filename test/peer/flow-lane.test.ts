// flowLane: which KCP lane carries a packet. Rows say why; the spread test uses a seeded RNG.
import { describe, expect, it } from 'vitest';
import { controlLane, flowLane, kcpLaneCount, laneConv, laneOfConv } from '../../src/peer/flow-lane.js';
import { Rng } from '../fakes/rng.js';

function packet(proto: number, src: number, dst: number, sport: number, dport: number, fragment = 0): Uint8Array {
  const p = new Uint8Array(40);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, 40);
  v.setUint16(6, fragment);
  p[9] = proto;
  v.setUint32(12, src);
  v.setUint32(16, dst);
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  return p;
}
const A = 0x0a090002;
const B = 0x0a090003;

describe('flowLane', () => {
  it.each([
    ['ICMP uses the control lane', packet(1, A, B, 0, 0), controlLane],
    ['GRE (no ports) uses the control lane', packet(47, A, B, 0, 0), controlLane],
  ])('%s', (_why, p, lane) => {
    expect(flowLane(p)).toBe(lane);
  });

  it.each([
    ['TCP', 6],
    ['UDP', 17],
  ])('puts both directions of a %s flow on the same data lane', (_name, proto) => {
    const there = flowLane(packet(proto, A, B, 40000, 22));
    const back = flowLane(packet(proto, B, A, 22, 40000));
    expect(there).toBe(back);
    expect(there).toBeGreaterThan(controlLane);
    expect(there).toBeLessThan(kcpLaneCount);
  });

  it('keeps every fragment of a datagram on one lane (only the first carries ports)', () => {
    const first = packet(17, A, B, 5000, 6000, 0x2000); // MF set, offset 0
    const middle = packet(17, A, B, 0x1111, 0x2222, 0x2000 | 185); // payload bytes, not ports
    const last = packet(17, A, B, 0x3333, 0x4444, 370);
    expect(flowLane(middle)).toBe(flowLane(first));
    expect(flowLane(last)).toBe(flowLane(first));
    expect(flowLane(first)).toBeGreaterThan(controlLane);
  });

  it('spreads flows over all data lanes (1000 random flows, none gets more than twice its share)', () => {
    const rng = new Rng(7);
    const counts = new Array<number>(kcpLaneCount).fill(0);
    for (let i = 0; i < 1000; i++) {
      counts[flowLane(packet(6, A, B, 1024 + rng.int(60000), 1 + rng.int(1023)))]!++;
    }
    expect(counts[controlLane]).toBe(0);
    const share = 1000 / (kcpLaneCount - 1);
    for (let lane = 1; lane < kcpLaneCount; lane++) {
      expect(counts[lane]).toBeGreaterThan(share / 2);
      expect(counts[lane]).toBeLessThan(share * 2);
    }
  });

  it('maps lane convs back to their lane and refuses convs of other pairs', () => {
    const base = 0xdeadbee0;
    for (let lane = 0; lane < kcpLaneCount; lane++) expect(laneOfConv(base, laneConv(base, lane))).toBe(lane);
    expect(laneOfConv(base, base ^ kcpLaneCount)).toBeUndefined();
    expect(laneOfConv(base, 0x12345678)).toBeUndefined();
  });
});
