// Every message delivered exactly once and in order over a lossy, duplicating, reordering,
// bandwidth-capped simulated link, in message mode (fragmented messages) and stream mode.
import { describe, expect, it } from 'vitest';
import { KcpPair } from './sim-pair.js';
import { Rng } from '../fakes/rng.js';

/** Deterministic message i: length 1..4500 bytes (up to 4 fragments), bytes derived from i. */
function message(i: number): Uint8Array {
  const r = new Rng(i + 1);
  const m = new Uint8Array(1 + r.int(4500));
  const view = new DataView(m.buffer);
  if (m.length >= 4) view.setUint32(0, i, true);
  for (let k = 4; k < m.length; k++) m[k] = (i * 31 + k) & 255;
  return m;
}

const N = 400;
const cases = [0, 0.1, 0.2, 0.3].flatMap((loss) => [
  { loss, stream: false },
  { loss, stream: true },
]);

describe('delivery over a lossy link', () => {
  it.each(cases)('loss $loss per direction, stream $stream: exactly once, in order', ({ loss, stream }) => {
    const p = new KcpPair({
      link: { loss, duplicate: 0.05, delayMs: 20, jitterMs: 15, bytesPerMs: 2_000, queueLimit: 400 },
      seed: Math.round(loss * 100) + (stream ? 1000 : 0),
      setup: (k) => {
        k.usePreset('fast3');
        k.setWndSize(128, 128);
        k.stream = stream ? 1 : 0;
      },
    });
    let sentBytes = 0;
    const expected: Uint8Array[] = [];
    let next = 0;
    const got: Uint8Array[] = [];
    let gotBytes = 0;
    const done = p.runUntil(() => {
      // The application keeps about 64 messages queued, as a TUN reader would.
      while (next < N && p.a.waitSnd() < 64) {
        const m = message(next++);
        expected.push(m);
        expect(p.a.send(m)).toBe(m.length);
        sentBytes += m.length;
      }
      for (const m of p.drain(p.b)) {
        got.push(m);
        gotBytes += m.length;
      }
      return next === N && gotBytes === sentBytes;
    }, 600_000);
    expect(done).toBe(true);
    if (stream) {
      const all = new Uint8Array(sentBytes);
      const recvAll = new Uint8Array(gotBytes);
      let o = 0;
      for (const m of expected) all.set(m, (o += m.length) - m.length);
      o = 0;
      for (const m of got) recvAll.set(m, (o += m.length) - m.length);
      expect(Buffer.compare(all, recvAll)).toBe(0);
    } else {
      expect(got.length).toBe(N);
      got.forEach((m, i) => expect(Buffer.compare(m, expected[i]!), `message ${i}`).toBe(0));
    }
    // Loss was really exercised, and nothing more arrives afterwards.
    if (loss > 0) expect(p.a.stats.retransTimeout + p.a.stats.retransFast).toBeGreaterThan(0);
    p.runUntil(() => false, 2_000);
    expect(p.drain(p.b)).toEqual([]);
    expect(p.a.waitSnd()).toBe(0);
  });
});

describe('unordered delivery (receiver option for single-segment messages)', () => {
  it.each([0, 0.1, 0.3])('loss %s per direction, jitter: every message exactly once, some ahead of a gap', (loss) => {
    const p = new KcpPair({
      link: { loss, duplicate: 0.05, delayMs: 20, jitterMs: 15, bytesPerMs: 2_000, queueLimit: 400 },
      seed: 77 + Math.round(loss * 100),
      setup: (k) => {
        k.usePreset('fast3');
        k.setWndSize(128, 128);
        k.unordered = true;
      },
    });
    const n = 400;
    const seen = new Uint8Array(n);
    let got = 0;
    let next = 0;
    let outOfOrder = 0;
    let last = -1;
    const done = p.runUntil(() => {
      while (next < n && p.a.waitSnd() < 64) {
        const m = new Uint8Array(200 + (next % 900));
        new DataView(m.buffer).setUint32(0, next++, true);
        expect(p.a.send(m)).toBe(m.length);
      }
      for (const m of p.drain(p.b)) {
        const i = new DataView(m.buffer, m.byteOffset).getUint32(0, true);
        expect(m.length).toBe(200 + (i % 900));
        seen[i]!++;
        got++;
        if (i < last) outOfOrder++;
        last = i;
      }
      return got >= n;
    }, 600_000);
    expect(done).toBe(true);
    p.runUntil(() => false, 2_000);
    expect(p.drain(p.b)).toEqual([]);
    expect([...seen].every((c) => c === 1)).toBe(true);
    // The link's jitter reorders even without loss: what arrives past a gap goes out at once.
    expect(outOfOrder).toBeGreaterThan(0);
    expect(p.b.stats.inEarly).toBeGreaterThan(0);
  });
});
