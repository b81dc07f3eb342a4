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
import { AclFirewall } from './acl-firewall.js';
import { Channels, type ChannelsOptions, type ChannelStatus, type TransportMode, type TransportSetting } from './channels.js';
import { DataCounters } from './counters.js';
import { FecStage } from './fec-stage.js';
import { DupStage, type DupSender } from './dup-stage.js';
import { choosePair } from './pair-choice.js';
import type { FecPairStatus, FecSetting } from './fec-pair.js';
import { Inbound, type InboundOptions } from './inbound.js';
import { Outbound, type OutboundOptions } from './outbound.js';
import type { RemotePeers } from './peer-table.js';
import type { RemotePeer } from './remote-peer.js';

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
  /** --fec (fec-stage.ts); absent = auto. */
  fec?: FecSetting;
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

  constructor(private readonly o: DataPlaneOptions) {
    this.firewall = o.firewall ?? new AclFirewall(o.clock);
    const deliver = (peer: RemotePeer, inner: Uint8Array) => this.inbound.receive(peer, inner);
    this.fec = new FecStage({ sender: o.sender, clock: o.clock, setting: o.fec ?? 'auto', deliver });
    // A sender without a relay beside it (tests' links) never doubles.
    const s = o.sender as PeerSender & Partial<DupSender>;
    const link: DupSender = { send: (p, i) => s.send(p, i), sendRelay: (p, i) => s.sendRelay?.(p, i) ?? false, isDirect: (p) => s.isDirect?.(p) ?? false };
    this.dup = new DupStage({ next: this.fec, link, clock: o.clock, lossOf: (p) => this.fec.lossOf(p) ?? reverseLossOf(this.fec.status(p)), deliver, enabled: o.fec !== 'off' });
    this.channels = new Channels({ table: o.table, sender: this.dup, transport: o.transport, mtu: o.mtu, preset: o.preset, clock: o.clock, defer: o.defer, ...(o.choose ? { choose: o.choose } : {}), ...(o.onModeSwitch ? { onModeSwitch: o.onModeSwitch } : {}) });
    this.outbound = new Outbound({ table: o.table, channels: this.channels, counters: this.counters, tun: o.tun, localAddress: o.localAddress, prefixLength: o.prefixLength, mtu: o.mtu, firewall: this.firewall, ...(o.routes ? { routes: o.routes } : {}), ...(o.local6 ? { v6: { local6: o.local6, prefix6: o.prefix6 ?? 64 } } : {}) });
    this.inbound = new Inbound({ channels: this.channels, counters: this.counters, tun: o.tun, localAddress: o.localAddress, log: o.log, firewall: this.firewall, fec: this.fec, dup: this.dup, ...(o.routes ? { routes: o.routes } : {}), ...(o.local6 ? { local6: o.local6 } : {}) });
  }

  status(): ChannelStatus[] {
    return this.channels.status();
  }

  /** FEC per peer overlay address, for `meshd status`. */
  fecStatus(table: RemotePeers): Record<string, FecPairStatus & { choice: string }> {
    const out: Record<string, FecPairStatus & { choice: string }> = {};
    const now = this.o.clock.now();
    for (const peer of table.values()) {
      const st = this.fec.status(peer);
      if (!st) continue;
      // The whole per-pair choice (pair-choice.ts): FEC applied above, the transport advisory.
      const srtt = peer.channel?.stats().srttMs ?? 0;
      const rttMs = srtt > 0 ? srtt : peer.paths.current(now)?.rttMs;
      const c = choosePair({ rttMs, loss: this.fec.lossOf(peer), goodputMbps: undefined }, { transport: this.o.transport, fec: this.o.fec ?? 'auto' }, { k: st.k || 10, m: st.m });
      out[u32ToIpv4(peer.overlay)] = { ...st, choice: c.why };
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
