// FEC for one remote peer (fec-stage.ts keeps one per record): the encoder wrapping what the pair
// sends, the decoder repairing what it receives, the loss readings and the shape decision.
//   send     each inner message leaves at once as a DATA frame; parity after k of them or flushMs
//   receive  DATA delivered at once, a loss rebuilt once any k shards of its group are in (no round
//            trip); the shards' arrival is tallied (fec-tally.ts) and reported to the sender
//   tick     once a second: the loss reading (KCP's retransmits while off, fec-loss.ts; the
//            receiver's REPORT while on) -> decideFec -> the encoder's shape and KCP's fast
//            retransmit depth (kcp-channel.ts setFecDepth)
import { FecDecoder } from '../fec/decoder.js';
import { FecEncoder } from '../fec/encoder.js';
import { decodeFecFrame, encodeFecFrame, FecOp, type FecFrame } from '../fec/frame.js';
import { pathLossOf, reportOf } from '../fec/loss-estimator.js';
import { chooseFec, flushDelayMs, maxGroupFor, type FecParams } from '../fec/policy.js';
import type { ShardMul } from '../fec/rs.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { DecodeError } from '../util/errors.js';
import type { PeerSender } from './channel.js';
import { arqLoss, type ArqCounters } from './fec-loss.js';
import { GroupTally } from './fec-tally.js';
import type { RemotePeer } from './remote-peer.js';

/** --fec: auto (from measured loss), on (at least as for 1 % loss), off (never sends kind 5). */
export type FecSetting = 'auto' | 'on' | 'off';

/** Loss assumed with --fec on when the path measures less (local tuning: one 10 + 1 group). */
const forcedMinLoss = 0.01;
/** Group size while off: only the first group after turning on uses it before a decision. */
const idleK = 10;
/** RTT assumed before the channel measured one (local tuning: a quarter is a 25 ms flush). */
const defaultRttMs = 100;
/** A REPORT decides only if none did for this long (local tuning): a receiver at 40,000 packets/s
 * closes a 200-shard window every 5 ms, and a decision per REPORT was most of a loaded sender's
 * garbage (issue 19 item 7, session 17). The newest reading waits for the next REPORT or tick. */
export const reportDecideMs = 50;

/** arq: KCP's retransmits on our sends (fec-loss.ts); report: the receiver's REPORT of our frames;
 * reverse: what we measured on the peer's frames to us, taken for our direction while we have no
 * reading of our own (a pair that only sends ACKs back never has an ARQ reading). */
export type LossSource = 'arq' | 'report' | 'reverse';

export interface LossReading {
  readonly loss: number;
  readonly burst: number;
  readonly source: LossSource;
}

export interface FecDecisionInput {
  readonly setting: FecSetting;
  /** The peer said it speaks FEC (fec-caps.ts). */
  readonly capable: boolean;
  readonly reading: LossReading | undefined;
  readonly current: FecParams;
  readonly rttMs: number;
  /** Inner messages the pair sent per second lately (sizes groups to fill within the flush delay). */
  readonly packetsPerSec: number;
}

export interface FecDecision extends FecParams {
  readonly flushMs: number;
  /** For `meshd status`: what was picked and why. */
  readonly why: string;
}

const sourceText: Readonly<Record<LossSource, string>> = { arq: 'KCP retransmits', report: "receiver's report", reverse: 'measured on the way back' };
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

/** The pair's parity shape (pure; test/peer/fec-pair.test.ts). */
export function decideFec(i: FecDecisionInput): FecDecision {
  const flushMs = flushDelayMs(i.rttMs);
  const off = (why: string): FecDecision => ({ k: i.current.k, m: 0, flushMs, why });
  if (i.setting === 'off') return off('off (--fec off)');
  if (!i.capable) return off('off (the peer does not speak FEC)');
  if (i.reading === undefined && i.setting === 'auto') return i.current.m > 0 ? { ...i.current, flushMs, why: 'kept (no new loss reading)' } : off('off (no loss reading yet)');
  const measured = i.reading?.loss ?? 0;
  const loss = i.setting === 'on' ? Math.max(measured, forcedMinLoss) : measured;
  const from = i.reading ? `${pct(measured)} loss (${sourceText[i.reading.source]})` : 'no loss reading';
  const p = chooseFec({ loss, burst: i.reading?.burst ?? 1 }, i.current, { maxK: maxGroupFor(i.packetsPerSec, i.rttMs), packetsPerSec: i.packetsPerSec, rttMs: i.rttMs });
  if (p.m === 0) return off(`off: ${from}`);
  return { k: p.k, m: p.m, flushMs, why: `${p.k}+${p.m}: ${from}${i.setting === 'on' ? ', --fec on' : ''}` };
}

export interface PeerFecOptions {
  peer: RemotePeer;
  /** The link's sender: frames go out through it unchanged. */
  sender: PeerSender;
  clock: Clock;
  setting: FecSetting;
  /** Hands an inner message (received, or rebuilt from parity) to the inbound stage. */
  deliver(peer: RemotePeer, inner: Uint8Array): void;
  mul?: ShardMul;
}

export interface FecPairStatus {
  k: number;
  m: number;
  why: string;
  lossPct: number | undefined;
  repaired: number;
  unrecovered: number;
  parityFrames: number;
  overheadBytes: number;
}

export class PeerFec {
  /** The pair's conv when built: a restart on either side means a new PeerFec (group ids anew). */
  readonly conv: number;
  private readonly enc: FecEncoder;
  private readonly dec: FecDecoder;
  private readonly tally = new GroupTally();
  private decision: FecDecision;
  private reading: LossReading | undefined;
  /** When redecide last ran (a REPORT decides only past reportDecideMs of it). */
  private decidedAt = Number.NEGATIVE_INFINITY;
  private arqPrev: ArqCounters | undefined;
  private timer: TimerHandle | undefined;
  /** Inside enc.send: parity the encoder emits waits for the DATA frame that closed its group. */
  private sending = false;
  private readonly pending: Uint8Array[] = [];
  private sent = 0;
  private rateAt: number;
  private pps = 0;

  constructor(private readonly o: PeerFecOptions) {
    this.conv = o.peer.conv;
    const now = o.clock.now();
    this.rateAt = now;
    this.decision = { k: idleK, m: 0, flushMs: flushDelayMs(defaultRttMs), why: 'off (no loss reading yet)' };
    const mul = o.mul ? { mul: o.mul } : {};
    this.enc = new FecEncoder({ k: idleK, m: 0, flushMs: this.decision.flushMs, emit: (f) => this.emitParity(f), ...mul });
    this.dec = new FecDecoder({ deliver: (shard) => o.deliver(o.peer, shard), ...mul });
  }

  get active(): boolean {
    return this.enc.active;
  }

  /** The loss reading on our sends (not the reverse stand-in), undefined when none yet. */
  get loss(): number | undefined {
    return this.reading && this.reading.source !== 'reverse' ? this.reading.loss : undefined;
  }

  /** Sends one inner message of the pair: framed as DATA while FEC is on, else as it is. */
  /** Whether sends go out as FEC frames now (else as they are, with no parity). */
  get encoding(): boolean {
    return this.enc.active;
  }

  send(inner: Uint8Array): boolean {
    this.sent++;
    if (!this.enc.active) return this.o.sender.send(this.o.peer, inner);
    const now = this.o.clock.now();
    this.sending = true;
    const frame = this.enc.send(inner, now);
    this.sending = false;
    const ok = this.o.sender.send(this.o.peer, frame);
    for (const p of this.pending) this.o.sender.send(this.o.peer, p);
    this.pending.length = 0;
    this.schedule(now);
    return ok;
  }

  /** One kind-5 frame from the peer. Never throws for its content. */
  receive(frame: Uint8Array): void {
    const now = this.o.clock.now();
    let f: FecFrame;
    try {
      f = decodeFecFrame(frame);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.dec.stats.badFrames++;
      return;
    }
    if (f.op === FecOp.REPORT) {
      this.reading = { ...pathLossOf(f), source: 'report' };
      if (now - this.decidedAt >= reportDecideMs) this.redecide(now);
      return;
    }
    if (this.tally.observe(f, now)) this.o.sender.send(this.o.peer, encodeFecFrame(reportOf(this.tally.estimate, this.tally.lastWindow)));
    this.dec.push(frame, now);
  }

  /** Once a second (fec-stage.ts): the packet rate, the KCP loss reading while off, the decision. */
  tick(now: number): void {
    const dt = now - this.rateAt;
    if (dt > 0) this.pps = (this.sent * 1000) / dt;
    this.sent = 0;
    this.rateAt = now;
    if (!this.enc.active) {
      const s = this.o.peer.channel?.stats();
      if (s?.pushSegs !== undefined) {
        const cur = { pushSegs: s.pushSegs, retransmits: s.retransmits, spurious: s.spurious ?? 0 };
        // A channel counts from zero when built (a new one, after a restart, too).
        if (this.arqPrev === undefined || cur.pushSegs < this.arqPrev.pushSegs) this.arqPrev = { pushSegs: 0, retransmits: 0, spurious: 0 };
        const loss = arqLoss(this.arqPrev, cur);
        if (loss !== undefined) {
          this.reading = { loss, burst: 1, source: 'arq' };
          this.arqPrev = cur;
        }
      }
      const back = this.tally.estimate;
      if (this.reading?.source !== 'arq' && back.windows > 0) this.reading = { loss: back.loss, burst: back.burst, source: 'reverse' };
    }
    this.redecide(now);
  }

  status(): FecPairStatus {
    const d = this.decision;
    return {
      k: d.k,
      m: d.m,
      why: d.why,
      lossPct: this.reading ? this.reading.loss * 100 : undefined,
      repaired: this.dec.stats.repaired,
      unrecovered: this.dec.stats.unrecoveredShards,
      parityFrames: this.enc.stats.parityFrames,
      overheadBytes: this.enc.stats.overheadBytes,
    };
  }

  close(): void {
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private rttMs(now: number): number {
    const srtt = this.o.peer.channel?.stats().srttMs ?? 0;
    return srtt > 0 ? srtt : (this.o.peer.paths.current(now)?.rttMs ?? defaultRttMs);
  }

  private redecide(now: number): void {
    this.decidedAt = now;
    const wasOn = this.enc.active;
    const d = decideFec({
      setting: this.o.setting,
      capable: true,
      reading: this.reading,
      current: { k: this.decision.k, m: this.decision.m },
      rttMs: this.rttMs(now),
      packetsPerSec: this.pps,
    });
    this.decision = d;
    this.enc.setShape({ k: d.k, m: d.m, flushMs: d.flushMs }, now);
    this.o.peer.channel?.setFecDepth?.(d.m > 0 ? d.k + d.m : 0);
    if (wasOn && d.m === 0) {
      // Back to KCP's reading, from now (what FEC repaired is not in it), and no stale report keeps deciding.
      this.reading = undefined;
      const st = this.o.peer.channel?.stats();
      this.arqPrev = st?.pushSegs !== undefined ? { pushSegs: st.pushSegs, retransmits: st.retransmits, spurious: st.spurious ?? 0 } : undefined;
    }
  }

  private emitParity(f: Uint8Array): void {
    if (this.sending) this.pending.push(f.slice());
    else this.o.sender.send(this.o.peer, f);
  }

  /** One timer while a group is open: its parity leaves at the deadline if the group is not full. */
  private schedule(now: number): void {
    const d = this.enc.deadline();
    if (d === undefined || this.timer !== undefined) return;
    this.timer = this.o.clock.setTimer(Math.max(0, d - now), () => {
      this.timer = undefined;
      const t = this.o.clock.now();
      this.enc.poll(t);
      this.schedule(t);
    });
  }
}
