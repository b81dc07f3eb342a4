// Switching a receiver between unordered (DEPARTURE 11) and in-order delivery mid-stream, as a pair
// that moves between a direct path and the hub relay does (pair-transport.ts `ordered`,
// kcp-channel.ts setOrdered): no packet is handed out twice (placeholders of early ones are passed
// over in either mode) and none is lost (one held behind a gap comes out with the repair).
import { describe, expect, it } from 'vitest';
import { Kcp } from '../../src/arq/kcp.js';
import { KcpPair } from './sim-pair.js';

const conv = 0x5eed;

/** A sender whose every flush carries one PUSH (one message sent per flush), kept by sn. */
function setup() {
  const bySn = new Map<number, Uint8Array>();
  const a = new Kcp(conv, (d, n) => {
    const v = new DataView(d.buffer, d.byteOffset, n);
    for (let off = 0; off + 24 <= n; off += 24 + v.getUint32(off + 20, true)) {
      if (d[off + 4] === 81) bySn.set(v.getUint32(off + 12, true), d.slice(off, off + 24 + v.getUint32(off + 20, true)));
    }
  });
  a.usePreset('fast3');
  a.setWndSize(128, 128);
  const b = new Kcp(conv, () => {});
  b.usePreset('fast3');
  b.setWndSize(128, 128);
  let now = 1_000;
  const buf = new Uint8Array(2048);
  for (let i = 0; i < 12; i++) {
    a.send(Uint8Array.of(i, i, i));
    a.flush((now += 1));
  }
  /** Feeds b the segments `sns` (in that order); returns the messages it hands out at once. */
  const deliver = (sns: number[]): number[] => {
    const out: number[] = [];
    for (const sn of sns) {
      expect(b.input(bySn.get(sn)!, undefined, (now += 1))).toBe(0);
      for (let n = b.recv(buf); n >= 0; n = b.recv(buf)) out.push(buf[0]!);
    }
    return out;
  };
  return { b, deliver };
}

interface Step {
  /** b's mode before these segments arrive. */
  unordered: boolean;
  feed: number[];
  out: number[];
}

describe('unordered <-> in-order switch mid-stream (sn 0 lost until its repair)', () => {
  it.each<[string, Step[]]>([
    [
      'unordered -> ordered: early ones are not repeated, later ones wait for the repair',
      [
        { unordered: true, feed: [1, 2, 3], out: [1, 2, 3] },
        { unordered: false, feed: [4, 5, 2], out: [] },
        { unordered: false, feed: [0], out: [0, 4, 5] },
        { unordered: false, feed: [3, 6], out: [6] },
      ],
    ],
    [
      'ordered -> unordered: held ones come with the repair, later ones go at once',
      [
        { unordered: false, feed: [1, 2], out: [] },
        { unordered: true, feed: [3, 4, 1], out: [3, 4] },
        { unordered: true, feed: [0], out: [0, 1, 2] },
        { unordered: true, feed: [4, 6, 5], out: [6, 5] },
      ],
    ],
    [
      'back and forth while the hole stays open',
      [
        { unordered: true, feed: [2], out: [2] },
        { unordered: false, feed: [3], out: [] },
        { unordered: true, feed: [4], out: [4] },
        { unordered: false, feed: [1, 0], out: [0, 1, 3] },
        { unordered: true, feed: [2, 3, 4, 5], out: [5] },
      ],
    ],
  ])('%s', (_name, steps) => {
    const { b, deliver } = setup();
    const all: number[] = [];
    for (const s of steps) {
      b.unordered = s.unordered;
      const got = deliver(s.feed);
      expect(got).toEqual(s.out);
      all.push(...got);
    }
    expect(new Set(all).size).toBe(all.length); // each exactly once
  });

  it.each([0.05, 0.2])('loss %s, jitter, the mode flipped every 37 ms: every message exactly once', (loss) => {
    const p = new KcpPair({
      link: { loss, duplicate: 0.05, delayMs: 20, jitterMs: 15, bytesPerMs: 2_000, queueLimit: 400 },
      seed: 606 + Math.round(loss * 100),
      setup: (k) => {
        k.usePreset('fast3');
        k.setWndSize(128, 128);
      },
    });
    const n = 600;
    const seen = new Uint8Array(n);
    let got = 0;
    let next = 0;
    let flips = 0;
    const done = p.runUntil(() => {
      if (p.now % 37 === 0) {
        p.b.unordered = !p.b.unordered;
        flips++;
      }
      while (next < n && p.a.waitSnd() < 64) {
        const m = new Uint8Array(200);
        new DataView(m.buffer).setUint32(0, next++, true);
        p.a.send(m);
      }
      for (const m of p.drain(p.b)) {
        seen[new DataView(m.buffer, m.byteOffset).getUint32(0, true)]!++;
        got++;
      }
      return got >= n;
    }, 600_000);
    expect(done).toBe(true);
    p.runUntil(() => false, 2_000);
    expect(p.drain(p.b)).toEqual([]);
    expect([...seen].every((c) => c === 1)).toBe(true);
    expect(flips).toBeGreaterThan(4);
    expect(p.b.stats.inEarly).toBeGreaterThan(0);
  });
});
