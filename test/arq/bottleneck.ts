// A long, lossy path on virtual time for the send controller (issue #8, bad-link half): a
// drop-tail bottleneck (rate, finite byte queue), one-way delay and random loss, with two Kcp
// endpoints driven the way src/peer/kcp-channel.ts drives them. Used by test/arq/bottleneck.test.ts.
import { Kcp } from '../../src/arq/kcp.js';
import { Rng } from '../fakes/rng.js';

export interface PathConfig {
  /** Bottleneck rate in bytes per ms (25_000 = 200 Mbit/s). */
  rateBytesPerMs: number;
  /** Drop-tail buffer in front of the bottleneck, in bytes. */
  queueBytes: number;
  /** One-way propagation delay (ms). */
  delayMs: number;
  /** Random loss per datagram, after the bottleneck (the bench drops on the router behind it). */
  loss: number;
  /** Bytes each datagram occupies on the wire beyond the KCP datagram (IP, UDP, meshd's AEAD). */
  overheadBytes?: number;
}

export interface DirectionStats {
  sent: number;
  queueDrops: number;
  randomLoss: number;
  /** Time datagrams spent waiting in the bottleneck queue (ms): sum, max, and a histogram per ms. */
  queueDelaySumMs: number;
  queueDelayMaxMs: number;
  queueDelayHist: number[];
}

/** One direction: a FIFO bottleneck then a fixed delay. Deliveries leave in send order. */
export class PathDirection {
  stats: DirectionStats = freshStats();
  private busyUntil = 0;
  private readonly at: number[] = [];
  private readonly data: Uint8Array[] = [];
  private head = 0;

  constructor(
    private readonly cfg: PathConfig,
    private readonly rng: Rng,
  ) {}

  /** Starts the counters afresh (runBulk does at the end of the warm-up). */
  resetStats(): void {
    this.stats = freshStats();
  }

  /** Bytes waiting in the bottleneck queue at time now. */
  backlogBytes(now: number): number {
    return Math.max(0, this.busyUntil - now) * this.cfg.rateBytesPerMs;
  }

  /** Takes bytes [from, len) of d at time now (bytes before `from` are the sender's headroom). */
  send(now: number, d: Uint8Array, from: number, len: number): void {
    const s = this.stats;
    s.sent++;
    const wire = len - from + (this.cfg.overheadBytes ?? 0);
    if (this.backlogBytes(now) + wire > this.cfg.queueBytes) {
      s.queueDrops++;
      return;
    }
    const depart = Math.max(now, this.busyUntil) + wire / this.cfg.rateBytesPerMs;
    this.busyUntil = depart;
    const wait = depart - now;
    s.queueDelaySumMs += wait;
    if (wait > s.queueDelayMaxMs) s.queueDelayMaxMs = wait;
    const bin = Math.floor(wait);
    while (s.queueDelayHist.length <= bin) s.queueDelayHist.push(0);
    s.queueDelayHist[bin]!++;
    if (this.rng.chance(this.cfg.loss)) {
      s.randomLoss++;
      return;
    }
    this.at.push(depart + this.cfg.delayMs);
    this.data.push(d.slice(from, len));
  }

  deliver(now: number, fn: (d: Uint8Array) => void): void {
    while (this.head < this.at.length && this.at[this.head]! <= now) {
      const d = this.data[this.head]!;
      this.data[this.head] = EMPTY;
      this.head++;
      fn(d);
    }
    if (this.head > 4096 && this.head * 2 > this.at.length) {
      this.at.splice(0, this.head);
      this.data.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Queue delay (ms) that fraction q of the admitted datagrams stayed at or below. */
  queueDelayQuantileMs(q: number): number {
    const h = this.stats.queueDelayHist;
    const total = h.reduce((a, b) => a + b, 0);
    let acc = 0;
    for (let i = 0; i < h.length; i++) {
      acc += h[i]!;
      if (acc >= q * total) return i + 1;
    }
    return h.length;
  }
}
const EMPTY = new Uint8Array(0);
function freshStats(): DirectionStats {
  return { sent: 0, queueDrops: 0, randomLoss: 0, queueDelaySumMs: 0, queueDelayMaxMs: 0, queueDelayHist: [] };
}

export interface BulkOptions {
  path: PathConfig;
  seed: number;
  /** Virtual run time (ms); goodput counts deliveries after warmupMs. */
  durationMs: number;
  warmupMs?: number;
  /** Configures both ends (preset, windows, controller). */
  setup: (k: Kcp) => void;
  /** The sender keeps this many segments waiting (kcp-channel's queue limit): a saturating source. */
  backlogSegs: number;
  /** Payload bytes per message: one TUN packet per segment. */
  packetBytes?: number;
  /** Called every virtual ms after the step, e.g. to sample state. */
  onStep?: (now: number, a: Kcp, b: Kcp) => void;
  /** The receiver stalls (a GC pause, a busy event loop) for forMs of every everyMs: what arrives
   *  meanwhile waits in its socket, and it neither reads, acks nor sends. */
  stall?: { everyMs: number; forMs: number };
}

export interface BulkResult {
  goodputMbps: number;
  /** Goodput as a fraction of the bottleneck rate (payload bytes / link bytes per ms). */
  utilisation: number;
  inOrder: boolean;
  fwd: PathDirection;
  rev: PathDirection;
  a: Kcp;
  b: Kcp;
  /** Longest gap (ms) between two deliveries after warmup: a stall. */
  maxStallMs: number;
  /** Time from send() to delivery of each packet after warmup (ms): quantile q. */
  latencyQuantileMs(q: number): number;
}

/** Drives a Kcp as KcpChannel + KcpTimer do: input without a time, flush after each batch, and a
 *  timer at check(). */
class Driver {
  dirty = false;
  timerAt = Infinity;
  constructor(readonly k: Kcp) {}
  flush(now: number): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.k.flush(now);
    this.schedule(now);
  }
  schedule(now: number): void {
    if (this.k.waitSnd() === 0 && this.k.probe === 0) return;
    const at = Math.max(this.k.check(now), now + 1);
    if (at < this.timerAt) this.timerAt = at;
  }
  tick(now: number): void {
    if (now < this.timerAt) return;
    this.timerAt = Infinity;
    this.k.update(now);
    if (this.k.check(now) <= now) this.k.flush(now);
    this.schedule(now);
  }
}

/**
 * Two Kcp ends (conv `convBase` + seed) carrying `packetBytes` messages in one segment each, joined
 * by the two directions of the simulated path; `now()` is the time their output enters the path.
 */
function simPair(o: { path: PathConfig; seed: number; setup: (k: Kcp) => void }, convBase: number, packetBytes: number, now: () => number) {
  const fwd = new PathDirection(o.path, new Rng(o.seed * 2 + 1));
  const rev = new PathDirection(o.path, new Rng(o.seed * 2 + 2));
  const conv = convBase + o.seed;
  const a = new Kcp(conv, (d, n) => fwd.send(now(), d, 1, n), { reservedBytes: 1 });
  const b = new Kcp(conv, (d, n) => rev.send(now(), d, 1, n), { reservedBytes: 1 });
  for (const k of [a, b]) {
    k.setMtu(packetBytes + 24 + 1);
    o.setup(k);
  }
  return { fwd, rev, a, b, da: new Driver(a), db: new Driver(b) };
}

/** Hands both ends what the path delivers by `now`: fwd carries A -> B, rev B -> A. */
function exchange(now: number, fwd: PathDirection, rev: PathDirection, da: Driver, db: Driver, bStalled = false): void {
  if (!bStalled) {
    fwd.deliver(now, (d) => {
      db.k.input(d);
      db.dirty = true;
    });
  }
  rev.deliver(now, (d) => {
    da.k.input(d);
    da.dirty = true;
  });
}

/** A saturating one-way transfer A -> B over the path (ACKs return over the same kind of path). */
export function runBulk(o: BulkOptions): BulkResult {
  const rng = new Rng(o.seed);
  let now = 1000;
  const size = o.packetBytes ?? 1375;
  const { fwd, rev, a, b, da, db } = simPair(o, 0x5eed0000, size, () => now);
  const msg = new Uint8Array(size);
  for (let i = 4; i < size; i++) msg[i] = rng.int(256);
  const view = new DataView(msg.buffer);
  const buf = new Uint8Array(size + 64);
  const bufView = new DataView(buf.buffer);
  let next = 0;
  let expect = 0;
  let inOrder = true;
  let bytes = 0;
  const start = now;
  const warm = start + (o.warmupMs ?? 0);
  const end = start + o.durationMs;
  let lastDelivery = warm;
  let maxStall = 0;
  const sentAt = new Float64Array(1 << 16);
  const latHist: number[] = [];
  while (now < end) {
    now++;
    if (now === warm) {
      fwd.resetStats();
      rev.resetStats();
    }
    while (a.waitSnd() < o.backlogSegs) {
      sentAt[next & 0xffff] = now;
      view.setUint32(0, next++, true);
      a.send(msg);
      da.dirty = true;
    }
    const stalled = o.stall !== undefined && (now - start) % o.stall.everyMs < o.stall.forMs;
    exchange(now, fwd, rev, da, db, stalled);
    for (;;) {
      if (stalled) break;
      const n = b.recv(buf);
      if (n < 0) break;
      if (bufView.getUint32(0, true) !== expect) inOrder = false;
      const lat = now - sentAt[expect & 0xffff]!;
      expect++;
      if (now > warm) {
        const bin = Math.floor(lat / 5);
        while (latHist.length <= bin) latHist.push(0);
        latHist[bin]!++;
        bytes += n;
        if (now - lastDelivery > maxStall) maxStall = now - lastDelivery;
        lastDelivery = now;
      }
    }
    da.flush(now);
    da.tick(now);
    if (!stalled) {
      db.flush(now);
      db.tick(now);
    }
    o.onStep?.(now, a, b);
  }
  if (end - lastDelivery > maxStall) maxStall = end - lastDelivery;
  const ms = end - warm;
  return {
    goodputMbps: (bytes * 8) / ms / 1000,
    utilisation: bytes / ms / o.path.rateBytesPerMs,
    inOrder,
    fwd,
    rev,
    a,
    b,
    maxStallMs: maxStall,
    latencyQuantileMs: (q) => {
      const total = latHist.reduce((x, y) => x + y, 0);
      let acc = 0;
      for (let i = 0; i < latHist.length; i++) {
        acc += latHist[i]!;
        if (acc >= q * total) return (i + 1) * 5;
      }
      return latHist.length * 5;
    },
  };
}

export interface EchoOptions {
  path: PathConfig;
  seed: number;
  setup: (k: Kcp) => void;
  /** Request-response rounds: A sends a small request, B answers, A sends the next at once. */
  rounds: number;
  messageBytes?: number;
}

export interface EchoResult {
  rounds: number;
  avgMs: number;
  maxMs: number;
}

/** Interactive traffic (bench/vpn/echo.mjs's shape): one small request per round trip. */
export function runEcho(o: EchoOptions): EchoResult {
  let now = 1000;
  const { fwd, rev, a, b, da, db } = simPair(o, 0xec400000, 1375, () => now);
  const msg = new Uint8Array(o.messageBytes ?? 32);
  const buf = new Uint8Array(2048);
  let done = 0;
  let sum = 0;
  let max = 0;
  let sentAt = now;
  a.send(msg);
  da.dirty = true;
  const deadline = now + o.rounds * 10_000;
  while (done < o.rounds && now < deadline) {
    now++;
    exchange(now, fwd, rev, da, db);
    while (b.recv(buf) >= 0) {
      b.send(msg);
      db.dirty = true;
    }
    while (a.recv(buf) >= 0) {
      const rtt = now - sentAt;
      sum += rtt;
      if (rtt > max) max = rtt;
      done++;
      sentAt = now;
      a.send(msg);
      da.dirty = true;
    }
    da.flush(now);
    db.flush(now);
    da.tick(now);
    db.tick(now);
  }
  return { rounds: done, avgMs: done > 0 ? sum / done : Infinity, maxMs: max };
}

export interface TcpLikeOptions {
  path: PathConfig;
  seed: number;
  durationMs: number;
  warmupMs?: number;
  setup: (k: Kcp) => void;
  /** kcp-channel's queue limit: a packet arriving with this many waiting is dropped. */
  queueLimitSegs: number;
  onStep?: (now: number, a: Kcp, b: Kcp, cwnd: number) => void;
}

/**
 * A TCP-like flow inside the tunnel (bench/vpn runs iperf3 TCP): a Reno window at A, ack-clocked
 * by 52-byte ACK packets that B's KCP carries back (one per two data packets), halving on a drop
 * at the tunnel's queue limit (the only loss it sees: KCP repairs the path's).
 */
export function runTcpLike(o: TcpLikeOptions): { goodputMbps: number; utilisation: number; drops: number; fwd: PathDirection; a: Kcp; b: Kcp } {
  let now = 1000;
  const { fwd, rev, a, b, da, db } = simPair(o, 0x7c900000, 1375, () => now);
  const data = new Uint8Array(1375);
  const ack = new Uint8Array(52);
  const buf = new Uint8Array(2048);
  let cwnd = 10;
  let ssthresh = Infinity;
  let inflight = 0;
  let unacked = 0;
  let lastCut = -Infinity;
  let drops = 0;
  let bytes = 0;
  const warm = now + (o.warmupMs ?? 0);
  const end = now + o.durationMs;
  while (now < end) {
    now++;
    if (now === warm) fwd.resetStats();
    while (inflight < cwnd) {
      if (a.waitSnd() >= o.queueLimitSegs) {
        drops++;
        // One halving per round trip, as fast recovery does; the lost packet leaves the flight.
        if (now - lastCut > 2 * o.path.delayMs + 10) {
          ssthresh = Math.max(cwnd / 2, 2);
          cwnd = ssthresh;
          lastCut = now;
        }
        break;
      }
      a.send(data);
      inflight++;
      da.dirty = true;
    }
    exchange(now, fwd, rev, da, db);
    for (;;) {
      const n = b.recv(buf);
      if (n < 0) break;
      if (now > warm) bytes += n;
      if (++unacked === 2) {
        unacked = 0;
        b.send(ack);
        db.dirty = true;
      }
    }
    while (a.recv(buf) >= 0) {
      inflight = Math.max(0, inflight - 2);
      cwnd += cwnd < ssthresh ? 2 : 2 / cwnd;
    }
    da.flush(now);
    db.flush(now);
    da.tick(now);
    db.tick(now);
    o.onStep?.(now, a, b, cwnd);
  }
  const ms = end - warm;
  return { goodputMbps: (bytes * 8) / ms / 1000, utilisation: bytes / ms / o.path.rateBytesPerMs, drops, fwd, a, b };
}
