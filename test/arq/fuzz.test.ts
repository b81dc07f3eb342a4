// Seeded fuzz over Kcp.input: random and mutated datagrams never throw, every rejection is counted
// under its reason, a rejected datagram changes nothing, and the control block's invariants hold.
import { describe, expect, it } from 'vitest';
import { KcpCmd } from '../../src/arq/constants.js';
import { Kcp } from '../../src/arq/kcp.js';
import { seqDiff } from '../../src/arq/seq.js';
import { Rng } from '../fakes/rng.js';

function snapshot(k: Kcp): string {
  return JSON.stringify([k.sndUna, k.sndNxt, k.rcvNxt, k.rmtWnd, k.cwnd, k.incr, k.rxSrtt, k.rxRto, k.probe, k.nrcvQue, k.nrcvBuf, k.nsndBuf, k.nsndQue]);
}

/** The control block's invariants; returns the first broken one, or ''. */
function brokenInvariant(k: Kcp): string {
  const inflight = seqDiff(k.sndNxt, k.sndUna);
  if (inflight < 0 || inflight > k.sndWnd) return `inflight ${inflight}`;
  if (k.nsndBuf > inflight) return `nsndBuf ${k.nsndBuf} > inflight ${inflight}`;
  if (k.nrcvQue > k.rcvWnd) return `nrcvQue ${k.nrcvQue}`;
  if (k.nrcvBuf > k.rcvWnd) return `nrcvBuf ${k.nrcvBuf}`;
  if (k.rxRto < Math.min(k.rxMinrto, 200) || k.rxRto > 60_000) return `rxRto ${k.rxRto}`;
  if (k.updated && k.cwnd < 1) return `cwnd ${k.cwnd}`;
  if (k.rmtWnd > 0xffff) return `rmtWnd ${k.rmtWnd}`;
  return '';
}

/** Mutations of a captured datagram: byte flips, truncation, extension, header field damage. */
function mutate(rng: Rng, d: Uint8Array): Uint8Array {
  const b = new Uint8Array(d);
  switch (rng.int(6)) {
    case 0:
      for (let k = 1 + rng.int(4); k > 0; k--) b[rng.int(b.length)] = rng.int(256);
      return b;
    case 1:
      return b.subarray(0, rng.int(b.length));
    case 2:
      return new Uint8Array([...b, ...rng.bytes(1 + rng.int(40))]);
    case 3:
      b[4] = rng.int(256); // cmd
      return b;
    case 4:
      new DataView(b.buffer).setUint32(20, rng.next() * 2 ** 32, true); // len
      return b;
    default:
      new DataView(b.buffer).setUint32(16, rng.next() * 2 ** 32, true); // una
      return b;
  }
}

describe('input fuzz', () => {
  it.each([1, 2, 3])('seed %d: never throws, counts reasons, rejections change nothing, invariants hold', (seed) => {
    const rng = new Rng(seed);
    const captured: Uint8Array[] = [];
    let now = 0;
    const a = new Kcp(7, (d, n) => captured.push(d.slice(0, n)));
    const b = new Kcp(7, (d, n) => captured.push(d.slice(0, n)));
    for (const k of [a, b]) k.usePreset('fast3');
    const recvBuf = new Uint8Array(1 << 20);
    const recent: Uint8Array[] = [new Uint8Array(24).fill(7)];
    recent.length = 8;
    recent.fill(recent[0]!);
    const counts = { ok: 0, '-1': 0, '-2': 0, '-3': 0 } as Record<string, number>;
    for (let i = 0; i < 6000; i++) {
      now += 1 + rng.int(5);
      if (rng.chance(0.3) && a.waitSnd() < 200) a.send(rng.bytes(rng.int(3000)));
      a.update(now);
      b.update(now);
      // Genuine traffic both ways keeps the state interesting; keep the last few for mutation.
      while (captured.length > 0) {
        const d = captured.shift()!;
        recent[rng.int(recent.length)] = d;
        (rng.chance(0.5) ? a : b).input(d, d.length, now);
      }
      for (let j = 0; j < 3; j++) {
        let bad: Uint8Array;
        const r = rng.int(3);
        if (r === 0) bad = rng.bytes(rng.int(100));
        else if (r === 1) bad = mutate(rng, recent[rng.int(recent.length)]!);
        else {
          bad = rng.bytes(24 + rng.int(40));
          new DataView(bad.buffer).setUint32(0, 7, true);
          bad[4] = KcpCmd.Push + rng.int(5);
        }
        const before = snapshot(b);
        let ret = 0;
        try {
          ret = b.input(bad, bad.length, now);
        } catch (e) {
          throw new Error(`input threw on ${Buffer.from(bad).toString('hex')}: ${String(e)}`);
        }
        if (ret !== 0 && ret !== -1 && ret !== -2 && ret !== -3) throw new Error(`bad return ${ret}`);
        counts[ret === 0 ? 'ok' : String(ret)]!++;
        if (ret < 0 && snapshot(b) !== before) throw new Error(`rejected datagram changed state: ${Buffer.from(bad).toString('hex')}`);
      }
      if (rng.chance(0.5)) b.recv(recvBuf);
      expect(brokenInvariant(a) || brokenInvariant(b), `iteration ${i}`).toBe('');
    }
    const d = b.stats.drops;
    if (process.env.MESHD_TEST_LOGS) console.log(counts, d);
    expect(d.short + d.conv).toBe(counts['-1']);
    expect(d.len).toBe(counts['-2']);
    expect(d.cmd).toBe(counts['-3']);
    expect(counts['-1']).toBeGreaterThan(10);
    expect(counts['-2']).toBeGreaterThan(10);
    expect(counts['-3']).toBeGreaterThan(10);
    expect(counts.ok).toBeGreaterThan(10);
  });

  it('a session keeps delivering while rejected garbage is mixed in', () => {
    const rng = new Rng(99);
    const toB: Uint8Array[] = [];
    const toA: Uint8Array[] = [];
    const a = new Kcp(9, (d, n) => toB.push(d.slice(0, n)));
    const b = new Kcp(9, (d, n) => toA.push(d.slice(0, n)));
    for (const k of [a, b]) k.usePreset('fast3');
    const N = 300;
    for (let i = 0; i < N; i++) a.send(new Uint8Array(1 + (i % 2000)).fill(i & 255));
    const got: number[] = [];
    const buf = new Uint8Array(4000);
    for (let now = 0; now < 60_000 && got.length < N; now += 5) {
      a.update(now);
      b.update(now);
      for (const d of toB.splice(0)) {
        // random garbage (wrong conv: rejected) and truncated copies of real datagrams (rejected
        // unless the cut falls on a segment boundary, when the reference accepts the prefix too)
        const junk = rng.bytes(24 + rng.int(50));
        expect(b.input(junk, junk.length, now)).toBe(-1);
        const cut = d.subarray(0, Math.max(0, d.length - 1 - rng.int(30)));
        b.input(cut, cut.length, now);
        if (rng.chance(0.9)) b.input(d, d.length, now);
      }
      for (const d of toA.splice(0)) a.input(d, d.length, now);
      for (let n = b.recv(buf); n >= 0; n = b.recv(buf)) got.push(buf[0]!);
    }
    expect(got).toEqual([...Array(N).keys()].map((i) => i & 255));
  });
});
