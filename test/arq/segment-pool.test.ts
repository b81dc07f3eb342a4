// The segment pool (kcp.ts poolCap): while a transfer holds data, segments its ACKs release are
// reused by the next sends instead of being dropped to the garbage collector; once the control
// block holds nothing the pool shrinks back to KCP_POOL_MAX_SEGS spares (issue 19 item 7).
import { describe, expect, it } from 'vitest';
import { Kcp } from '../../src/arq/kcp.js';
import { KCP_POOL_MAX_SEGS } from '../../src/arq/constants.js';

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
