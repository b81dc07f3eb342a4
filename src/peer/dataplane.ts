// The peer's data plane, assembled: the channels of the records (channels.ts), the outbound stages
// (outbound.ts) fed by the TUN and the inbound stages (inbound.ts) fed by node.ts, sharing one set of
// counters. It holds the parts; packets never pass through this file: run.ts wires the TUN to
// `outbound` and the node to `inbound`.
import type { KcpPreset } from '../arq/constants.js';
import type { TunDevice } from '../tun/device.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { PeerSender } from './channel.js';
import { AclFirewall } from './acl-firewall.js';
import { Channels, type ChannelsOptions, type ChannelStatus, type TransportMode, type TransportSetting } from './channels.js';
import { DataCounters } from './counters.js';
import { Inbound, type InboundOptions } from './inbound.js';
import { Outbound, type OutboundOptions } from './outbound.js';
import type { RemotePeers } from './peer-table.js';

export type { ChannelStatus, TransportMode, TransportSetting };

export interface DataPlaneOptions {
  tun: Pick<TunDevice, 'write'>;
  localAddress: number;
  prefixLength: number;
  mtu: number;
  transport: TransportSetting;
  /** --transport auto: the per-pair choice and its log hook (channels.ts). */
  choose?: ChannelsOptions['choose'];
  onModeSwitch?: ChannelsOptions['onModeSwitch'];
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
}

export class DataPlane {
  readonly counters = new DataCounters();
  readonly channels: Channels;
  readonly outbound: Outbound;
  readonly inbound: Inbound;
  /** The receiving side's ACL (acl-firewall.ts), fed by the hub's ACL_POLICY. */
  readonly firewall: AclFirewall;

  constructor(o: DataPlaneOptions) {
    this.firewall = o.firewall ?? new AclFirewall(o.clock);
    this.channels = new Channels({ table: o.table, sender: o.sender, transport: o.transport, mtu: o.mtu, preset: o.preset, clock: o.clock, defer: o.defer, ...(o.choose ? { choose: o.choose } : {}), ...(o.onModeSwitch ? { onModeSwitch: o.onModeSwitch } : {}) });
    this.outbound = new Outbound({ table: o.table, channels: this.channels, counters: this.counters, tun: o.tun, localAddress: o.localAddress, prefixLength: o.prefixLength, mtu: o.mtu, firewall: this.firewall, ...(o.routes ? { routes: o.routes } : {}), ...(o.local6 ? { v6: { local6: o.local6, prefix6: o.prefix6 ?? 64 } } : {}) });
    this.inbound = new Inbound({ channels: this.channels, counters: this.counters, tun: o.tun, localAddress: o.localAddress, log: o.log, firewall: this.firewall, ...(o.routes ? { routes: o.routes } : {}), ...(o.local6 ? { local6: o.local6 } : {}) });
  }

  status(): ChannelStatus[] {
    return this.channels.status();
  }

  close(): void {
    this.channels.close();
  }
}
