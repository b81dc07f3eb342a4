// How much parity a path gets (fec/encoder.ts shape), from its measured loss and burstiness
// (fec/loss-estimator.ts): none on a clean path, else the (k, m) with the least overhead whose
// predicted residual loss after repair is under the target (within a parity budget that grows with
// the loss), with hysteresis so the shape does not flap. Pure; the sender's data path calls it once per loss report.

/** Residual loss after repair the policy aims under (local tuning: KCP repairs the rest by ARQ). */
export const defaultTargetResidual = 0.001;
/** FEC turns on above onFactor x target and off below the target (hysteresis). */
const onFactor = 2;
/** A running shape is kept while it meets the target and costs at most this much more than the best. */
const keepSlack = 1.5;
/** Group sizes tried (local tuning: a group of 32 MTU packets fills in 4 ms at 100 Mbit/s). */
export const candidateK: readonly number[] = [4, 8, 10, 16, 20, 32];

export interface PathLoss {
  /** Loss rate, 0..1. */
  readonly loss: number;
  /** Mean run of consecutive losses, >= 1. */
  readonly burst: number;
}

export interface FecParams {
  readonly k: number;
  /** 0: FEC off. */
  readonly m: number;
}

export interface PolicyOptions {
  readonly targetResidual?: number;
  /** Largest k allowed (a group must fill in a fraction of the RTT): see maxGroupFor. */
  readonly maxK?: number;
}

/**
 * P(l losses among n consecutive packets) for every n <= nMax, under a two-state (Gilbert) loss
 * model with the given loss rate and mean loss run: table[n][l]. One pass serves every group shape.
 */
export function lossCountTable(nMax: number, loss: number, burst: number): Float64Array[] {
  const table: Float64Array[] = [Float64Array.of(1)];
  const pBad = Math.min(1, Math.max(0, 1 - 1 / Math.max(1, burst))); // P(lost | previous lost)
  const pGood = loss >= 1 ? 1 : Math.min(1, (loss * (1 - pBad)) / (1 - loss)); // P(lost | previous arrived)
  // ok[l] / bad[l]: P(the last packet arrived / was lost, and l losses so far).
  let ok = new Float64Array(nMax + 2);
  let bad = new Float64Array(nMax + 2);
  ok[0] = 1 - loss;
  bad[1] = loss;
  for (let n = 1; n <= nMax; n++) {
    const row = new Float64Array(n + 1);
    for (let l = 0; l <= n; l++) row[l] = ok[l]! + bad[l]!;
    table.push(row);
    if (n === nMax) break;
    const ok2 = new Float64Array(nMax + 2);
    const bad2 = new Float64Array(nMax + 2);
    for (let l = 0; l <= n; l++) {
      const a = ok[l]!;
      const b = bad[l]!;
      ok2[l] = ok2[l]! + a * (1 - pGood) + b * (1 - pBad);
      bad2[l + 1] = bad2[l + 1]! + a * pGood + b * pBad;
    }
    ok = ok2;
    bad = bad2;
  }
  return table;
}

/** Residual loss of (k, m) from a lossCountTable: a group with more than m losses repairs nothing,
 * so residual = sum over l > m of P(l) x l / (k + m). */
function residualFrom(table: readonly Float64Array[], k: number, m: number): number {
  const n = k + m;
  const row = table[n]!;
  let r = 0;
  for (let l = m + 1; l <= n; l++) r += row[l]! * l;
  return r / n;
}

/** Predicted fraction of data packets lost after repair for groups of k + m (see lossCountTable). */
export function residualLoss(k: number, m: number, loss: number, burst: number): number {
  if (loss <= 0) return 0;
  return residualFrom(lossCountTable(k + m, loss, burst), k, m);
}

/** Most parity the policy spends for a loss rate: 6x the loss, within 10..50 % (local tuning: past
 * that a bursty path is better served by ARQ than by FEC that still cannot meet the target). */
export function parityBudget(loss: number): number {
  return Math.min(0.5, Math.max(0.1, 6 * loss));
}

/** Out of budget for the target, FEC still runs if it at least halves the loss; else ARQ alone. */
const minGain = 2;

/**
 * How long a partial group waits for its parity: a quarter of the RTT, 2..50 ms. A loss FEC cannot
 * repair waits for KCP's fast retransmit, at least one RTT; a repair within a quarter of it (plus the
 * one-way delay) is still far ahead, and a longer wait lets groups fill, which costs less parity
 * (docs/ARQ.md "FEC", flush-delay table).
 */
export function flushDelayMs(rttMs: number): number {
  return Math.max(2, Math.min(50, Math.round(rttMs / 4)));
}

/** The largest group that fills within the flush delay at this packet rate (4..32), so full groups,
 * not deadline-cut partial ones, carry the traffic. */
export function maxGroupFor(packetsPerSec: number, rttMs: number): number {
  return Math.max(4, Math.min(32, Math.floor((packetsPerSec * flushDelayMs(rttMs)) / 1000)));
}

/** The parity shape for a path with `path` loss, given the shape running now. */
export function chooseFec(path: PathLoss, current: FecParams, opts: PolicyOptions = {}): FecParams {
  const target = opts.targetResidual ?? defaultTargetResidual;
  const maxK = opts.maxK ?? 32;
  const on = current.m > 0;
  if (path.loss < target || (!on && path.loss < onFactor * target)) return { k: current.k, m: 0 };
  const ks = candidateK.filter((k) => k <= maxK);
  const budget = parityBudget(path.loss);
  const kTop = Math.max(...ks);
  const table = lossCountTable(kTop + Math.floor(kTop / 2), path.loss, path.burst);
  let best: { k: number; m: number; cost: number } | undefined;
  let fallback: { k: number; m: number; residual: number } | undefined;
  for (const k of ks) {
    // Round the budget up to whole shards (a 29.4 % budget still allows 10 + 3), never past k / 2.
    const mMax = Math.max(1, Math.min(Math.floor(k / 2), Math.ceil(k * budget - 1e-9)));
    for (let m = 1; m <= mMax; m++) {
      const residual = residualFrom(table, k, m);
      if (fallback === undefined || residual < fallback.residual) fallback = { k, m, residual };
      if (residual > target) continue;
      const cost = m / k;
      if (best === undefined || cost < best.cost) best = { k, m, cost };
      break; // more m for this k only costs more
    }
  }
  if (best === undefined) {
    // The target is out of budget: the least residual within it, if that is worth the bytes.
    return fallback !== undefined && fallback.residual * minGain <= path.loss ? { k: fallback.k, m: fallback.m } : { k: current.k, m: 0 };
  }
  if (on && current.k <= maxK && current.m <= Math.ceil(current.k * budget - 1e-9)) {
    const cur = residualLoss(current.k, current.m, path.loss, path.burst);
    if (cur <= target && current.m / current.k <= best.cost * keepSlack) return current;
  }
  return { k: best.k, m: best.m };
}
