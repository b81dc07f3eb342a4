// The outbound data path: TUN -> route -> channel (KCP or datagram) -> seal -> UDP.
//   1. batch      a batch of packets from the TUN (tun/device.ts PacketBatch)
//   2. classify   IPv4 or IPv6 (outbound6.ts: whole packet, extension headers bounded), header
//                 sane, destination inside the overlay prefix (v4) or the overlay /64 (v6)
//   3. route      destination -> the peer's record (peer-table.ts, longest-prefix match): the one
//                 lookup for overlay destinations; outside the overlay, a subnet route or the exit
//                 node (routes/route-manager.ts routeVia) names the owner first; none: ICMP host
//                 unreachable back to the TUN (v6: peer-table.ts lookup6 by overlay6, ICMPv6
//                 address unreachable)
//   4. size       larger than the TUN MTU allows: ICMP fragmentation needed (v6: packet too big)
//   5. queue      hand the packet to the record's channel (KCP lanes, or one IP datagram); a queued
//                 packet keeps its flow open for the ACL's replies (acl-firewall.ts noteOutbound)
//   6. flush      once per batch, every channel that queued something flushes: the channel seals
//                 through the PeerSender (link-sender.ts) on the record's current path
import type { PacketBatch, TunDevice } from '../tun/device.js';
import { icmpFragmentationNeeded, icmpHostUnreachable, ipv4Dst, ipv4TotalLength } from '../tun/ip-packet.js';
import type { AclFirewall } from './acl-firewall.js';
import type { Channels } from './channels.js';
import type { DataCounters } from './counters.js';
import type { RemotePeers } from './peer-table.js';
import { prefixMask } from './route-table.js';
import { routeV6, type Outbound6Options } from './outbound6.js';
import type { TcpWindowClamp } from './tcp-window-clamp.js';

export interface OutboundOptions {
  table: RemotePeers;
  channels: Channels;
  counters: DataCounters;
  /** ICMP errors go back to the TUN. */
  tun: Pick<TunDevice, 'write'>;
  localAddress: number;
  prefixLength: number;
  mtu: number;
  /** Subnet routes and exit nodes (issue 23): the overlay address of the peer routing `dst`
   * (outside the overlay), counting the packet on that route; absent = overlay only. */
  routes?: { routeVia(dst: number, bytes: number): number | undefined };
  /** Told about every packet sent, so replies of our own flows pass the peer's ACL. */
  firewall?: Pick<AclFirewall, 'noteOutbound'>;
  /** Told about every packet sent: our end's TCP handshakes (tcp-window-clamp.ts). */
  clamp?: Pick<TcpWindowClamp, 'noteOutbound'>;
  /** Our overlay IPv6 address and prefix (absent: v6 packets are dropped as no_ipv6). */
  v6?: Outbound6Options;
}

export class Outbound {
  private readonly prefixMask: number;
  private readonly prefixNetwork: number;

  constructor(private readonly o: OutboundOptions) {
    this.prefixMask = prefixMask(o.prefixLength);
    this.prefixNetwork = (o.localAddress & this.prefixMask) >>> 0;
  }

  /** Stages 1-6 for one TUN batch (the TUN's callback itself). Never throws for packet content. */
  readonly onTunBatch = (batch: PacketBatch): void => {
    if (this.o.channels.closed) return;
    for (let i = 0; i < batch.count; i++) {
      const start = i * batch.slotSize;
      this.route(batch.data.subarray(start, start + batch.lengths[i]!));
    }
    this.o.channels.flushAll();
  };

  /** Stages 2-5 for one packet. */
  route(packet: Uint8Array): void {
    const o = this.o;
    const c = o.counters;
    if (packet.byteLength > 0 && packet[0]! >> 4 === 6) return routeV6(o, packet);
    const total = ipv4TotalLength(packet);
    const dst = ipv4Dst(packet);
    if (total === undefined || dst === undefined || total !== packet.byteLength) {
      c.drop('not_ipv4');
      return;
    }
    let via = dst;
    if ((dst & this.prefixMask) >>> 0 !== this.prefixNetwork) {
      const v = o.routes?.routeVia(dst, packet.byteLength);
      if (v === undefined) {
        c.drop('no_route');
        return;
      }
      via = v;
    } else if (dst === o.localAddress) {
      c.drop('no_route');
      return;
    }
    const peer = o.table.lookup(via);
    const channel = peer === undefined ? undefined : (peer.channel ?? o.channels.open(peer));
    if (peer === undefined || channel === undefined) {
      c.drop('no_peer');
      const icmp = icmpHostUnreachable(packet, o.localAddress);
      if (icmp) o.tun.write(icmp);
      return;
    }
    if (packet.byteLength > o.mtu) {
      c.drop('too_big');
      const icmp = icmpFragmentationNeeded(packet, o.localAddress, o.mtu);
      if (icmp) o.tun.write(icmp);
      return;
    }
    const r = channel.send(packet);
    if (r === true) {
      c.tx(packet.byteLength);
      peer.traffic.tx(packet.byteLength);
      o.firewall?.noteOutbound(packet);
      o.clamp?.noteOutbound(packet);
    } else {
      c.drop(r);
    }
  }
}
