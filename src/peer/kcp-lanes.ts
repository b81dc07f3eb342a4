// The KCP lanes of one peer pair: up to kcpLaneCount KCP conversations (flow-lane.ts picks one per
// packet), created on first use and asleep when idle. A loss repair or a deep queue on one flow's
// lane no longer delays another flow's packets, and each lane recovers from loss on its own.
// The KCP implementation of channel.ts DataChannel.
import type { KcpPreset } from '../arq/constants.js';
import type { Clock } from '../util/clock.js';
import { addResendCounts, type ChannelStats, type DataChannel, type InputResult, type PeerSender, type SendResult } from './channel.js';
import { KcpChannel } from './kcp-channel.js';
import { flowLane, kcpLaneCount, laneConv, laneOfConv } from './flow-lane.js';
import type { RemotePeer } from './remote-peer.js';

export class KcpLanes implements DataChannel {
  /** The pair's base conv (lane 0), from the peer's record when the lanes were built. */
  readonly conv: number;
  private readonly lanes: (KcpChannel | undefined)[] = new Array<KcpChannel | undefined>(kcpLaneCount);
  /** Lanes with data or ACKs queued since the last flush. */
  private readonly pending: KcpChannel[] = [];
  /** The lane the last input() fed: receive() drains it. */
  private receiving: KcpChannel | undefined;
  private closed = false;
  /** fec-pair.ts's repair depth, applied to every lane (new ones too). */
  private fecDepth = 0;
  /** A relayed pair's pacing ceiling (leg-channel.ts), kept for lanes built later. */
  private rateCeiling: number | undefined;

  constructor(
    private readonly peer: RemotePeer,
    private readonly sender: PeerSender,
    private readonly mtu: number,
    private readonly preset: KcpPreset,
    private readonly clock: Clock,
  ) {
    this.conv = peer.conv;
  }

  /** Queues one IP packet on its flow's lane. */
  send(packet: Uint8Array): SendResult {
    if (this.closed) return 'queue_full';
    const ch = this.lane(flowLane(packet));
    const was = ch.isDirty;
    const ok = ch.send(packet);
    if (!was && ch.isDirty) this.pending.push(ch);
    return ok ? true : 'queue_full';
  }

  /** Feeds one KCP datagram, whose header carries `conv`, to its lane. */
  input(datagram: Uint8Array, conv: number): InputResult {
    this.receiving = undefined;
    if (this.closed) return 'rejected';
    const lane = laneOfConv(this.conv, conv);
    if (lane === undefined) return 'foreign';
    const ch = this.lane(lane);
    const was = ch.isDirty;
    const ok = ch.input(datagram);
    if (!was && ch.isDirty) this.pending.push(ch);
    this.receiving = ch;
    return ok ? 'ok' : 'rejected';
  }

  receive(): Uint8Array | undefined {
    return this.receiving?.receive();
  }

  /** Flushes every lane that queued data or ACKs since the last flush; with holdAcks a lane that
   * only owes the ACK of a small message stays pending (kcp-channel.ts holdsAck). */
  flush(holdAcks = false): boolean {
    let kept = 0;
    for (const ch of this.pending) {
      if (holdAcks && ch.holdsAck) this.pending[kept++] = ch;
      else ch.flush();
    }
    this.pending.length = kept;
    return kept > 0;
  }

  stats(): ChannelStats {
    const s: ChannelStats = { retransmits: 0, waitSnd: 0, unsent: 0, srttMs: 0, lanes: 0, pushSegs: 0 };
    for (const ch of this.lanes) {
      if (!ch) continue;
      const c = ch.stats;
      s.lanes++;
      s.retransmits += c.retransmits;
      s.pushSegs = (s.pushSegs ?? 0) + c.pushSegs;
      s.spurious = (s.spurious ?? 0) + c.spurious;
      s.resend ??= { timeout: 0, fast: 0, rack: 0, spuriousTimeout: 0, spuriousFast: 0, spuriousRack: 0, dupIn: 0, limitPacingMs: 0, limitCwndMs: 0, limitSpanMs: 0, limitIdleMs: 0 };
      addResendCounts(s.resend, c.resend);
      s.waitSnd += c.waitSnd;
      s.unsent = (s.unsent ?? 0) + c.unsent;
      s.srttMs = Math.max(s.srttMs, c.srttMs);
    }
    return s;
  }

  setFecDepth(segments: number): void {
    this.fecDepth = segments;
    for (const ch of this.lanes) ch?.setFecDepth(segments);
  }

  /** A relayed pair's pacing ceiling (bytes/s, peer/relay-budget.ts) for every lane, now and later. */
  setRateCeiling(bytesPerSec: number | undefined): void {
    this.rateCeiling = bytesPerSec;
    for (const ch of this.lanes) ch?.setRateCeiling(bytesPerSec);
  }

  close(): void {
    this.closed = true;
    for (const ch of this.lanes) ch?.close();
    this.lanes.fill(undefined);
    this.pending.length = 0;
    this.receiving = undefined;
  }

  private lane(lane: number): KcpChannel {
    let ch = this.lanes[lane];
    if (!ch) {
      ch = new KcpChannel({ conv: laneConv(this.conv, lane), mtu: this.mtu, preset: this.preset, clock: this.clock, peer: this.peer, sender: this.sender });
      this.lanes[lane] = ch;
      if (this.fecDepth > 0) ch.setFecDepth(this.fecDepth);
      if (this.rateCeiling !== undefined) ch.setRateCeiling(this.rateCeiling);
    }
    return ch;
  }
}
