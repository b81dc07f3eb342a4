// The segment pool (kcp.ts poolCap): while a transfer holds data, segments its ACKs release are
// reused by the next sends instead of being dropped to the garbage collector; once the control
// block holds nothing the pool shrinks back to KCP_POOL_MAX_SEGS spares (issue 19 item 7).
import { describe, expect, it } from 'vitest';
import { Kcp } from '../../src/arq/kcp.js';
import { KCP_POOL_MAX_SEGS, KCP_SLAB_MAX_SEGS } from '../../src/arq/constants.js';

describe('segment pool', () => {
  it('recycles a transfer\'s segments across rounds and shrinks once idle', () => {
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

// Payload slots come from shared slabs (src/arq/slab.ts): on main every segment had an ArrayBuffer
// of its own (segBufferAllocs did not exist).
describe('segment slots from slabs', () => {
  function pair() {
    const toB: Uint8Array[] = [];
    const toA: Uint8Array[] = [];
    const a = new Kcp(9, (d, n) => toB.push(d.slice(0, n)));
    a.setNodelay(1, 10, 0, 1);
    a.setWndSize(8192, 8192);
    a.rmtWnd = 8192;
    const b = new Kcp(9, (d, n) => toA.push(d.slice(0, n)));
    b.setWndSize(8192, 8192);
    const out = new Uint8Array(2000);
    const t = { now: 0, sent: 0, received: 0 };
    const burst = (count: number): void => {
      const msg = new Uint8Array(a.mss);
      for (let i = 0; i < count; i++) a.send(msg.fill(t.sent++ & 0xff));
      a.flush((t.now += 10));
      for (const d of toB.splice(0)) b.input(d);
      for (let n = b.recv(out); n >= 0; n = b.recv(out)) {
        expect(out.subarray(0, n).every((x) => x === out[0])).toBe(true); // a slot holds its own bytes
        expect(out[0]).toBe(t.received & 0xff);
        t.received++;
      }
      b.flush((t.now += 10));
      for (const d of toA.splice(0)) a.input(d);
    };
    return { a, b, t, burst };
  }

  it('1,500 segments take one ArrayBuffer per KCP_SLAB_MAX_SEGS of them, sender and receiver', () => {
    const { a, b, t, burst } = pair();
    burst(1500);
    expect(t.received).toBe(1500);
    expect(a.stats.segAllocs).toBeGreaterThanOrEqual(1500);
    expect(a.stats.segBufferAllocs).toBeLessThanOrEqual(Math.ceil(1500 / KCP_SLAB_MAX_SEGS) + 4);
    expect(b.stats.segBufferAllocs).toBeLessThanOrEqual(Math.ceil(b.stats.segAllocs / KCP_SLAB_MAX_SEGS) + 4);
  });

  it('once idle, the pool hands every slot back: no slab stays, and the next burst carves from small slabs', () => {
    const { a, t, burst } = pair();
    burst(1500);
    expect(a.waitSnd()).toBe(0);
    a.flush((t.now += 10));
    expect(a.npool).toBe(KCP_POOL_MAX_SEGS);
    expect(a.nslabs).toBe(0);
    const buffers = a.stats.segBufferAllocs;
    const segs = a.stats.segAllocs;
    burst(4);
    expect(t.received).toBe(1504);
    expect(a.stats.segAllocs).toBe(segs); // the spares were kept
    expect(a.stats.segBufferAllocs).toBe(buffers + 1);
    expect(a.nslabs).toBe(1);
  });

  it('gives a segment longer than its mss a buffer of its own, and keeps its bytes', () => {
    const toB: Uint8Array[] = [];
    const a = new Kcp(3, (d, n) => toB.push(d.slice(0, n)));
    const b = new Kcp(3, () => {});
    b.setMtu(600); // b's mss is smaller than what a sends
    const msg = new Uint8Array(1000).map((_, i) => i & 0xff);
    a.send(msg);
    for (let now = 10; now <= 30; now += 10) a.flush(now);
    for (const d of toB.splice(0)) b.input(d);
    const out = new Uint8Array(2000);
    expect(b.recv(out)).toBe(1000);
    expect(out.subarray(0, 1000)).toEqual(msg);
    expect(b.stats.segBufferAllocs).toBe(1);
    expect(b.nslabs).toBe(0);
  });

  it('stream mode: a segment carved before the mss grew moves to a full-size slot and keeps its bytes', () => {
    const toB: Uint8Array[] = [];
    const a = new Kcp(4, (d, n) => toB.push(d.slice(0, n)));
    a.stream = 1;
    a.setMtu(200);
    a.send(new Uint8Array(100).fill(1)); // one segment of 100 bytes in a slot of the old mss
    a.setMtu(1400);
    a.send(new Uint8Array(1000).fill(2)); // extends it past its slot
    expect(a.nslabs).toBe(1); // the old slot was handed back, its slab let go
    const b = new Kcp(4, () => {});
    b.stream = 1;
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
