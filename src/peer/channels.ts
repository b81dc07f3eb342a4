// Builds and flushes the records' data channels (channel.ts) for the configured transport: KCP
// lanes, plain datagrams, or (auto) a LegChannel choosing per pair (leg-channel.ts). Shared by the two stages: outbound.ts opens a channel on a peer's first
// packet, inbound.ts on its first KCP datagram and rebuilds it when the peer restarted.
import type { KcpPreset } from '../arq/constants.js';
import type { Clock } from '../util/clock.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import { DatagramChannel, type DataChannel, type PeerSender } from './channel.js';
import { KcpLanes } from './kcp-lanes.js';
import { LegChannel, type ModeChooser } from './leg-channel.js';
import type { ChannelModeChoice } from './leg-channel-choice.js';
import type { RemotePeers } from './peer-table.js';
import type { RemotePeer } from './remote-peer.js';

export type TransportMode = 'kcp' | 'datagram';
/** --transport: a mode for every pair, or auto (per pair: leg-channel-choice.ts). */
export type TransportSetting = TransportMode | 'auto';

export interface ChannelsOptions {
  table: RemotePeers;
  sender: PeerSender;
  transport: TransportSetting;
  /** auto: picks each pair's mode (absent: KCP, as before). */
  choose?: ModeChooser;
  /** auto: a pair's mode changed (the daemon logs it). */
  onModeSwitch?: (peer: RemotePeer, from: ChannelModeChoice, to: ChannelModeChoice) => void;
  /** The TUN MTU: the largest IP packet a channel carries. */
  mtu: number;
  preset: KcpPreset;
  clock: Clock;
  /** Runs fn after the current batch of I/O callbacks (setImmediate in the daemon). */
  defer(fn: () => void): void;
}

export interface ChannelStatus {
  overlay: string;
  conv: number;
  retransmits: number;
  waitSnd: number;
  srttMs: number;
  lanes: number;
  /** auto: the mode this pair sends with now and why (leg-channel-choice.ts reasons). */
  mode?: TransportMode;
  modeReason?: string;
}

const kcpAlways: ModeChooser = () => ({ mode: 'kcp', reason: 'udp-legs' });

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
    if (o.transport === 'auto') peer.channel = new LegChannel(peer, o.sender, o.mtu, o.preset, o.clock, o.choose ?? kcpAlways, o.onModeSwitch);
    else peer.channel = o.transport === 'kcp' ? new KcpLanes(peer, o.sender, o.mtu, o.preset, o.clock) : new DatagramChannel(peer, o.sender, o.mtu);
    return peer.channel;
  }

  /** Drops the peer's channel and builds a new one (the peer restarted: a new conv). */
  reopen(peer: RemotePeer): DataChannel | undefined {
    peer.closeChannel();
    return this.open(peer);
  }

  /** auto: every pair asks its mode again now (the hub leg switched). */
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
      const mode = ch instanceof LegChannel ? { mode: ch.mode.mode, modeReason: ch.mode.reason } : {};
      out.push({ overlay: u32ToIpv4(peer.overlay), conv: ch.conv, ...ch.stats(), ...mode });
    }
    return out;
  }

  close(): void {
    this.isClosed = true;
    for (const peer of this.o.table.values()) peer.closeChannel();
  }
}
