// fec/policy.ts: the parity shape per measured loss and burstiness, its hysteresis, and the loss model.
import { describe, expect, it } from 'vitest';
import { chooseFec, flushDelayMs, holesPerRtt, maxGroupFor, maxHolesPerRtt, parityBudget, residualLoss, type FecParams } from '../../src/fec/policy.js';

const off: FecParams = { k: 10, m: 0 };

describe('chooseFec', () => {
  it.each([
    ['a clean path gets no parity: FEC adds zero bytes', 0, 1, off, 32, { k: 10, m: 0 }],
    ['0.1 % is already at the target', 0.001, 1, off, 32, { k: 10, m: 0 }],
    ['0.15 % while off: under the 0.2 % switch-on line, stays off', 0.0015, 1, off, 32, { k: 10, m: 0 }],
    ['0.15 % while on: above the 0.1 % switch-off line, stays on as it is', 0.0015, 1, { k: 32, m: 1 }, 32, { k: 32, m: 1 }],
    ['0.3 %: one parity per 32 (3 %)', 0.003, 1, off, 32, { k: 32, m: 1 }],
    ['1 % random: 32 + 2 (6 %), where kcptun spends 30 %', 0.01, 1, off, 32, { k: 32, m: 2 }],
    ['1 % random, groups capped at 10 by rate x RTT: 10 + 1', 0.01, 1, off, 10, { k: 10, m: 1 }],
    ['1 % in runs of 3: out of target within budget (rounded up to 4 shards); 32 + 4 halves it (0.46 %)', 0.01, 3, off, 32, { k: 32, m: 4 }],
    ['1 % in runs of 6: FEC within budget would not halve the loss, so ARQ alone', 0.01, 6, off, 32, { k: 10, m: 0 }],
    ['5 % random: 32 + 6 (19 %)', 0.05, 1.05, off, 32, { k: 32, m: 6 }],
    ['5 % random with k <= 10: kcptun\'s own 10 + 3', 0.05, 1.05, off, 10, { k: 10, m: 3 }],
    ['5 % in runs of 2: 32 + 10, out of target but a 25x cut', 0.05, 2, off, 32, { k: 32, m: 10 }],
    ['10 % random: 32 + 10 (31 %)', 0.1, 1.1, off, 32, { k: 32, m: 10 }],
    ['10 % in runs of 3: the 50 % budget', 0.1, 3, off, 32, { k: 32, m: 16 }],
    ['30 %: the most repair the budget allows', 0.3, 1.4, off, 32, { k: 32, m: 16 }],
  ])('%s', (_why, loss, burst, current, maxK, want) => {
    expect(chooseFec({ loss, burst }, current, { maxK })).toEqual(want);
  });

  it.each([
    ['keeps a running shape that meets the target and costs under 1.5x the best (25 % vs 19 %)', { k: 16, m: 4 }, 0.05, { k: 16, m: 4 }],
    ['moves off a shape that no longer meets the target', { k: 32, m: 1 }, 0.01, { k: 32, m: 2 }],
    ['moves off a shape far costlier than needed', { k: 10, m: 5 }, 0.01, { k: 32, m: 2 }],
    ['turns off below the target', { k: 32, m: 2 }, 0.0005, { k: 32, m: 0 }],
  ])('hysteresis: %s', (_why, current, loss, want) => {
    expect(chooseFec({ loss, burst: 1 / (1 - loss) }, current)).toEqual(want);
  });

  it('every choice that meets the target is predicted to (residual <= 0.1 %)', () => {
    for (const loss of [0.003, 0.01, 0.02, 0.05, 0.1]) {
      const c = chooseFec({ loss, burst: 1 / (1 - loss) }, off);
      expect(residualLoss(c.k, c.m, loss, 1 / (1 - loss))).toBeLessThanOrEqual(0.001);
      expect(c.m).toBeLessThanOrEqual(Math.ceil(c.k * parityBudget(loss)));
    }
  });
});

describe('chooseFec with the pair rate and RTT: unrepaired groups per round trip (session 8)', () => {
  // [why, loss, burst, packets/s, RTT ms, current, want]. 25,000 packets/s is a ~280 Mbit/s bulk flow.
  it.each<[string, number, number, number, number, FecParams, FecParams]>([
    ['200 ms, 1 % random, bulk: 32 + 4, not 32 + 3 (a hole every ~20 RTTs: what the bench showed)', 0.01, 1, 25000, 200, off, { k: 32, m: 4 }],
    ['200 ms, 1.15 % in runs of 1.1 (the bench\'s report): 32 + 5', 0.0115, 1.1, 25000, 200, off, { k: 32, m: 5 }],
    ['200 ms, 1 %, an interactive rate: the residual target alone (32 + 2)', 0.01, 1, 200, 200, off, { k: 32, m: 2 }],
    ['200 ms, 5 % random, bulk: 32 + 8 (the 20 % budget floor at 200 ms is not reached)', 0.05, 1.05, 30000, 200, off, { k: 32, m: 8 }],
    ['40 ms, 5 % random, bulk: 32 + 7 (one shard more than the residual target alone)', 0.05, 1.05, 30000, 40, off, { k: 32, m: 7 }],
    ['40 ms, 1 % random, bulk: 32 + 3 (fewer groups per short round trip than at 200 ms)', 0.01, 1, 25000, 40, off, { k: 32, m: 3 }],
    ['a clean path at 200 ms and any rate: still no parity', 0, 1, 25000, 200, off, { k: 10, m: 0 }],
    ['0.15 % while off at 200 ms: still under the switch-on line', 0.0015, 1, 25000, 200, off, { k: 10, m: 0 }],
    ['a running 32 + 3 at 200 ms, 1 %, bulk: moved up (too many holes)', 0.01, 1, 25000, 200, { k: 32, m: 3 }, { k: 32, m: 4 }],
    ['a running 32 + 5 at 200 ms, 1 %, bulk: kept (meets both, costs < 1.5x 32 + 4)', 0.01, 1, 25000, 200, { k: 32, m: 5 }, { k: 32, m: 5 }],
  ])('%s', (_why, loss, burst, packetsPerSec, rttMs, current, want) => {
    expect(chooseFec({ loss, burst }, current, { maxK: 32, packetsPerSec, rttMs })).toEqual(want);
  });

  it('what it picks at 200 ms meets the holes bound when the budget allows', () => {
    for (const loss of [0.005, 0.01, 0.02, 0.05]) {
      const c = chooseFec({ loss, burst: 1 / (1 - loss) }, off, { packetsPerSec: 25000, rttMs: 200 });
      expect(holesPerRtt(c.k, c.m, loss, 1 / (1 - loss), 25000, 200)).toBeLessThanOrEqual(maxHolesPerRtt);
    }
  });

  it.each([
    [0.01, 0, 0.1, 'short or unknown RTT: the 10 % floor'],
    [0.01, 100, 0.1, '100 ms: still 10 %'],
    [0.01, 200, 0.2, '200 ms: 20 %'],
    [0.05, 200, 0.3, '5 %: 6x the loss is above the floor'],
    [0.01, 1000, 0.5, 'never past 50 %'],
  ])('parityBudget(%f, %i ms) = %f: %s', (loss, rttMs, want) => {
    expect(parityBudget(loss, rttMs)).toBeCloseTo(want, 10);
  });
});

describe('the loss model', () => {
  function binomialResidual(k: number, m: number, p: number): number {
    // Independent loss: a data packet is lost for good when it and at least m of the other n - 1 are.
    const n = k + m;
    let tail = 0;
    let c = 1; // C(n-1, j)
    for (let j = 0; j <= n - 1; j++) {
      if (j >= m) tail += c * p ** j * (1 - p) ** (n - 1 - j);
      c = (c * (n - 1 - j)) / (j + 1);
    }
    return p * tail;
  }

  it.each([
    [10, 3, 0.05],
    [20, 2, 0.01],
    [32, 10, 0.1],
  ])('with runs of 1/(1-p) (independent loss) it is the binomial tail: k=%i m=%i p=%f', (k, m, p) => {
    expect(residualLoss(k, m, p, 1 / (1 - p))).toBeCloseTo(binomialResidual(k, m, p), 10);
  });

  it('bursts hurt: same rate, longer runs, more residual', () => {
    expect(residualLoss(10, 3, 0.05, 3)).toBeGreaterThan(10 * residualLoss(10, 3, 0.05, 1.05));
    expect(residualLoss(10, 3, 0, 1)).toBe(0);
  });
});

describe('group size and flush delay', () => {
  it.each([
    [100, 40, 4, 'a slow flow on a short path: the smallest group'],
    [1000, 40, 10, '1,000 pps at 40 ms: 10 packets fill in the 10 ms flush delay'],
    [1000, 200, 32, 'at 200 ms the largest'],
    [9000, 40, 32, 'never above 32'],
  ])('maxGroupFor(%i pps, %i ms) = %i: %s', (pps, rtt, want) => {
    expect(maxGroupFor(pps, rtt)).toBe(want);
  });

  it.each([
    [1, 2, 'a LAN: 2 ms floor'],
    [40, 10, '40 ms: 10 ms'],
    [200, 50, '200 ms: 50 ms, a quarter of the RTT'],
    [600, 50, 'capped at 50 ms'],
  ])('flushDelayMs(%i) = %i: %s', (rtt, want) => {
    expect(flushDelayMs(rtt)).toBe(want);
  });
});
