// One visitor TCP connection as a byte stream over a KCP conversation (stream mode, its own conv)
// on the hub-peer session: frames inside the KCP byte stream carry data and FIN (half-close), a
// STREAM RESET message aborts. One timer per stream, rescheduled from check() and only while
// something is in flight. Writes and inputs only mark the stream dirty; one flush per event-loop
// turn sends the data and every ACK gathered in that turn (as peer/kcp-channel.ts does per batch).
// Used by hub-publisher.ts and service-manager.ts through pipe.ts.
//
//   inner STREAM datagram:  kind=17 u8 | op=DATA u8 | conv u32 LE | KCP segments (stream mode)
//   frames in the byte stream:  type u8 (1 DATA, 2 FIN) | len u16 LE | payload [len]
import { Kcp } from '../arq/kcp.js';
import type { KcpPreset } from '../arq/constants.js';
import { deferOn, type Clock, type TimerHandle } from '../util/clock.js';
import { viewOf } from '../util/bytes.js';
import { KcpTimer } from '../arq/kcp-timer.js';
import { InnerKind, STREAM_HEADER_BYTES, StreamOp } from '../wire/inner.js';
import type { BudgetMember, StreamBudget } from './stream-budget.js';

/** Local tuning: the KCP mtu incl. our 6-byte header; UDP payload 1400 + 32 AEAD/transport fits 1472. */
export const streamMtuBytes = 1400;
/** Local tuning: windows in segments (~700 KB in flight per stream, ~20 MB/s at 40 ms RTT; 100
 * stalled streams hold at most ~200 MB, see streamHighWaterSegs). */
export const streamWindowSegs = 512;
/** Local tuning: write() says "stop" at this many unacked segments (window + one window queued),
 * onDrain fires at half: a source refills the queue before the window runs dry. */
export const streamHighWaterSegs = 2 * streamWindowSegs;
export const streamLowWaterSegs = streamWindowSegs;
/** Local tuning: bytes handed to onData at once (one socket write per 64 KB, not per segment). */
export const streamDeliverBytes = 64 * 1024;
/** Local tuning: the stream preset. Congestion window ON (nc 0): without it 100 streams each blast
 * a full window into the same session and the UDP socket buffers overflow (bench: 185k timeout
 * resends for 76k segments). Normal RTO (nodelay 0, 100 ms floor): with the 30 ms nodelay floor a
 * busy event loop fired ~28 % spurious resends. Fast resend after 2 skips keeps loss recovery quick. */
export const streamPreset: KcpPreset = { nodelay: 0, interval: 10, resend: 2, nc: 0 };
/** Local tuning: largest frame; keeps a KCP send() well under 128 segments. */
export const streamFrameMaxBytes = 16 * 1024;
/** Local tuning: after a clean close, keep answering ACKs this long (TCP's TIME_WAIT role). */
export const streamLingerMs = 3_000;
/** Local tuning: reset when data waits for an ack and nothing at all came back for this long
 * (KCP's own dead_link flag needs ~8 minutes of RTO backoff to trip). Zero-window probes are
 * answered, so a stalled reader alone does not trip it while probes stay under this interval. */
export const streamDeadMs = 60_000;
/** Protocol: frame types inside the KCP byte stream. */
export const FRAME_DATA = 1;
export const FRAME_FIN = 2;
export const FRAME_HEADER_BYTES = 3;

export interface KcpStreamHandlers {
  /** Bytes in order. The view is reused after return: copy it (socket.write of a copy). */
  onData(chunk: Uint8Array): void;
  /** The remote side finished sending (half-close). */
  onEnd(): void;
  /** write() returned false earlier and the queue has drained below the low-water mark. */
  onDrain(): void;
  /** Once: undefined after a clean close (both FINs sent and acked), else the reason. */
  onClose(reason: string | undefined): void;
}

export interface KcpStreamOptions {
  conv: number;
  clock: Clock;
  /** Sends one inner STREAM message (synchronously: the buffer is reused). */
  send(inner: Uint8Array): void;
  preset?: KcpPreset;
  /** Called once when the stream may be forgotten (after the linger, or at once on reset). */
  onDispose?: () => void;
  lingerMs?: number;
  highWaterSegs?: number;
  deadMs?: number;
  /** Runs fn once after the current event-loop turn (default: util/clock.ts deferOn). */
  defer?: (fn: () => void) => void;
  /** The process-wide budget for buffered stream bytes (stream-budget.ts); none = unbounded. */
  budget?: StreamBudget;
}

const noop = (): void => {};
const utf8 = new TextEncoder();

export class KcpStream implements BudgetMember {
  readonly conv: number;
  handlers: KcpStreamHandlers = { onData: noop, onEnd: noop, onDrain: noop, onClose: noop };
  bytesSent = 0;
  bytesReceived = 0;
  /** Most segments ever waiting to be acked (for the backpressure test and status). */
  maxWaitSnd = 0;
  /** Last time bytes moved either way (write or delivery), for the idle timeout. */
  lastActivityAt: number;
  /** Bytes this stream holds in its KCP queues, as last charged to the budget. */
  chargedBytes = 0;
  private readonly kcp: Kcp;
  private readonly clock: Clock;
  private readonly o: KcpStreamOptions;
  private readonly recvBuf = new Uint8Array(streamDeliverBytes);
  private readonly defer: (fn: () => void) => void;
  private readonly flushCb = (): void => this.flushDirty();
  private dirty = false;
  private readonly hdr = new Uint8Array(FRAME_HEADER_BYTES);
  private readonly highWater: number;
  private readonly timer: KcpTimer;
  private paused = false;
  private pausedAt: number | undefined;
  private zeroWndAt: number | undefined;
  private blocked = false;
  private finSent = false;
  private finReceived = false;
  private closeReported = false;
  private disposed = false;
  // Frame parser state.
  private hdrHave = 0;
  private frameLeft = 0;

  constructor(o: KcpStreamOptions) {
    this.o = o;
    this.conv = o.conv >>> 0;
    this.clock = o.clock;
    this.highWater = o.highWaterSegs ?? streamHighWaterSegs;
    this.defer = o.defer ?? deferOn(o.clock);
    const send = o.send;
    const conv = this.conv;
    this.kcp = new Kcp(
      conv,
      (data, len) => {
        // The header goes into KCP's reserved bytes (no DataView or copy per datagram).
        data[0] = InnerKind.STREAM;
        data[1] = StreamOp.DATA;
        data[2] = conv & 0xff;
        data[3] = (conv >>> 8) & 0xff;
        data[4] = (conv >>> 16) & 0xff;
        data[5] = conv >>> 24;
        send(data.subarray(0, len));
      },
      { reservedBytes: STREAM_HEADER_BYTES },
    );
    this.kcp.stream = 1;
    if (this.kcp.setMtu(streamMtuBytes) !== 0) throw new RangeError('bad stream mtu');
    this.kcp.setWndSize(streamWindowSegs, streamWindowSegs);
    const p = o.preset ?? streamPreset;
    this.kcp.setNodelay(p.nodelay, p.interval, p.resend, p.nc);
    this.timer = new KcpTimer(this.kcp, this.clock, { onTick: (now) => this.checkAlive(now) });
    this.lastActivityAt = this.clock.now();
    o.budget?.add(this);
  }

  get closed(): boolean {
    return this.closeReported;
  }
  get waitSnd(): number {
    return this.kcp.waitSnd();
  }
  /** True between a write() that returned false and the onDrain that follows. */
  get needsDrain(): boolean {
    return this.blocked;
  }
  get retransmits(): number {
    return this.kcp.retransmits;
  }
  /** Since when a reader is stuck (undefined = it is not): ours (delivery paused: our socket takes
   * no more) or the remote's (a zero window while we hold data for it). A busy stream blocked at the
   * high-water mark with the window open is not stalled: acks drain it. */
  get stalledSince(): number | undefined {
    if (this.pausedAt === undefined) return this.zeroWndAt;
    return this.zeroWndAt === undefined ? this.pausedAt : Math.min(this.pausedAt, this.zeroWndAt);
  }

  /** Queues bytes; false when the caller should pause its source until onDrain. */
  write(chunk: Uint8Array): boolean {
    if (this.finSent || this.closeReported) return false;
    this.lastActivityAt = this.clock.now();
    if (this.kcp.waitSnd() === 0) this.lastInputAt = this.lastActivityAt; // the stall clock starts now
    for (let off = 0; off < chunk.byteLength; off += streamFrameMaxBytes) {
      const part = chunk.subarray(off, Math.min(chunk.byteLength, off + streamFrameMaxBytes));
      this.frame(FRAME_DATA, part.byteLength);
      this.kcp.send(part);
      this.bytesSent += part.byteLength;
    }
    this.markDirty();
    const w = this.kcp.waitSnd();
    if (w > this.maxWaitSnd) this.maxWaitSnd = w;
    if (w >= this.highWater) this.blocked = true;
    this.charge();
    const budget = this.o.budget;
    if (!this.blocked && budget?.over && this.chargedBytes >= budget.fairShareBytes) {
      // Past the global budget a stream holding its share takes this chunk (a source's one read) and
      // then no more: the caller pauses its source until onDrain. Small streams still pass, so stuck
      // ones cannot starve the rest.
      budget.counters.refusedWrites++;
      this.blocked = true;
    }
    return !this.blocked;
  }

  /** Half-close: no more writes; the remote gets onEnd after every byte before it. */
  end(): void {
    if (this.finSent || this.closeReported) return;
    this.finSent = true;
    // The FIN is data waiting for an ack: an idle stream's stall clock starts now, not at the last input.
    if (this.kcp.waitSnd() === 0) this.lastInputAt = this.clock.now();
    this.frame(FRAME_FIN, 0);
    this.markDirty();
    this.maybeDone();
  }

  /** Stops delivering (the consumer is slow); the receive window fills and the sender stalls. */
  pauseDelivery(): void {
    if (!this.paused) this.pausedAt = this.clock.now();
    this.paused = true;
  }

  resumeDelivery(): void {
    if (!this.paused) return;
    this.paused = false;
    this.pausedAt = undefined;
    if (this.disposed) return;
    this.deliver();
    this.markDirty(); // a window that reopens is told this turn (KCP's fast recover WINS)
    this.maybeDone();
  }

  /** One KCP datagram from the remote (the payload of a STREAM DATA message). */
  input(datagram: Uint8Array): void {
    if (this.disposed) return;
    this.lastInputAt = this.clock.now();
    this.kcp.input(datagram, datagram.byteLength, this.lastInputAt);
    if (!this.closeReported) this.deliver();
    this.markDirty(); // ACKs this turn, batched: the sender's window and RTT depend on them
    this.releaseIfDrained();
    this.charge();
    this.maybeDone();
  }

  /** The budget has room again (stream-budget.ts). */
  budgetFreed(): void {
    if (!this.disposed) this.releaseIfDrained();
  }

  /** Aborts: tells the remote (STREAM RESET with the reason) and reports onClose(reason). */
  reset(reason: string): void {
    if (this.disposed) return;
    const text = utf8.encode(reason.slice(0, 200));
    const msg = new Uint8Array(STREAM_HEADER_BYTES + text.byteLength);
    msg[0] = InnerKind.STREAM;
    msg[1] = StreamOp.RESET;
    viewOf(msg).setUint32(2, this.conv, true);
    msg.set(text, STREAM_HEADER_BYTES);
    this.o.send(msg);
    this.finish(reason);
  }

  /** The remote sent RESET. */
  remoteReset(reason: string): void {
    if (this.disposed) return;
    this.finish(`reset by the other side: ${reason || 'no reason given'}`);
  }

  /** Forgets the stream without telling the remote (the session itself is gone). */
  dispose(reason = 'closed'): void {
    this.finish(reason);
  }

  // ---- internals ----

  private releaseIfDrained(): void {
    if (this.blocked && this.kcp.waitSnd() <= streamLowWaterSegs && !this.o.budget?.over) {
      this.blocked = false;
      if (!this.closeReported) this.handlers.onDrain();
    }
  }

  /** Tells the budget what the KCP queues hold now (segments in send and receive queues). */
  private charge(): void {
    const budget = this.o.budget;
    if (!budget) return;
    const k = this.kcp;
    if (k.rmtWnd === 0 && k.waitSnd() > 0) this.zeroWndAt ??= this.clock.now();
    else this.zeroWndAt = undefined;
    const now = this.disposed ? 0 : (k.waitSnd() + k.nrcvBuf + k.nrcvQue) * streamMtuBytes;
    if (now !== this.chargedBytes) {
      budget.charge(now - this.chargedBytes);
      this.chargedBytes = now;
    }
  }

  private frame(type: number, len: number): void {
    this.hdr[0] = type;
    this.hdr[1] = len & 0xff;
    this.hdr[2] = len >>> 8;
    this.kcp.send(this.hdr);
  }

  private deliver(): void {
    const buf = this.recvBuf;
    const mss = this.kcp.mss;
    while (!this.paused && !this.closeReported) {
      // Gather whole segments up to streamDeliverBytes so the consumer sees few big chunks.
      let n = 0;
      while (buf.byteLength - n >= mss) {
        const k = this.kcp.recv(n === 0 ? buf : buf.subarray(n));
        if (k < 0) break;
        n += k;
      }
      if (n === 0) return;
      this.lastActivityAt = this.clock.now();
      this.parse(buf.subarray(0, n));
    }
  }

  private parse(b: Uint8Array): void {
    let off = 0;
    while (off < b.byteLength && !this.closeReported) {
      if (this.frameLeft > 0) {
        const k = Math.min(this.frameLeft, b.byteLength - off);
        this.frameLeft -= k;
        this.bytesReceived += k;
        this.handlers.onData(b.subarray(off, off + k));
        off += k;
        continue;
      }
      this.hdr[this.hdrHave++] = b[off++]!;
      if (this.hdrHave < FRAME_HEADER_BYTES) continue;
      this.hdrHave = 0;
      const type = this.hdr[0]!;
      const len = this.hdr[1]! | (this.hdr[2]! << 8);
      if (type === FRAME_DATA) this.frameLeft = len;
      else if (type === FRAME_FIN && len === 0 && !this.finReceived) {
        this.finReceived = true;
        this.handlers.onEnd();
      } else {
        this.reset(`bad frame type ${type} len ${len}`);
        return;
      }
    }
  }

  private maybeDone(): void {
    if (this.closeReported || !this.finSent || !this.finReceived || this.kcp.waitSnd() > 0) return;
    this.closeReported = true;
    this.handlers.onClose(undefined);
    // Linger: our last ACKs may be lost; keep answering retransmissions for a while.
    const t = this.clock.setTimer(this.o.lingerMs ?? streamLingerMs, () => this.finish('linger over'));
    this.lingerTimer = t;
  }

  private lingerTimer: TimerHandle | undefined;
  private lastInputAt = 0;

  private finish(reason: string): void {
    if (this.disposed) return;
    this.disposed = true;
    this.timer.stop();
    if (this.lingerTimer !== undefined) this.clock.clearTimer(this.lingerTimer);
    this.charge();
    this.o.budget?.remove(this);
    if (!this.closeReported) {
      this.closeReported = true;
      this.handlers.onClose(reason);
    }
    this.o.onDispose?.();
  }

  /** Queues one flush after this event-loop turn; later writes and inputs in the turn join it. */
  private markDirty(): void {
    if (this.dirty || this.disposed) return;
    this.dirty = true;
    this.defer(this.flushCb);
  }

  private flushDirty(): void {
    this.dirty = false;
    if (this.disposed) return;
    const now = this.clock.now();
    this.kcp.flush(now);
    this.timer.schedule(now);
    this.charge();
  }

  /** After each timer update: a dead link resets the stream (and stops the timer). */
  private checkAlive(now: number): boolean {
    const deadMs = this.o.deadMs ?? streamDeadMs;
    if (this.kcp.state === -1 || now - this.lastInputAt > deadMs) {
      this.reset(`dead link: nothing heard for ${Math.round((now - this.lastInputAt) / 1000)} s with ${this.kcp.waitSnd()} segments unacked`);
      return false;
    }
    return true;
  }
}
