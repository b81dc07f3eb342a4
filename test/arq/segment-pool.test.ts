// The segment pool (kcp.ts poolCap): while a transfer holds data, segments its ACKs release are
// reused by the next sends instead of being dropped to the garbage collector; once the control
// block has held nothing for KCP_POOL_IDLE_MS the pool shrinks back to KCP_POOL_MAX_SEGS spares, and
// a shorter pause (an inner TCP's ProbeRTT) keeps it (issue 19 item 7, sessions 7 and 10).
import { describe, expect, it } from 'vitest';
import { Kcp, poolShrinkDue } from '../../src/arq/kcp.js';
import { KCP_POOL_IDLE_MS, KCP_POOL_MAX_SEGS } from '../../src/arq/constants.js';
import { KcpTimer } from '../../src/arq/kcp-timer.js';
import { ManualClock } from '../fakes/manual-clock.js';

/** A sender A and receiver B wired by hand, full segments one per datagram, everything delivered. */
function wired() {
  const toB: Uint8Array[] = [];
  const toA: Uint8Array[] = [];
  const a = new Kcp(9, (d, n) => toB.push(d.slice(0, n)));
  a.setNodelay(1, 10, 0, 1);
  a.setWndSize(8192, 8192);
  a.rmtWnd = 8192; // as if B had told it
  const b = new Kcp(9, (d, n) => toA.push(d.slice(0, n)));
  b.setWndSize(8192, 8192);
  const out = new Uint8Array(2000);
  /** count full segments from A, delivered and acked; A's ACK input is flushed at `now`. */
  const burst = (count: number, now: number): void => {
    const msg = new Uint8Array(a.mss);
    for (let i = 0; i < count; i++) a.send(msg);
    a.flush(now);
    for (const d of toB.splice(0)) b.input(d);
    while (b.recv(out) >= 0);
    b.flush(now);
    for (const d of toA.splice(0)) a.input(d);
    a.flush(now);
  };
  return { a, b, burst };
}

describe('poolShrinkDue', () => {
  it.each([
    { why: 'data held: never', idleSince: -1, now: 5_000, due: false },
    { why: 'idle since now: a ProbeRTT dip has just begun', idleSince: 1_000, now: 1_000, due: false },
    { why: 'idle 400 ms: ProbeRTT at 200 ms RTT (200 ms + 1 RTT) is not the end of a transfer', idleSince: 1_000, now: 1_400, due: false },
    { why: 'idle just under KCP_POOL_IDLE_MS', idleSince: 1_000, now: 1_000 + KCP_POOL_IDLE_MS - 1, due: false },
    { why: 'idle KCP_POOL_IDLE_MS: the transfer is over', idleSince: 1_000, now: 1_000 + KCP_POOL_IDLE_MS, due: true },
    { why: 'idle since 0 (a clock starting at 0 is not "held")', idleSince: 0, now: KCP_POOL_IDLE_MS, due: true },
  ])('$why', ({ idleSince, now, due }) => {
    expect(poolShrinkDue(idleSince, now)).toBe(due);
  });
});

describe('segment pool', () => {
  it('recycles a transfer\'s segments across rounds and shrinks once idle for KCP_POOL_IDLE_MS', () => {
    const toB: Uint8Array[] = [];
    const toA: Uint8Array[] = [];
    const a = new Kcp(9, (d, n) => toB.push(d.slice(0, n)));
    a.setNodelay(1, 10, 0, 1);
    a.setWndSize(8192, 8192);
    a.rmtWnd = 8192; // as if B had told it
    const b = new Kcp(9, (d, n) => toA.push(d.slice(0, n)));
    b.setWndSize(8192, 8192);
    const out = new Uint8Array(2000);
    const msg = new Uint8Array(a.mss);
    const burst = 1500;
    let now = 0;
    let held: Uint8Array | undefined;
    // Each round: a burst, all of it acked but its first segment, which stays in flight, so the
    // sender never holds nothing and its released segments stay pooled for the next burst.
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < burst; i++) a.send(msg);
      a.flush((now += 10));
      // sn (offset 12) 0 is lost, first sends and resends alike; one full segment per datagram.
      for (const d of toB.splice(0)) {
        if (new DataView(d.buffer, d.byteOffset).getUint32(12, true) === 0) held = d;
        else b.input(d);
      }
      while (b.recv(out) >= 0);
      b.flush((now += 10));
      for (const d of toA.splice(0)) a.input(d);
      expect(a.nsndBuf).toBe(1);
    }
    // One burst's worth of buffers and a few spares, not a burst per round past 256 spares.
    expect(a.stats.segAllocs).toBeLessThanOrEqual(burst + 4);
    expect(a.npool).toBeGreaterThan(KCP_POOL_MAX_SEGS);
    // The held segment arrives and is acked: nothing is held; the pool stays KCP_POOL_IDLE_MS, then shrinks.
    b.input(held!);
    while (b.recv(out) >= 0);
    b.flush((now += 10));
    for (const d of toA.splice(0)) a.input(d);
    expect(a.waitSnd()).toBe(0);
    a.flush((now += 10));
    expect(a.npool).toBeGreaterThan(KCP_POOL_MAX_SEGS);
    expect(a.poolReleaseAt).toBe(now + KCP_POOL_IDLE_MS);
    a.flush((now += KCP_POOL_IDLE_MS - 1));
    expect(a.npool).toBeGreaterThan(KCP_POOL_MAX_SEGS);
    a.flush((now += 1));
    expect(a.npool).toBe(KCP_POOL_MAX_SEGS);
    expect(a.poolReleaseAt).toBeUndefined();
  });

  // On main (session 7's rule) the pool shrank at the first flush that found the lane empty, so the
  // burst after the pause allocated its segments again: segAllocs 2 x 1,500.
  it('keeps the pool through a pause shorter than KCP_POOL_IDLE_MS (the inner BBR\'s ProbeRTT)', () => {
    const { a, burst } = wired();
    let now = 0;
    burst(1500, (now += 10));
    expect(a.waitSnd()).toBe(0);
    expect(a.npool).toBeGreaterThan(KCP_POOL_MAX_SEGS);
    for (let i = 0; i < 40; i++) a.flush((now += 10)); // 400 ms with nothing held
    burst(1500, (now += 10));
    expect(a.waitSnd()).toBe(0);
    expect(a.stats.segAllocs).toBeLessThanOrEqual(1500 + 4);
  });

  it('data held again before KCP_POOL_IDLE_MS stops the idle clock', () => {
    const { a, burst } = wired();
    let now = 0;
    burst(1500, (now += 10));
    a.flush((now += KCP_POOL_IDLE_MS - 10)); // idle since the burst's flush, almost due
    a.send(new Uint8Array(100)); // a small send: held until acked
    a.flush((now += 5));
    expect(a.poolReleaseAt).toBeUndefined();
    expect(a.npool).toBeGreaterThan(KCP_POOL_MAX_SEGS);
  });

  it('KcpTimer wakes an idle lane once to shrink its pool, then sleeps', () => {
    const clock = new ManualClock();
    const { a, burst } = wired();
    const timer = new KcpTimer(a, clock);
    burst(1500, clock.now());
    timer.schedule(clock.now());
    expect(a.waitSnd()).toBe(0);
    expect(timer.armed).toBe(true); // for the pool alone: nothing in flight
    clock.advance(KCP_POOL_IDLE_MS - 1);
    expect(a.npool).toBeGreaterThan(KCP_POOL_MAX_SEGS);
    clock.advance(1);
    expect(a.npool).toBe(KCP_POOL_MAX_SEGS);
    expect(timer.armed).toBe(false);
    expect(clock.pending).toBe(0);
  });
});
