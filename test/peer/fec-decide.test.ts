// The pure parts of FEC in the data path: the per-pair shape decision (fec-pair.ts decideFec), the
// capability flags (fec-caps.ts), the KCP loss reading (fec-loss.ts) and the receiver's group tally
// (fec-tally.ts).
import { describe, expect, it } from 'vitest';
import { decideFec, type FecDecisionInput } from '../../src/peer/fec-pair.js';
import { fecPingFlags, onPingFlags, PEER_CAP_FEC } from '../../src/peer/fec-caps.js';
import { arqLoss } from '../../src/peer/fec-loss.js';
import { GroupTally, tallyGroups } from '../../src/peer/fec-tally.js';
import { FecOp } from '../../src/fec/frame.js';
import { PING_FLAG_FEC, PING_FLAG_FEC_ASK, PING_FLAG_PUNCH } from '../../src/wire/inner.js';

const base: FecDecisionInput = { setting: 'auto', capable: true, reading: undefined, current: { k: 10, m: 0 }, rttMs: 40, packetsPerSec: 5000 };

describe('decideFec', () => {
  it.each<[string, Partial<FecDecisionInput>, { on: boolean; why: RegExp }]>([
    ['--fec off wins over any loss', { setting: 'off', reading: { loss: 0.1, burst: 1, source: 'report' } }, { on: false, why: /--fec off/ }],
    ['an older peer never gets parity', { capable: false, reading: { loss: 0.1, burst: 1, source: 'arq' } }, { on: false, why: /does not speak FEC/ }],
    ['no reading yet: off, no byte added', {}, { on: false, why: /no loss reading/ }],
    ['a clean path: off', { reading: { loss: 0, burst: 1, source: 'arq' } }, { on: false, why: /^off: 0.00 %/ }],
    ['0.15 % while off: under the 0.2 % turn-on point (hysteresis)', { reading: { loss: 0.0015, burst: 1, source: 'arq' } }, { on: false, why: /^off/ }],
    ['0.15 % while on: above the 0.1 % turn-off point, stays on', { current: { k: 32, m: 1 }, reading: { loss: 0.0015, burst: 1, source: 'report' } }, { on: true, why: /0.15 % loss \(receiver's report\)/ }],
    ['5 % from KCP retransmits: on', { reading: { loss: 0.05, burst: 1, source: 'arq' } }, { on: true, why: /5.00 % loss \(KCP retransmits\)/ }],
    ['the reverse direction stands in for a pair that only sends ACKs', { reading: { loss: 0.05, burst: 1, source: 'reverse' } }, { on: true, why: /measured on the way back/ }],
    ['--fec on with a clean path: parity anyway', { setting: 'on', reading: { loss: 0, burst: 1, source: 'arq' } }, { on: true, why: /--fec on/ }],
    ['--fec on before any reading', { setting: 'on' }, { on: true, why: /no loss reading, --fec on/ }],
    ['no new reading while on: the shape is kept', { current: { k: 10, m: 3 } }, { on: true, why: /kept/ }],
  ])('%s', (_why, input, want) => {
    const d = decideFec({ ...base, ...input });
    expect(d.m > 0).toBe(want.on);
    expect(d.why).toMatch(want.why);
  });

  it.each([
    // [rttMs, packets/s, largest k allowed]: a group fills within the quarter-RTT flush delay.
    [40, 5000, 32],
    [40, 800, 8],
    [200, 100, 5],
    [20, 100, 4],
  ])('at %s ms RTT and %s packets/s groups are at most %s', (rttMs, pps, maxK) => {
    const d = decideFec({ ...base, rttMs, packetsPerSec: pps, reading: { loss: 0.05, burst: 1, source: 'arq' } });
    expect(d.k).toBeLessThanOrEqual(maxK);
    expect(d.flushMs).toBe(Math.max(2, Math.min(50, Math.round(rttMs / 4))));
  });
});

describe('decideFec passes the pair\'s rate and RTT to the policy (session 8)', () => {
  it.each([
    // [rttMs, packets/s, loss, want k + m]
    [200, 25000, 0.01, '32+4'],
    [40, 30000, 0.05, '32+7'],
    [200, 200, 0.01, '10+1'], // an interactive rate: groups of 10 fill the 50 ms flush, the residual target alone
  ])('at %s ms and %s packets/s, %f loss: %s', (rttMs, pps, loss, want) => {
    const d = decideFec({ ...base, rttMs, packetsPerSec: pps, reading: { loss, burst: 1, source: 'report' } });
    expect(`${d.k}+${d.m}`).toBe(want);
  });
});

describe('FEC capability flags', () => {
  it.each([
    ['unknown caps: say we speak FEC and ask', 0, PING_FLAG_FEC | PING_FLAG_FEC_ASK],
    ['known caps: say it, do not ask', PEER_CAP_FEC, PING_FLAG_FEC],
  ])('%s', (_why, caps, flags) => expect(fecPingFlags(caps)).toBe(flags));

  it.each([
    ['an older peer (no flag): nothing learned, no answer', 0, PING_FLAG_PUNCH, 0, false],
    ['a question: learned, answered', 0, PING_FLAG_FEC | PING_FLAG_FEC_ASK, PEER_CAP_FEC, true],
    ['an answer: learned, not answered (the exchange ends)', 0, PING_FLAG_FEC, PEER_CAP_FEC, false],
    ['a punch PING that carries the flag', 0, PING_FLAG_PUNCH | PING_FLAG_FEC, PEER_CAP_FEC, false],
  ])('%s', (_why, caps, flags, want, answer) => expect(onPingFlags(caps, flags)).toEqual({ caps: want, answer }));
});

describe('arqLoss', () => {
  const c = (pushSegs: number, retransmits: number, spurious = 0) => ({ pushSegs, retransmits, spurious });
  it.each([
    ['too few segments to judge', c(0, 0), c(150, 10), undefined],
    ['5 of 100 segments were resends', c(100, 2), c(1100, 52), 0.05],
    ['a clean path', c(0, 0), c(1000, 0), 0],
    ['resends the ACKs showed needless (reordering) are not loss', c(0, 0), c(1000, 300, 290), 0.01],
    ['counters that went back (a new channel) are not a reading', c(0, 9), c(1000, 0), undefined],
  ])('%s', (_why, prev, cur, want) => expect(arqLoss(prev, cur)).toBe(want));
});

describe('GroupTally', () => {
  /** Feeds groups of k + m shards, dropping the positions `lost(group, position)` says. */
  function feed(t: GroupTally, groups: number, k: number, m: number, lost: (g: number, i: number) => boolean): void {
    for (let g = 0; g < groups; g++) {
      for (let i = 0; i < k + m; i++) {
        if (lost(g, i)) continue;
        if (i < k) t.observe({ op: FecOp.DATA, group: g, index: i, shard: new Uint8Array(1) }, g);
        else t.observe({ op: FecOp.PARITY, group: g, index: i - k, k, m, symbol: new Uint8Array(3) }, g);
      }
    }
  }

  it('counts the missing shards of each group, parity included, as loss: one of 13 lost', () => {
    const t = new GroupTally();
    feed(t, 100 + tallyGroups, 10, 3, (_g, i) => i === 4);
    expect(t.estimate.windows).toBeGreaterThan(0);
    expect(t.estimate.loss).toBeCloseTo(1 / 13, 3);
    expect(t.estimate.burst).toBe(1);
  });

  it('reads each group afresh (records are reused): a different position lost in each group is still one of 13', () => {
    const t = new GroupTally();
    feed(t, 200 + tallyGroups, 10, 3, (g, i) => i === g % 13);
    expect(t.estimate.loss).toBeCloseTo(1 / 13, 3);
    expect(t.estimate.burst).toBe(1);
  });

  it('sees runs: two consecutive shards lost per group is a burst of 2', () => {
    const t = new GroupTally();
    feed(t, 100 + tallyGroups, 10, 3, (_g, i) => i === 9 || i === 10); // the last data shard and the first parity
    expect(t.estimate.loss).toBeCloseTo(2 / 13, 3);
    expect(t.estimate.burst).toBeCloseTo(2, 3);
  });

  it('a clean path reads zero', () => {
    const t = new GroupTally();
    feed(t, 100 + tallyGroups, 10, 3, () => false);
    expect(t.estimate).toMatchObject({ loss: 0, burst: 1 });
  });
});
