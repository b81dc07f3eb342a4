// The ACK memory behind kcp.ts DEPARTURE 12 (src/arq/ack-echo.ts): what a flush repeats, and when an
// ACK is forgotten (acked by una, too old, repeated enough, pushed out by newer ones).
import { describe, expect, it } from 'vitest';
import { AckEcho, ackEchoDefaults, type AckEchoConfig } from '../../src/arq/ack-echo.js';

/** One flush: take what to repeat at `t` with `una`, then remember `fresh` (sn = ts for short). */
interface Flush {
  t: number;
  una: number;
  fresh: number[];
}

/** Runs flushes in order and returns the sns each one repeated. */
function run(cfg: AckEchoConfig, flushes: Flush[]): number[][] {
  const e = new AckEcho(cfg);
  const outSn = new Uint32Array(cfg.capacity);
  const outTs = new Uint32Array(cfg.capacity);
  return flushes.map(({ t, una, fresh }) => {
    const n = e.take(t >>> 0, una >>> 0, outSn, outTs);
    const got = Array.from(outSn.subarray(0, n));
    expect(Array.from(outTs.subarray(0, n))).toEqual(got.map((sn) => (sn + 7) >>> 0));
    const sns = Uint32Array.from(fresh.map((x) => x >>> 0));
    e.remember(sns, sns.map((x) => (x + 7) >>> 0), sns.length, t >>> 0, una >>> 0);
    return got;
  });
}

const cfg = (over: Partial<AckEchoConfig> = {}): AckEchoConfig => ({ capacity: 8, repeats: 2, windowMs: 10, ...over });
const wrap = 0xffff_fffe;

describe('AckEcho', () => {
  it.each<[string, AckEchoConfig, Flush[], number[][]]>([
    [
      'each ACK rides in the next `repeats` flushes, oldest first (ts travels with its sn)',
      cfg(),
      [{ t: 0, una: 0, fresh: [3, 5] }, { t: 1, una: 0, fresh: [6] }, { t: 2, una: 0, fresh: [] }, { t: 3, una: 0, fresh: [] }],
      [[], [3, 5], [3, 5, 6], [6]],
    ],
    [
      'one repeat: the previous flush only (session 9 behaviour apart from the cap)',
      cfg({ repeats: 1 }),
      [{ t: 0, una: 0, fresh: [3] }, { t: 1, una: 0, fresh: [4] }, { t: 2, una: 0, fresh: [] }],
      [[], [3], [4]],
    ],
    [
      'una passed them: una already says it, nothing is repeated and they are forgotten',
      cfg(),
      [{ t: 0, una: 0, fresh: [3, 5] }, { t: 1, una: 4, fresh: [] }, { t: 2, una: 0, fresh: [] }],
      [[], [5], [5]],
    ],
    [
      'fresh ACKs below una are not remembered (an ACK of a duplicate below rcv_nxt)',
      cfg(),
      [{ t: 0, una: 10, fresh: [2, 11] }, { t: 1, una: 10, fresh: [] }],
      [[], [11]],
    ],
    [
      'older than the window: forgotten (an echo would time the RTT late)',
      cfg({ windowMs: 10 }),
      [{ t: 0, una: 0, fresh: [3] }, { t: 10, una: 0, fresh: [4] }, { t: 11, una: 0, fresh: [] }],
      [[], [3], [4]],
    ],
    [
      'past capacity the oldest go first, remembered or fresh',
      cfg({ capacity: 4 }),
      [{ t: 0, una: 0, fresh: [1, 2, 3] }, { t: 1, una: 0, fresh: [4, 5, 6, 7, 8, 9] }, { t: 2, una: 0, fresh: [] }],
      [[], [1, 2, 3], [6, 7, 8, 9]],
    ],
    [
      'repeats 0: nothing is remembered',
      cfg({ repeats: 0 }),
      [{ t: 0, una: 0, fresh: [3] }, { t: 1, una: 0, fresh: [] }],
      [[], []],
    ],
    [
      'sn and clock wrap around u32',
      cfg(),
      [{ t: wrap, una: wrap, fresh: [wrap + 1, wrap + 3] }, { t: wrap + 5, una: wrap + 2, fresh: [] }],
      [[], [(wrap + 3) >>> 0]],
    ],
  ])('%s', (_why, c, flushes, want) => {
    expect(run(c, flushes)).toEqual(want);
  });

  it('a flush writes at most capacity echoes and the memory never holds more', () => {
    const e = new AckEcho(ackEchoDefaults);
    const n = ackEchoDefaults.capacity;
    const sns = Uint32Array.from({ length: 3 * n }, (_, i) => i);
    e.remember(sns, sns, sns.length, 0, 0);
    expect(e.size).toBe(n);
    const out = new Uint32Array(n);
    expect(e.take(1, 0, out, new Uint32Array(n))).toBe(n);
    expect(out[0]).toBe(2 * n);
  });
});
