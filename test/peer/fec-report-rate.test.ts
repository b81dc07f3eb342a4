// A loss REPORT decides the pair's parity at most once per reportDecideMs (src/peer/fec-pair.ts):
// a fast receiver closes a window every few ms, and a decision per REPORT was most of a loaded
// sender's garbage (issue 19 item 7, session 17). The newest reading is the one decided on.
import { describe, expect, it } from 'vitest';
import { encodeFecFrame } from '../../src/fec/frame.js';
import { reportOf } from '../../src/fec/loss-estimator.js';
import { PeerFec, reportDecideMs } from '../../src/peer/fec-pair.js';
import type { RemotePeer } from '../../src/peer/remote-peer.js';
import { ManualClock } from '../fakes/manual-clock.js';

function pair() {
  const clock = new ManualClock();
  const depths: number[] = [];
  const channel = { stats: () => ({ retransmits: 0, waitSnd: 0, srttMs: 200, lanes: 1, pushSegs: 0 }), setFecDepth: (d: number) => depths.push(d) };
  const peer = { conv: 1, channel, paths: { current: () => undefined } } as unknown as RemotePeer;
  const fec = new PeerFec({ peer, sender: { send: () => true }, clock, setting: 'auto', deliver: () => {} });
  const report = (loss: number) => fec.receive(encodeFecFrame(reportOf({ loss, burst: 1, windows: 1 }, 200)));
  return { clock, depths, fec, report };
}

describe('PeerFec: REPORT-driven decisions', () => {
  it('decides on the first REPORT, then at most once per reportDecideMs, on the newest reading', () => {
    const { clock, depths, fec, report } = pair();
    report(0.05);
    expect(depths.length).toBe(1);
    expect(fec.status().m).toBeGreaterThan(0);
    // 120 REPORTs 1 ms apart: the loss falls to nothing after the first; decisions every reportDecideMs.
    for (let i = 0; i < 120; i++) {
      clock.advance(1);
      report(0);
    }
    expect(depths.length).toBe(1 + Math.floor(120 / reportDecideMs));
    expect(fec.status().m).toBe(0);
    expect(fec.status().lossPct).toBe(0);
  });

  it('a REPORT past reportDecideMs of the last decision decides at once', () => {
    const { clock, depths, fec, report } = pair();
    report(0);
    expect(fec.status().m).toBe(0);
    clock.advance(reportDecideMs);
    report(0.1);
    expect(depths.length).toBe(2);
    expect(fec.status().m).toBeGreaterThan(0);
  });

  it('the tick decides on a reading a REPORT left waiting', () => {
    const { clock, depths, fec, report } = pair();
    report(0);
    clock.advance(1);
    report(0.1); // within reportDecideMs: waits
    expect(depths.length).toBe(1);
    expect(fec.status().m).toBe(0);
    fec.tick(clock.now());
    expect(depths.length).toBe(2);
    expect(fec.status().m).toBeGreaterThan(0);
  });
});
