// kcp.ts flushPaced's repairs while ACKs flow (DEPARTURE 13): a lost segment is found from the
// send order (RACK: sent before a segment since acked, unacked srtt + reoWnd after its send) or
// from the segments fastack counted, without a walk of the window, and nothing times out; when
// ACKs stop for an RTO the per-segment walk resends by timeout. A 200 ms path on virtual time, the
// sender app-limited at 2 segments per ms (~400 in flight), woken only when check() asks, as
// kcp-timer.ts does, so a repair scheduled too late shows up as a late resend.
import { describe, expect, it } from 'vitest';
import { Kcp } from '../../src/arq/kcp.js';
import { KcpCmd } from '../../src/arq/constants.js';
import { readU32LE } from '../../src/arq/segment.js';

const ONE_WAY_MS = 100;
const SEG = 1000;

interface Flight {
  at: number;
  bytes: Uint8Array;
}

interface RunOptions {
  fastresend: number;
  /** Whether the n-th transmission (1-based) of sn is lost. */
  drop: (sn: number, n: number) => boolean;
  /** B's ACKs are lost in [from, to) ms. */
  ackGap?: [number, number];
  ms: number;
}

function run(o: RunOptions) {
  let now = 0;
  const ab: Flight[] = [];
  const ba: Flight[] = [];
  const sends = new Map<number, number[]>();
  const a = new Kcp(7, (d, n) => {
    const bytes = d.slice(0, n);
    // One PUSH per datagram here (segments of SEG bytes; A sends no ACKs of its own).
    if (bytes[4] === KcpCmd.Push) {
      const sn = readU32LE(bytes, 12);
      const times = sends.get(sn) ?? [];
      times.push(now);
      sends.set(sn, times);
      if (o.drop(sn, times.length)) return;
    }
    ab.push({ at: now + ONE_WAY_MS, bytes });
  });
  const b = new Kcp(7, (d, n) => {
    if (o.ackGap && now >= o.ackGap[0] && now < o.ackGap[1]) return;
    ba.push({ at: now + ONE_WAY_MS, bytes: d.slice(0, n) });
  });
  for (const k of [a, b]) {
    k.usePreset('fast2');
    k.setWndSize(4096, 4096);
  }
  a.rackLoss = true;
  a.fastackRepairStrict = true;
  a.fastresend = o.fastresend;
  b.unordered = true;
  const payload = new Uint8Array(SEG);
  const rcv = new Uint8Array(2 * SEG);
  let wakeA = 0;
  let delivered = 0;
  for (now = 1; now <= o.ms; now++) {
    if (a.waitSnd() < 1000) for (let i = 0; i < 2; i++) a.send(payload);
    while (ab.length > 0 && ab[0]!.at <= now) b.input(ab.shift()!.bytes);
    b.flush(now);
    while (b.recv(rcv) >= 0) delivered++;
    let acked = false;
    while (ba.length > 0 && ba[0]!.at <= now) {
      a.input(ba.shift()!.bytes);
      acked = true;
    }
    // ACKs: flush now (kcp-channel.ts); otherwise only when check() asked (new data included).
    if (acked || now >= wakeA) {
      a.flush(now);
      wakeA = a.check(now);
    }
  }
  return { a, b, sends, delivered };
}

describe('flushPaced repairs a loss in a flowing flight from the send order', () => {
  it('fast retransmit: resent once, ~1 RTT after the loss, no RACK resend and no timeout', () => {
    const lost = [1200, 1201, 1500];
    const r = run({ fastresend: 2, drop: (sn, n) => n === 1 && lost.includes(sn), ms: 2500 });
    for (const sn of lost) {
      const t = r.sends.get(sn)!;
      expect(t).toHaveLength(2);
      expect(t[1]! - t[0]!).toBeGreaterThanOrEqual(2 * ONE_WAY_MS);
      expect(t[1]! - t[0]!).toBeLessThan(2 * ONE_WAY_MS + 25);
    }
    expect(r.a.stats.retransFast).toBe(3);
    expect(r.a.stats.retransRack).toBe(0);
    expect(r.a.stats.retransTimeout).toBe(0);
    // No needless copy beyond the thin-stream copies of the first segments (kcp.ts flushPaced).
    expect(r.b.stats.inDupSegs).toBe(r.a.stats.thinCopies);
  });

  it('RACK alone (no fast retransmit): resent srtt + reoWnd after its send, woken by check()', () => {
    const lost = [1200, 1500];
    const r = run({ fastresend: 0, drop: (sn, n) => n === 1 && lost.includes(sn), ms: 2500 });
    for (const sn of lost) {
      const t = r.sends.get(sn)!;
      expect(t).toHaveLength(2);
      // srtt ~200 ms + reoWnd (a quarter of the min RTT, 50 ms), within a flush interval or two.
      expect(t[1]! - t[0]!).toBeGreaterThanOrEqual(2 * ONE_WAY_MS + 40);
      expect(t[1]! - t[0]!).toBeLessThan(2 * ONE_WAY_MS + 100);
    }
    expect(r.a.stats.retransRack).toBe(2);
    expect(r.a.stats.retransFast).toBe(0);
    expect(r.a.stats.retransTimeout).toBe(0);
  });

  it('a lost repair is found again by RACK from its new place in the send order', () => {
    const r = run({ fastresend: 0, drop: (sn, n) => sn === 1200 && n <= 2, ms: 3000 });
    const t = r.sends.get(1200)!;
    expect(t).toHaveLength(3);
    for (const k of [1, 2]) {
      expect(t[k]! - t[k - 1]!).toBeGreaterThanOrEqual(2 * ONE_WAY_MS + 40);
      expect(t[k]! - t[k - 1]!).toBeLessThan(2 * ONE_WAY_MS + 100);
    }
    expect(r.a.stats.retransRack).toBe(2);
    expect(r.a.stats.retransTimeout).toBe(0);
  });

  it('ACKs lost for longer than an RTO: the per-segment walk resends by timeout, then flow resumes', () => {
    const r = run({ fastresend: 2, drop: () => false, ackGap: [1000, 1600], ms: 3000 });
    expect(r.a.stats.retransTimeout).toBeGreaterThan(0);
    expect(r.a.waitSnd()).toBeLessThan(1100);
    // Everything sent was delivered once (duplicates are the timeouts' copies, counted apart).
    expect(r.delivered).toBe(r.b.rcvNxt);
  });
});
