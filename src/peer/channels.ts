// Builds and flushes the records' data channels: one LegChannel per pair (leg-channel.ts), which
// applies the pair's one transport decision (pair-transport.ts; --transport pins it). Shared by the
// two stages: outbound.ts opens a channel on a peer's first packet, inbound.ts on its first KCP
// datagram and rebuilds it when the peer restarted.
import type { KcpPreset } from '../arq/constants.js';
import type { Clock } from '../util/clock.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import type { ChannelStats, DataChannel, KcpResendCounts, PeerSender } from './channel.js';
import { LegChannel, type ModeChooser, type ModeSwitchHook, type RateCeiling } from './leg-channel.js';
import type { PairTransport, TransportReason } from './pair-transport.js';
import type { RemotePeers } from './peer-table.js';
import type { RemotePeer } from './remote-peer.js';
import type { RxCounts } from '../link/remote.js';

export type TransportMode = 'kcp' | 'datagram';
/** --transport: a mode for every pair, or auto (per pair: pair-transport.ts). */
export type TransportSetting = TransportMode | 'auto';

export interface ChannelsOptions {
  table: RemotePeers;
  sender: PeerSender;
  transport: TransportSetting;
  /** Each pair's decision (leg-channel.ts pairTransportHooks; the pins are inside it). */
  choose: ModeChooser;
  /** A pair's decision changed (the daemon logs it). */
  onModeSwitch?: ModeSwitchHook;
  /** A relayed pair's pacing ceiling (peer/relay-budget.ts); absent = none. */
  rateCeiling?: RateCeiling;
  /** The TUN MTU: the largest IP packet a channel carries. */
  mtu: number;
  preset: KcpPreset;
  clock: Clock;
  /** Runs fn after the current batch of I/O callbacks (setImmediate in the daemon). */
  defer(fn: () => void): void;
  /** The peer's datagrams to us (link-sender.ts rxCounts): lets small messages of a clean direct
   * path leave as datagrams (interactive-datagram.ts); absent: never. */
  rxCounts?: (peer: RemotePeer) => Readonly<RxCounts> | undefined;
}

export interface ChannelStatus {
  overlay: string;
  conv: number;
  retransmits: number;
  waitSnd: number;
  /** Of waitSnd, never sent yet (channel.ts ChannelStats.unsent). */
  unsent?: number;
  srttMs: number;
  lanes: number;
  /** KCP resends by cause (channel.ts KcpResendCounts); absent for datagrams. */
  resend?: KcpResendCounts;
  /** Small packets of a clean direct pair (channel.ts ChannelStats.small). */
  small?: ChannelStats['small'];
  /** The mode this pair sends with now and why (pair-transport.ts). */
  mode?: TransportMode;
  modeReason?: TransportReason;
  /** The whole decision (FEC gate and the reason line). */
  decision?: PairTransport;
}

export class Channels {
  private flushScheduled = false;
  private isClosed = false;

  constructor(private readonly o: ChannelsOptions) {}

  get closed(): boolean {
    return this.isClosed;
  }

  /** Builds the channel of a peer that has none (the stages read `peer.channel` first); undefined
   * when the peer is not in the map. */
  open(peer: RemotePeer): DataChannel | undefined {
    if (peer.channel) return peer.channel;
    if (!peer.listed || this.isClosed) return undefined;
    const o = this.o;
    peer.channel = new LegChannel(peer, o.sender, o.mtu, o.preset, o.clock, o.choose, o.onModeSwitch, o.rateCeiling, o.rxCounts);
    return peer.channel;
  }

  /** Drops the peer's channel and builds a new one (the peer restarted: a new conv). */
  reopen(peer: RemotePeer): DataChannel | undefined {
    peer.closeChannel();
    return this.open(peer);
  }

  /** Every pair asks its decision again now (the hub leg switched). */
  reconsiderModes(): void {
    for (const peer of this.o.table.values()) if (peer.channel instanceof LegChannel) peer.channel.reconsider();
  }

  /** Flushes every channel with queued data or ACKs (cheap when idle). Once per TUN batch.
   * holdAcks: an interactive lane's lone ACK waits for the next flush (ack-hold.ts); true if one did. */
  flushAll(holdAcks = false): boolean {
    let held = false;
    for (const peer of this.o.table.values()) if (peer.channel?.flush(holdAcks)) held = true;
    return held;
  }

  /** Flushes once the current batch of socket callbacks is done (ACKs for everything that arrived);
   * a held ACK goes one turn later if no reply took it first (ack-hold.ts). */
  flushSoon(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.o.defer(() => {
      this.flushScheduled = false;
      if (this.flushAll(true)) this.o.defer(() => this.flushAll());
    });
  }

  status(): ChannelStatus[] {
    const out: ChannelStatus[] = [];
    for (const peer of this.o.table.values()) {
      const ch = peer.channel;
      if (!ch) continue;
      const mode = ch instanceof LegChannel ? { mode: ch.mode.transport, modeReason: ch.mode.reason, decision: ch.mode } : {};
      out.push({ overlay: u32ToIpv4(peer.overlay), conv: ch.conv, ...ch.stats(), ...mode });
    }
    return out;
  }

  /** The pair's decision in force (fec-stage.ts reads its FEC gate); undefined without a channel. */
  decisionOf(peer: RemotePeer): PairTransport | undefined {
    return peer.channel instanceof LegChannel ? peer.channel.mode : undefined;
  }

  close(): void {
    this.isClosed = true;
    for (const peer of this.o.table.values()) peer.closeChannel();
  }
}
