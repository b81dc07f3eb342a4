// session.ts lastGap (issue 19 item 7, session 8): how far each accepted datagram jumped past the
// highest counter before it, or -1 when it came late; the link sums these per remote (link/remote.ts
// RxCounts) and peer/interactive-datagram.ts reads a gap as loss.
import { describe, expect, it } from 'vitest';
import { sessionPair } from './session-pair.js';

describe('TransportSession.lastGap', () => {
  it.each<[string, number[], number[]]>([
    ['in order: no gap', [0, 1, 2, 3], [0, 0, 0, 0]],
    ['one lost between: the next one skipped it', [0, 1, 3, 4], [0, 0, 1, 0]],
    ['the first of the session lost', [1, 2], [1, 0]],
    ['three lost at once', [0, 4], [0, 3]],
    ['reordered: skipped, then the late one', [0, 2, 1, 3], [0, 1, -1, 0]],
  ])('%s', (_why, order, want) => {
    const { a, b } = sessionPair();
    const sealed = Array.from({ length: Math.max(...order) + 1 }, (_, i) => a.seal(new Uint8Array([i]), 0)!.slice());
    const gaps = order.map((i) => {
      expect(b.open(sealed[i]!, 0)).toBeDefined();
      return b.lastGap;
    });
    expect(gaps).toEqual(want);
  });

  it('a replay changes nothing', () => {
    const { a, b } = sessionPair();
    const d0 = a.seal(new Uint8Array([0]), 0)!.slice();
    const d2 = (a.seal(new Uint8Array([1]), 0), a.seal(new Uint8Array([2]), 0)!.slice());
    b.open(d0, 0);
    b.open(d2, 0);
    expect(b.lastGap).toBe(1);
    expect(b.open(d0, 0)).toBeUndefined();
    expect(b.lastGap).toBe(1);
  });
});
