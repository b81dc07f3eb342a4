// The segment pool (kcp.ts poolCap): while a transfer holds data, segments its ACKs release are
// reused by the next sends instead of being dropped to the garbage collector; once the control
// block holds nothing the pool shrinks back to KCP_POOL_MAX_SEGS spares (issue 19 item 7).
import { describe, expect, it, vi } from 'vitest';
import { Kcp } from '../../src/arq/kcp.js';
import { KCP_POOL_MAX_SEGS, KCP_SEG_CHUNK } from '../../src/arq/constants.js';

describe('segment pool', () => {
  it('recycles a transfer\'s segments across rounds and shrinks once idle', () => {
    const { a, b, toB, toA } = pair();
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
    // The held segment arrives and is acked: nothing is held, and the next flush trims the pool.
    b.input(held!);
    while (b.recv(out) >= 0);
    b.flush((now += 10));
    for (const d of toA.splice(0)) a.input(d);
    expect(a.waitSnd()).toBe(0);
    a.flush((now += 10));
    expect(a.npool).toBe(KCP_POOL_MAX_SEGS);
  });
});

/** Sends `count` mss-sized messages A -> B and acks them all, rounds of `perRound`. */
function transfer(a: Kcp, b: Kcp, toB: Uint8Array[], toA: Uint8Array[], count: number, perRound: number, start: number, fill = (i: number) => i & 0xff): { now: number; got: number[] } {
  const out = new Uint8Array(4000);
  const got: number[] = [];
  let now = start;
  for (let sent = 0; sent < count; ) {
    for (let i = 0; i < perRound && sent < count; i++, sent++) a.send(new Uint8Array(a.mss).fill(fill(sent)));
    a.flush((now += 10));
    for (const d of toB.splice(0)) b.input(d);
    for (let n = b.recv(out); n >= 0; n = b.recv(out)) got.push(out[0]!, out[n - 1]!);
    b.flush((now += 10));
    for (const d of toA.splice(0)) a.input(d);
  }
  a.flush((now += 10));
  return { now, got };
}

function pair(): { a: Kcp; b: Kcp; toB: Uint8Array[]; toA: Uint8Array[] } {
  const toB: Uint8Array[] = [];
  const toA: Uint8Array[] = [];
  const a = new Kcp(9, (d, n) => toB.push(d.slice(0, n)));
  a.setNodelay(1, 10, 0, 1);
  a.setWndSize(8192, 8192);
  a.rmtWnd = 8192; // as if B had told it
  const b = new Kcp(9, (d, n) => toA.push(d.slice(0, n)));
  b.setWndSize(8192, 8192);
  return { a, b, toB, toA };
}

describe('segment buffers carved in chunks (issue 19 item 7)', () => {
  it('a lane carrying a few pings allocates a buffer or two, not a chunk', () => {
    const { a, b, toB, toA } = pair();
    transfer(a, b, toB, toA, 5, 1, 0);
    expect(a.stats.segAllocs).toBeLessThanOrEqual(2);
    expect(b.stats.segAllocs).toBeLessThanOrEqual(2);
  });

  it('a transfer\'s segments come KCP_SEG_CHUNK to an allocation and every byte arrives intact', () => {
    const { a, b, toB, toA } = pair();
    // 3,000 segments in flight at once, each filled with its own byte.
    const { got } = transfer(a, b, toB, toA, 3000, 3000, 0, (i) => (i * 7 + 3) & 0xff);
    expect(got.length).toBe(6000);
    for (let i = 0; i < 3000; i++) {
      expect(got[2 * i]).toBe((i * 7 + 3) & 0xff);
      expect(got[2 * i + 1]).toBe((i * 7 + 3) & 0xff);
    }
    // Carved 1, 1, 2, 4, 8, 16 then 32 at a time: within one chunk of the segments held.
    expect(a.stats.segAllocs).toBeGreaterThanOrEqual(3000);
    expect(a.stats.segAllocs).toBeLessThan(3000 + KCP_SEG_CHUNK);
  });

  it('once idle the pool keeps whole chunks, so the others go with their last segment', () => {
    const { a, b, toB, toA } = pair();
    let { now } = transfer(a, b, toB, toA, 3000, 3000, 0);
    // Then small rounds that recycle the pool in LIFO order, mixing the chunks' slots.
    ({ now } = transfer(a, b, toB, toA, 2000, 97, now));
    expect(a.waitSnd()).toBe(0);
    a.flush((now += 10));
    expect(a.npool).toBe(KCP_POOL_MAX_SEGS);
    // 256 spares are 8 chunks of 32; one more may be partly kept where the cut falls.
    expect(a.npoolChunks).toBeLessThanOrEqual(KCP_POOL_MAX_SEGS / KCP_SEG_CHUNK + 1);
  });
});

describe('buffers of the segments an idle pool drops (issue 19 item 7)', () => {
  it('are freed at once (detached), chunk by chunk, and the kept spares still carry data', () => {
    const { a, b, toB, toA } = pair();
    const detached = new Set<ArrayBufferLike>();
    const real = globalThis.structuredClone;
    const spy = vi.spyOn(globalThis, 'structuredClone').mockImplementation((value: unknown, options?: { transfer?: unknown[] }) => {
      const t = options?.transfer?.[0];
      if (t instanceof ArrayBuffer) {
        expect(t.byteLength).toBeGreaterThan(0); // never the same buffer twice
        detached.add(t);
      }
      return real(value, options as Parameters<typeof real>[1]);
    });
    let now: number;
    try {
      ({ now } = transfer(a, b, toB, toA, 3000, 3000, 0)); // ends idle: the pool shrinks
    } finally {
      spy.mockRestore();
    }
    expect(a.npool).toBe(KCP_POOL_MAX_SEGS);
    // 3,000 segments in ~100 chunks; the 8 or 9 kept are not among the freed.
    expect(detached.size).toBeGreaterThanOrEqual(Math.floor((3000 - KCP_POOL_MAX_SEGS) / KCP_SEG_CHUNK) - 1);
    for (const buf of detached) expect(buf.byteLength).toBe(0);
    // The kept spares' buffers were not detached: a transfer of fewer segments than they are takes
    // no new buffer (acquire replaces an empty one) and delivers every byte.
    const allocs = a.stats.segAllocs;
    const { got } = transfer(a, b, toB, toA, 200, 200, now + 10, (i) => (i * 13 + 1) & 0xff);
    expect(a.stats.segAllocs).toBe(allocs);
    expect(got.length).toBe(400);
    for (let i = 0; i < 200; i++) expect(got[2 * i]).toBe((i * 13 + 1) & 0xff);
  });
});
