// How much parity a path gets (fec/encoder.ts shape), from its measured loss and burstiness
// (fec/loss-estimator.ts): none on a clean path, else the (k, m) with the least overhead whose
// predicted residual loss after repair is under the target and, for a bulk flow, whose groups FEC
// cannot repair are rare per round trip (each is a hole of one RTT in the inner flow), within a
// parity budget that grows with the loss and the RTT, with hysteresis so the shape does not flap.
// Pure; the sender's data path calls it once per loss report.

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
  /** The pair's packet rate and RTT: bound the unrepaired groups per round trip (holesPerRtt).
   * Without them only the residual target counts. */
  readonly packetsPerSec?: number;
  readonly rttMs?: number;
}

/**
 * Groups FEC cannot repair, per round trip, that a shape may leave (local tuning). Each such group
 * waits for KCP's resend, one RTT, and the inner TCP holds everything after the hole out of order
 * meanwhile: at 200 ms and 1 % loss, 32 + 3 met the residual target (0.005 %) but at ~25,000
 * packets/s left a hole every ~20 RTTs, and the inner flow was receive-window limited 8 of 20 s
 * (docs/ARQ.md "Holes per round trip"). At 0.03 a 40 ms bulk flow gets one parity shard per group
 * more than the residual target alone asks (5 %: 32 + 7 for 32 + 6), a 200 ms one two or three.
 */
export const maxHolesPerRtt = 0.03;

/** Expected groups per round trip that lose more than m of their k + m shards (see lossTable). */
export function holesPerRtt(k: number, m: number, loss: number, burst: number, packetsPerSec: number, rttMs: number): number {
  if (loss <= 0) return 0;
  return failFrom(lossTable(k + m, loss, burst), k, m) * groupsPerRtt(k, packetsPerSec, rttMs);
}

function groupsPerRtt(k: number, packetsPerSec: number, rttMs: number): number {
  return (Math.max(0, packetsPerSec) * Math.max(0, rttMs)) / 1000 / k;
}

/** Where row n of a lossTable starts: rows 0..n-1 hold 1 + 2 + ... + n values. */
const rowAt = (n: number): number => (n * (n + 1)) / 2;

/** P(a group of k + m loses more than m): it repairs nothing, KCP resends its losses. */
function failFrom(table: Float64Array, k: number, m: number): number {
  const n = k + m;
  const row = rowAt(n);
  let f = 0;
  for (let l = m + 1; l <= n; l++) f += table[row + l]!;
  return f;
}

// lossTable's scratch, shared by every call: the sender decides on every loss REPORT (hundreds a
// second from a fast receiver), and a table of fresh arrays per decision was most of a loaded
// sender's garbage (issue 19 item 7, session 17). Valid until the next call.
let table = new Float64Array(rowAt(65));
let okA = new Float64Array(66);
let badA = new Float64Array(66);
let okB = new Float64Array(66);
let badB = new Float64Array(66);
let lastN = -1;
let lastLoss = Number.NaN;
let lastBurst = Number.NaN;

/**
 * P(l losses among n consecutive packets) for every n <= nMax, under a two-state (Gilbert) loss
 * model with the given loss rate and mean loss run: table[rowAt(n) + l]. One pass serves every
 * group shape. The result is shared scratch, valid until the next call (the same arguments twice
 * in a row return it unchanged).
 */
function lossTable(nMax: number, loss: number, burst: number): Float64Array {
  if (nMax === lastN && loss === lastLoss && burst === lastBurst) return table;
  if (table.length < rowAt(nMax + 1)) table = new Float64Array(rowAt(nMax + 1));
  if (okA.length < nMax + 2) {
    okA = new Float64Array(nMax + 2);
    badA = new Float64Array(nMax + 2);
    okB = new Float64Array(nMax + 2);
    badB = new Float64Array(nMax + 2);
  }
  const pBad = Math.min(1, Math.max(0, 1 - 1 / Math.max(1, burst))); // P(lost | previous lost)
  const pGood = loss >= 1 ? 1 : Math.min(1, (loss * (1 - pBad)) / (1 - loss)); // P(lost | previous arrived)
  // ok[l] / bad[l]: P(the last packet arrived / was lost, and l losses so far).
  let ok = okA;
  let bad = badA;
  let ok2 = okB;
  let bad2 = badB;
  ok.fill(0, 0, nMax + 2);
  bad.fill(0, 0, nMax + 2);
  ok[0] = 1 - loss;
  bad[1] = loss;
  table[0] = 1;
  for (let n = 1; n <= nMax; n++) {
    const row = rowAt(n);
    for (let l = 0; l <= n; l++) table[row + l] = ok[l]! + bad[l]!;
    if (n === nMax) break;
    ok2.fill(0, 0, n + 2);
    bad2.fill(0, 0, n + 2);
    for (let l = 0; l <= n; l++) {
      const a = ok[l]!;
      const b = bad[l]!;
      ok2[l] = ok2[l]! + a * (1 - pGood) + b * (1 - pBad);
      bad2[l + 1] = bad2[l + 1]! + a * pGood + b * pBad;
    }
    // Swap without a destructuring pair: that allocates an array per step until TurboFan runs.
    const okT = ok;
    ok = ok2;
    ok2 = okT;
    const badT = bad;
    bad = bad2;
    bad2 = badT;
  }
  lastN = nMax;
  lastLoss = loss;
  lastBurst = burst;
  return table;
}

/** Residual loss of (k, m) from a lossTable: a group with more than m losses repairs nothing,
 * so residual = sum over l > m of P(l) x l / (k + m). */
function residualFrom(table: Float64Array, k: number, m: number): number {
  const n = k + m;
  const row = rowAt(n);
  let r = 0;
  for (let l = m + 1; l <= n; l++) r += table[row + l]! * l;
  return r / n;
}

/** Predicted fraction of data packets lost after repair for groups of k + m (see lossTable). */
export function residualLoss(k: number, m: number, loss: number, burst: number): number {
  if (loss <= 0) return 0;
  return residualFrom(lossTable(k + m, loss, burst), k, m);
}

/** Most parity the policy spends for a loss rate: 6x the loss, within 10..50 % (local tuning: past
 * that a bursty path is better served by ARQ than by FEC that still cannot meet the target). The
 * 10 % floor grows with the RTT past 100 ms (20 % at 200 ms): the round trip a resend costs is
 * what parity buys back. */
export function parityBudget(loss: number, rttMs = 0): number {
  const floor = 0.1 * Math.max(1, rttMs / budgetRttMs);
  return Math.min(0.5, Math.max(floor, 6 * loss));
}

/** RTT from which the budget's floor grows (local tuning: paths up to 100 ms keep the 10 % floor). */
const budgetRttMs = 100;

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
  const rttMs = opts.rttMs ?? 0;
  const pps = opts.packetsPerSec ?? 0;
  const budget = parityBudget(path.loss, rttMs);
  const kTop = Math.max(...ks);
  // One table for every shape tried and the running one (the table is scratch: one call only).
  const table = lossTable(Math.max(kTop + Math.floor(kTop / 2), current.k + current.m), path.loss, path.burst);
  const holes = (k: number, m: number) => failFrom(table, k, m) * groupsPerRtt(k, pps, rttMs);
  let best: { k: number; m: number; cost: number } | undefined;
  // Meets the residual target but not the holes bound at any m in budget: the fewest holes.
  let fewestHoles: { k: number; m: number; holes: number; cost: number } | undefined;
  let fallback: { k: number; m: number; residual: number } | undefined;
  for (const k of ks) {
    // Round the budget up to whole shards (a 29.4 % budget still allows 10 + 3), never past k / 2.
    const mMax = Math.max(1, Math.min(Math.floor(k / 2), Math.ceil(k * budget - 1e-9)));
    for (let m = 1; m <= mMax; m++) {
      const residual = residualFrom(table, k, m);
      if (fallback === undefined || residual < fallback.residual) fallback = { k, m, residual };
      if (residual > target) continue;
      const cost = m / k;
      const h = holes(k, m);
      if (h > maxHolesPerRtt) {
        if (fewestHoles === undefined || h < fewestHoles.holes) fewestHoles = { k, m, holes: h, cost };
        continue;
      }
      if (best === undefined || cost < best.cost) best = { k, m, cost };
      break; // more m for this k only costs more
    }
  }
  best ??= fewestHoles;
  if (best === undefined) {
    // The target is out of budget: the least residual within it, if that is worth the bytes.
    return fallback !== undefined && fallback.residual * minGain <= path.loss ? { k: fallback.k, m: fallback.m } : { k: current.k, m: 0 };
  }
  if (on && current.k <= maxK && current.m <= Math.ceil(current.k * budget - 1e-9)) {
    const cur = residualFrom(table, current.k, current.m);
    const curHoles = failFrom(table, current.k, current.m) * groupsPerRtt(current.k, pps, rttMs);
    const holesOk = curHoles <= Math.max(maxHolesPerRtt, holes(best.k, best.m));
    if (cur <= target && holesOk && current.m / current.k <= best.cost * keepSlack) return current;
  }
  return { k: best.k, m: best.m };
}
