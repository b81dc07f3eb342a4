// Kcp control block: send/recv semantics, configuration clamps, cwnd arithmetic, retransmission
// schedules per nodelay mode, fast resend, zero-window probing, the dead-link flag, sequence
// wrap-around and input() rejection codes.
import { describe, expect, it } from 'vitest';
import type { AckEchoConfig } from '../../src/arq/ack-echo.js';
import { KcpCmd, presets, type KcpPresetName } from '../../src/arq/constants.js';
import { Kcp } from '../../src/arq/kcp.js';
import { decodeDatagram, encodeDatagram, encodeSegment, type SegmentHeader } from '../../src/arq/segment.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { KcpPair } from './sim-pair.js';

function capture(conv = 1): { k: Kcp; out: Uint8Array[] } {
  const out: Uint8Array[] = [];
  const k = new Kcp(conv, (d, n) => out.push(d.slice(0, n)));
  return { k, out };
}

function seg(h: Partial<SegmentHeader>, payload = new Uint8Array(0)): Uint8Array {
  return encodeSegment({ conv: 1, cmd: KcpCmd.Wins, frg: 0, wnd: 128, ts: 0, sn: 0, una: 0, len: payload.length, ...h }, payload);
}

const text = (s: string) => new TextEncoder().encode(s);

describe('Kcp output', () => {
  it('sends nothing on the first flush (cwnd starts at 0) and the exact PUSH bytes on the next', () => {
    const { k, out } = capture(1);
    expect(k.send(text('hi'))).toBe(2);
    k.update(1000);
    expect(out).toEqual([]);
    expect(k.cwnd).toBe(1);
    k.update(1100);
    expect(out.map(toHex)).toEqual(['01000000 51 00 8000 4c040000 00000000 00000000 02000000 6869'.replace(/ /g, '')]);
  });

  it('acks a PUSH with (sn, ts) echoed, our window and una, at the next flush', () => {
    const { k, out } = capture(1);
    k.update(0);
    expect(k.input(seg({ cmd: KcpCmd.Push, sn: 0, ts: 0x01020304, len: 1 }, text('x')))).toBe(0);
    k.flush(10);
    // wnd 127: the message waits in rcv_queue until recv().
    expect(out.map(toHex)).toEqual(['01000000 52 00 7f00 04030201 00000000 01000000 00000000'.replace(/ /g, '')]);
  });

  it('packs ACKs and data into datagrams no larger than mtu', () => {
    const { k, out } = capture(1);
    k.setNodelay(1, 10, 0, 1);
    k.setWndSize(256, 256);
    for (let i = 0; i < 100; i++) k.input(seg({ cmd: KcpCmd.Push, sn: i, len: 0 }));
    for (let i = 0; i < 10; i++) k.send(new Uint8Array(1000));
    k.flush(0);
    expect(out.every((d) => d.length <= 1400)).toBe(true);
    const segs = out.flatMap((d) => decodeDatagram(d));
    expect(segs.filter((s) => s.header.cmd === KcpCmd.Ack)).toHaveLength(100);
    expect(segs.filter((s) => s.header.cmd === KcpCmd.Push)).toHaveLength(10);
    // 58 ACKs (1392 bytes) fill a datagram, 42 more start the next, then each 1024-byte PUSH needs its own.
    expect(out.map((d) => d.length)).toEqual([58 * 24, 42 * 24, ...Array(10).fill(1024)]);
  });

  it('leaves reservedBytes of headroom at the front of every datagram, inside the mtu', () => {
    const out: Uint8Array[] = [];
    const k = new Kcp(1, (d, n) => out.push(d.slice(0, n)), { reservedBytes: 8 });
    expect(k.mss).toBe(1400 - 24 - 8);
    k.setNodelay(0, 10, 0, 1);
    k.send(new Uint8Array(k.mss).fill(7));
    k.flush(0);
    expect(out).toHaveLength(1);
    expect(out[0]!.length).toBe(1400);
    expect(decodeDatagram(out[0]!.subarray(8))[0]!.payload.length).toBe(1368);
  });
});

describe('send and recv', () => {
  it.each([
    ['empty message is one segment', 0, 1, 0],
    ['exactly mss is one segment', 1376, 1, 1376],
    ['mss + 1 is two fragments', 1377, 2, 1377],
    ['127 fragments is the most a message may have', 127 * 1376, 127, 127 * 1376],
    ['128 fragments fails with -2', 127 * 1376 + 1, 0, -2],
  ])('message mode: %s', (_why, len, segs, ret) => {
    const { k } = capture();
    expect(k.send(new Uint8Array(len))).toBe(ret);
    expect(k.nsndQue).toBe(segs);
  });

  it('stream mode tops up the last queued segment and never fragments', () => {
    const { k, out } = capture();
    k.stream = 1;
    k.setNodelay(0, 10, 0, 1);
    expect(k.send(text('abc'))).toBe(3);
    expect(k.send(text('def'))).toBe(3);
    expect(k.nsndQue).toBe(1);
    expect(k.send(new Uint8Array(2000))).toBe(2000);
    expect(k.nsndQue).toBe(2);
    k.flush(0);
    const segs = out.flatMap((d) => decodeDatagram(d));
    expect(segs.map((s) => [s.header.frg, s.header.len])).toEqual([
      [0, 1376],
      [0, 630],
    ]);
    expect(new TextDecoder().decode(segs[0]!.payload.subarray(0, 6))).toBe('abcdef');
  });

  it('recv returns -1 empty, -2 incomplete, -3 small buffer, and then the whole message', () => {
    const { k } = capture();
    k.update(0);
    const buf = new Uint8Array(4000);
    expect(k.recv(buf)).toBe(-1);
    expect(k.peekSize()).toBe(-1);
    k.input(seg({ cmd: KcpCmd.Push, sn: 0, frg: 1, len: 3 }, text('abc')));
    expect(k.recv(buf)).toBe(-2);
    k.input(seg({ cmd: KcpCmd.Push, sn: 1, frg: 0, len: 2 }, text('de')));
    expect(k.peekSize()).toBe(5);
    expect(k.recv(new Uint8Array(4))).toBe(-3);
    expect(k.recv(buf)).toBe(5);
    expect(new TextDecoder().decode(buf.subarray(0, 5))).toBe('abcde');
    expect(k.recv(buf)).toBe(-1);
  });

  it('holds out-of-order segments in rcv_buf and drops duplicates', () => {
    const { k } = capture();
    k.update(0);
    k.input(seg({ cmd: KcpCmd.Push, sn: 2, len: 1 }, text('c')));
    k.input(seg({ cmd: KcpCmd.Push, sn: 1, len: 1 }, text('b')));
    k.input(seg({ cmd: KcpCmd.Push, sn: 1, len: 1 }, text('b')));
    expect([k.nrcvBuf, k.nrcvQue, k.stats.inDupSegs]).toEqual([2, 0, 1]);
    k.input(seg({ cmd: KcpCmd.Push, sn: 0, len: 1 }, text('a')));
    expect([k.nrcvBuf, k.nrcvQue, k.rcvNxt]).toEqual([0, 3, 3]);
    k.input(seg({ cmd: KcpCmd.Push, sn: 0, len: 1 }, text('a')));
    expect(k.stats.inDupSegs).toBe(2);
    k.input(seg({ cmd: KcpCmd.Push, sn: 3 + 128, len: 1 }, text('z')));
    expect(k.stats.inOutOfWindowSegs).toBe(1);
  });
});

describe('configuration clamps (as the reference)', () => {
  it.each([
    ['mtu below 50 is refused', 49, -1, 1376],
    ['mtu 50 is the smallest', 50, 0, 26],
    ['mtu 1500', 1500, 0, 1476],
  ])('setMtu: %s', (_why, mtu, ret, mss) => {
    const { k } = capture();
    expect(k.setMtu(mtu)).toBe(ret);
    expect(k.mss).toBe(mss);
  });

  it.each([
    ['below 10 ms clamps to 10', 5, 10],
    ['inside the range is kept', 33, 33],
    ['above 5000 ms clamps to 5000', 6000, 5000],
  ])('setFlushInterval: %s', (_why, ms, want) => {
    const { k } = capture();
    k.setFlushInterval(ms);
    expect(k.interval).toBe(want);
  });

  it.each([
    ['rcv_wnd is at least 128 (127 fragments must fit)', 16, 16, 16, 128],
    ['zero leaves both alone', 0, 0, 32, 128],
    ['large windows', 1024, 1024, 1024, 1024],
    ['clamped to the u16 wnd field', 100_000, 100_000, 65535, 65535],
  ])('setWndSize: %s', (_why, s, r, ws, wr) => {
    const { k } = capture();
    k.setWndSize(s, r);
    expect([k.sndWnd, k.rcvWnd]).toEqual([ws, wr]);
  });

  it.each([
    ['nodelay 1 lowers min RTO to 30', [1, 20, 2, 1], { nodelay: 1, rxMinrto: 30, interval: 20, fastresend: 2, nocwnd: 1 }],
    ['nodelay 0 restores 100', [0, 40, 0, 0], { nodelay: 0, rxMinrto: 100, interval: 40, fastresend: 0, nocwnd: 0 }],
    ['negative arguments leave settings alone', [-1, -1, -1, -1], { nodelay: 0, rxMinrto: 100, interval: 100, fastresend: 0, nocwnd: 0 }],
    ['interval clamps here too', [2, 1, 1, 1], { nodelay: 2, rxMinrto: 30, interval: 10, fastresend: 1, nocwnd: 1 }],
  ] as const)('setNodelay: %s', (_why, [nd, iv, rs, nc], want) => {
    const { k } = capture();
    k.setNodelay(nd, iv, rs, nc);
    expect({ nodelay: k.nodelay, rxMinrto: k.rxMinrto, interval: k.interval, fastresend: k.fastresend, nocwnd: k.nocwnd }).toEqual(want);
  });

  it.each([
    // default stays the reference's (no rate control); meshd's presets add rate control
    ['default', 0, 100, 0, 0, false],
    ['normal', 0, 40, 2, 1, true],
    ['fast', 0, 30, 2, 1, true],
    ['fast2', 1, 20, 2, 1, true],
    ['fast3', 1, 10, 2, 1, true],
  ] as const)('preset %s = (%d, %d, %d, %d), rate control %s', (name, nd, iv, rs, nc, rc) => {
    const p = presets[name as KcpPresetName];
    expect({ nodelay: p.nodelay, interval: p.interval, resend: p.resend, nc: p.nc, rc: 'rateControl' in p && p.rateControl }).toEqual({ nodelay: nd, interval: iv, resend: rs, nc, rc });
    const { k } = capture();
    k.usePreset(name);
    expect([k.nodelay, k.interval, k.fastresend, k.nocwnd, k.rateControl !== undefined]).toEqual([nd, iv, rs, nc, rc]);
    k.usePreset('default');
    expect(k.rateControl).toBeUndefined();
  });
});

describe('congestion window growth on una advance', () => {
  it.each([
    // why, cwnd, ssthresh, incr, peer wnd, una advance, -> cwnd, incr
    ['slow start adds one segment', 1, 2, 1376, 128, 1, 2, 2752],
    ['congestion avoidance adds mss^2/incr + mss/16 bytes', 4, 2, 5504, 128, 1, 4, 5934],
    ['cwnd jumps to ceil(incr/mss) once (cwnd+1)*mss <= incr', 4, 2, 6600, 128, 1, 6, 6972],
    ['incr below mss is raised to mss first', 2, 2, 0, 128, 1, 2, 2838],
    ['capped at the remote window', 5, 2, 100_000, 8, 1, 8, 8 * 1376],
    ['no growth once cwnd reaches the remote window', 8, 2, 11_008, 8, 1, 8, 11_008],
    ['no growth without una progress', 3, 2, 4128, 128, 0, 3, 4128],
  ])('%s', (_why, cwnd, ssthresh, incr, wnd, adv, cwnd2, incr2) => {
    const { k } = capture();
    k.setNodelay(0, 10, 0, 1);
    for (let i = 0; i < 5; i++) k.send(text('m'));
    k.flush(0);
    Object.assign(k, { cwnd, ssthresh, incr });
    k.input(seg({ wnd, una: adv }));
    expect([k.cwnd, k.incr]).toEqual([cwnd2, incr2]);
  });

  it('a timeout collapses cwnd to 1 and ssthresh to half the effective window', () => {
    const { k } = capture();
    k.setWndSize(64, 128);
    k.setNodelay(0, 10, 0, 0);
    Object.assign(k, { cwnd: 20 });
    for (let i = 0; i < 30; i++) k.send(text('m'));
    k.flush(0);
    expect(k.nsndBuf).toBe(20);
    k.flush(1000);
    expect([k.cwnd, k.ssthresh, k.stats.retransTimeout]).toEqual([1, 10, 20]);
  });
});

describe('retransmission timing per nodelay mode (rx_rto 200, interval 10, never acked)', () => {
  it.each([
    ['nodelay 0: first wait rto + rto/8, then doubling', 0, [0, 230, 630, 1430, 3030]],
    ['nodelay 1: no extra first wait, then x1.5', 1, [0, 200, 500, 950, 1630]],
    ['nodelay 2: no extra first wait, then + rx_rto/2 each time', 2, [0, 200, 500, 900, 1400]],
  ])('%s', (_why, nodelay, want) => {
    const t0 = 1000;
    const sent: number[] = [];
    let now = t0;
    const k = new Kcp(1, (d, n) => {
      for (const s of decodeDatagram(d.subarray(0, n))) if (s.header.cmd === KcpCmd.Push) sent.push(now - t0);
    });
    k.setNodelay(nodelay, 10, 0, 1);
    k.send(text('x'));
    for (; now <= t0 + 3100; now++) k.update(now);
    expect(sent.slice(0, 5)).toEqual(want);
  });

  it('check() points at the next flush or resend, never past now + interval', () => {
    const { k } = capture();
    k.setNodelay(1, 50, 0, 1);
    expect(k.check(5)).toBe(5); // before the first update: call update now
    k.send(text('x'));
    k.update(1000);
    expect(k.check(1000)).toBe(1050);
    expect(k.check(1049.5)).toBe(1050.5);
    k.setFlushInterval(5000);
    k.update(1050);
    expect(k.check(1100)).toBe(1200); // the segment's resend time (rto 200) comes before the flush
  });
});

describe('fast retransmit', () => {
  function inFlight(n: number): { k: Kcp; out: Uint8Array[] } {
    const c = capture();
    c.k.setNodelay(1, 10, 2, 1);
    for (let i = 0; i < n; i++) c.k.send(text('m'));
    c.k.flush(100);
    c.out.length = 0;
    return c;
  }
  const ack = (sn: number, ts: number) => seg({ cmd: KcpCmd.Ack, sn, ts });

  it('resends a segment skipped by `resend` later acks, before its timeout, and adjusts cwnd', () => {
    const { k, out } = inFlight(4);
    k.input(ack(1, 100), undefined, 110);
    k.flush(111);
    expect(out).toHaveLength(0);
    k.input(ack(2, 100), undefined, 112);
    k.flush(113);
    const resent = out.flatMap((d) => decodeDatagram(d)).filter((s) => s.header.cmd === KcpCmd.Push);
    expect(resent.map((s) => s.header.sn)).toEqual([0]);
    expect(k.stats.retransFast).toBe(1);
    // inflight = snd_nxt - snd_una = 4 -> ssthresh 2, cwnd = ssthresh + resend
    expect([k.ssthresh, k.cwnd]).toEqual([2, 4]);
  });

  it('counts several acks in one datagram once (fastack counts inputs, not acks)', () => {
    const { k } = inFlight(4);
    k.input(encodeDatagram([1, 2, 3].map((sn) => ({ header: { conv: 1, cmd: KcpCmd.Ack, frg: 0, wnd: 128, ts: 100, sn, una: 0, len: 0 }, payload: new Uint8Array(0) }))), undefined, 110);
    k.flush(111);
    expect(k.stats.retransFast).toBe(0);
  });

  it('IKCP_FASTACK_CONSERVE: an ack of an older transmission does not count against newer segments', () => {
    const { k } = inFlight(2);
    k.input(ack(1, 99), undefined, 110);
    k.input(ack(1, 99), undefined, 110);
    k.flush(111);
    expect(k.stats.retransFast).toBe(0);
    const other = inFlight(2);
    other.k.fastackConserve = false;
    other.k.input(ack(5, 99), undefined, 110); // out of range: ignored either way
    other.k.input(ack(1, 99), undefined, 110);
    other.k.input(ack(1, 99), undefined, 110);
    other.k.flush(111);
    expect(other.k.stats.retransFast).toBe(1);
  });

  it('stops fast-resending once xmit exceeds fastlimit', () => {
    const { k } = inFlight(6);
    k.fastlimit = 1;
    k.input(ack(1, 100), undefined, 110);
    k.input(ack(2, 100), undefined, 110);
    k.flush(111); // xmit 1 <= 1: fast resend, xmit 2
    k.input(ack(3, 111), undefined, 112);
    k.input(ack(4, 111), undefined, 112);
    k.flush(113); // xmit 2 > 1: no more
    expect(k.stats.retransFast).toBe(1);
  });

  it.each([
    ['conserve (ikcp.c): ACKs of segments sent just before the repair, in its ms, resend it again', false, [0, 0]],
    ['repairStrict (DEPARTURE 14): only ACKs of later-ms sends count for a repair', true, [0]],
  ] as const)('a repair and new segments in the same ms, %s', (_why, strict, want) => {
    const { k, out } = inFlight(4); // sn 0-3 at t=100; 0 is lost
    k.fastackRepairStrict = strict;
    k.input(ack(1, 100), undefined, 140);
    k.send(text('m')); // sn 4 and 5 leave at 150, before 0 is found lost
    k.send(text('m'));
    k.flush(150);
    k.input(ack(2, 100), undefined, 150);
    k.flush(150); // the repair of 0, also at 150
    k.input(ack(4, 150), undefined, 190); // 4 and 5 arrived before the repair: their ACKs come first
    k.input(ack(5, 150), undefined, 190);
    k.flush(191);
    const resent = out.flatMap((d) => decodeDatagram(d)).filter((s) => s.header.cmd === KcpCmd.Push && s.header.sn === 0);
    expect(resent.map((s) => s.header.sn)).toEqual(want);
  });
});

describe('ack echo (DEPARTURE 12)', () => {
  /**
   * Eight 1,000-byte segments (one per datagram), data segment 0 lost (a hole: una stays at 0) and
   * the receiver's ACK datagram sent right after segment `lostAck` arrived lost too; the receiver
   * flushes after each datagram, `gapMs` apart. Returns the sns the sender sends again.
   */
  function resentAfter(echo: boolean, lostAck: number, gapMs: number): { resent: number[]; echoes: number } {
    const s = capture();
    const r = capture();
    for (const k of [s.k, r.k]) {
      k.setNodelay(1, 10, 2, 1);
      k.ackEcho = echo;
    }
    for (let i = 0; i < 8; i++) s.k.send(new Uint8Array(1000));
    s.k.flush(100);
    const data = s.out.splice(0);
    const acks: Uint8Array[] = [];
    data.forEach((d, i) => {
      if (i === 0) return;
      const t = 110 + i * gapMs;
      r.k.input(d, undefined, t);
      r.k.flush(t);
      const sent = r.out.splice(0);
      if (i !== lostAck) acks.push(...sent);
    });
    for (const d of acks) s.k.input(d, undefined, 110 + 8 * gapMs);
    s.k.flush(111 + 8 * gapMs);
    const resent = s.out.flatMap((d) => decodeDatagram(d)).filter((x) => x.header.cmd === KcpCmd.Push).map((x) => x.header.sn);
    return { resent, echoes: r.k.stats.ackEchoes };
  }

  it.each([
    ['off (the reference): a lost ACK datagram makes a segment that arrived go again', false, 2, 1, [0, 2]],
    ['on: the next flush repeats the lost ack, only the lost segment goes again', true, 2, 1, [0]],
    ['on, but the flush before was longer ago than the echo window: no echo', true, 2, 11, [0, 2]],
  ] as const)('%s', (_why, echo, lostAck, gapMs, want) => {
    expect(resentAfter(echo, lostAck, gapMs).resent).toEqual(want);
  });

  /**
   * A busy receiver reads its socket in batches: 20 segments, data segment 0 lost (a hole), the rest
   * read in three batches (1-10, 11-14, 15-19) with a flush each, 1 ms apart; the first batch's ACK
   * datagram is lost. Returns the sns the sender sends again.
   */
  function resentAfterBatch(cfg: AckEchoConfig | undefined): number[] {
    const s = capture();
    const r = capture();
    for (const k of [s.k, r.k]) k.setNodelay(1, 10, 2, 1);
    r.k.ackEcho = true;
    if (cfg !== undefined) r.k.setAckEcho(cfg);
    for (let i = 0; i < 20; i++) s.k.send(new Uint8Array(1000));
    s.k.flush(100);
    const data = s.out.splice(0);
    const acks: Uint8Array[] = [];
    [[1, 11], [11, 15], [15, 20]].forEach(([from, to], batch) => {
      const t = 110 + batch;
      for (let i = from!; i < to!; i++) r.k.input(data[i]!, undefined, t);
      r.k.flush(t);
      const sent = r.out.splice(0);
      if (batch !== 0) acks.push(...sent);
    });
    for (const d of acks) s.k.input(d, undefined, 113);
    s.k.flush(114);
    return s.out.flatMap((d) => decodeDatagram(d)).filter((x) => x.header.cmd === KcpCmd.Push).map((x) => x.header.sn);
  }

  it.each([
    ['session 9 (the last 8 ACKs of the previous flush): the batch\'s first two go again', { capacity: 8, repeats: 1, windowMs: 10 }, [0, 1, 2]],
    ['the defaults (up to 64, in the next two flushes): only the lost segment goes again', undefined, [0]],
  ] as const)('a lost ACK datagram of a batch of ten, %s', (_why, cfg, want) => {
    expect(resentAfterBatch(cfg)).toEqual(want);
  });

  it('acks below una are not echoed (una says it already)', () => {
    const c = capture();
    c.k.ackEcho = true;
    c.k.setNodelay(1, 10, 2, 1);
    const push = (sn: number) => seg({ cmd: KcpCmd.Push, sn, ts: 100, len: 1 }, new Uint8Array(1));
    c.k.input(push(0), undefined, 100);
    c.k.flush(100);
    c.k.input(push(1), undefined, 101);
    c.k.flush(101);
    expect(c.k.stats.ackEchoes).toBe(0);
    const last = decodeDatagram(c.out.at(-1)!);
    expect(last.map((x) => [x.header.cmd, x.header.sn, x.header.una])).toEqual([[KcpCmd.Ack, 1, 2]]);
  });
});

describe('zero-window probing', () => {
  it('a stalled receiver advertises 0; the sender probes with WASK after 7 s, then x1.5; recv reopens with WINS', () => {
    const sent: { from: string; cmd: number; t: number }[] = [];
    const p = new KcpPair({
      link: { delayMs: 5 },
      seed: 1,
      setup: (k) => k.setNodelay(1, 10, 2, 1),
      tap: (from, d, n, t) => {
        for (const s of decodeDatagram(d.subarray(0, n))) sent.push({ from, cmd: s.header.cmd, t });
      },
    });
    for (let i = 0; i < 300; i++) p.a.send(new Uint8Array([i & 255, i >> 8]));
    expect(p.runUntil(() => p.a.rmtWnd === 0 && p.a.nsndBuf === 0, 10_000)).toBe(true);
    const t0 = p.now;
    p.runUntil(() => false, 40_000);
    const wasks = sent.filter((s) => s.from === 'a' && s.cmd === KcpCmd.Wask).map((s) => s.t - t0);
    expect(wasks.length).toBe(3);
    // first at ~7 s after rmt_wnd hit 0, then 10.5 s later, then 15.75 s later (within a flush interval)
    expect(wasks[0]).toBeGreaterThanOrEqual(6_990);
    expect(wasks[0]).toBeLessThanOrEqual(7_020);
    expect(wasks[1]! - wasks[0]!).toBeGreaterThanOrEqual(10_490);
    expect(wasks[1]! - wasks[0]!).toBeLessThanOrEqual(10_520);
    expect(wasks[2]! - wasks[1]!).toBeGreaterThanOrEqual(15_740);
    expect(wasks[2]! - wasks[1]!).toBeLessThanOrEqual(15_770);
    expect(sent.filter((s) => s.from === 'b' && s.cmd === KcpCmd.Wins).length).toBe(3);
    // The receiver drains: fast recover tells the window, the rest flows.
    const got: number[] = [];
    expect(
      p.runUntil(() => {
        for (const m of p.drain(p.b)) got.push(m[0]! | (m[1]! << 8));
        return got.length === 300;
      }, 5_000),
    ).toBe(true);
    expect(got).toEqual([...Array(300).keys()]);
  });
});

describe('dead link', () => {
  it.each([
    ['default limit 20', 20],
    ['lowered limit', 5],
  ])('flags state -1 once a segment was sent dead_link times (%s), without tearing down', (_why, limit) => {
    let pushes = 0;
    let now = 0;
    const k = new Kcp(1, (d, n) => {
      pushes += decodeDatagram(d.subarray(0, n)).filter((s) => s.header.cmd === KcpCmd.Push).length;
    });
    k.setNodelay(2, 10, 0, 1);
    k.deadLink = limit;
    k.send(text('x'));
    for (; pushes < limit - 1; now++) k.update(now);
    expect(k.state).toBe(0);
    for (; pushes < limit; now++) k.update(now);
    expect(k.state).toBe(-1);
    expect(k.isDeadLink).toBe(true);
    expect(k.waitSnd()).toBe(1);
  });
});

describe('32-bit sequence wrap-around (initialSn test hook)', () => {
  it.each([0xffffff00, 0xfffffff0, 0x7fffffc0])('delivers everything in order across the wrap from sn %d', (sn0) => {
    const p = new KcpPair({ link: { loss: 0.1, delayMs: 20, jitterMs: 10 }, seed: sn0, kcp: { initialSn: sn0 }, setup: (k) => k.usePreset('fast3') });
    const n = 600;
    for (let i = 0; i < n; i++) p.a.send(new Uint8Array(1 + (i % 3000)).fill(i & 255));
    const got: Uint8Array[] = [];
    expect(p.runUntil(() => (got.push(...p.drain(p.b)), got.length === n), 120_000)).toBe(true);
    got.forEach((m, i) => {
      expect(m.length).toBe(1 + (i % 3000));
      expect(m[0]).toBe(i & 255);
    });
    expect(p.a.sndNxt).toBe((sn0 + p.a.sndNxt - sn0) >>> 0);
    expect(((p.a.sndNxt - sn0) >>> 0) > 0x100).toBe(true);
    if (sn0 > 0xf0000000) expect(p.b.rcvNxt).toBeLessThan(0x10000);
  });
});

describe('input rejections', () => {
  const good = seg({ cmd: KcpCmd.Push, sn: 0, len: 2 }, text('ok'));
  it.each([
    ['empty', new Uint8Array(0), -1, 'short'],
    ['23 bytes', good.subarray(0, 23), -1, 'short'],
    ['wrong conv', seg({ conv: 2 }), -1, 'conv'],
    ['len beyond the datagram (truncated)', good.subarray(0, 25), -2, 'len'],
    ['len with the top bit set', fromHex('01000000 54 00 8000 00000000 00000000 00000000 ffffffff'), -2, 'len'],
    ['unknown cmd', seg({ cmd: 85 }), -3, 'cmd'],
    ['a good segment followed by a bad one is rejected whole', new Uint8Array([...good, ...seg({ cmd: 0 })]), -3, 'cmd'],
  ] as const)('%s: code and counted reason, state untouched', (_why, d, code, reason) => {
    const { k } = capture();
    k.update(0);
    const before = JSON.stringify([k.rcvNxt, k.rmtWnd, k.nrcvQue, k.nrcvBuf, k.sndUna, k.probe]);
    expect(k.input(d)).toBe(code);
    expect(k.stats.drops[reason]).toBe(1);
    expect(JSON.stringify([k.rcvNxt, k.rmtWnd, k.nrcvQue, k.nrcvBuf, k.sndUna, k.probe])).toBe(before);
  });

  it('ignores fewer than 24 trailing bytes like the reference', () => {
    const { k } = capture();
    expect(k.input(new Uint8Array([...good, 1, 2, 3]))).toBe(0);
    expect(k.nrcvQue).toBe(1);
  });
});
