// A delivery-rate send controller for Kcp (opt-in: Kcp.setRateControl), after BBR v1: it
// estimates the bottleneck rate (windowed max of delivery-rate samples) and the path's minimum
// RTT, paces sends at gain x rate and caps bytes in flight at ~2 x rate x minRtt. Random loss is
// not read as congestion (no window cut), yet the bottleneck queue stays bounded. Pure: times are
// the caller's ms (fractions allowed), as passed to Kcp.flush/update/input.

/** Per-transmission snapshot kept on each segment (kcp.ts Seg) for delivery-rate samples. */
export interface RateSnapshot {
  /** When this (re)transmission left (caller's ms). */
  rcSentAt: number;
  /** Controller's delivered bytes when it left. */
  rcDelivered: number;
  /** Time of the last delivery before it left. */
  rcDeliveredAt: number;
  /** Send time of the segment whose ack preceded it (start of the send interval). */
  rcFirstSentAt: number;
  /** Left while the sender had nothing more to send: its rate sample may understate the path. */
  rcAppLimited: boolean;
}

/** The controller's state (BBR's names). */
export enum RcMode {
  /** Doubling the rate each round trip until it stops growing or a queue stands. */
  Startup = 0,
  /** Pacing below the estimate until what Startup queued is gone. */
  Drain = 1,
  /** Cycling 1.25 / 0.75 / 1 x the estimate, one min RTT each. */
  ProbeBw = 2,
  /** Half a BDP in flight for 200 ms to see the empty-queue RTT again. */
  ProbeRtt = 3,
}

/** Startup gain 2/ln 2: doubles the delivery rate each round trip (BBR). Local tuning. */
const startupGain = 2.885;
/** ProbeBW pacing gains, one phase per min RTT: probe up, drain what probing queued, cruise. */
const probeBwGains = [1.25, 0.75, 1, 1, 1, 1, 1, 1] as const;
/** Bytes in flight allowed as a multiple of the estimated BDP: room for ACK bunching and repair. */
const cwndGain = 2;
/** Rounds kept by the bandwidth max filter (BBR: 10). */
const bwWindowRounds = 10;
/** Startup ends when the rate grew less than 25 % for this many rounds (the pipe is full). */
const fullPipeRounds = 3;
/** A standing queue ends Startup once btlBw grew less than this over the last queueExitRounds
 * rounds (BBR's full-pipe growth): a stall of one round (a busy host) shows no growth in that round. */
const startupGrowth = 1.25;
const queueExitRounds = 2;
/** A min-RTT sample older than this is refreshed by a ProbeRTT (BBR: 10 s). */
const minRttWindowMs = 10_000;
/** ProbeRTT holds in-flight at half a BDP for this long (BBR v2's gentler probe). */
const probeRttMs = 200;
/**
 * A standing queue: no RTT sample over the last two min-RTT periods came within this much of the
 * min RTT (a fraction of it, at least queueFloorMs). Random loss does not raise RTTs; a queue does.
 */
const queueFraction = 0.25;
const queueFloorMs = 2;
/** Segments of at most this many bytes (header included) are not held back by pacing. */
const unpacedBytes = 256;
/** Bytes in flight (in segments) up to which an app-limited sender counts as thin (see isThin). */
const thinSegs = 2;
/** A probe phase that raised the estimate this much (of the 25 % it tries) sends ProbeBW back to Startup. */
const reStartupGrowth = 1.1;
/** Window before any estimate, and the floor of the window, in segments (TCP's IW10 x ~3). */
const initialCwndSegs = 32;
const minCwndSegs = 16;
/**
 * Pacing lets a quarter of the min RTT of sending (2..5 ms) go out in one burst. Flushes come
 * per ack batch or timer, and a busy host runs the sender in slices of several ms: a budget
 * smaller than those slices would cap the rate below the estimate, and the estimate would follow.
 */
const pacingBurstMinMs = 2;
const pacingBurstMaxMs = 5;
/** With a known ceiling (setCeiling) and no RTT sample yet, the window is sized for a round trip
 * this long (the long paths meshd is tuned for, 200-300 ms): pacing, not the window, holds the first
 * round to the ceiling, and a window of KCP's initial 32 segments would hold it to a fraction. */
const ceilingUnknownRttMs = 250;
/** With a ceiling, the window grows past 2 BDP to two round trips at it only while the estimate is
 * at least this share of it (the ceiling is then the bottleneck; at a relay budget with 5 % loss
 * the estimate is ~0.93 of the ceiling). */
const ceilingNearShare = 0.7;
/** Smallest burst, in segments, so that slow paths still fill datagrams. */
const minBurstSegs = 4;

export class RateControl {
  mode: RcMode = RcMode.Startup;
  /** Bottleneck rate estimate, bytes per ms (0 until the first sample). */
  btlBw = 0;
  /** Minimum RTT seen within minRttWindowMs (ms). */
  minRtt = Infinity;
  /** Bytes sent and not yet acked (including lost ones awaiting repair). */
  inflight = 0;
  pacingGain = startupGain;
  /** A standing queue is seen (see queueFraction): no probing above the estimate until it drains. */
  queued = false;
  /** Data waited at the sender after the last flush (held by pacing or the window). */
  backlogged = false;
  /** A known bottleneck rate (bytes per ms), 0 = none: a relayed pair's hub budget (setCeiling). */
  ceiling = 0;

  private minRttAt = 0;
  private delivered = 0;
  private deliveredAt = 0;
  private firstSentAt = 0;
  private appLimitedUntil = 0;
  private round = 0;
  private nextRoundDelivered = 0;
  private readonly bwRing = new Float64Array(bwWindowRounds);
  private ringCount = 0;
  private ringPos = 0;
  private roundMax = 0;
  private fullBw = 0;
  private fullBwRounds = 0;
  private filled = false;
  /** btlBw at the last queueExitRounds round ends (oldest first), and whether it grew startupGrowth x since. */
  private readonly roundBw = new Float64Array(queueExitRounds);
  private growing = false;
  /** Startup has ended once: a later Startup (a re-Startup, or after ProbeRTT) starts from a measured
   * rate, and a queue ends it at once. */
  private everFilled = false;
  /** The last round was app-limited (the source, e.g. a TCP inside the tunnel, set the pace). */
  private appLimitedRound = false;
  private cycleIdx = 0;
  /** btlBw when the current 1.25 probe phase began. */
  private probeFromBw = 0;
  private cycleAt = 0;
  private probeRttUntil = -1;
  private probeRttMin = Infinity;
  private bucketAt = -Infinity;
  private bucketMin = Infinity;
  private prevBucketMin = Infinity;
  private tokens = 0;
  private tokensAt = -1;
  /** Acks awaiting settle(): 6 numbers each (see queueAck). */
  private readonly pending: number[] = [];
  /** RTT samples awaiting settle(): (sentAt, ts) pairs. */
  private readonly pendingRtt: number[] = [];
  // The current ack batch: the most recently sent acked segment gives the rate sample.
  private bPriorDelivered = -1;
  private bPriorAt = 0;
  private bSendElapsed = 0;
  private bAppLimited = false;

  constructor(private readonly segBytes: number) {}

  // ---- Events from Kcp

  /** A segment of `bytes` leaves at `now`; `first` for its first transmission. */
  onSend(s: RateSnapshot, bytes: number, now: number, first: boolean): void {
    if (this.inflight <= 0) {
      this.firstSentAt = now;
      this.deliveredAt = now;
    }
    s.rcSentAt = now;
    s.rcDelivered = this.delivered;
    s.rcDeliveredAt = this.deliveredAt;
    s.rcFirstSentAt = this.firstSentAt;
    s.rcAppLimited = this.appLimitedUntil > this.delivered;
    if (first) this.inflight += bytes;
    this.consume(bytes);
  }

  /**
   * A segment left snd_buf (acked by sn or una). Its bytes leave the flight at once; the rate
   * sample waits for settle(now), because Kcp.input may not know the time (kcp-channel calls it
   * without one).
   */
  queueAck(s: RateSnapshot, bytes: number): void {
    this.inflight -= bytes;
    if (this.inflight < 0) this.inflight = 0;
    this.pending.push(s.rcSentAt, s.rcDelivered, s.rcDeliveredAt, s.rcFirstSentAt, s.rcAppLimited ? 1 : 0, bytes);
  }

  /**
   * An ACK echoing `ts` (u32 ms of the caller's clock) arrived; `sentAt` is the exact send time when
   * the ack is for the segment's latest transmission, else -1 (then ts, whole ms, is used).
   */
  queueRtt(sentAt: number, ts: number): void {
    this.pendingRtt.push(sentAt, ts);
  }

  /** Applies the acks queued since the last call, as seen at `now`, and ends the ack batch. */
  settle(now: number): void {
    const r = this.pendingRtt;
    for (let i = 0; i < r.length; i += 2) {
      // ts is floor(send time) as a u32: the whole-ms difference plus now's fraction bounds the RTT from above.
      const sentAt = r[i]!;
      this.onRtt(sentAt >= 0 ? now - sentAt : ((Math.floor(now) - r[i + 1]!) | 0) + (now - Math.floor(now)), now);
    }
    r.length = 0;
    const q = this.pending;
    if (q.length === 0) return;
    for (let i = 0; i < q.length; i += 6) {
      const sentAt = q[i]!;
      this.delivered += q[i + 5]!;
      this.deliveredAt = now;
      if (q[i + 1]! >= this.bPriorDelivered) {
        this.bPriorDelivered = q[i + 1]!;
        this.bPriorAt = q[i + 2]!;
        this.bSendElapsed = sentAt - q[i + 3]!;
        this.bAppLimited = q[i + 4] === 1;
        this.firstSentAt = sentAt;
      }
    }
    q.length = 0;
    this.onAckBatch(now);
  }

  /**
   * A rate the path is known not to carry more of (bytes per ms; undefined or 0 = none): a relayed
   * pair's share of the hub's relay budget (peer/relay-budget.ts, issue 19 item 6). Startup paces at
   * it from the first segment instead of ramping from the initial window, no phase paces above it
   * (probing past a shaper only fills its queue and the RTT), and without a standing queue ProbeBW
   * paces at it: with loss before the bottleneck the delivered rate understates what must be sent
   * to keep the bottleneck busy. A queue still rules (the path past the hub may be slower).
   */
  setCeiling(bytesPerMs: number | undefined): void {
    this.ceiling = bytesPerMs !== undefined && bytesPerMs > 0 ? bytesPerMs : 0;
  }

  /** Whether data waits at the sender after a flush (set by Kcp each flush). */
  setBacklogged(on: boolean): void {
    this.backlogged = on;
  }

  /** The sender ran out of data with room in the window: samples until this flight is acked may understate the path. */
  markAppLimited(): void {
    this.appLimitedUntil = Math.max(this.delivered + this.inflight, 1);
  }

  private onRtt(rtt: number, now: number): void {
    if (rtt < 0) return;
    // Two buckets of one min RTT each: the smallest recent RTT tells whether a queue stands.
    const period = Math.max(this.minRtt === Infinity ? rtt : this.minRtt, 1);
    if (now - this.bucketAt >= period) {
      this.prevBucketMin = now - this.bucketAt >= 2 * period ? Infinity : this.bucketMin;
      this.bucketMin = Infinity;
      this.bucketAt = now;
    }
    if (rtt < this.bucketMin) this.bucketMin = rtt;
    const recent = Math.min(this.bucketMin, this.prevBucketMin);
    if (this.minRtt !== Infinity && recent !== Infinity) {
      this.queued = recent > this.minRtt + Math.max(this.minRtt * queueFraction, queueFloorMs);
    }
    if (this.mode === RcMode.ProbeRtt && rtt < this.probeRttMin) this.probeRttMin = rtt;
    if (rtt <= this.minRtt || now - this.minRttAt > minRttWindowMs) {
      this.minRtt = rtt;
      this.minRttAt = now;
    }
  }

  private onAckBatch(now: number): void {
    const prior = this.bPriorDelivered;
    this.bPriorDelivered = -1;
    if (this.appLimitedUntil > 0 && this.delivered > this.appLimitedUntil) this.appLimitedUntil = 0;

    // Round trips: a round ends when a segment sent after the previous round ended is acked.
    let roundStart = false;
    if (prior >= this.nextRoundDelivered) {
      this.nextRoundDelivered = this.delivered;
      this.round++;
      roundStart = true;
    }

    // Delivery rate over the longer of the send and ack intervals (BBR's guard against ACK
    // compression); intervals shorter than the min RTT are too noisy to trust.
    const interval = Math.max(this.bSendElapsed, now - this.bPriorAt);
    if (interval > 0 && interval >= (this.minRtt === Infinity ? 0 : this.minRtt)) {
      const rate = (this.delivered - prior) / interval;
      if (!this.bAppLimited || rate >= this.btlBw) {
        if (rate > this.roundMax) this.roundMax = rate;
        if (rate > this.btlBw) this.btlBw = rate;
      }
    }

    if (roundStart) this.endRound(this.bAppLimited);
    this.advanceMode(now, roundStart);
  }

  // ---- What Kcp asks

  /** The estimated bandwidth-delay product in bytes (btlBw x min RTT), 0 before an estimate. */
  bdpBytes(): number {
    return this.btlBw === 0 || this.minRtt === Infinity ? 0 : this.bdp();
  }

  /** Bytes allowed in flight. */
  cwndBytes(): number {
    const floor = minCwndSegs * this.segBytes;
    if (this.mode === RcMode.ProbeRtt) return Math.max(floor, this.bdp() / 2);
    const initial = initialCwndSegs * this.segBytes;
    const cwnd = this.btlBw === 0 || this.minRtt === Infinity ? initial : this.measuredCwnd(initial, floor);
    if (this.ceiling === 0 || this.queued) return cwnd;
    // A known ceiling, no queue, and the ceiling looks like the bottleneck (no estimate yet, the first
    // Startup's bet, or an estimate near it): pacing, not the window, holds the rate (ceilingPace);
    // the window leaves two round trips at that pace (one of ceilingUnknownRttMs before an RTT
    // sample). An estimate far below keeps its 2 BDP window: a path slower than the ceiling then
    // queues at most what it would without one.
    if (!(this.btlBw === 0 || (this.mode === RcMode.Startup && !this.everFilled) || this.btlBw >= ceilingNearShare * this.ceiling)) return cwnd;
    return Math.max(cwnd, this.minRtt === Infinity ? this.ceiling * ceilingUnknownRttMs : cwndGain * this.ceilingPace() * Math.max(this.minRtt, 1));
  }

  private measuredCwnd(initial: number, floor: number): number {
    // A later Startup starts from a measured rate: 2 BDP in flight, as in ProbeBW, lets it find a
    // higher one without Startup's 2.9 BDP overfilling a one-BDP queue (bench's 10 % loss cell).
    const gain = this.mode === RcMode.ProbeBw || this.everFilled ? cwndGain : startupGain;
    // Startup never shrinks below the initial window (Linux BBR grows it from there): the first
    // samples come from a flow's handshake and would cap its first round trips at a few packets.
    return Math.max(this.mode === RcMode.Startup ? initial : floor, gain * this.bdp());
  }

  /** Pacing rate in bytes per ms. */
  pacingRate(): number {
    const r = this.uncappedRate();
    if (this.ceiling === 0) return r;
    // A standing queue: the estimate's pace (the path past the ceiling is slower), never above it.
    if (this.queued && (this.mode !== RcMode.Startup || !this.stillRamping())) return Math.min(r, this.ceiling);
    if (this.mode !== RcMode.Startup && this.mode !== RcMode.ProbeBw) return Math.min(r, this.ceiling);
    return this.ceilingPace();
  }

  /**
   * Without a standing queue, Startup and ProbeBW pace at the ceiling, but never more than Startup's
   * gain over a measured estimate (the first Startup, before the pipe was ever full, bets on the
   * ceiling outright). At a budget that is the bottleneck the estimate is ~0.93 of it, so the pace is
   * the ceiling; below it (a TCP inside the tunnel still ramping, whose pace the estimate follows)
   * the pace grows 2.9x a round trip, as Startup's, rather than ProbeBW's 1.25x per eight round trips
   * (which held the first transfer under half the budget for 2-3 s, bench at 2b4fe1c); and a path
   * slower than the ceiling sees at most Startup's overshoot before the queue caps it.
   */
  private ceilingPace(): number {
    if (this.btlBw === 0 || (this.mode === RcMode.Startup && !this.everFilled)) return this.ceiling;
    return Math.min(this.ceiling, startupGain * this.btlBw);
  }

  private uncappedRate(): number {
    const rtt = this.minRtt === Infinity || this.minRtt < 1 ? 1 : this.minRtt;
    const initial = (startupGain * initialCwndSegs * this.segBytes) / rtt;
    if (this.btlBw === 0) return initial;
    // Startup paces at least at the initial rate (Linux BBR never lowers its pacing before the
    // pipe is full): a flow's first samples (its handshake, a TCP inside the tunnel starting from
    // ten packets) are far below the path, and 2.885x of them held the first transfer after start
    // to ~1.5x growth per round trip (docs/ARQ.md "Startup and a queue"). A queue that will end
    // Startup at the next ack batch caps it at the estimate, as below; one seen while still
    // ramping (stillRamping) does not.
    if (this.mode === RcMode.Startup) return Math.max(initial, (this.queued && !this.stillRamping() ? 1 : this.pacingGain) * this.btlBw);
    // With a standing queue, do not probe upwards: cruise at the estimate and let the cycle's 0.75
    // phase drain it. (Never pace below the estimate for it: samples taken then would lower the
    // estimate, and a path whose RTT rises with load would spiral down.) Random loss after the
    // bottleneck costs capacity the delivery rate does not count; making up for it by pacing
    // faster was tried and overfilled small queues, since queue overflow looks the same.
    if (this.queued) return Math.min(this.pacingGain, 1) * this.btlBw;
    return this.pacingGain * this.btlBw;
  }

  /**
   * Extra time (ms) a segment sent now waits before its retransmission timeout: the queueing our
   * own bytes in flight beyond one BDP cause (at most one min RTT). KCP's RTO is srtt + the flush
   * interval once RTTs are steady, which a probing phase alone would exceed; an idle or thin
   * sender builds no queue and keeps the short RTO.
   */
  rtoSlackMs(): number {
    if (this.btlBw === 0 || this.minRtt === Infinity) return 0;
    const excess = this.inflight - this.bdp();
    return excess <= 0 ? 0 : Math.ceil(Math.min(excess / this.btlBw, this.minRtt));
  }

  /**
   * A thin stream: the sender has nothing more queued and at most thinSegs segments in flight, as
   * with interactive traffic. Kcp then sends new segments twice, since a single lost segment
   * would cost a whole RTO (no later segments to trigger a fast retransmit). The copy uses the
   * pacing budget; bytes in flight count it once.
   */
  isThin(bytes: number): boolean {
    return this.inflight + bytes <= thinSegs * this.segBytes;
  }

  /** A thin stream's copy of a segment left. */
  onCopy(bytes: number): void {
    this.consume(bytes);
  }

  /**
   * True when a segment of `bytes` may leave at `now` (pacing). Small segments (a carried TCP ACK,
   * DNS, keystrokes) always may: holding them back would throttle the flows they clock, for little
   * bottleneck capacity; they still use up the budget.
   */
  canSend(bytes: number, now: number): boolean {
    if (bytes <= unpacedBytes) return true;
    this.refill(now);
    return this.tokens >= bytes || this.tokens >= this.burstBytes();
  }

  /** When a segment of `bytes` may next leave (>= now). */
  nextSendAt(bytes: number, now: number): number {
    this.refill(now);
    const need = Math.min(bytes, this.burstBytes()) - this.tokens;
    return need <= 0 ? now : now + need / this.pacingRate();
  }

  // ---- Internals

  /**
   * The first Startup's estimate still rose 25 % over the last two rounds while the source set the
   * pace: a queue seen now is not the bottleneck's, and leaving Startup would starve a TCP inside the
   * tunnel still in its own. A sender with data waiting keeps the old exit (it overfills a small
   * queue sooner, and leaves a false exit by re-Startup: it stays backlogged).
   */
  private stillRamping(): boolean {
    return this.growing && this.appLimitedRound && !this.everFilled;
  }

  private bdp(): number {
    return this.btlBw * (this.minRtt === Infinity ? 1 : Math.max(this.minRtt, 1));
  }

  private burstBytes(): number {
    const ms = this.minRtt === Infinity ? pacingBurstMinMs : Math.min(Math.max(this.minRtt / 4, pacingBurstMinMs), pacingBurstMaxMs);
    // Sized on the estimate, not the gained rate: Startup's 2.9x would make a burst the queue can't hold.
    const rate = this.btlBw > 0 ? this.btlBw : this.pacingRate();
    return Math.max(rate * ms, minBurstSegs * this.segBytes);
  }

  private refill(now: number): void {
    if (this.tokensAt < 0) {
      this.tokensAt = now;
      this.tokens = this.burstBytes();
      return;
    }
    if (now > this.tokensAt) {
      this.tokens = Math.min(this.tokens + (now - this.tokensAt) * this.pacingRate(), this.burstBytes());
      this.tokensAt = now;
    }
  }

  private consume(bytes: number): void {
    this.tokens -= bytes;
    const floor = -this.burstBytes();
    if (this.tokens < floor) this.tokens = floor;
  }

  /** Closes a round: the max filter slides, the loss estimate and the full-pipe check update. */
  private endRound(appLimited: boolean): void {
    if (this.roundMax > 0) {
      this.bwRing[this.ringPos] = this.roundMax;
      this.ringPos = (this.ringPos + 1) % bwWindowRounds;
      if (this.ringCount < bwWindowRounds) this.ringCount++;
      let m = 0;
      for (let i = 0; i < this.ringCount; i++) if (this.bwRing[i]! > m) m = this.bwRing[i]!;
      this.btlBw = m;
      this.roundMax = 0;
    }
    // App-limited rounds count here: a delivery rate that still rises this fast is below the
    // bottleneck, whatever limited the sender.
    const rb = this.roundBw;
    this.growing = this.btlBw > 0 && this.btlBw >= rb[0]! * startupGrowth;
    this.appLimitedRound = appLimited;
    rb.copyWithin(0, 1);
    rb[queueExitRounds - 1] = this.btlBw;
    // An app-limited round says nothing about the pipe (e.g. TCP in slow start inside the tunnel),
    // unless two BDPs were in flight: a path that delivers no more with that much out is full.
    const counts = !appLimited || this.inflight >= 2 * this.bdp();
    if (!this.filled && counts) {
      if (this.btlBw >= this.fullBw * 1.25) {
        this.fullBw = this.btlBw;
        this.fullBwRounds = 0;
      } else if (++this.fullBwRounds >= fullPipeRounds) {
        this.filled = true;
      }
    }
  }

  private advanceMode(now: number, roundStart: boolean): void {
    // A standing queue also ends Startup: the rate is found even if the sender (say, TCP inside the
    // tunnel, whose rounds are app-limited) never showed it three times. Not while the last two rounds
    // still raised the delivery rate 25 %: a bottleneck's queue caps the rate, so that queue is a
    // stall elsewhere (a busy host, a shaper's first burst) or a bottleneck only just reached, and
    // leaving Startup there (Drain at 0.35x, then growth of 1.25x per 8 round trips) starves a TCP
    // inside the tunnel, which then leaves its own Startup at that rate: the first transfer after
    // start doubled about once per second (docs/ARQ.md "Startup and a queue").
    if (this.mode === RcMode.Startup && this.queued && this.btlBw > 0 && !this.stillRamping()) this.filled = true;
    if (this.mode === RcMode.Startup && this.filled) {
      this.everFilled = true;
      this.mode = RcMode.Drain;
      this.pacingGain = 1 / startupGain;
    }
    if (this.mode === RcMode.Drain && this.inflight <= this.bdp()) this.enterProbeBw(now);
    if (this.mode === RcMode.ProbeBw && now - this.cycleAt > Math.max(this.minRtt, 1)) {
      if (this.cycleIdx === 1 && this.backlogged && !this.queued && this.btlBw >= this.probeFromBw * reStartupGrowth) {
        // Data waits at the sender, and the probe (whose samples arrive a round trip later, in
        // the 0.75 phase) raised the estimate without a queue forming: the pipe is far from full
        // (Startup ended early, e.g. while TCP inside the tunnel, slower than our rounds, was
        // still ramping up). Ramp again.
        this.mode = RcMode.Startup;
        this.pacingGain = startupGain;
        this.filled = false;
        this.fullBw = this.btlBw;
        this.fullBwRounds = 0;
      } else {
        this.cycleIdx = (this.cycleIdx + 1) % probeBwGains.length;
        this.cycleAt = now;
        this.pacingGain = probeBwGains[this.cycleIdx]!;
        if (this.cycleIdx === 0) this.probeFromBw = this.btlBw;
      }
    }
    if (this.mode !== RcMode.ProbeRtt && this.minRtt !== Infinity && now - this.minRttAt > minRttWindowMs) {
      this.mode = RcMode.ProbeRtt;
      this.pacingGain = 1;
      this.probeRttMin = Infinity;
      this.probeRttUntil = -1;
    }
    if (this.mode === RcMode.ProbeRtt) {
      if (this.probeRttUntil < 0 && this.inflight <= this.cwndBytes()) this.probeRttUntil = now + Math.max(probeRttMs, this.minRtt);
      if (this.probeRttUntil >= 0 && now >= this.probeRttUntil && roundStart) {
        if (this.probeRttMin !== Infinity) this.minRtt = this.probeRttMin;
        this.minRttAt = now;
        if (this.filled) this.enterProbeBw(now);
        else {
          this.mode = RcMode.Startup;
          this.pacingGain = startupGain;
        }
      }
    }
  }

  private enterProbeBw(now: number): void {
    this.mode = RcMode.ProbeBw;
    // Start in a cruising phase (BBR randomises; deterministic here, any of the 1.0 phases).
    this.cycleIdx = 2;
    this.cycleAt = now;
    this.pacingGain = probeBwGains[this.cycleIdx]!;
  }
}
