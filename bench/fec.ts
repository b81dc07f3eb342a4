// FEC figures for docs/ARQ.md "FEC": (1) Reed-Solomon throughput on one core for 1,400-byte packets,
// C addon vs TypeScript, batch encode / per-packet encoder / repair of m lost shards; (2) a seeded
// simulation of residual loss and overhead after FEC, random and bursty loss, the policy (closed
// loop: receiver's estimator -> policy) against kcptun's fixed 10 + 3 and no FEC; (3) the flush
// delay: parity overhead and repair delay of partial groups against packet rate.
// Run:  npm run bench:fec
import { FecDecoder } from '../src/fec/decoder.js';
import { FecEncoder } from '../src/fec/encoder.js';
import { FEC_DATA_HEADER_BYTES } from '../src/fec/frame.js';
import { LossEstimator } from '../src/fec/loss-estimator.js';
import { fecBackendName, nativeShardMul } from '../src/fec/native.js';
import { chooseFec, flushDelayMs, maxGroupFor, residualLoss, type FecParams } from '../src/fec/policy.js';
import { encodeParity, reconstruct, tsShardMul, type ShardMul } from '../src/fec/rs.js';
import { Rng } from '../test/fakes/rng.js';

const PACKET = 1400;
const shapes: Array<[number, number]> = [[10, 1], [10, 3], [20, 2]];

/** Runs fn for about `ms` after a warm-up; returns calls per second. */
function rate(ms: number, fn: () => void): number {
  for (let i = 0; i < 200; i++) fn();
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(ms) * 1_000_000n;
  let t = t0;
  while (t < end) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
    t = process.hrtime.bigint();
  }
  return n / (Number(t - t0) / 1e9);
}

function throughput(): void {
  const native = nativeShardMul();
  const backends: Array<[string, ShardMul]> = [['ts', tsShardMul]];
  if (native) backends.unshift([`C (${fecBackendName()})`, native]);
  else console.log('(FEC addon not built: TypeScript only)');
  const rng = new Rng(1);
  console.log('\n## Reed-Solomon on one core, 1,400-byte packets (MB/s of data; us per data packet)');
  console.log('| k+m | backend | batch encode | FecEncoder.sendInPlace | FecEncoder.send (copies into its ring) | repair m lost |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const [k, m] of shapes) {
    const data = Array.from({ length: k }, () => rng.bytes(PACKET));
    const symbols = data.map((d) => {
      const s = new Uint8Array(PACKET + 2);
      s[0] = PACKET & 0xff;
      s[1] = PACKET >> 8;
      s.set(d, 2);
      return s;
    });
    for (const [name, mul] of backends) {
      const parity = Array.from({ length: m }, () => new Uint8Array(PACKET + 2));
      const enc = rate(600, () => encodeParity(symbols, parity, mul));
      const encoder = new FecEncoder({ k, m, flushMs: 1e9, mul, emit: () => {} });
      const perPacket = rate(600, () => {
        for (const d of data) encoder.send(d, 0);
      });
      // The data path's way: frames with headroom from a pool of k (a group holds its frames until it closes).
      const pool = data.map((d) => {
        const f = new Uint8Array(FEC_DATA_HEADER_BYTES + PACKET);
        f.set(d, FEC_DATA_HEADER_BYTES);
        return f;
      });
      const inPlace = rate(600, () => {
        for (const f of pool) encoder.sendInPlace(f, 0);
      });
      const lossy = symbols.map((s, j) => (j < m ? undefined : s));
      const rep = rate(600, () => reconstruct(lossy, parity, PACKET + 2, mul));
      const mbs = (groups: number) => ((groups * k * PACKET) / 1e6).toFixed(0);
      const us = (groups: number) => (1e6 / (groups * k)).toFixed(2);
      console.log(`| ${k}+${m} | ${name} | ${mbs(enc)} MB/s, ${us(enc)} us | ${mbs(inPlace)} MB/s, ${us(inPlace)} us | ${mbs(perPacket)} MB/s, ${us(perPacket)} us | ${mbs(rep)} MB/s, ${us(rep)} us |`);
    }
  }
}

/** Two-state loss: rate `loss`, mean run `burst` (1 / (1 - loss) is independent loss). */
class GilbertChannel {
  private lastLost = false;
  private readonly pGood: number;
  private readonly pBad: number;
  constructor(loss: number, burst: number, private readonly rng: Rng) {
    this.pBad = 1 - 1 / burst;
    this.pGood = (loss * (1 - this.pBad)) / (1 - loss);
  }
  lost(): boolean {
    this.lastLost = this.rng.chance(this.lastLost ? this.pBad : this.pGood);
    return this.lastLost;
  }
}

interface SimResult {
  residual: number;
  overhead: number;
  shape: string;
  repairMs: number;
}

type Mode = { kind: 'none' } | { kind: 'fixed'; k: number; m: number } | { kind: 'policy' };

/**
 * `packets` packets at `pps`, one-way delay owd, through encoder -> channel -> decoder. The policy
 * mode sees only what the receiver measured: the estimator over the frame sequence, reported every
 * window (one report per window, delivered after owd).
 */
function simulate(mode: Mode, loss: number, burst: number, seed: number, pps: number, rttMs: number, packets: number, flushOverride?: number): SimResult {
  const rng = new Rng(seed);
  const ch = new GilbertChannel(loss, burst, rng);
  const owd = rttMs / 2;
  const flushMs = flushOverride ?? flushDelayMs(rttMs);
  let shape: FecParams = mode.kind === 'fixed' ? { k: mode.k, m: mode.m } : { k: 10, m: 0 };
  const wire: Array<{ at: number; frame: Uint8Array; seq: number }> = [];
  let seq = 0;
  const enc = new FecEncoder({ k: shape.k, m: shape.m, flushMs, mul: nativeShardMul() ?? tsShardMul, emit: (f) => wire.push({ at: now, frame: f.slice(), seq: seq++ }) });
  const sentAt = new Map<number, number>();
  const delivered = new Set<number>();
  let repairDelay = 0;
  let repairs = 0;
  let now = 0;
  const dec = new FecDecoder({
    mul: nativeShardMul() ?? tsShardMul,
    deliver: (s, repaired) => {
      const id = s[1]! | (s[2]! << 8) | (s[3]! << 16);
      delivered.add(id);
      if (repaired) {
        repairDelay += recvNow - sentAt.get(id)!;
        repairs++;
      }
    },
  });
  let recvNow = 0;
  const est = new LossEstimator();
  let seenWindows = 0;
  const shapes = new Map<string, number>();
  let dataBytes = 0;
  let fecBytes = 0;
  const receive = (w: { at: number; frame: Uint8Array; seq: number }) => {
    if (ch.lost()) return;
    recvNow = w.at + owd;
    est.observe(w.seq, recvNow);
    if (w.frame[0] === 5) dec.push(w.frame, recvNow);
    else {
      const id = w.frame[1]! | (w.frame[2]! << 8) | (w.frame[3]! << 16);
      delivered.add(id);
    }
  };
  for (let i = 0; i < packets; i++) {
    const t = (i * 1000) / pps;
    const dl = enc.deadline();
    if (dl !== undefined && dl <= t) {
      now = dl;
      enc.poll(dl);
    }
    now = t;
    if (mode.kind === 'policy' && est.estimate.windows > seenWindows) {
      seenWindows = est.estimate.windows; // the REPORT reaches the sender one owd later; close enough at this scale
      // As the daemon decides (peer/fec-pair.ts decideFec): the pair's packet rate and RTT bound the
      // unrepaired groups per round trip, beside the group size.
      const next = chooseFec(est.estimate, shape, { maxK: maxGroupFor(pps, rttMs), packetsPerSec: pps, rttMs });
      if (next.k !== shape.k || next.m !== shape.m) {
        shape = next;
        enc.setShape({ k: next.k, m: next.m, flushMs }, t);
      }
    }
    const key = `${shape.k}+${shape.m}`;
    shapes.set(key, (shapes.get(key) ?? 0) + 1);
    const p = new Uint8Array(PACKET); // an inner IP message: kind 2, then the packet id
    p[0] = 2;
    p[1] = i & 0xff;
    p[2] = (i >> 8) & 0xff;
    p[3] = (i >> 16) & 0xff;
    sentAt.set(i, t);
    const f = enc.send(p, t).slice(); // the encoder reuses its frames; the wire keeps them
    dataBytes += PACKET;
    wire.push({ at: t, frame: f, seq: seq++ });
    for (const w of wire.splice(0)) receive(w);
  }
  enc.poll(Infinity);
  for (const w of wire.splice(0)) receive(w);
  fecBytes = enc.stats.overheadBytes;
  const common = [...shapes.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  return {
    residual: 1 - delivered.size / packets,
    overhead: fecBytes / dataBytes,
    shape: mode.kind === 'none' ? '-' : common,
    repairMs: repairs > 0 ? repairDelay / repairs : 0,
  };
}

function residualTable(): void {
  const pct = (x: number) => `${(100 * x).toFixed(x < 0.001 ? 3 : 2)} %`;
  const paths: Array<[number, number, string]> = [[2000, 200, '200 ms RTT, 2,000 pps'], [1000, 40, '40 ms RTT, 1,000 pps']];
  for (const [pps, rtt, label] of paths) {
    console.log(`\n## Residual loss after FEC, ${label} (1,400-byte packets, 200,000 per cell: seeds 1-3, averaged)`);
    console.log('| loss | runs | no FEC | kcptun 10+3: residual / overhead | policy: residual / overhead (shape most used) | policy predicted |');
    console.log('|---|---|---:|---:|---:|---:|');
    for (const [loss, burst] of [[0, 1], [0.01, 1 / 0.99], [0.05, 1 / 0.95], [0.1, 1 / 0.9], [0.01, 3], [0.05, 3], [0.1, 3]] as const) {
      const run = (mode: Mode) => {
        const rs = [1, 2, 3].map((s) => simulate(mode, loss, burst, s, pps, rtt, 66_667));
        return {
          residual: rs.reduce((a, r) => a + r.residual, 0) / 3,
          overhead: rs.reduce((a, r) => a + r.overhead, 0) / 3,
          shape: rs[0]!.shape,
        };
      };
      const none = run({ kind: 'none' });
      const kcptun = run({ kind: 'fixed', k: 10, m: 3 });
      const pol = run({ kind: 'policy' });
      const [k, m] = pol.shape.split('+').map(Number) as [number, number];
      const predicted = m > 0 ? residualLoss(k, m, loss, burst) : loss;
      console.log(
        `| ${pct(loss)} | ${burst > 2 ? `bursty (mean ${burst})` : 'random'} | ${pct(none.residual)} | ${pct(kcptun.residual)} / ${pct(kcptun.overhead)} | ${pct(pol.residual)} / ${pct(pol.overhead)} (${pol.shape}) | ${pct(predicted)} |`,
      );
    }
  }
}

function flushTable(): void {
  console.log('\n## Flush delay: a partial group parity leaves flushMs after its first packet (k=10, m=3, 5 % random loss)');
  console.log('| pps | flushMs | overhead | mean repair delay (send -> repaired delivery) | residual |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const pps of [20, 100, 500, 2000]) {
    for (const flushMs of [2, 5, 10, 20, 50]) {
      const r = simulate({ kind: 'fixed', k: 10, m: 3 }, 0.05, 1 / 0.95, 7, pps, 40, Math.min(20_000, pps * 60), flushMs);
      console.log(`| ${pps} | ${flushMs} | ${(100 * r.overhead).toFixed(1)} % | ${(r.repairMs - 20).toFixed(1)} ms + one-way delay | ${(100 * r.residual).toFixed(2)} % |`);
    }
  }
}

throughput();
residualTable();
flushTable();
