// The KCP ARQ state machine (skywind3000/kcp ikcp.c, notes and departures in docs/ARQ.md), wire-
// compatible with the reference. Pure: it never reads a clock, sets a timer or touches a socket;
// the caller passes `now` (monotonic ms) and receives datagrams through `output`. meshd's peer
// session owns one Kcp per remote and carries each IP packet as one message (one segment).
// Longer than STYLE's ~400 lines on purpose: one control block whose methods share its fields, read
// beside ikcp.c; the pure parts (segment codec, RTT, seq math, rings) live in their own files.
//
// Deliberate departures from ikcp.c (each is marked "DEPARTURE" where it happens):
//  1. input() validates every segment header of a datagram before applying any; a bad tail
//     rejects the whole datagram (the reference applies the good head first). Same return codes.
//  2. snd_buf/rcv_buf are sequence-indexed slot tables instead of linked lists (same order).
//  3. flush(now) works before the first update() (the reference's ikcp_flush is a no-op then).
//  4. input(data, len, now) may take `now` to time RTT samples; without it, the time of the last
//     update/flush is used, as in the reference.
//  5. check(now) answers in the caller's clock domain (now + ms), not as a u32.
//  6. setWndSize clamps both windows to 65535 (wnd is a u16 on the wire; the reference truncates).
//  7. The output buffer never shrinks on setMtu, so segments queued under a larger MTU still fit.
//  8. Fast-ack counting defaults to IKCP_FASTACK_CONSERVE (a compile-time option in ikcp.c, off
//     in the published source); `fastackConserve = false` gives the other behaviour.
//  9. send() returns the bytes queued (2026 HEAD) rather than 0; stream mode returns the bytes
//     already appended when the rest would need >= 128 fragments.
// 10. Opt-in (setRateControl, meshd's presets): a delivery-rate controller (rate-control.ts) paces
//     data and caps bytes in flight instead of cwnd/nocwnd; the window limits only the sn span.
//     Off by default, so the ikcp.c configuration is unchanged. Same wire format either way.
// 11. Opt-in (`unordered`, receiver side): segments past a gap are handed out at once, each
//     exactly once; for peers that send single-segment messages only. Off by default.
// 12. Opt-in (`ackEcho`, receiver side): a flush that sends ACKs repeats those of recent flushes
//     (ack-echo.ts), so one lost ACK datagram no longer makes the sender fast-retransmit a
//     segment that arrived. Off by default; the wire format is the reference's (an ACK segment more).
// 13. Opt-in (`rackLoss`, sender side, rate control only): RACK-style loss detection (RFC 8985).
//     A segment is resent when a segment sent after it was acked and it is still unacked srtt +
//     a reordering window after its send, or when no ACK has acked anything for a whole RTO (the
//     timer restarts on progress, as TCP's does), instead of at its own send time + RTO. Queueing
//     or a receiver's stall that delays every ACK alike then resends nothing. Same wire format.
// 14. Opt-in (`fastackRepairStrict`, sender side, with fastackConserve): a retransmitted segment
//     counts a skip only from ACKs of transmissions sent in a later ms than it (fastack.ts): new
//     segments that left earlier in the same ms no longer make a repair "lost" before it can
//     arrive. Off by default (ikcp.c's IKCP_FASTACK_CONSERVE counts an equal ts). Same wire format.
import {
  KCP_ASK_SEND,
  KCP_ASK_TELL,
  KCP_CLOCK_JUMP_MS,
  KCP_POOL_MAX_SEGS,
  KCP_MARK_POOL_MAX_SEGS,
  KCP_SEG_CHUNK,
  KCP_DEAD_LINK_XMIT,
  KCP_FAST_LIMIT_XMIT,
  KCP_INTERVAL_DEFAULT_MS,
  KCP_INTERVAL_MAX_MS,
  KCP_INTERVAL_MIN_MS,
  KCP_MAX_FRAGMENTS,
  KCP_MTU_DEFAULT_BYTES,
  KCP_MTU_MIN_BYTES,
  KCP_OVERHEAD_BYTES,
  KCP_PROBE_INIT_MS,
  KCP_PROBE_LIMIT_MS,
  KCP_RCV_WND_DEFAULT_SEGS,
  KCP_RCV_WND_MIN_SEGS,
  KCP_RMT_WND_DEFAULT_SEGS,
  KCP_RTO_DEFAULT_MS,
  KCP_RTO_MIN_MS,
  KCP_RTO_NODELAY_MIN_MS,
  KCP_SND_WND_DEFAULT_SEGS,
  KCP_SSTHRESH_INIT_SEGS,
  KCP_SSTHRESH_MIN_SEGS,
  KcpCmd,
  presets,
  type KcpPreset,
  type KcpPresetName,
} from './constants.js';
import { AckEcho, ackEchoDefaults, type AckEchoConfig } from './ack-echo.js';
import { skipsSegment } from './fastack.js';
import { RateControl, type RateSnapshot } from './rate-control.js';
import { firstSendSlackMs, rtoBackoff, rttUpdate } from './rtt.js';
import { Fifo, SeqSlots, Stack } from './ring.js';
import { SendOrder, type SendOrderNode } from './send-order.js';
import { readU16LE, readU32LE, writeHeader } from './segment.js';
import { seqDiff, toU32Ms } from './seq.js';

/** DEPARTURE 13, local tuning: segments in flight (or any queued) from which ACK progress restarts
 * the RTO of all (RFC 7765's rrthresh); below, each segment keeps its own timer. */
export const rackRestartMinSegs = 4;

/**
 * Receives one datagram: bytes [0, len) of `data`. The buffer is reused by the next flush, so
 * consume or copy it before returning. With `reservedBytes`, [0, reservedBytes) is free headroom
 * for the caller's own header and the KCP segments start after it (len counts both).
 */
export type KcpOutput = (data: Uint8Array, len: number) => void;

export interface KcpOptions {
  /** Headroom at the front of every output datagram, inside the MTU (kcp-go's `reserved`). */
  reservedBytes?: number;
  /**
   * TEST HOOK: start snd_una, snd_nxt and rcv_nxt at this u32 instead of 0, to exercise sequence
   * wrap-around. Both ends must use the same value; nothing negotiates it on the wire.
   */
  initialSn?: number;
}

/** Counters, including why input() rejected datagrams. Plain numbers; read them, don't write. */
export interface KcpStats {
  inDatagrams: number;
  inSegs: number;
  /** PUSH segments already received (in rcv_buf or below rcv_nxt). */
  inDupSegs: number;
  /** PUSH segments beyond rcv_nxt + rcv_wnd (not acked). */
  inOutOfWindowSegs: number;
  /** Segments handed out ahead of a gap (unordered delivery). */
  inEarly: number;
  outDatagrams: number;
  outSegs: number;
  /** PUSH segments sent, first sends and retransmissions (the FEC loss reading, peer/fec-loss.ts). */
  outPushSegs: number;
  retransTimeout: number;
  retransFast: number;
  /** DEPARTURE 13: retransmissions because RACK found the segment lost (a later one was acked). */
  retransRack: number;
  /** Retransmissions proven needless by the ACK's echoed ts (it answers an earlier transmission:
   * Eifel detection), by what sent them. Only segments acked by their own ACK are checked. */
  spuriousTimeout: number;
  spuriousFast: number;
  spuriousRack: number;
  /** Retransmissions found needless: acked too soon after being sent to be answering them (an
   * earlier copy had arrived: reordering). noteSpurious; read by peer/fec-loss.ts. */
  retransSpurious: number;
  /** DEPARTURE 12: ACKs sent again in the next flush. */
  ackEchoes: number;
  /** New segments of thin streams sent twice (rate control only). */
  thinCopies: number;
  /** Segment objects allocated (the pool recycles them); for benchmarks. */
  segAllocs: number;
  /**
   * Rate control only (issue 19 diagnosis): ms the sender spent, between flushes, in each state its
   * last flush ended in: data held by pacing, by the controller's bytes-in-flight cap, by the sn span
   * (snd_una held behind a hole), or nothing queued to send (app-limited: the sender's source is the
   * limit). Sum = time under rate control since the first flush.
   */
  limitMs: { pacing: number; cwnd: number; span: number; idle: number };
  drops: {
    /** Fewer than 24 bytes: code -1. */
    short: number;
    /** A segment's conv differs: code -1. */
    conv: number;
    /** A segment's len exceeds the bytes left (or is >= 2^31): code -2. */
    len: number;
    /** A segment's cmd is not PUSH/ACK/WASK/WINS: code -3. */
    cmd: number;
  };
}

/** Float64 words a segment keeps in its chunk's `times`: ts, resendts and the rate snapshot (three
 * times and the delivered byte count; the array is named for the majority). */
const SEG_TIMES = 6;
const T_TS = 0;
const T_RESEND = 1;
const T_SENT = 2;
const T_DELIVERED = 3;
const T_DELIVERED_AT = 4;
const T_FIRST_SENT = 5;

/**
 * A data segment while queued, in flight or awaiting delivery. Header fields not kept here
 * (conv, cmd, wnd, una) are written from the control block at each transmission.
 *
 * Memory (issue 19 item 7): a 200 ms window holds ~15,000 of these. The payload is a slot of its
 * chunk's buffer, seen through the chunk's one view (a view per segment was ~96 bytes of V8 heap
 * each); its six numbers (u32-ms and fractional-ms times, and the snapshot's delivered byte count)
 * live in the chunk's Float64Array (as object fields they are doubles, each a 16-byte heap number of
 * its own: ~1 MiB per window).
 */
class Seg implements RateSnapshot, SendOrderNode<Seg> {
  sn = 0;
  frg = 0;
  rto = 0;
  fastack = 0;
  xmit = 0;
  len = 0;
  rcAppLimited = false;
  /** In rcv_buf: a placeholder for a segment already handed out (unordered delivery). */
  early = false;
  /** What sent the last transmission (for the spurious counters). */
  cause: SendCause = SendCause.First;
  /** The chunk (acquire) the payload is a slot of; 0 when it has a buffer of its own or none. */
  chunk = 0;
  // In flight under rate control: neighbours in the order of last transmission (send-order.ts).
  sentPrev: Seg | undefined = undefined;
  sentNext: Seg | undefined = undefined;
  /** The payload is data[off, off + len), in a slot of `cap` bytes; the times are times[at, at + SEG_TIMES). */
  constructor(
    public data: Uint8Array,
    public off: number,
    public cap: number,
    private readonly times: Float64Array,
    private readonly at: number,
  ) {}

  /** Time of the last (re)transmission, echoed by the ACK. */
  get ts(): number {
    return this.times[this.at + T_TS]!;
  }
  set ts(v: number) {
    this.times[this.at + T_TS] = v;
  }
  get resendts(): number {
    return this.times[this.at + T_RESEND]!;
  }
  set resendts(v: number) {
    this.times[this.at + T_RESEND] = v;
  }
  // Rate-control snapshot of the last transmission (unused without setRateControl).
  get rcSentAt(): number {
    return this.times[this.at + T_SENT]!;
  }
  set rcSentAt(v: number) {
    this.times[this.at + T_SENT] = v;
  }
  get rcDelivered(): number {
    return this.times[this.at + T_DELIVERED]!;
  }
  set rcDelivered(v: number) {
    this.times[this.at + T_DELIVERED] = v;
  }
  get rcDeliveredAt(): number {
    return this.times[this.at + T_DELIVERED_AT]!;
  }
  set rcDeliveredAt(v: number) {
    this.times[this.at + T_DELIVERED_AT] = v;
  }
  get rcFirstSentAt(): number {
    return this.times[this.at + T_FIRST_SENT]!;
  }
  set rcFirstSentAt(v: number) {
    this.times[this.at + T_FIRST_SENT] = v;
  }
}

/** A segment with a buffer of its own (longer than the mss, or grown). */
function loneSeg(cap: number): Seg {
  return new Seg(new Uint8Array(cap), 0, cap, new Float64Array(SEG_TIMES), 0);
}

/** Why a segment was (re)transmitted. */
const enum SendCause {
  First = 0,
  Timeout = 1,
  Fast = 2,
  Rack = 3,
}

/** Orders segments by the chunk their buffer is a slot of, newest (the full-sized) first. */
function byChunk(a: Seg, b: Seg): number {
  return b.chunk - a.chunk;
}

/**
 * Frees now the buffers of pool[keep..] that no segment of pool[0..keep) shares. Dropped segments
 * are old: left to the collector, their buffers would wait for a full GC, and a transfer resuming
 * after a short idle (an inner BBR's ProbeRTT) would carve its window again beside the old one
 * (issue 19 item 7: two windows resident). Transferring a buffer to a clone nobody keeps detaches
 * it, and the clone, young, goes at the next scavenge. Only the pool refers to these buffers: a
 * segment's data is copied out (output, recv), never lent.
 */
function releaseBuffers(pool: Seg[], keep: number): void {
  const kept = new Set<ArrayBufferLike>();
  for (let i = 0; i < keep; i++) kept.add(pool[i]!.data.buffer);
  for (let i = keep; i < pool.length; i++) {
    const buffer = pool[i]!.data.buffer;
    if (kept.has(buffer) || buffer.byteLength === 0 || !(buffer instanceof ArrayBuffer)) continue;
    kept.add(buffer);
    structuredClone(buffer, { transfer: [buffer] });
  }
}

/** The payload and times of every placeholder (acquireMark): a placeholder is never sent, so its
 * times are never read or written. */
const NO_DATA = new Uint8Array(0);
const NO_TIMES = new Float64Array(SEG_TIMES);

function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  if (n <= 16) {
    for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
  } else {
    dst.set(src.subarray(srcOff, srcOff + n), dstOff);
  }
}

export class Kcp {
  // ---- Identity and sizes
  readonly conv: number;
  mtu = KCP_MTU_DEFAULT_BYTES;
  mss: number;
  readonly reserved: number;
  /** 0, or -1 once a segment was transmitted deadLink times (a flag only). */
  state: 0 | -1 = 0;

  // ---- Sequence state (u32)
  sndUna: number;
  sndNxt: number;
  rcvNxt: number;

  // ---- Windows (segments)
  sndWnd = KCP_SND_WND_DEFAULT_SEGS;
  rcvWnd = KCP_RCV_WND_DEFAULT_SEGS;
  rmtWnd = KCP_RMT_WND_DEFAULT_SEGS;
  /** Starts at 0 as in the reference: the first flush moves no data, then it is forced to 1. */
  cwnd = 0;
  ssthresh = KCP_SSTHRESH_INIT_SEGS;
  /** Byte-counting accumulator for congestion avoidance. */
  incr = 0;
  probe = 0;
  tsProbe = 0;
  probeWait = 0;

  // ---- RTT (ms)
  rxSrtt = 0;
  rxRttval = 0;
  rxRto = KCP_RTO_DEFAULT_MS;
  /** May be set directly, as test.cpp does (rx_minrto = 10). */
  rxMinrto = KCP_RTO_MIN_MS;

  // ---- Timing (u32 ms)
  current = 0;
  interval = KCP_INTERVAL_DEFAULT_MS;
  tsFlush = KCP_INTERVAL_DEFAULT_MS;
  updated = false;

  // ---- Tuning (settable directly, like the reference's struct fields)
  nodelay = 0;
  fastresend = 0;
  fastlimit = KCP_FAST_LIMIT_XMIT;
  nocwnd = 0;
  stream = 0;
  deadLink = KCP_DEAD_LINK_XMIT;
  fastackConserve = true;
  /** DEPARTURE 14 (sender side, local): with conserve, a repair counts only ACKs of later-ms sends (fastack.ts). */
  fastackRepairStrict = false;
  /** DEPARTURE 12 (receiver side, local): repeat recent flushes' ACKs (ack-echo.ts; setAckEcho tunes it). */
  ackEcho = false;
  /**
   * DEPARTURE 11 (receiver side, local): hand out a segment that arrives beyond a gap at once
   * instead of holding it until the gap is repaired. Each message is still delivered exactly
   * once. Only for peers whose messages are single segments (no fragmentation, not stream mode):
   * a last fragment cannot be told from a whole message. meshd carries one IP packet per segment,
   * and IP does not promise order.
   */
  unordered = false;
  /**
   * DEPARTURE 13 (sender side, local, rate control only): RACK-style loss detection and an RTO
   * restarted by every ACK that acks something, instead of a timer per segment from its own send.
   */
  rackLoss = false;
  /** Timeout retransmissions in total (the reference's kcp->xmit). */
  xmit = 0;

  readonly stats: KcpStats = {
    inDatagrams: 0,
    inSegs: 0,
    inDupSegs: 0,
    inOutOfWindowSegs: 0,
    inEarly: 0,
    outDatagrams: 0,
    outSegs: 0,
    outPushSegs: 0,
    retransTimeout: 0,
    retransFast: 0,
    retransRack: 0,
    spuriousTimeout: 0,
    spuriousFast: 0,
    spuriousRack: 0,
    retransSpurious: 0,
    ackEchoes: 0,
    thinCopies: 0,
    segAllocs: 0,
    limitMs: { pacing: 0, cwnd: 0, span: 0, idle: 0 },
    drops: { short: 0, conv: 0, len: 0, cmd: 0 },
  };

  private readonly output: KcpOutput;
  private buffer: Uint8Array;
  private readonly sndQueue = new Fifo<Seg>(64);
  private readonly rcvQueue = new Fifo<Seg>(128);
  private readonly sndBuf: SeqSlots<Seg>;
  private readonly rcvBuf: SeqSlots<Seg>;
  private ackSn = new Uint32Array(64);
  private ackTs = new Uint32Array(64);
  private ackCount = 0;
  /** DEPARTURE 12: the ACKs sent lately (ack-echo.ts) and room for the ones one flush repeats. */
  private echo = new AckEcho();
  private echoSn = new Uint32Array(ackEchoDefaults.capacity);
  private echoTs = new Uint32Array(ackEchoDefaults.capacity);
  private readonly pool = new Stack<Seg>();
  /**
   * How many spare segments the pool may keep: KCP_POOL_MAX_SEGS plus every segment allocated since
   * the control block last held no data, so a transfer's segments go round the pool instead of to
   * the garbage collector, and the pool never holds more than the transfer once held live.
   */
  private poolCap = KCP_POOL_MAX_SEGS;
  /** Chunks carved so far (the last chunk id). */
  private chunks = 0;
  /** DEPARTURE 11's placeholders, recycled apart from data segments: they carry no buffer. */
  private readonly markPool = new Stack<Seg>();
  /** Under rate control: snd_buf's segments, oldest transmission first (RACK's question). */
  private readonly sent = new SendOrder<Seg>();
  /** Under rate control: segments whose fastack reached fastresend since the paced flush last
   * looked (parseFastack); checked again when read, as one may be acked or resent meanwhile. */
  private readonly fastDue: Seg[] = [];
  /** The delivery-rate controller, when enabled (DEPARTURE 10). */
  private rc: RateControl | undefined;
  /** The caller's time (ms, fractions kept) at the last update/flush/timed input; for rc. */
  private nowMs = 0;
  /** After a paced flush: whether pacing held something back, and the earliest resend time (u32). */
  private rcHeld = false;
  private rcResendAt = 0;
  /** ACK ts values whose RTT samples wait for the next clock-side call (rc without input times). */
  private readonly rcRttTs: number[] = [];
  /** DEPARTURE 13: the latest send time (u32 ms) of a transmission known delivered (an ACK's echoed
   * ts), whether there is one, whether an input since the last flush acked something, and when the
   * last flush saw that (the RTO restarts there). */
  private rackTs = 0;
  private rackValid = false;
  private ackedSinceFlush = false;
  private lastAckAt = 0;
  /** stats.limitMs: what held the sender after the last rate-controlled flush, and when it ended. */
  private limit: keyof KcpStats['limitMs'] = 'idle';
  private limitAt = -1;

  constructor(conv: number, output: KcpOutput, options: KcpOptions = {}) {
    this.conv = conv >>> 0;
    this.output = output;
    this.reserved = options.reservedBytes ?? 0;
    if (!Number.isInteger(this.reserved) || this.reserved < 0 || this.reserved >= this.mtu - KCP_OVERHEAD_BYTES) {
      throw new RangeError(`reservedBytes out of range: ${this.reserved}`);
    }
    this.mss = this.mtu - KCP_OVERHEAD_BYTES - this.reserved;
    this.buffer = new Uint8Array((this.mtu + KCP_OVERHEAD_BYTES) * 3);
    const sn0 = (options.initialSn ?? 0) >>> 0;
    this.sndUna = sn0;
    this.sndNxt = sn0;
    this.rcvNxt = sn0;
    this.sndBuf = new SeqSlots<Seg>(this.sndWnd);
    this.rcvBuf = new SeqSlots<Seg>(this.rcvWnd);
  }

  // ======================================================================== configuration

  /** ikcp_setmtu: returns 0, or -1 if mtu < 50 or leaves no room for header and reserved bytes. */
  setMtu(mtu: number): number {
    if (!Number.isInteger(mtu) || mtu < KCP_MTU_MIN_BYTES || mtu - KCP_OVERHEAD_BYTES - this.reserved <= 0) return -1;
    this.mtu = mtu;
    this.mss = mtu - KCP_OVERHEAD_BYTES - this.reserved;
    // DEPARTURE 7: never shrink, so segments queued under the old MTU still fit when flushed.
    const need = (mtu + KCP_OVERHEAD_BYTES) * 3;
    if (need > this.buffer.length) this.buffer = new Uint8Array(need);
    return 0;
  }

  /** ikcp_interval: clamped to 10..5000 ms. (Not named setInterval: test/deps.test.ts bans that token in src/arq.) */
  setFlushInterval(intervalMs: number): void {
    this.interval = Math.min(Math.max(Math.floor(intervalMs), KCP_INTERVAL_MIN_MS), KCP_INTERVAL_MAX_MS);
  }

  /**
   * ikcp_nodelay(nodelay, interval, resend, nc); a negative argument leaves that setting alone.
   * nodelay != 0 lowers the minimum RTO to 30 ms; 0 restores 100 ms.
   */
  setNodelay(nodelay: number, intervalMs: number, resend: number, nc: number): void {
    if (nodelay >= 0) {
      this.nodelay = nodelay;
      this.rxMinrto = nodelay !== 0 ? KCP_RTO_NODELAY_MIN_MS : KCP_RTO_MIN_MS;
    }
    if (intervalMs >= 0) this.setFlushInterval(intervalMs);
    if (resend >= 0) this.fastresend = resend;
    if (nc >= 0) this.nocwnd = nc;
  }

  /** One of the named presets (constants.ts `presets`): default, normal, fast, fast2, fast3. */
  usePreset(name: KcpPresetName): void {
    this.applyPreset(presets[name]);
  }

  /** setNodelay with a preset's values, and its rate control setting. */
  applyPreset(p: KcpPreset): void {
    this.setNodelay(p.nodelay, p.interval, p.resend, p.nc);
    this.setRateControl(p.rateControl === true);
  }

  /**
   * DEPARTURE 10: with `on`, a delivery-rate controller (rate-control.ts) paces data sends and
   * limits bytes in flight to about twice the measured bandwidth-delay product; cwnd and nocwnd
   * are then ignored and snd_wnd/rmt_wnd bound only the span of sequence numbers. Local to this
   * end (same wire format). Set it before sending; turning it off again restores ikcp behaviour.
   */
  setRateControl(on: boolean): void {
    if (on === (this.rc !== undefined)) return;
    if (this.sndBuf.size > 0) throw new RangeError('setRateControl with data in flight');
    this.rc = on ? new RateControl(this.mss + KCP_OVERHEAD_BYTES) : undefined;
  }

  /** The rate controller's state, if enabled (for tests, benches and status). */
  get rateControl(): Readonly<RateControl> | undefined {
    return this.rc;
  }

  /** ikcp_wndsize: a value <= 0 leaves that window alone; rcv_wnd is at least 128. */
  setWndSize(sndWnd: number, rcvWnd: number): void {
    // DEPARTURE 6: clamp to the u16 the wnd field can carry.
    if (sndWnd > 0) {
      this.sndWnd = Math.min(Math.floor(sndWnd), 0xffff);
      this.sndBuf.reserve(this.sndWnd);
    }
    if (rcvWnd > 0) {
      this.rcvWnd = Math.min(Math.max(Math.floor(rcvWnd), KCP_RCV_WND_MIN_SEGS), 0xffff);
      this.rcvBuf.reserve(this.rcvWnd);
    }
  }

  // ======================================================================== counts

  /** Segments not yet acknowledged: in flight plus queued (ikcp_waitsnd). */
  waitSnd(): number {
    return this.sndBuf.size + this.sndQueue.length;
  }
  /** Retransmissions so far: timeouts, fast and RACK (DEPARTURE 13). peer/fec-loss.ts reads loss from it. */
  get retransmits(): number {
    return this.stats.retransTimeout + this.stats.retransFast + this.stats.retransRack;
  }
  get nsndBuf(): number {
    return this.sndBuf.size;
  }
  get nsndQue(): number {
    return this.sndQueue.length;
  }
  get nrcvBuf(): number {
    return this.rcvBuf.size;
  }
  get nrcvQue(): number {
    return this.rcvQueue.length;
  }
  /** Spare segments kept for reuse (for tests and benches). */
  get npool(): number {
    return this.pool.length;
  }

  /** Distinct chunks (acquire) the pooled segments' buffers are slots of; for tests and benchmarks. */
  get npoolChunks(): number {
    const ids = new Set<number>();
    for (let i = 0; i < this.pool.length; i++) {
      const chunk = this.pool.at(i)!.chunk;
      if (chunk !== 0) ids.add(chunk);
    }
    return ids.size;
  }
  /** True once some segment was transmitted deadLink times. */
  get isDeadLink(): boolean {
    return this.state === -1;
  }

  // ======================================================================== user side

  /**
   * Queues bytes [0, len) of `data` as one message (message mode: up to 127 fragments of mss
   * bytes) or as part of the byte stream (stream = 1). Copies the data. Returns the bytes queued,
   * -1 for a negative len, or -2 if the message needs 128 or more fragments.
   */
  send(data: Uint8Array, len: number = data.length): number {
    if (len < 0) return -1;
    if (len > data.length) len = data.length;
    const mss = this.mss;
    let off = 0;
    let sent = 0;
    if (this.stream !== 0) {
      const last = this.sndQueue.last();
      if (last !== undefined && last.len < mss) {
        const extend = Math.min(len, mss - last.len);
        if (last.cap < last.len + extend) {
          const grown = new Uint8Array(mss);
          copyBytes(last.data, last.off, grown, 0, last.len);
          last.data = grown;
          last.off = 0;
          last.cap = mss;
          last.chunk = 0;
        }
        copyBytes(data, 0, last.data, last.off + last.len, extend);
        last.len += extend;
        off = extend;
        len -= extend;
        sent = extend;
      }
      if (len <= 0) return sent;
    }
    const count = len <= mss ? 1 : Math.ceil(len / mss);
    if (count >= KCP_MAX_FRAGMENTS) return this.stream !== 0 && sent > 0 ? sent : -2;
    for (let i = 0; i < count; i++) {
      const size = len > mss ? mss : len;
      const seg = this.acquire(size);
      copyBytes(data, off, seg.data, seg.off, size);
      seg.len = size;
      seg.frg = this.stream === 0 ? count - i - 1 : 0;
      this.sndQueue.push(seg);
      off += size;
      len -= size;
      sent += size;
    }
    return sent;
  }

  /** Size of the next complete message, or -1 if none is complete (ikcp_peeksize). */
  peekSize(): number {
    const first = this.rcvQueue.at(0);
    if (first === undefined) return -1;
    if (first.frg === 0) return first.len;
    if (this.rcvQueue.length < first.frg + 1) return -1;
    let n = 0;
    for (let i = 0; ; i++) {
      const s = this.rcvQueue.at(i);
      if (s === undefined) return -1;
      n += s.len;
      if (s.frg === 0) return n;
    }
  }

  /**
   * Copies the next whole message into `buffer` and returns its length; -1 if nothing is queued,
   * -2 if the next message is incomplete, -3 if `buffer` is too small (nothing is consumed).
   */
  recv(buffer: Uint8Array): number {
    if (this.rcvQueue.length === 0) return -1;
    const size = this.peekSize();
    if (size < 0) return -2;
    if (size > buffer.length) return -3;
    const recover = this.rcvQueue.length >= this.rcvWnd;
    let n = 0;
    for (;;) {
      const seg = this.rcvQueue.shift();
      if (seg === undefined) break;
      copyBytes(seg.data, seg.off, buffer, n, seg.len);
      n += seg.len;
      const frg = seg.frg;
      this.release(seg);
      if (frg === 0) break;
    }
    this.moveRcvBuf();
    // Fast recover: our window was full and has room again; tell the peer at the next flush.
    if (this.rcvQueue.length < this.rcvWnd && recover) this.probe |= KCP_ASK_TELL;
    return n;
  }

  // ======================================================================== network side

  /**
   * Feeds one received datagram (bytes [0, len) of `data`). Returns 0, or the reference's codes:
   * -1 shorter than 24 bytes or wrong conv, -2 a segment's len exceeds the datagram, -3 unknown
   * cmd; the reason is counted in stats.drops. Never throws.
   */
  input(data: Uint8Array, len: number = data.length, now?: number): number {
    if (now !== undefined) {
      this.current = toU32Ms(now); // DEPARTURE 4
      this.nowMs = now;
    }
    this.stats.inDatagrams++;
    len = len > data.length ? data.length : len | 0;
    if (len < KCP_OVERHEAD_BYTES) {
      this.stats.drops.short++;
      return -1;
    }
    // DEPARTURE 1: validate the whole datagram first so a malformed one changes nothing.
    let o = 0;
    while (len - o >= KCP_OVERHEAD_BYTES) {
      if (readU32LE(data, o) !== this.conv) {
        this.stats.drops.conv++;
        return -1;
      }
      const segLen = readU32LE(data, o + 20);
      if (segLen > len - o - KCP_OVERHEAD_BYTES) {
        this.stats.drops.len++;
        return -2;
      }
      const cmd = data[o + 4]!;
      if (cmd < KcpCmd.Push || cmd > KcpCmd.Wins) {
        this.stats.drops.cmd++;
        return -3;
      }
      o += KCP_OVERHEAD_BYTES + segLen;
    }
    const prevUna = this.sndUna;
    let haveAck = false;
    let maxack = 0;
    let latestTs = 0;
    o = 0;
    while (len - o >= KCP_OVERHEAD_BYTES) {
      const cmd = data[o + 4]!;
      const frg = data[o + 5]!;
      const wnd = readU16LE(data, o + 6);
      const ts = readU32LE(data, o + 8);
      const sn = readU32LE(data, o + 12);
      const una = readU32LE(data, o + 16);
      const segLen = readU32LE(data, o + 20);
      const p = o + KCP_OVERHEAD_BYTES;
      o = p + segLen;
      this.stats.inSegs++;

      this.rmtWnd = wnd;
      if (this.rc !== undefined && cmd === KcpCmd.Ack) {
        // Before una processing may drop it: an ack of this very transmission times it exactly.
        const acked = this.sndBuf.get(sn);
        this.rc.queueRtt(acked !== undefined && toU32Ms(acked.rcSentAt) === ts ? acked.rcSentAt : -1, ts);
      }
      this.parseUna(una);
      if (cmd === KcpCmd.Ack) {
        // DEPARTURE 13: every ACK echoes the ts of a transmission that arrived.
        if (!this.rackValid || seqDiff(ts, this.rackTs) > 0) {
          this.rackTs = ts;
          this.rackValid = true;
        }
        if (this.rc !== undefined && now === undefined) {
          // The time of the last update is stale under rate control's pacing timers: wait for the
          // next update/flush, which the caller runs right after this batch, to take the sample.
          this.rcRttTs.push(ts);
        } else {
          const rtt = seqDiff(this.current, ts);
          if (rtt >= 0) rttUpdate(this, rtt, this.interval, this.rxMinrto);
        }
        this.parseAck(sn, ts);
        if (!haveAck) {
          haveAck = true;
          maxack = sn;
          latestTs = ts;
        } else if (seqDiff(sn, maxack) > 0 && (!this.fastackConserve || seqDiff(ts, latestTs) > 0)) {
          maxack = sn;
          latestTs = ts;
        }
      } else if (cmd === KcpCmd.Push) {
        if (seqDiff(sn, this.rcvNxt + this.rcvWnd) < 0) {
          this.ackPush(sn, ts);
          if (seqDiff(sn, this.rcvNxt) >= 0) this.parseData(sn, frg, data, p, segLen);
          else this.stats.inDupSegs++;
        } else {
          this.stats.inOutOfWindowSegs++;
        }
      } else if (cmd === KcpCmd.Wask) {
        this.probe |= KCP_ASK_TELL;
      }
      // WINS: nothing beyond the wnd field, already applied.
    }

    if (haveAck) this.parseFastack(maxack, latestTs);
    if (this.rc !== undefined && now !== undefined) this.rcSettle(now);

    if (seqDiff(this.sndUna, prevUna) > 0 && this.cwnd < this.rmtWnd) {
      const mss = this.mss;
      if (this.cwnd < this.ssthresh) {
        this.cwnd++;
        this.incr += mss;
      } else {
        if (this.incr < mss) this.incr = mss;
        this.incr += Math.floor((mss * mss) / this.incr) + Math.floor(mss / 16);
        if ((this.cwnd + 1) * mss <= this.incr) this.cwnd = Math.floor((this.incr + mss - 1) / mss);
      }
      if (this.cwnd > this.rmtWnd) {
        this.cwnd = this.rmtWnd;
        this.incr = this.rmtWnd * mss;
      }
    }
    return 0;
  }

  /** DEPARTURE 12: how many ACKs are repeated, how often and for how long (ack-echo.ts). */
  setAckEcho(cfg: AckEchoConfig): void {
    this.echo = new AckEcho(cfg);
    this.echoSn = new Uint32Array(cfg.capacity);
    this.echoTs = new Uint32Array(cfg.capacity);
  }

  // ======================================================================== clock side

  /**
   * Call every interval, or at the time check() returns. Flushes when ts_flush is due; resyncs
   * if the clock jumped by 10 s or more.
   */
  update(now: number): void {
    this.current = toU32Ms(now);
    this.nowMs = now;
    if (this.rc !== undefined) this.rcSettle(now);
    if (!this.updated) {
      this.updated = true;
      this.tsFlush = this.current;
    }
    let slap = seqDiff(this.current, this.tsFlush);
    if (slap >= KCP_CLOCK_JUMP_MS || slap < -KCP_CLOCK_JUMP_MS) {
      this.tsFlush = this.current;
      slap = 0;
    }
    if (slap >= 0) {
      this.tsFlush = (this.tsFlush + this.interval) >>> 0;
      if (seqDiff(this.current, this.tsFlush) >= 0) this.tsFlush = (this.current + this.interval) >>> 0;
      this.flushAll();
    }
  }

  /**
   * When update() is next needed, in the caller's clock (DEPARTURE 5): `now` if due, else the
   * earliest of ts_flush and any resend time, at most now + interval.
   */
  check(now: number): number {
    const current = toU32Ms(now);
    if (!this.updated) return now;
    let tsFlush = this.tsFlush;
    const slap = seqDiff(current, tsFlush);
    if (slap >= KCP_CLOCK_JUMP_MS || slap < -KCP_CLOCK_JUMP_MS) tsFlush = current;
    if (seqDiff(current, tsFlush) >= 0) return now;
    let minimal = seqDiff(tsFlush, current);
    if (this.rc !== undefined) return this.checkPaced(this.rc, now, current, minimal);
    for (let sn = this.sndUna; sn !== this.sndNxt; sn = (sn + 1) >>> 0) {
      const seg = this.sndBuf.get(sn);
      if (seg === undefined) continue;
      const diff = seqDiff(seg.resendts, current);
      if (diff <= 0) return now;
      if (diff < minimal) minimal = diff;
    }
    if (minimal > this.interval) minimal = this.interval;
    return now + minimal;
  }

  /**
   * Sends pending ACKs, probes and whatever data the windows allow, now, without waiting for the
   * interval (e.g. right after send() for latency). DEPARTURE 3: also works before update().
   */
  flush(now: number): void {
    this.current = toU32Ms(now);
    this.nowMs = now;
    if (this.rc !== undefined) this.rcSettle(now);
    if (!this.updated) {
      this.updated = true;
      this.tsFlush = this.current;
    }
    this.flushAll();
  }

  // ======================================================================== internals

  private acquire(cap: number): Seg {
    let seg = this.pool.pop();
    if (seg === undefined) {
      seg = this.carve(cap);
    } else if (seg.cap < cap) {
      this.stats.segAllocs++;
      seg.cap = cap > this.mss ? cap : this.mss;
      seg.data = new Uint8Array(seg.cap);
      seg.off = 0;
      seg.chunk = 0;
    }
    seg.len = 0;
    seg.early = false;
    return seg;
  }

  /**
   * A pool miss: segments whose buffers are mss-sized slots of one new ArrayBuffer, as many as were
   * carved since the control block last held nothing (1, 1, 2, 4, ... up to KCP_SEG_CHUNK), so a
   * lane that only ever carries pings keeps a few small buffers and a transfer's segments come 32
   * to an allocation. One is returned, the others wait in the pool (poolCap counts them all). A
   * segment longer than the mss (queued before setMtu grew it) gets a buffer of its own.
   */
  private carve(cap: number): Seg {
    if (cap > this.mss) {
      this.stats.segAllocs++;
      this.poolCap++;
      return loneSeg(cap);
    }
    const n = Math.min(KCP_SEG_CHUNK, Math.max(1, this.poolCap - KCP_POOL_MAX_SEGS));
    const slot = this.mss;
    const block = new Uint8Array(slot * n);
    const times = new Float64Array(SEG_TIMES * n);
    const chunk = ++this.chunks;
    this.stats.segAllocs += n;
    this.poolCap += n;
    for (let i = n - 1; i > 0; i--) {
      const spare = new Seg(block, i * slot, slot, times, i * SEG_TIMES);
      spare.chunk = chunk;
      this.pool.push(spare);
    }
    const seg = new Seg(block, 0, slot, times, 0);
    seg.chunk = chunk;
    return seg;
  }

  private release(seg: Seg): void {
    this.sent.remove(seg);
    if (seg.early) {
      if (this.markPool.length < KCP_MARK_POOL_MAX_SEGS) this.markPool.push(seg);
    } else if (this.pool.length < this.poolCap) this.pool.push(seg);
  }

  /**
   * Once nothing is queued, in flight or awaiting delivery, the pool goes back to KCP_POOL_MAX_SEGS
   * spares. Until then segments released by ACKs wait for the next send() instead of being dropped:
   * a dropped segment outlives its RTT, is promoted to V8's old space and its buffer is freed only by
   * the next full GC, which external memory triggers after tens of MB (issue 19 item 7, session 7).
   */
  private shrinkPoolIfIdle(): void {
    if (this.poolCap === KCP_POOL_MAX_SEGS) return;
    if (this.sndBuf.size + this.sndQueue.length + this.rcvBuf.size + this.rcvQueue.length !== 0) return;
    if (this.pool.length > KCP_POOL_MAX_SEGS) {
      // Keep whole chunks: a chunk's memory goes only with the last of its segments.
      const all = this.pool.takeAll().sort(byChunk);
      releaseBuffers(all, KCP_POOL_MAX_SEGS);
      for (let i = 0; i < KCP_POOL_MAX_SEGS; i++) this.pool.push(all[i]!);
    }
    this.poolCap = KCP_POOL_MAX_SEGS;
  }

  /**
   * DEPARTURE 11: a placeholder for sn, handed out already. It holds no payload: across a repair
   * at 200 ms RTT and 5 % loss a receiver keeps 5,000-8,000 of them, which with a segment buffer
   * each (the rule until issue 19 item 7, session 7) held ~10 MB and, released in bursts past the
   * pool when the gap closed, made most of the receiver's allocations.
   */
  private acquireMark(sn: number): Seg {
    const mark = this.markPool.pop() ?? new Seg(NO_DATA, 0, 0, NO_TIMES, 0);
    mark.sn = sn;
    mark.len = 0;
    mark.early = true;
    return mark;
  }

  /** Free receive window advertised to the peer. */
  private wndUnused(): number {
    const n = this.rcvQueue.length;
    return n < this.rcvWnd ? this.rcvWnd - n : 0;
  }

  /** Drops every snd_buf segment below una and recomputes snd_una (parse_una + shrink_buf). */
  private parseUna(una: number): void {
    while (this.sndUna !== this.sndNxt && seqDiff(una, this.sndUna) > 0) {
      const seg = this.sndBuf.take(this.sndUna);
      if (seg !== undefined) {
        this.ackedSinceFlush = true;
        this.noteSpurious(seg);
        this.rc?.queueAck(seg, seg.len + KCP_OVERHEAD_BYTES);
        this.release(seg);
      }
      this.sndUna = (this.sndUna + 1) >>> 0;
    }
    this.shrinkBuf();
  }

  /** snd_una = first unacknowledged sn in snd_buf, or snd_nxt if it is empty. */
  private shrinkBuf(): void {
    while (this.sndUna !== this.sndNxt && this.sndBuf.get(this.sndUna) === undefined) {
      this.sndUna = (this.sndUna + 1) >>> 0;
    }
  }

  private parseAck(sn: number, ts: number): void {
    if (seqDiff(sn, this.sndUna) < 0 || seqDiff(sn, this.sndNxt) >= 0) return;
    const seg = this.sndBuf.take(sn);
    if (seg !== undefined) {
      this.ackedSinceFlush = true;
      // Eifel: an ACK echoing an earlier transmission's ts shows the last one was not needed.
      if (seg.xmit > 1 && seqDiff(ts, seg.ts) < 0) {
        if (seg.cause === SendCause.Timeout) this.stats.spuriousTimeout++;
        else if (seg.cause === SendCause.Fast) this.stats.spuriousFast++;
        else if (seg.cause === SendCause.Rack) this.stats.spuriousRack++;
      }
      this.noteSpurious(seg);
      this.rc?.queueAck(seg, seg.len + KCP_OVERHEAD_BYTES);
      this.release(seg);
    }
    this.shrinkBuf();
  }

  /**
   * A retransmitted segment acked (by its own ACK or by una) less than half an RTT after its last
   * transmission: that ACK answered an earlier copy, so the retransmission was needless (reordering
   * fired fast retransmit). Timing rather than the echoed ts, because una often covers a segment
   * before its own ACK is read (one flush's ACKs span several datagrams, all with the final una).
   */
  private noteSpurious(seg: Seg): void {
    if (seg.xmit > 1 && this.rxSrtt > 0 && seqDiff(this.current, seg.ts) * 2 < this.rxSrtt) this.stats.retransSpurious++;
  }

  /** Every in-flight segment below the highest acked sn has been "skipped" once more. */
  private parseFastack(sn: number, ts: number): void {
    if (seqDiff(sn, this.sndUna) < 0 || seqDiff(sn, this.sndNxt) >= 0) return;
    for (let s = this.sndUna; s !== sn; s = (s + 1) >>> 0) {
      const seg = this.sndBuf.get(s);
      if (seg === undefined) continue;
      if (skipsSegment(ts, seg.ts, seg.xmit, this.fastackConserve, this.fastackRepairStrict)) {
        seg.fastack++;
        if (seg.fastack === this.fastresend && this.rc !== undefined) this.fastDue.push(seg);
      }
    }
  }

  /**
   * DEPARTURE 12: after this flush's ACKs, those of recent flushes still above una (ack-echo.ts),
   * packed after them as any ACK; then this flush's are remembered to be repeated in turn.
   */
  private echoAcks(buf: Uint8Array, ptr: number, base: number, wnd: number, una: number): number {
    const n = this.echo.take(this.current, una, this.echoSn, this.echoTs);
    for (let i = 0; i < n; i++) {
      if (ptr + KCP_OVERHEAD_BYTES > this.mtu) {
        this.emit(ptr);
        ptr = base;
      }
      ptr = writeHeader(buf, ptr, this.conv, KcpCmd.Ack, 0, wnd, this.echoTs[i]!, this.echoSn[i]!, una, 0);
      this.stats.outSegs++;
      this.stats.ackEchoes++;
    }
    this.echo.remember(this.ackSn, this.ackTs, this.ackCount, this.current, una);
    return ptr;
  }

  private ackPush(sn: number, ts: number): void {
    if (this.ackCount === this.ackSn.length) {
      const sns = new Uint32Array(this.ackCount * 2);
      const tss = new Uint32Array(this.ackCount * 2);
      sns.set(this.ackSn);
      tss.set(this.ackTs);
      this.ackSn = sns;
      this.ackTs = tss;
    }
    this.ackSn[this.ackCount] = sn;
    this.ackTs[this.ackCount] = ts;
    this.ackCount++;
  }

  /** Stores a PUSH inside [rcv_nxt, rcv_nxt + rcv_wnd) unless already held, then delivers in order. */
  private parseData(sn: number, frg: number, src: Uint8Array, off: number, len: number): void {
    if (this.rcvBuf.get(sn) !== undefined) {
      this.stats.inDupSegs++;
      return;
    }
    const seg = this.acquire(len);
    copyBytes(src, off, seg.data, seg.off, len);
    seg.sn = sn;
    seg.frg = frg;
    seg.len = len;
    if (this.unordered && sn !== this.rcvNxt && frg === 0 && this.stream === 0 && this.rcvQueue.length < this.rcvWnd) {
      // DEPARTURE 11: hand it out now; a placeholder lets rcv_nxt pass it later without a repeat.
      this.rcvQueue.push(seg);
      this.rcvBuf.set(this.acquireMark(sn));
      this.stats.inEarly++;
      return;
    }
    this.rcvBuf.set(seg);
    this.moveRcvBuf();
  }

  /** Moves contiguous segments from rcv_buf to rcv_queue while the queue has room. */
  private moveRcvBuf(): void {
    while (this.rcvQueue.length < this.rcvWnd) {
      const seg = this.rcvBuf.take(this.rcvNxt);
      if (seg === undefined) break;
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      if (seg.early) this.release(seg);
      else this.rcvQueue.push(seg);
    }
  }

  /**
   * check() under rate control, in O(1) from what the last flush left: work the pacer held back
   * (or new data the window admits) is due when the pacer allows; otherwise the earliest resend.
   */
  private checkPaced(rc: RateControl, now: number, current: number, minimal: number): number {
    let due = this.rcHeld;
    const next = this.sndQueue.at(0);
    const span = this.sndWnd < this.rmtWnd ? this.sndWnd : this.rmtWnd;
    if (!due && next !== undefined && seqDiff(this.sndNxt, this.sndUna + span) < 0) {
      due = rc.inflight === 0 || rc.inflight + next.len + KCP_OVERHEAD_BYTES <= rc.cwndBytes();
    }
    if (this.sndBuf.size > 0) {
      const resend = seqDiff(this.rcResendAt, current);
      if (resend <= 0) due = true;
      else if (resend < minimal) minimal = resend;
    }
    if (minimal > this.interval) minimal = this.interval;
    return due ? Math.min(now + minimal, rc.nextSendAt(this.mss + KCP_OVERHEAD_BYTES, now)) : now + minimal;
  }

  /** Applies RTT samples and acks that input() queued, as seen at `now` (rate control only). */
  private rcSettle(now: number): void {
    const tss = this.rcRttTs;
    if (tss.length > 0) {
      const current = toU32Ms(now);
      for (const ts of tss) {
        const rtt = seqDiff(current, ts);
        if (rtt >= 0) rttUpdate(this, rtt, this.interval, this.rxMinrto);
      }
      tss.length = 0;
    }
    this.rc!.settle(now);
  }

  /**
   * Data under rate control (DEPARTURE 10): repairs first (timeouts, RACK losses, fast
   * retransmits), then new segments while the sn span fits min(snd_wnd, rmt_wnd), bytes in flight
   * fit the controller's window and the pacing budget lasts. Segments enter snd_buf only when sent.
   */
  private flushPaced(rc: RateControl, ptr: number, wnd: number, una: number): number {
    const current = this.current;
    const now = this.nowMs;
    const slack = rc.rtoSlackMs();
    let paced = false;
    let resendAt = (current + this.interval) >>> 0;
    // DEPARTURE 13: the RTO restarts whenever an ACK acked something (no segment times out while
    // ACKs flow: RACK finds those lost); a segment is RACK-lost once a segment sent after it was
    // acked and srtt + reoWnd have passed since it was sent.
    if (this.ackedSinceFlush) {
      this.ackedSinceFlush = false;
      this.lastAckAt = current;
    }
    // Only a flight restarts the timer: with a few segments and nothing queued (interactive traffic)
    // a restart would only delay the repair of the last one (RFC 7765's point); each keeps its own.
    const restart = this.rackLoss && (this.sndBuf.size >= rackRestartMinSegs || this.sndQueue.length > 0);
    const restartAt = (this.lastAckAt + this.rxRto + slack) >>> 0;
    const resent = this.fastresend > 0 ? this.fastresend : 0xffffffff;
    if (!restart || seqDiff(current, restartAt) >= 0) {
      // A segment may have timed out: look at each, in sn order (interactive flows, a stall).
      const rackAfter = this.rxSrtt + this.rackReoWnd(rc);
      const rack = restart && this.rackValid && this.rxSrtt > 0;
      const rackTs = seqDiff(this.rackTs, current) <= 0 ? this.rackTs : current;
      for (let sn = this.sndUna; sn !== this.sndNxt; sn = (sn + 1) >>> 0) {
        const seg = this.sndBuf.get(sn);
        if (seg === undefined) continue;
        let timeout = seqDiff(current, seg.resendts) >= 0;
        let lost = false;
        if (timeout && restart && seqDiff(current, restartAt) < 0) timeout = false;
        if (rack && !timeout && seqDiff(rackTs, seg.ts) > 0) {
          const lostAt = (seg.ts + rackAfter) >>> 0;
          if (seqDiff(current, lostAt) >= 0) lost = true;
          else if (seqDiff(lostAt, resendAt) < 0) resendAt = lostAt;
        }
        if (!timeout && !lost && !this.fastDueNow(seg, resent)) {
          const due = restart && seqDiff(restartAt, seg.resendts) > 0 ? restartAt : seg.resendts;
          if (seqDiff(due, resendAt) < 0) resendAt = due;
          continue;
        }
        if (!rc.canSend(seg.len + KCP_OVERHEAD_BYTES, now)) {
          paced = true;
          break;
        }
        ptr = this.resendPaced(rc, seg, timeout, resent, slack, ptr, wnd, una);
        if (seqDiff(seg.resendts, resendAt) < 0) resendAt = seg.resendts;
      }
      // Every segment fastack counted was looked at (or waits for the pacer, then for this walk).
      if (!paced) this.fastDue.length = 0;
    } else {
      // ACKs flow, so nothing times out before restartAt (every segment's due time is at least it):
      // only RACK's losses, a prefix of the send order, and the segments fastack counted.
      if (seqDiff(restartAt, resendAt) < 0) resendAt = restartAt;
      if (this.rackValid && this.rxSrtt > 0) {
        const rackAfter = this.rxSrtt + this.rackReoWnd(rc);
        const rackTs = seqDiff(this.rackTs, current) <= 0 ? this.rackTs : current;
        let seg = this.sent.first();
        for (let left = this.sent.size; seg !== undefined && left > 0 && seqDiff(rackTs, seg.ts) > 0; left--) {
          const next = this.sent.next(seg);
          const lostAt = (seg.ts + rackAfter) >>> 0;
          if (seqDiff(current, lostAt) < 0) {
            // Sent later than this one, the rest are lost later.
            if (seqDiff(lostAt, resendAt) < 0) resendAt = lostAt;
            break;
          }
          if (!rc.canSend(seg.len + KCP_OVERHEAD_BYTES, now)) {
            paced = true;
            break;
          }
          ptr = this.resendPaced(rc, seg, false, resent, slack, ptr, wnd, una);
          if (seqDiff(seg.resendts, resendAt) < 0) resendAt = seg.resendts;
          seg = next;
        }
      }
      const due = this.fastDue;
      let i = 0;
      for (; !paced && i < due.length; i++) {
        const seg = due[i]!;
        if (this.sndBuf.get(seg.sn) !== seg || !this.fastDueNow(seg, resent)) continue;
        if (!rc.canSend(seg.len + KCP_OVERHEAD_BYTES, now)) {
          paced = true;
          break;
        }
        ptr = this.resendPaced(rc, seg, false, resent, slack, ptr, wnd, una);
        if (seqDiff(seg.resendts, resendAt) < 0) resendAt = seg.resendts;
      }
      if (i >= due.length) due.length = 0;
      else due.splice(0, i);
    }
    const span = this.sndWnd < this.rmtWnd ? this.sndWnd : this.rmtWnd;
    const cwnd = rc.cwndBytes();
    const rtomin = firstSendSlackMs(this.rxRto, this.nodelay);
    let limit: keyof KcpStats['limitMs'] = paced ? 'pacing' : 'span';
    while (!paced && seqDiff(this.sndNxt, this.sndUna + span) < 0) {
      const seg = this.sndQueue.at(0);
      if (seg === undefined) {
        limit = 'idle';
        break;
      }
      const bytes = seg.len + KCP_OVERHEAD_BYTES;
      if (rc.inflight > 0 && rc.inflight + bytes > cwnd) {
        limit = 'cwnd';
        break;
      }
      if (!rc.canSend(bytes, now)) {
        limit = 'pacing';
        break;
      }
      this.sndQueue.shift();
      seg.sn = this.sndNxt;
      this.sndNxt = (this.sndNxt + 1) >>> 0;
      seg.fastack = 0;
      seg.xmit = 1;
      seg.cause = SendCause.First;
      seg.rto = this.rxRto;
      seg.resendts = (current + seg.rto + rtomin + slack) >>> 0;
      if (seqDiff(seg.resendts, resendAt) < 0) resendAt = seg.resendts;
      this.sndBuf.set(seg);
      const thin = this.sndQueue.length === 0 && rc.isThin(bytes);
      ptr = this.writePush(seg, ptr, wnd, una);
      rc.onSend(seg, bytes, now, true);
      if (thin) {
        // A copy in its own datagram (the receiver acks and drops the duplicate): a thin stream
        // has no later segments to reveal a loss, so one loss would cost an RTO.
        this.emit(ptr);
        ptr = this.writePush(seg, this.reserved, wnd, una);
        rc.onCopy(bytes);
        this.stats.thinCopies++;
      }
    }
    // App-limited: nothing left to send though the window had room for another full segment.
    if (!paced && this.sndQueue.length === 0 && rc.inflight + this.mss + KCP_OVERHEAD_BYTES <= cwnd) rc.markAppLimited();
    rc.setBacklogged(this.sndQueue.length > 0);
    if (limit === 'span' && this.sndQueue.length === 0) limit = 'idle';
    if (this.limitAt >= 0 && now > this.limitAt) this.stats.limitMs[this.limit] += now - this.limitAt;
    this.limitAt = now;
    this.limit = limit;
    // For check(): acks since only remove segments (the earliest resend can only be later) and
    // the caller flushes after input, which recomputes this.
    this.rcHeld = paced;
    this.rcResendAt = resendAt;
    return ptr;
  }

  /** Whether fastack has counted enough skips for seg to be resent (within fastlimit). */
  private fastDueNow(seg: Seg, resent: number): boolean {
    return seg.fastack >= resent && (seg.xmit <= this.fastlimit || this.fastlimit <= 0);
  }

  /**
   * Resends seg (flushPaced's repairs): a timeout backs its RTO off, otherwise the cause is a fast
   * retransmit if fastack counted enough skips, else a RACK loss. It becomes the newest in the send
   * order (writePush).
   */
  private resendPaced(rc: RateControl, seg: Seg, timeout: boolean, resent: number, slack: number, ptr: number, wnd: number, una: number): number {
    const fast = !timeout && this.fastDueNow(seg, resent);
    seg.xmit++;
    if (timeout) {
      this.xmit++;
      this.stats.retransTimeout++;
      seg.rto = rtoBackoff(seg.rto, this.rxRto, this.nodelay);
      seg.cause = SendCause.Timeout;
    } else if (fast) {
      seg.fastack = 0;
      this.stats.retransFast++;
      seg.cause = SendCause.Fast;
    } else {
      seg.fastack = 0;
      this.stats.retransRack++;
      seg.cause = SendCause.Rack;
    }
    seg.resendts = (this.current + seg.rto + slack) >>> 0;
    ptr = this.writePush(seg, ptr, wnd, una);
    rc.onSend(seg, seg.len + KCP_OVERHEAD_BYTES, this.nowMs, false);
    return ptr;
  }

  /**
   * DEPARTURE 13: how long after a later-sent segment's ACK a segment may still be acked before it
   * counts as lost (RACK's reordering window): a quarter of the min RTT, at least one flush
   * interval. FEC's repair of a lost segment lands within its group's span, well inside this.
   */
  private rackReoWnd(rc: RateControl): number {
    const q = rc.minRtt === Infinity ? 0 : Math.ceil(rc.minRtt / 4);
    return q > this.interval ? q : this.interval;
  }

  /** Writes one PUSH (a transmission of seg, stamped now) at ptr, emitting first if it won't fit. */
  private writePush(seg: Seg, ptr: number, wnd: number, una: number): number {
    const base = this.reserved;
    if (ptr + KCP_OVERHEAD_BYTES + seg.len > this.mtu && ptr > base) {
      this.emit(ptr);
      ptr = base;
    }
    seg.ts = this.current;
    this.sent.touch(seg);
    ptr = writeHeader(this.buffer, ptr, this.conv, KcpCmd.Push, seg.frg, wnd, seg.ts, seg.sn, una, seg.len);
    copyBytes(seg.data, seg.off, this.buffer, ptr, seg.len);
    this.stats.outSegs++;
    this.stats.outPushSegs++;
    if (seg.xmit >= this.deadLink) this.state = -1;
    return ptr + seg.len;
  }

  private emit(len: number): void {
    this.stats.outDatagrams++;
    this.output(this.buffer, len);
  }

  /** ikcp_flush: ACKs, window probes, then data, packed into datagrams of at most mtu bytes. */
  private flushAll(): void {
    this.shrinkPoolIfIdle();
    const current = this.current;
    const buf = this.buffer;
    const base = this.reserved;
    const mtu = this.mtu;
    const conv = this.conv;
    const wnd = this.wndUnused();
    const una = this.rcvNxt;
    let ptr = base;

    // 1. ACKs
    for (let i = 0; i < this.ackCount; i++) {
      if (ptr + KCP_OVERHEAD_BYTES > mtu) {
        this.emit(ptr);
        ptr = base;
      }
      ptr = writeHeader(buf, ptr, conv, KcpCmd.Ack, 0, wnd, this.ackTs[i]!, this.ackSn[i]!, una, 0);
      this.stats.outSegs++;
    }
    if (this.ackEcho && this.ackCount > 0) ptr = this.echoAcks(buf, ptr, base, wnd, una);
    this.ackCount = 0;

    // 2. Zero-window probing
    if (this.rmtWnd === 0) {
      if (this.probeWait === 0) {
        this.probeWait = KCP_PROBE_INIT_MS;
        this.tsProbe = (current + this.probeWait) >>> 0;
      } else if (seqDiff(current, this.tsProbe) >= 0) {
        if (this.probeWait < KCP_PROBE_INIT_MS) this.probeWait = KCP_PROBE_INIT_MS;
        this.probeWait += Math.floor(this.probeWait / 2);
        if (this.probeWait > KCP_PROBE_LIMIT_MS) this.probeWait = KCP_PROBE_LIMIT_MS;
        this.tsProbe = (current + this.probeWait) >>> 0;
        this.probe |= KCP_ASK_SEND;
      }
    } else {
      this.tsProbe = 0;
      this.probeWait = 0;
    }
    if (this.probe & KCP_ASK_SEND) {
      if (ptr + KCP_OVERHEAD_BYTES > mtu) {
        this.emit(ptr);
        ptr = base;
      }
      ptr = writeHeader(buf, ptr, conv, KcpCmd.Wask, 0, wnd, 0, 0, una, 0);
      this.stats.outSegs++;
    }
    if (this.probe & KCP_ASK_TELL) {
      if (ptr + KCP_OVERHEAD_BYTES > mtu) {
        this.emit(ptr);
        ptr = base;
      }
      ptr = writeHeader(buf, ptr, conv, KcpCmd.Wins, 0, wnd, 0, 0, una, 0);
      this.stats.outSegs++;
    }
    this.probe = 0;

    if (this.rc !== undefined) {
      ptr = this.flushPaced(this.rc, ptr, wnd, una);
      if (ptr > base) this.emit(ptr);
      // cwnd is unused under rate control; keep the reference's invariant (>= 1 once flushed).
      if (this.cwnd < 1) {
        this.cwnd = 1;
        this.incr = this.mss;
      }
      return;
    }

    // 3. Effective window, and move data from snd_queue to snd_buf
    let cwnd = this.sndWnd < this.rmtWnd ? this.sndWnd : this.rmtWnd;
    if (this.nocwnd === 0 && this.cwnd < cwnd) cwnd = this.cwnd;
    while (seqDiff(this.sndNxt, this.sndUna + cwnd) < 0) {
      const seg = this.sndQueue.shift();
      if (seg === undefined) break;
      seg.sn = this.sndNxt;
      this.sndNxt = (this.sndNxt + 1) >>> 0;
      seg.ts = current;
      seg.resendts = current;
      seg.rto = this.rxRto;
      seg.fastack = 0;
      seg.xmit = 0;
      this.sndBuf.set(seg);
    }

    // 4. Data: first sends, timeouts, fast retransmits
    const resent = this.fastresend > 0 ? this.fastresend : 0xffffffff;
    const rtomin = firstSendSlackMs(this.rxRto, this.nodelay);
    let change = 0;
    let lost = false;
    for (let sn = this.sndUna; sn !== this.sndNxt; sn = (sn + 1) >>> 0) {
      const seg = this.sndBuf.get(sn);
      if (seg === undefined) continue;
      let needsend = false;
      if (seg.xmit === 0) {
        needsend = true;
        seg.xmit++;
        seg.cause = SendCause.First;
        seg.rto = this.rxRto;
        seg.resendts = (current + seg.rto + rtomin) >>> 0;
      } else if (seqDiff(current, seg.resendts) >= 0) {
        needsend = true;
        seg.xmit++;
        this.xmit++;
        this.stats.retransTimeout++;
        seg.rto = rtoBackoff(seg.rto, this.rxRto, this.nodelay);
        seg.resendts = (current + seg.rto) >>> 0;
        seg.cause = SendCause.Timeout;
        lost = true;
      } else if (seg.fastack >= resent && (seg.xmit <= this.fastlimit || this.fastlimit <= 0)) {
        needsend = true;
        seg.xmit++;
        seg.fastack = 0;
        seg.resendts = (current + seg.rto) >>> 0;
        change++;
        seg.cause = SendCause.Fast;
        this.stats.retransFast++;
      }
      if (!needsend) continue;
      seg.ts = current;
      const need = KCP_OVERHEAD_BYTES + seg.len;
      if (ptr + need > mtu && ptr > base) {
        this.emit(ptr);
        ptr = base;
      }
      ptr = writeHeader(buf, ptr, conv, KcpCmd.Push, seg.frg, wnd, current, sn, una, seg.len);
      copyBytes(seg.data, seg.off, buf, ptr, seg.len);
      ptr += seg.len;
      this.stats.outSegs++;
      this.stats.outPushSegs++;
      if (seg.xmit >= this.deadLink) this.state = -1;
    }
    if (ptr > base) this.emit(ptr);

    // 5. Congestion reaction
    if (change > 0) {
      const inflight = (this.sndNxt - this.sndUna) >>> 0;
      this.ssthresh = Math.max(inflight >>> 1, KCP_SSTHRESH_MIN_SEGS);
      this.cwnd = this.ssthresh + resent;
      this.incr = this.cwnd * this.mss;
    }
    if (lost) {
      this.ssthresh = Math.max(cwnd >>> 1, KCP_SSTHRESH_MIN_SEGS);
      this.cwnd = 1;
      this.incr = this.mss;
    }
    if (this.cwnd < 1) {
      this.cwnd = 1;
      this.incr = this.mss;
    }
  }
}
