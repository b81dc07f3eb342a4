// The peer's data plane, assembled: the channels of the records (channels.ts), the outbound stages
// (outbound.ts) fed by the TUN and the inbound stages (inbound.ts) fed by node.ts, sharing one set of
// counters. It holds the parts; packets never pass through this file: run.ts wires the TUN to
// `outbound` and the node to `inbound`.
import type { KcpPreset } from '../arq/constants.js';
import type { TunDevice } from '../tun/device.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import type { PeerSender } from './channel.js';
import type { LinkSender } from './link-sender.js';
import { AclFirewall } from './acl-firewall.js';
import { Channels, type ChannelsOptions, type ChannelStatus, type TransportMode, type TransportSetting } from './channels.js';
import { DataCounters } from './counters.js';
import { FecStage } from './fec-stage.js';
import { DupStage, type DupSender } from './dup-stage.js';
import { pairTransportHooks, type HubLegView } from './leg-channel.js';
import type { FecPairStatus, FecSetting } from './fec-pair.js';
import { Inbound, type InboundOptions } from './inbound.js';
import { Outbound, type OutboundOptions } from './outbound.js';
import type { RemotePeers } from './peer-table.js';
import type { RemotePeer } from './remote-peer.js';
import { relayPacingCeiling, type RelayBudget } from './relay-budget.js';
import { TcpWindowClamp } from './tcp-window-clamp.js';

export type { ChannelStatus, TransportMode, TransportSetting };

export interface DataPlaneOptions {
  tun: Pick<TunDevice, 'write'>;
  localAddress: number;
  prefixLength: number;
  mtu: number;
  transport: TransportSetting;
  /** The per-pair decision and its log hook (absent: pair-transport.ts through pairTransportHooks;
   * tests set their own). */
  choose?: ChannelsOptions['choose'];
  onModeSwitch?: ChannelsOptions['onModeSwitch'];
  /** Our hub leg, read by the per-pair decision (absent: UDP). */
  hubLeg?: HubLegView;
  /** --kcp-mode's name, for the decision's reason text. */
  kcpMode?: string;
  preset: KcpPreset;
  clock: Clock;
  /** Runs fn after the current batch of I/O callbacks (setImmediate in the daemon). */
  defer(fn: () => void): void;
  log: Logger;
  /** The records (PeerNode's table). */
  table: RemotePeers;
  /** Seals and sends for a record (PeerNode's LinkSender). */
  sender: PeerSender;
  /** Subnet routes and exit nodes (issue 23, routes/route-manager.ts); absent = overlay only. */
  routes?: NonNullable<OutboundOptions['routes']> & NonNullable<InboundOptions['routes']>;
  /** The ACL fed by the hub (PeerNode's firewall); absent = a fresh one (allow all until a policy). */
  firewall?: AclFirewall;
  /** Our overlay IPv6 address (16 bytes) and its prefix length (64); absent = IPv4 only. */
  local6?: Uint8Array;
  prefix6?: number;
  /** --fec (fec-stage.ts); absent = auto. */
  fec?: FecSetting;
  /** --tcp-window-clamp in bytes (tcp-window-clamp.ts); absent = its default, 0 = off. */
  tcpWindowClampBytes?: number;
  /** The home hub's relay budget (node.ts PeerNode.relayBudget): relayed pairs pace at it; absent = none. */
  relayBudget?: Pick<RelayBudget, 'bytesPerSec'>;
}

export class DataPlane {
  readonly counters = new DataCounters();
  readonly channels: Channels;
  readonly outbound: Outbound;
  readonly inbound: Inbound;
  /** The receiving side's ACL (acl-firewall.ts), fed by the hub's ACL_POLICY. */
  readonly firewall: AclFirewall;
  /** FEC between the channels and the link (fec-stage.ts), and inner kind 5 inbound. */
  readonly fec: FecStage;
  /** Path redundancy for interactive lanes in front of FEC (dup-stage.ts), and inner kind 6 inbound. */
  readonly dup: DupStage;
  /** The inner TCP's windows to KCP pairs, capped (tcp-window-clamp.ts); undefined when off. */
  readonly clamp: TcpWindowClamp | undefined;

  constructor(private readonly o: DataPlaneOptions) {
    this.firewall = o.firewall ?? new AclFirewall(o.clock);
    this.clamp = o.tcpWindowClampBytes === 0 ? undefined : new TcpWindowClamp(o.tcpWindowClampBytes);
    const deliver = (peer: RemotePeer, inner: Uint8Array) => this.inbound.receive(peer, inner);
    // FEC reads the pair's decision (its gate) from the channel; the live path check stays in the stage.
    this.fec = new FecStage({ sender: o.sender, clock: o.clock, setting: o.fec ?? 'auto', deliver, fecOn: (p) => this.channels.decisionOf(p)?.fec });
    // A sender without a relay beside it (tests' links) never doubles.
    const s = o.sender as PeerSender & Partial<DupSender>;
    const link: DupSender = { send: (p, i) => s.send(p, i), sendRelay: (p, i) => s.sendRelay?.(p, i) ?? false, isDirect: (p) => s.isDirect?.(p) ?? false };
    this.dup = new DupStage({ next: this.fec, link, clock: o.clock, lossOf: (p) => this.fec.lossOf(p) ?? reverseLossOf(this.fec.status(p)), deliver, enabled: o.fec !== 'off' });
    const hooks = pairTransportHooks({ transport: o.transport, fec: o.fec ?? 'auto', kcpMode: o.kcpMode, leg: o.hubLeg, isDirect: (p) => s.isDirect?.(p) ?? true, lossOf: (p) => this.fec.lossOf(p), clock: o.clock, log: o.log });
    const choose = o.choose ?? hooks.choose;
    const onModeSwitch = o.choose ? o.onModeSwitch : (o.onModeSwitch ?? hooks.onModeSwitch);
    const budget = o.relayBudget;
    const rateCeiling = budget ? (p: RemotePeer, loss: number | undefined) => relayPacingCeiling({ direct: s.isDirect?.(p) ?? true, budgetBytesPerSec: budget.bytesPerSec, loss }) : undefined;
    // Small messages of a clean direct path as datagrams (interactive-datagram.ts) need the link's
    // counters of the peer's datagrams: a sender without them (tests' links) always uses KCP.
    const rx = o.sender as PeerSender & Partial<Pick<LinkSender, 'rxCounts'>>;
    const rxCounts = rx.rxCounts ? { rxCounts: (p: RemotePeer) => rx.rxCounts!(p) } : {};
    this.channels = new Channels({ table: o.table, sender: this.dup, transport: o.transport, mtu: o.mtu, preset: o.preset, clock: o.clock, defer: o.defer, choose, ...(onModeSwitch ? { onModeSwitch } : {}), ...(rateCeiling ? { rateCeiling } : {}), ...rxCounts });
    this.outbound = new Outbound({ table: o.table, channels: this.channels, counters: this.counters, tun: o.tun, localAddress: o.localAddress, prefixLength: o.prefixLength, mtu: o.mtu, firewall: this.firewall, ...(this.clamp ? { clamp: this.clamp } : {}), ...(o.routes ? { routes: o.routes } : {}), ...(o.local6 ? { v6: { local6: o.local6, prefix6: o.prefix6 ?? 64 } } : {}) });
    this.inbound = new Inbound({ channels: this.channels, counters: this.counters, tun: o.tun, localAddress: o.localAddress, log: o.log, firewall: this.firewall, ...(this.clamp ? { clamp: this.clamp } : {}), fec: this.fec, dup: this.dup, ...(o.routes ? { routes: o.routes } : {}), ...(o.local6 ? { local6: o.local6 } : {}) });
  }

  status(): ChannelStatus[] {
    return this.channels.status();
  }

  /** FEC per peer overlay address, for `meshd status`. */
  fecStatus(table: RemotePeers): Record<string, FecPairStatus> {
    const out: Record<string, FecPairStatus> = {};
    for (const peer of table.values()) {
      const st = this.fec.status(peer);
      if (st) out[u32ToIpv4(peer.overlay)] = st;
    }
    return out;
  }

  close(): void {
    this.fec.close();
    this.channels.close();
  }
}

/** Interactive copies for a pair that has no loss reading of its own (it only answered: an echo
 * server, an ssh server): the loss FEC measured on the peer's frames to us (fec-pair.ts 'reverse'). */
function reverseLossOf(st: FecPairStatus | undefined): number | undefined {
  return st?.lossPct === undefined ? undefined : st.lossPct / 100;
}
