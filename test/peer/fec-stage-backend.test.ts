// The data path's FEC runs the C addon's byte loop (fec/native.ts fecShardMul) when the stage is
// given none: until issue 19 session 6 it fell back to the TypeScript reference loop (encoder.ts and
// decoder.ts default to it), which cost 40 % of a bulk sender's CPU at 32 + 7 (bench/vpn profiles).
import { describe, expect, it, vi } from 'vitest';
import { FecStage } from '../../src/peer/fec-stage.js';
import { PEER_CAP_FEC } from '../../src/peer/fec-caps.js';
import type { RemotePeer } from '../../src/peer/remote-peer.js';
import { ManualClock } from '../fakes/manual-clock.js';

const used = vi.hoisted(() => ({ calls: 0 }));
vi.mock('../../src/fec/native.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/fec/native.js')>();
  const { tsShardMul } = await import('../../src/fec/rs.js');
  // Stands in for the addon: counts the calls, computes the reference bytes.
  return { ...real, fecShardMul: () => ({ mulShards: (...a: Parameters<typeof tsShardMul.mulShards>) => { used.calls++; tsShardMul.mulShards(...a); } }) };
});

describe('FecStage byte loop', () => {
  it('codes parity with fecShardMul() (the addon when built) unless told otherwise', () => {
    const clock = new ManualClock();
    const frames: Uint8Array[] = [];
    const peer = { caps: PEER_CAP_FEC, conv: 7, listed: true, channel: undefined, paths: { current: () => ({ rttMs: 40 }) } } as unknown as RemotePeer;
    const stage = new FecStage({ sender: { send: (_p, f) => (frames.push(f.slice()), true) }, clock, setting: 'on', deliver: () => {} });
    const pkt = new Uint8Array(1200).fill(0x45);
    for (let i = 0; i < 200; i++) stage.send(peer, pkt);
    clock.advance(1_000); // the first tick turns parity on (--fec on)
    for (let i = 0; i < 200; i++) stage.send(peer, pkt);
    clock.advance(100);
    stage.close();
    expect(frames.length).toBeGreaterThan(400); // parity went out
    expect(used.calls).toBeGreaterThan(0);
  });
});
