// One KCP conversation (one lane of a peer pair, kcp-lanes.ts): IP packets in, KCP datagrams out
// through the PeerSender, and the reverse: input() feeds KCP, receive() pulls each packet it
// completed, so inbound.ts delivers them itself. The conv comes from both nodes' boot ids
// (docs/PROTOCOL.md "Epochs"), so a rekey keeps the KCP going while a restart on either side
// rebuilds it. One timer per channel, driven by check().
import { Kcp } from '../arq/kcp.js';
import { KCP_OVERHEAD_BYTES, type KcpPreset } from '../arq/constants.js';
import { InnerKind } from '../wire/inner.js';
import type { Clock } from '../util/clock.js';
import { KcpTimer } from '../arq/kcp-timer.js';
import type { KcpResendCounts, PeerSender } from './channel.js';
import type { RemotePeer } from './remote-peer.js';
import { ackHoldMaxInputBytes } from './ack-hold.js';
import { laneAdmits } from './kcp-queue.js';
import { controllerCeiling } from './relay-budget.js';

/**
 * Send and receive windows in segments: the span of sequence numbers, not the amount in flight
 * (the presets' rate control caps that near 2 BDP). A lost retransmission holds snd_una for
 * another round trip while sending goes on, so the span must cover ~3 BDP: 16384 x 1.3 KB does for
 * 250 Mbit/s at 200 ms RTT (4096 covered 200 Mbit/s at 40 ms only; docs/ARQ.md "Queue limit").
 */
export const kcpWindowSegments = 16384;

export interface KcpChannelOptions {
  conv: number;
  mtu: number; // largest IP packet carried (the TUN MTU): one packet per segment
  preset: KcpPreset;
  clock: Clock;
  /** The peer this lane belongs to, and the sender its inner messages (kind KCP + datagram) go through. */
  peer: RemotePeer;
  sender: PeerSender;
}

export class KcpChannel {
  readonly conv: number;
  private readonly kcp: Kcp;
  private readonly clock: Clock;
  private readonly recvBuf: Uint8Array;
  private readonly timer: KcpTimer;
  private closed = false;
  /** Set when data was queued but not yet flushed; the caller flushes once per batch. */
  private dirty = false;
  /** Since the last flush: send() queued a packet; input() took this many bytes (holdsAck). */
  private sentSinceFlush = false;
  private inputBytesSinceFlush = 0;
  private readonly presetResend: number;

  constructor(o: KcpChannelOptions) {
    this.conv = o.conv;
    this.clock = o.clock;
    this.recvBuf = new Uint8Array(o.mtu + 64);
    const { peer, sender } = o;
    // One byte of headroom in every KCP output datagram holds the inner kind, so no copy is needed
    // before sealing (the link seals synchronously, so the reused buffer is safe).
    this.kcp = new Kcp(
      o.conv,
      (data: Uint8Array, len: number) => {
        data[0] = InnerKind.KCP;
        sender.send(peer, data.subarray(0, len));
      },
      { reservedBytes: 1 },
    );
    // KCP's mtu counts its 24-byte header and our kind byte: one IP packet of up to `mtu` bytes
    // is exactly one segment.
    if (this.kcp.setMtu(o.mtu + KCP_OVERHEAD_BYTES + 1) !== 0) throw new RangeError(`bad KCP mtu for ${o.mtu}`);
    this.kcp.setWndSize(kcpWindowSegments, kcpWindowSegments);
    this.kcp.applyPreset(o.preset);
    this.presetResend = o.preset.resend;
    // IP promises no order: a packet behind a repair is handed to the TUN at once (each exactly
    // once), so TCP inside sees its own SACK-able gap instead of a tripled RTT (docs/ARQ.md).
    this.kcp.unordered = true;
    // One lost ACK datagram would make the sender repeat a segment that arrived (4 % of the budget
    // of a relayed pair with 5 % loss): each ACK rides twice (docs/ARQ.md, DEPARTURE 12).
    this.kcp.ackEcho = true;
    // Queueing or a receiver's stall delays every ACK alike: with a timer per segment that resent
    // whole flights the receiver already had (issue 19); RACK resends only what later ACKs show
    // missing, and the RTO restarts on every ACK that acks something (kcp.ts DEPARTURE 13).
    this.kcp.rackLoss = true;
    // The sender flushes many times a millisecond: new segments that left just before a repair, in
    // the same ms, must not count as sent after it, or their ACKs resend it before it can arrive.
    this.kcp.fastackRepairStrict = true;
    this.timer = new KcpTimer(this.kcp, o.clock);
  }

  /** Queues one IP packet; false when the unsent backlog is full (the packet is dropped, kcp-queue.ts). */
  send(packet: Uint8Array): boolean {
    if (this.closed || !laneAdmits(this.kcp.nsndQue, this.bdpSegments())) return false;
    if (this.kcp.send(packet) < 0) return false;
    this.dirty = true;
    this.sentSinceFlush = true;
    return true;
  }

  /** Feeds one KCP datagram from the peer; then receive() yields the packets it completed. False if rejected. */
  input(datagram: Uint8Array): boolean {
    if (this.closed) return false;
    const ok = this.kcp.input(datagram) >= 0;
    this.inputBytesSinceFlush += datagram.byteLength;
    // ACKs go out at once (kcp-go's ackNoDelay): the sender's RTT and window depend on them.
    this.dirty = true;
    return ok;
  }

  /** The next packet KCP completed (unordered delivery), or undefined; valid until the next call. */
  receive(): Uint8Array | undefined {
    if (this.closed) return undefined;
    const n = this.kcp.recv(this.recvBuf);
    return n < 0 ? undefined : this.recvBuf.subarray(0, n);
  }

  /**
   * The only news since the last flush is the ACK of one small message and nothing waits to be sent
   * (ack-hold.ts): an interactive request whose reply may come within a loop turn. A transfer's
   * lanes never qualify (full segments in, or data queued or in flight).
   */
  get holdsAck(): boolean {
    return this.dirty && !this.sentSinceFlush && this.inputBytesSinceFlush <= ackHoldMaxInputBytes && this.kcp.waitSnd() === 0;
  }

  /** Sends what send()/input() queued, then reschedules the one timer. Call once per batch. */
  flush(): void {
    if (this.closed || !this.dirty) return;
    this.dirty = false;
    this.sentSinceFlush = false;
    this.inputBytesSinceFlush = 0;
    const now = this.clock.now();
    this.kcp.flush(now);
    this.timer.schedule(now);
  }

  /**
   * FEC is on with groups of up to `segments` packets (0: off). A lost segment's repair arrives with
   * its group's parity, after at most that many later packets were acked, so fast retransmit waits
   * for that many more skipped ACKs than the preset asks (docs/ARQ.md "FEC and fast retransmit").
   */
  setFecDepth(segments: number): void {
    if (this.presetResend > 0) this.kcp.fastresend = this.presetResend + Math.max(0, segments);
  }

  /** A relayed pair's pacing ceiling in tunnelled bytes per second (peer/relay-budget.ts), or none. */
  setRateCeiling(bytesPerSec: number | undefined): void {
    this.kcp.rateControl?.setCeiling(bytesPerSec === undefined ? undefined : controllerCeiling(bytesPerSec, this.kcp.mss));
  }

  /** The rate controller's bandwidth-delay product in full segments (0 before an estimate). */
  private bdpSegments(): number {
    const rc = this.kcp.rateControl;
    return rc ? rc.bdpBytes() / (this.kcp.mss + KCP_OVERHEAD_BYTES) : 0;
  }

  get isDirty(): boolean {
    return this.dirty;
  }

  /** For status and metrics. */
  get stats(): { retransmits: number; spurious: number; pushSegs: number; waitSnd: number; unsent: number; rtoMs: number; srttMs: number; dead: boolean; resend: KcpResendCounts } {
    const k = this.kcp.stats;
    const resend = { timeout: k.retransTimeout, fast: k.retransFast, rack: k.retransRack, spuriousTimeout: k.spuriousTimeout, spuriousFast: k.spuriousFast, spuriousRack: k.spuriousRack, dupIn: k.inDupSegs, limitPacingMs: Math.round(k.limitMs.pacing), limitCwndMs: Math.round(k.limitMs.cwnd), limitSpanMs: Math.round(k.limitMs.span), limitIdleMs: Math.round(k.limitMs.idle), segAllocs: k.segAllocs };
    return { retransmits: this.kcp.retransmits, spurious: k.retransSpurious, pushSegs: k.outPushSegs, waitSnd: this.kcp.waitSnd(), unsent: this.kcp.nsndQue, rtoMs: this.kcp.rxRto, srttMs: this.kcp.rxSrtt, dead: this.kcp.state === -1, resend };
  }

  close(): void {
    this.closed = true;
    this.timer.stop();
  }
}
