// KcpStream over a lossy in-memory link on a ManualClock: byte integrity both ways at loss (SHA-256),
// the backpressure bound with a stalled reader, half-close, reset, dead link.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KcpStream, streamHighWaterSegs, streamMtuBytes, streamWindowSegs } from '../../src/publish/kcp-stream.js';
import { decodeInner, InnerKind, StreamOp } from '../../src/wire/inner.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { Rng } from '../fakes/rng.js';

interface End {
  s: KcpStream;
  got: Uint8Array[];
  ended: boolean;
  closed: string | undefined | null; // null = not yet
  drains: number;
}

function pair(loss: number, seed = 1, delayMs = 10) {
  const clock = new ManualClock();
  const rng = new Rng(seed);
  let cut = false;
  const ends: End[] = [];
  const mk = (peerIdx: number): End => {
    const e: End = { s: undefined as unknown as KcpStream, got: [], ended: false, closed: null, drains: 0 };
    e.s = new KcpStream({
      conv: 42,
      clock,
      send: (inner) => {
        if (cut || rng.chance(loss)) return;
        const copy = inner.slice();
        clock.setTimer(delayMs, () => {
          const m = decodeInner(copy);
          if (m.kind !== InnerKind.STREAM) throw new Error('not a STREAM message');
          const to = ends[peerIdx]!.s;
          if (m.op === StreamOp.DATA) to.input(m.payload);
          else to.remoteReset(new TextDecoder().decode(m.payload));
        });
      },
    });
    e.s.handlers = {
      onData: (c) => e.got.push(c.slice()),
      onEnd: () => (e.ended = true),
      onDrain: () => e.drains++,
      onClose: (r) => (e.closed = r),
    };
    return e;
  };
  ends.push(mk(1), mk(0));
  return { clock, a: ends[0]!, b: ends[1]!, cutLink: () => (cut = true) };
}

const sha = (parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

/** Writes `data` in 64 KB chunks honouring write() === false / onDrain, advancing the clock. */
function pump(clock: ManualClock, e: End, data: Uint8Array, stepMs = 5, maxSteps = 200_000): void {
  let off = 0;
  for (let i = 0; i < maxSteps && off < data.byteLength; i++) {
    while (off < data.byteLength && !e.s.needsDrain) e.s.write(data.subarray(off, (off += 65536)));
    clock.advance(stepMs);
  }
}

describe('KcpStream', () => {
  it.each([
    ['no loss', 0, 1],
    ['5 % loss', 0.05, 2],
    ['20 % loss', 0.2, 3],
  ])('moves 2 MB each way intact with %s, then closes cleanly', (_why, loss, seed) => {
    const { clock, a, b } = pair(loss, seed);
    const rng = new Rng(seed + 100);
    const upA = rng.bytes(2 << 20);
    const upB = rng.bytes(2 << 20);
    let offA = 0;
    let offB = 0;
    for (let i = 0; i < 100_000 && (offA < upA.length || offB < upB.length); i++) {
      while (offA < upA.length && !a.s.needsDrain) a.s.write(upA.subarray(offA, (offA += 65536)));
      while (offB < upB.length && !b.s.needsDrain) b.s.write(upB.subarray(offB, (offB += 65536)));
      clock.advance(5);
    }
    a.s.end();
    b.s.end();
    for (let i = 0; i < 20_000 && (a.closed === null || b.closed === null); i++) clock.advance(10);
    expect(sha(b.got)).toBe(sha([upA]));
    expect(sha(a.got)).toBe(sha([upB]));
    expect(a.ended && b.ended).toBe(true);
    expect([a.closed, b.closed]).toEqual([undefined, undefined]);
    expect(a.s.maxWaitSnd).toBeLessThanOrEqual(streamHighWaterSegs + Math.ceil(65536 / (streamMtuBytes - 30)) + 1);
    clock.advance(5_000); // linger over: nothing keeps a timer
    expect(clock.pending).toBe(0);
  });

  it('bounds memory with a stalled reader: the sender stops at the high-water mark, then resumes', () => {
    const { clock, a, b } = pair(0);
    b.s.pauseDelivery();
    const data = new Rng(7).bytes(8 << 20);
    let off = 0;
    let refused = 0;
    for (let i = 0; i < 2_000; i++) {
      while (off < data.length && !a.s.needsDrain) if (!a.s.write(data.subarray(off, (off += 65536)))) refused++;
      clock.advance(10);
    }
    // 20 s with a reader that takes nothing: the writer was told to stop and never queued much.
    expect(refused).toBeGreaterThan(0);
    expect(off).toBeLessThan(2 << 20);
    expect(a.s.maxWaitSnd).toBeLessThanOrEqual(streamHighWaterSegs + Math.ceil(65536 / (streamMtuBytes - 30)) + 1);
    expect(b.got.length).toBe(0);
    // The receiver holds at most its window.
    expect(b.s.bytesReceived).toBe(0);
    b.s.resumeDelivery();
    for (let i = 0; i < 100_000 && off < data.length; i++) {
      while (off < data.length && !a.s.needsDrain) a.s.write(data.subarray(off, (off += 65536)));
      clock.advance(5);
    }
    for (let i = 0; i < 2_000 && b.s.bytesReceived < data.length; i++) clock.advance(5);
    expect(a.drains).toBeGreaterThan(0);
    expect(sha(b.got)).toBe(sha([data]));
    expect(streamWindowSegs).toBeLessThan(streamHighWaterSegs);
  });

  it('half-closes: after A ends, B still sends to A; the close completes when B ends', () => {
    const { clock, a, b } = pair(0.05, 9);
    a.s.write(new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n'));
    a.s.end();
    clock.advance(500);
    expect(b.ended).toBe(true);
    expect(a.closed).toBe(null);
    expect(a.s.write(new Uint8Array(1))).toBe(false); // no writes after end()
    const reply = new Rng(4).bytes(300_000);
    pump(clock, b, reply);
    const have = () => a.got.reduce((n, c) => n + c.byteLength, 0);
    for (let i = 0; i < 600 && have() < reply.byteLength; i++) clock.advance(100); // at most 60 s at 5 % loss
    expect(sha(a.got)).toBe(sha([reply]));
    expect(a.closed).toBe(null);
    b.s.end();
    for (let i = 0; i < 1_000 && (a.closed === null || b.closed === null); i++) clock.advance(10);
    expect(a.ended).toBe(true);
    expect([a.closed, b.closed]).toEqual([undefined, undefined]);
  });

  it('resets: the other side closes with the reason', () => {
    const { clock, a, b } = pair(0);
    a.s.write(new Uint8Array(10));
    clock.advance(100);
    b.s.reset('target 127.0.0.1:80: ECONNREFUSED');
    clock.advance(100);
    expect(b.closed).toBe('target 127.0.0.1:80: ECONNREFUSED');
    expect(a.closed).toBe('reset by the other side: target 127.0.0.1:80: ECONNREFUSED');
    expect(clock.pending).toBe(0);
  });

  it('gives up on a dead link with a reason, and keeps no timer', () => {
    const { clock, a, cutLink } = pair(0);
    cutLink();
    a.s.write(new Uint8Array(1000));
    for (let i = 0; i < 600 && a.closed === null; i++) clock.advance(1_000);
    expect(String(a.closed)).toMatch(/dead link: nothing heard for 6\d s/);
    expect(clock.pending).toBe(0);
  });

  it('sleeps when idle: no timer while nothing is in flight', () => {
    const { clock, a, b } = pair(0);
    a.s.write(new Uint8Array(5000));
    clock.advance(200);
    expect(b.s.bytesReceived).toBe(5000);
    expect(clock.pending).toBe(0);
  });

  it('a FIN after more than 60 s idle closes cleanly: end() restarts the stall clock (no "dead link" reset)', () => {
    const { clock, a, b } = pair(0);
    a.s.write(new Uint8Array(1000));
    clock.advance(200);
    expect(b.s.bytesReceived).toBe(1000);
    clock.advance(61_000); // idle: nothing in flight, no timers
    a.s.end();
    clock.advance(500);
    expect(b.ended).toBe(true);
    b.s.end();
    clock.advance(500);
    expect(a.closed).toBeUndefined();
    expect(b.closed).toBeUndefined();
  });
});
