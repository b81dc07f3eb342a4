// Unordered delivery's placeholders (kcp.ts DEPARTURE 11) hold no payload buffer: a receiver
// waiting for one repair behind thousands of early segments (200 ms RTT, 5 % loss: 5,000-8,000)
// allocates no segment buffer per placeholder (issue 19 item 7, session 7).
import { describe, expect, it } from 'vitest';
import { Kcp } from '../../src/arq/kcp.js';

describe('unordered delivery placeholders', () => {
  it('hold no segment buffer while a gap waits for its repair, and are recycled', () => {
    const toB: Uint8Array[] = [];
    const toA: Uint8Array[] = [];
    // Every datagram of A is one full segment (full-mss messages, no congestion window).
    const a = new Kcp(7, (d, n) => toB.push(d.slice(0, n)));
    a.setNodelay(1, 10, 0, 1);
    a.setWndSize(4096, 4096);
    a.rmtWnd = 4096; // as if B had told it (its window is 4096)
    const b = new Kcp(7, (d, n) => toA.push(d.slice(0, n)));
    b.setWndSize(4096, 4096);
    b.unordered = true;
    const out = new Uint8Array(2000);
    const msg = new Uint8Array(a.mss);
    const n = 1000;
    let now = 0;
    let delivered = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < n; i++) expect(a.send(msg)).toBe(a.mss);
      a.flush((now += 10));
      expect(toB.length).toBe(n);
      const [first, ...rest] = toB.splice(0);
      for (const d of rest) {
        expect(b.input(d)).toBe(0);
        while (b.recv(out) >= 0) delivered++;
      }
      // Everything past the lost first segment went out at once; a placeholder each waits for it.
      expect(b.nrcvBuf).toBe(n - 1);
      expect(b.input(first!)).toBe(0);
      while (b.recv(out) >= 0) delivered++;
      expect(b.nrcvBuf).toBe(0);
      // B's ACKs clear A for the next round.
      b.flush((now += 10));
      for (const d of toA.splice(0)) a.input(d);
      expect(a.waitSnd()).toBe(0);
    }
    expect(delivered).toBe(3 * n);
    // Before the fix: an mss-sized buffer per placeholder (~n per round, past the pool of 256).
    expect(b.stats.segAllocs).toBeLessThanOrEqual(2);
  });
});
