// The data channel of one remote peer: one complete interface for both transports, KCP lanes
// (kcp-lanes.ts) and plain datagrams (DatagramChannel below), so the stages (outbound.ts,
// inbound.ts) never ask which one they hold. A channel seals through a PeerSender, the slice of the
// link the data path uses (implemented by link-sender.ts), never through the control plane.
import { InnerKind } from '../wire/inner.js';
import type { RemotePeer } from './remote-peer.js';

/** What the data path needs from the link: seal one inner message for the peer and send it on
 * its current path. False when it could not (no session or path yet, the peer left the map). */
export interface PeerSender {
  send(peer: RemotePeer, inner: Uint8Array): boolean;
}

/** send(): true when queued or sent, else the drop reason (counters.ts). */
export type SendResult = true | 'queue_full' | 'no_path';

/** input(): `foreign` when the datagram's conv is not one of this channel's (the peer may have
 * restarted: inbound.ts decides), `rejected` when the channel refused it. */
export type InputResult = 'ok' | 'rejected' | 'foreign';

export interface ChannelStats {
  retransmits: number;
  /** KCP segments not yet acknowledged, in flight and queued (ikcp_waitsnd); 0 for datagrams. */
  waitSnd: number;
  /** Of those, queued and never sent yet (KCP's snd_queue): the pair's backlog; 0 for datagrams. */
  unsent?: number;
  srttMs: number;
  /** KCP lanes in use (flows seen); 0 for datagram transport. */
  lanes: number;
  /** PUSH segments sent, retransmissions included (fec-loss.ts reads loss from these); 0 for datagrams. */
  pushSegs?: number;
  /** Retransmissions the ACKs showed were needless (kcp.ts retransSpurious). */
  spurious?: number;
  /** KCP resends by cause, those proven needless by cause (Eifel), duplicates received (kcp.ts). */
  resend?: KcpResendCounts;
  /** Small packets of a clean direct pair (peer/interactive-datagram.ts): sent plain, kept on KCP
   * and why; the losses that ended plain sends, by what showed them (a counter gap, a KCP resend). */
  small?: { datagram: number; 'recent-loss': number; unproven: number; 'busy-lane': number; lossGap: number; lossResend: number };
}

/** Issue 19: why KCP resent, and what was needless (docs/ARQ.md "Needless resends"). */
export interface KcpResendCounts {
  timeout: number;
  fast: number;
  rack: number;
  spuriousTimeout: number;
  spuriousFast: number;
  spuriousRack: number;
  /** PUSH segments this end received that it already had (the peer's needless resends and copies). */
  dupIn: number;
  /** What held the sender (kcp.ts stats.limitMs), in lane-ms summed over lanes: pacing, the
   * bytes-in-flight cap, the sn span (snd_una behind a hole), nothing to send. Issue 19 diagnosis. */
  limitPacingMs: number;
  limitCwndMs: number;
  limitSpanMs: number;
  limitIdleMs: number;
  /** KCP segment buffers allocated (kcp.ts stats.segAllocs): a pool miss each; issue 19 item 7. */
  segAllocs?: number;
}

export function addResendCounts(into: KcpResendCounts, c: KcpResendCounts): void {
  into.timeout += c.timeout;
  into.fast += c.fast;
  into.rack += c.rack;
  into.spuriousTimeout += c.spuriousTimeout;
  into.spuriousFast += c.spuriousFast;
  into.spuriousRack += c.spuriousRack;
  into.dupIn += c.dupIn;
  into.limitPacingMs += c.limitPacingMs;
  into.limitCwndMs += c.limitCwndMs;
  into.limitSpanMs += c.limitSpanMs;
  into.limitIdleMs += c.limitIdleMs;
  if (c.segAllocs !== undefined) into.segAllocs = (into.segAllocs ?? 0) + c.segAllocs;
}

export interface DataChannel {
  /** The pair's conv (lane 0) this channel was built for: a new one (a restart) means a new channel. */
  readonly conv: number;
  /** Queues (or sends) one IP packet for the peer. */
  send(packet: Uint8Array): SendResult;
  /** Feeds one KCP datagram whose header carries `conv`. */
  input(datagram: Uint8Array, conv: number): InputResult;
  /** The next whole packet the last input() completed, or undefined; valid until the next call. */
  receive(): Uint8Array | undefined;
  /** Sends what send()/input() queued (data, ACKs). Cheap when nothing is queued. holdAcks: a lane
   * whose only news is the ACK of one small message keeps it for the caller's next flush, so it can
   * ride with the reply (ack-hold.ts); returns true when something was held. */
  flush(holdAcks?: boolean): boolean | void;
  stats(): ChannelStats;
  /** FEC (fec-pair.ts) repairs a loss within `segments` later packets: KCP holds its fast
   * retransmit that much longer so it does not resend what FEC repaired; 0 restores the preset. */
  setFecDepth?(segments: number): void;
  /** Whether this peer sends to the pair over KCP now, holding what it sent until acknowledged:
   * tcp-window-clamp.ts caps the inner TCP windows of those pairs only. Absent: never. */
  holdsWindow?(): boolean;
  /** Whether a small message of a quiet lane would leave as a plain datagram now (leg-channel.ts);
   * absent: never (the native fast path leaves the pair to JS). */
  smallPlainNow?(): boolean;
  /** Small messages the native fast path sent for the pair, for its counters. */
  noteFastSent?(packets: number): void;
  close(): void;
}

/** Datagram transport: each IP packet is one inner IP message, sealed at once; nothing to reassemble. */
export class DatagramChannel implements DataChannel {
  readonly conv: number;
  private readonly scratch: Uint8Array;

  constructor(
    private readonly peer: RemotePeer,
    private readonly sender: PeerSender,
    mtu: number,
  ) {
    this.conv = peer.conv;
    this.scratch = new Uint8Array(mtu + 1);
  }

  send(packet: Uint8Array): SendResult {
    // Sealing copies synchronously, so one scratch buffer serves every packet.
    const s = this.scratch;
    s[0] = InnerKind.IP;
    s.set(packet, 1);
    return this.sender.send(this.peer, s.subarray(0, packet.byteLength + 1)) ? true : 'no_path';
  }

  /** No KCP in datagram mode. */
  input(): InputResult {
    return 'rejected';
  }

  receive(): undefined {
    return undefined;
  }

  flush(): boolean {
    return false;
  }

  stats(): ChannelStats {
    return { retransmits: 0, waitSnd: 0, srttMs: 0, lanes: 0, pushSegs: 0 };
  }

  close(): void {}
}
