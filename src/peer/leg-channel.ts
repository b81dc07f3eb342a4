// The data channel of a pair under `--transport auto` (issue 21 item 3): sends through KCP lanes or
// as plain datagrams, whichever leg-channel-choice.ts picks for the pair's path, asked again at most
// once a second from send(). It always receives both kinds (inbound.ts hands IP messages past the
// channel and KCP ones to it), so each end chooses its own sending mode and no wire change is needed.
// channels.ts builds it; a switch keeps what KCP already queued (it drains as before).
import type { KcpPreset } from '../arq/constants.js';
import type { Clock } from '../util/clock.js';
import { DatagramChannel, type ChannelStats, type DataChannel, type InputResult, type PeerSender, type SendResult } from './channel.js';
import { KcpLanes } from './kcp-lanes.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import type { Logger } from '../util/log.js';
import { CHANNEL_MODE_REASON_TEXT, chooseChannelMode, type ChannelModeChoice } from './leg-channel-choice.js';
import type { HubLeg } from './transport-choice.js';
import type { RemotePeer } from './remote-peer.js';

/** Local tuning: how often a busy pair's mode is reconsidered (the hub leg and the path change on a
 * scale of seconds; once a second costs nothing per packet). */
export const modeCheckIntervalMs = 1_000;

export type ModeChooser = (peer: RemotePeer) => ChannelModeChoice;

export class LegChannel implements DataChannel {
  readonly conv: number;
  private readonly datagrams: DatagramChannel;
  /** Built on first KCP use (sending in kcp mode, or the remote sending KCP to us). */
  private kcp: KcpLanes | undefined;
  private choice: ChannelModeChoice;
  private nextCheckMs: number;
  private closed = false;
  /** Mode switches since the channel was built. */
  switches = 0;

  constructor(
    private readonly peer: RemotePeer,
    private readonly sender: PeerSender,
    private readonly mtu: number,
    private readonly preset: KcpPreset,
    private readonly clock: Clock,
    private readonly choose: ModeChooser,
    private readonly onSwitch?: (peer: RemotePeer, from: ChannelModeChoice, to: ChannelModeChoice) => void,
  ) {
    this.conv = peer.conv;
    this.datagrams = new DatagramChannel(peer, sender, mtu);
    this.choice = choose(peer);
    this.nextCheckMs = clock.now() + modeCheckIntervalMs;
  }

  /** The mode sends use now and why. */
  get mode(): ChannelModeChoice {
    return this.choice;
  }

  /** Asks the chooser again now (the hub leg switched); send() also does once a second. */
  reconsider(): void {
    this.nextCheckMs = this.clock.now() + modeCheckIntervalMs;
    const next = this.choose(this.peer);
    const prev = this.choice;
    if (next.mode === prev.mode && next.reason === prev.reason) return;
    this.choice = next;
    if (next.mode !== prev.mode) {
      this.switches++;
      this.onSwitch?.(this.peer, prev, next);
    }
  }

  send(packet: Uint8Array): SendResult {
    if (this.closed) return 'queue_full';
    if (this.clock.now() >= this.nextCheckMs) this.reconsider();
    return this.choice.mode === 'kcp' ? this.lanes().send(packet) : this.datagrams.send(packet);
  }

  input(datagram: Uint8Array, conv: number): InputResult {
    return this.lanes().input(datagram, conv);
  }

  receive(): Uint8Array | undefined {
    return this.kcp?.receive();
  }

  flush(holdAcks = false): boolean {
    return this.kcp?.flush(holdAcks) ?? false;
  }

  stats(): ChannelStats {
    return this.kcp ? this.kcp.stats() : this.datagrams.stats();
  }

  close(): void {
    this.closed = true;
    this.kcp?.close();
  }

  private lanes(): KcpLanes {
    return (this.kcp ??= new KcpLanes(this.peer, this.sender, this.mtu, this.preset, this.clock));
  }
}

/** What the choice reads from the hub leg (peer/hub-transport.ts HubTransport). */
export interface HubLegView {
  readonly current: HubLeg;
  udpLossPct(): number | undefined;
}

/** The chooser and the switch log for `--transport auto`, as DataPlane options (run.ts): our own hub
 * leg and UDP probe loss; the remote's leg is not known (the map does not carry it). */
export function legChannelHooks(leg: HubLegView, clock: Clock, log: Logger): { choose: ModeChooser; onModeSwitch: (peer: RemotePeer, from: ChannelModeChoice, to: ChannelModeChoice) => void } {
  return {
    choose: (peer) => chooseChannelMode({ setting: 'auto', direct: peer.paths.current(clock.now()) !== undefined, ownLeg: leg.current, ownUdpLossPct: leg.udpLossPct() }),
    onModeSwitch: (peer, from, to) =>
      log.info({ peer: u32ToIpv4(peer.overlay), from: from.mode, to: to.mode, reason: to.reason }, `data channel to ${u32ToIpv4(peer.overlay)}: ${from.mode} -> ${to.mode} (${CHANNEL_MODE_REASON_TEXT[to.reason]})`),
  };
}
