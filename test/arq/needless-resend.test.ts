// Issue 19, session 5: KCP's needless resends on a long lossy path whose receiver stalls now and
// then (a GC pause, a busy event loop: bench/vpn's receiving peer is CPU-bound). With a timer per
// segment (RTO = srtt + one interval once RTTs are steady) every segment sent in the stall's
// shadow times out and is resent though the receiver has it; with RACK-style detection and an RTO
// restarted by ACK progress (kcp.ts DEPARTURE 13) only what later ACKs show missing is resent.
// Seeded loss, virtual time (test/arq/bottleneck.ts); needless = duplicates the receiver got.
import { describe, expect, it } from 'vitest';
import type { Kcp } from '../../src/arq/kcp.js';
import { runBulk, runEcho, type PathConfig } from './bottleneck.js';

/** 120 Mbit/s with an 8 MB queue (the receiving peer's socket buffer), loss after it. */
const path = (delayMs: number, loss: number): PathConfig => ({ rateBytesPerMs: 15_000, queueBytes: 8_000_000, delayMs, loss, overheadBytes: 60 });

/** meshd's lane (kcp-channel.ts): fast2, rate control, 16384-segment span, ack echo, unordered. */
const lane = (rack: boolean) => (k: Kcp) => {
  k.usePreset('fast2');
  k.setWndSize(16384, 16384);
  k.ackEcho = true;
  k.unordered = true;
  k.rackLoss = rack;
};

const run = (delayMs: number, loss: number, rack: boolean, stall = true) =>
  runBulk({ path: path(delayMs, loss), seed: 1, durationMs: 8000, warmupMs: 2000, backlogSegs: 2000, setup: lane(rack), ...(stall ? { stall: { everyMs: 500, forMs: 40 } } : {}) });

describe('needless resends when the receiver stalls 40 ms every 0.5 s', () => {
  // Measured (seed 1, 8 s): needless = receiver duplicates / PUSH segments sent.
  //   200 ms RTT 5 %: timer per segment ~17 %, RACK ~1.3 %; 40 ms 5 %: ~4 % / ~1 %; 200 ms clean: ~10 % / 0.03 %.
  //   Session 10 (ack echo of up to 64 ACKs in the next two flushes, ack-echo.ts): 40 ms 5 % ~3.4 % /
  //   0.42 % (a stall's batch acked more than the 8 the echo had repeated), 200 ms 5 % 9.5 % / 0.79 %.
  it.each([
    { delayMs: 100, loss: 0.05, maxNeedless: 0.03, minGain: 1.08 },
    { delayMs: 20, loss: 0.05, maxNeedless: 0.008, minGain: 1.0 },
    { delayMs: 100, loss: 0, maxNeedless: 0.005, minGain: 1.03 },
  ])('RTT $delayMs x 2 ms, loss $loss: needless resends <= $maxNeedless of sends, goodput >= $minGain x the timer per segment', ({ delayMs, loss, maxNeedless, minGain }) => {
    const before = run(delayMs, loss, false);
    const after = run(delayMs, loss, true);
    const needless = (r: typeof after) => r.b.stats.inDupSegs / r.a.stats.outPushSegs;
    if (process.env.MESHD_TEST_LOGS) console.log(delayMs, loss, needless(before), needless(after), before.goodputMbps, after.goodputMbps, before.a.stats.spuriousTimeout, after.a.stats.retransTimeout, after.a.stats.spuriousRack, after.maxStallMs);
    // The old timer resent a stall's worth of segments the receiver already had.
    expect(needless(before)).toBeGreaterThan(3 * maxNeedless);
    // Eifel sees those acked by their own ACK (on a clean path una covers them first).
    if (loss > 0) expect(before.a.stats.spuriousTimeout).toBeGreaterThan(500);
    expect(needless(after)).toBeLessThanOrEqual(maxNeedless);
    // The first flight (RTO 200 ms before any sample, RTT 200) may time out once; no timeout after.
    expect(after.a.stats.retransTimeout).toBeLessThanOrEqual(40);
    expect(after.a.stats.spuriousRack).toBeLessThanOrEqual(0.002 * after.a.stats.outPushSegs);
    expect(after.goodputMbps).toBeGreaterThanOrEqual(minGain * before.goodputMbps);
    expect(after.maxStallMs).toBeLessThan(500);
  });

  it.each([0.05, 0.1])('loss %s without stalls: every loss is still repaired (RACK or fast resend), no stall, goodput no lower', (loss) => {
    const before = run(100, loss, false, false);
    const after = run(100, loss, true, false);
    expect(after.inOrder || after.b.stats.inEarly > 0).toBe(true);
    expect(after.maxStallMs).toBeLessThan(500);
    expect(after.goodputMbps).toBeGreaterThanOrEqual(0.98 * before.goodputMbps);
    expect(after.b.stats.inDupSegs).toBeLessThanOrEqual(1.1 * before.b.stats.inDupSegs + 50);
  });

  it('a fast resend whose ACK answers the first copy counts as needless (Eifel), by cause', () => {
    // A timer per segment under stalls: its timeouts show up as spuriousTimeout, not as fast or RACK.
    const r = run(100, 0.05, false);
    expect(r.a.stats.spuriousTimeout).toBeGreaterThan(0.8 * (r.a.stats.retransTimeout - 100));
    expect(r.a.stats.spuriousRack).toBe(0);
    expect(r.a.stats.retransRack).toBe(0);
  });
});

describe('interactive echo (40 ms RTT, 5 % loss) with RACK on: thin lanes keep their own timers', () => {
  it.each([4, 5])('seed %s: same rounds, average within 10 % of the base RTT, worst no later than without', (seed) => {
    const p: PathConfig = { rateBytesPerMs: 25_000, queueBytes: 1_000_000, delayMs: 20, loss: 0.05, overheadBytes: 60 };
    const off = runEcho({ path: p, seed, setup: lane(false), rounds: 300 });
    const on = runEcho({ path: p, seed, setup: lane(true), rounds: 300 });
    expect(on.rounds).toBe(300);
    expect(on.avgMs).toBeLessThanOrEqual(1.1 * 41);
    expect(on.maxMs).toBeLessThanOrEqual(off.maxMs);
  });
});
