// The segment pool (kcp.ts poolCap): while a transfer holds data, segments its ACKs release are
// reused by the next sends instead of being dropped to the garbage collector; once the control
// block has held nothing for KCP_POOL_IDLE_MS the transfer's pool goes, slabs and all, and a pause
// shorter than that (an inner TCP's ProbeRTT) keeps it (issue 19 item 7, sessions 7 and 9).
// Payload slots are carved from shared slabs, not one ArrayBuffer per segment (kcp.ts carve).
import { describe, expect, it } from 'vitest';
import { Kcp } from '../../src/arq/kcp.js';
import { KCP_POOL_IDLE_MS, KCP_POOL_MAX_SEGS, KCP_SLAB_MAX_SEGS, presets } from '../../src/arq/constants.js';
import { KcpTimer } from '../../src/arq/kcp-timer.js';
import { ManualClock } from '../fakes/manual-clock.js';

/** A sender A and receiver B wired by hand; bursts of full segments, every datagram delivered
 *  except sn `holdSn`'s (held back until release()). */
function transfer(opts: { holdSn?: number } = {}) {
  const toB: Uint8Array[] = [];
  const toA: Uint8Array[] = [];
  const a = new Kcp(9, (d, n) => toB.push(d.slice(0, n)));
  a.setNodelay(1, 10, 0, 1);
  a.setWndSize(8192, 8192);
  a.rmtWnd = 8192; // as if B had told it
  const b = new Kcp(9, (d, n) => toA.push(d.slice(0, n)));
  b.setWndSize(8192, 8192);
  const out = new Uint8Array(2000);
  let held: Uint8Array | undefined;
  const t = { a, b, now: 0, received: 0 };
  const deliver = (): void => {
    for (const d of toB.splice(0)) {
      if (opts.holdSn !== undefined && new DataView(d.buffer, d.byteOffset).getUint32(12, true) === opts.holdSn) held = d;
      else b.input(d);
    }
    for (let n = b.recv(out); n >= 0; n = b.recv(out)) {
      expect(out[0]).toBe(out[n - 1]); // each message is one byte value: a slot holds its own bytes
      t.received++;
    }
    b.flush((t.now += 10));
    for (const d of toA.splice(0)) a.input(d);
  };
  const burst = (count: number): void => {
    const msg = new Uint8Array(a.mss);
    for (let i = 0; i < count; i++) a.send(msg.fill(i & 0xff));
    a.flush((t.now += 10));
    deliver();
  };
  const release = (): void => {
    if (held) b.input(held);
    held = undefined;
    toB.length = 0;
    deliver();
  };
  return { t, a, b, burst, release };
}

describe('segment pool', () => {
  it('recycles a transfer\'s segments across rounds and lets them go once idle for KCP_POOL_IDLE_MS', () => {
    const { t, a, burst, release } = transfer({ holdSn: 0 });
    const count = 1500;
    // Each round: a burst, all of it acked but its first segment, which stays in flight, so the
    // sender never holds nothing and its released segments stay pooled for the next burst.
    for (let round = 0; round < 5; round++) {
      burst(count);
      expect(a.nsndBuf).toBe(1);
    }
    // One burst's worth of segments and a few spares, not a burst per round past 256 spares.
    expect(a.stats.segAllocs).toBeLessThanOrEqual(count + 4);
    expect(a.npool).toBeGreaterThan(KCP_POOL_MAX_SEGS);
    // The held segment arrives and is acked: nothing is held; the pool stays until the lane has
    // been idle for KCP_POOL_IDLE_MS, then goes entirely.
    release();
    expect(t.received).toBe(5 * count);
    expect(a.waitSnd()).toBe(0);
    a.flush((t.now += 10));
    expect(a.npool).toBeGreaterThan(KCP_POOL_MAX_SEGS);
    expect(a.poolReleaseAt).toBe(t.now + KCP_POOL_IDLE_MS);
    a.flush((t.now += KCP_POOL_IDLE_MS - 10));
    expect(a.npool).toBeGreaterThan(KCP_POOL_MAX_SEGS);
    a.flush((t.now += 10));
    expect(a.npool).toBe(0);
    expect(a.poolReleaseAt).toBeUndefined();
    // And the next transfer carves new slabs from the smallest size up.
    const buffers = a.stats.segBufferAllocs;
    burst(4);
    expect(a.stats.segBufferAllocs).toBe(buffers + 1);
  });

  // On main the pool shrank at the first flush that found the lane empty, so the next burst
  // allocated its segments again (segAllocs 2 x burst) while the old ones waited for the collector.
  it('keeps the pool through a pause shorter than KCP_POOL_IDLE_MS (an inner TCP\'s ProbeRTT)', () => {
    const { t, a, burst } = transfer();
    const count = 1500;
    burst(count);
    expect(a.waitSnd()).toBe(0);
    for (let i = 0; i < 30; i++) a.flush((t.now += 10)); // 300 ms with nothing held
    burst(count);
    expect(a.waitSnd()).toBe(0);
    expect(a.stats.segAllocs).toBeLessThanOrEqual(count + 4);
  });

  // On main every segment had an ArrayBuffer of its own (segBufferAllocs did not exist: undefined).
  it('carves payload slots from slabs: 1,500 segments, one ArrayBuffer per KCP_SLAB_MAX_SEGS of them', () => {
    const { t, a, b, burst } = transfer();
    burst(1500);
    expect(t.received).toBe(1500);
    expect(a.stats.segAllocs).toBeGreaterThanOrEqual(1500);
    expect(a.stats.segBufferAllocs).toBeLessThanOrEqual(Math.ceil(1500 / KCP_SLAB_MAX_SEGS) + 4);
    // The receiver's segments too.
    expect(b.stats.segBufferAllocs).toBeLessThanOrEqual(Math.ceil(b.stats.segAllocs / KCP_SLAB_MAX_SEGS) + 4);
  });

  it('gives a segment longer than its mss a buffer of its own, and keeps its bytes', () => {
    const toB: Uint8Array[] = [];
    const a = new Kcp(3, (d, n) => toB.push(d.slice(0, n)));
    a.setMtu(1400);
    const b = new Kcp(3, () => {});
    b.setMtu(600); // b's mss is smaller than what a sends
    const msg = new Uint8Array(1000).map((_, i) => i & 0xff);
    a.send(msg);
    for (let now = 10; now <= 30; now += 10) a.flush(now); // the first flush moves no data (cwnd 0)
    for (const d of toB.splice(0)) b.input(d);
    const out = new Uint8Array(2000);
    expect(b.recv(out)).toBe(1000);
    expect(out.subarray(0, 1000)).toEqual(msg);
    expect(b.stats.segBufferAllocs).toBe(1);
  });

  it('stream mode: a segment carved before the mss grew moves to a full-size slot and keeps its bytes', () => {
    const toB: Uint8Array[] = [];
    const a = new Kcp(4, (d, n) => toB.push(d.slice(0, n)));
    a.stream = 1;
    a.setMtu(200);
    const first = new Uint8Array(100).fill(1);
    a.send(first); // one segment of 100 bytes in a slot of the old mss (176)
    a.setMtu(1400);
    a.send(new Uint8Array(1000).fill(2)); // extends it past its slot
    const b = new Kcp(4, () => {});
    b.stream = 1;
    b.setMtu(1400);
    for (let now = 10; now <= 30; now += 10) a.flush(now);
    for (const d of toB.splice(0)) b.input(d);
    const out = new Uint8Array(4000);
    let n = 0;
    for (let r = b.recv(out.subarray(n)); r > 0; r = b.recv(out.subarray(n))) n += r;
    expect(n).toBe(1100);
    expect(out.subarray(0, 100).every((x) => x === 1)).toBe(true);
    expect(out.subarray(100, 1100).every((x) => x === 2)).toBe(true);
  });
});

describe('KcpTimer and the pool', () => {
  // On main the timer was cancelled once nothing was in flight, whatever the pool held.
  it('wakes an idle lane once, KCP_POOL_IDLE_MS after its transfer, to let the pool go', () => {
    const clock = new ManualClock();
    const toB: Uint8Array[] = [];
    const toA: Uint8Array[] = [];
    const a = new Kcp(5, (d, n) => toB.push(d.slice(0, n)));
    const b = new Kcp(5, (d, n) => toA.push(d.slice(0, n)));
    for (const k of [a, b]) {
      k.applyPreset(presets.fast2);
      k.setWndSize(4096, 4096);
    }
    const timer = new KcpTimer(a, clock);
    const msg = new Uint8Array(a.mss);
    const out = new Uint8Array(2000);
    for (let step = 0; step < 200 && (step === 0 || a.waitSnd() > 0); step++) {
      if (step === 0) for (let i = 0; i < 1000; i++) a.send(msg);
      a.flush(clock.now());
      timer.schedule(clock.now());
      clock.advance(5);
      for (const d of toB.splice(0)) b.input(d);
      while (b.recv(out) >= 0);
      b.flush(clock.now());
      for (const d of toA.splice(0)) a.input(d);
    }
    expect(a.waitSnd()).toBe(0);
    a.flush(clock.now());
    timer.schedule(clock.now());
    expect(a.npool).toBeGreaterThan(KCP_POOL_MAX_SEGS);
    expect(timer.armed).toBe(true);
    clock.advance(KCP_POOL_IDLE_MS + 1);
    expect(a.npool).toBe(0);
    expect(timer.armed).toBe(false);
  });
});
