// Outbound stages 2-5 for IPv6 packets from the TUN (outbound.ts hands them here): whole packet and
// a bounded extension-header walk (ip6-packet.ts), destination inside our overlay /64 and owned by
// a peer's overlay6 (peer-table.ts lookup6), else ICMPv6 address unreachable; larger than the MTU:
// ICMPv6 packet too big. No v6 subnet routes or exit nodes: outside the /64 is no_route.
import type { TunDevice } from '../tun/device.js';
import { icmpv6AddressUnreachable, icmpv6PacketTooBig, ipv6DstOffset, ipv6Upper } from '../tun/ip6-packet.js';
import { samePrefix6 } from '../util/ipv6-prefix.js';
import type { AclFirewall } from './acl-firewall.js';
import type { Channels } from './channels.js';
import type { DataCounters } from './counters.js';
import type { RemotePeers } from './peer-table.js';
import type { TcpWindowClamp } from './tcp-window-clamp.js';

export interface Outbound6Options {
  /** Our overlay IPv6 address (16 bytes). */
  local6: Uint8Array;
  /** The overlay v6 prefix length (64). */
  prefix6: number;
}

interface Deps {
  table: RemotePeers;
  channels: Channels;
  counters: DataCounters;
  tun: Pick<TunDevice, 'write'>;
  mtu: number;
  firewall?: Pick<AclFirewall, 'noteOutbound'>;
  clamp?: Pick<TcpWindowClamp, 'noteOutbound'>;
  v6?: Outbound6Options;
}

/** Stages 2-5 for one IPv6 packet. Never throws for packet content. */
export function routeV6(o: Deps, packet: Uint8Array): void {
  const c = o.counters;
  const v6 = o.v6;
  if (v6 === undefined) {
    c.drop('no_ipv6');
    return;
  }
  if (ipv6Upper(packet) === undefined) {
    c.drop('ipv6_malformed');
    return;
  }
  if (!samePrefix6(packet, ipv6DstOffset, v6.local6, 0, v6.prefix6) || samePrefix6(packet, ipv6DstOffset, v6.local6, 0, 128)) {
    // Multicast (neighbour discovery, MLD), link-local and anything off the overlay: not ours to carry.
    c.drop('no_route');
    return;
  }
  const peer = o.table.lookup6(packet, ipv6DstOffset);
  const channel = peer === undefined ? undefined : (peer.channel ?? o.channels.open(peer));
  if (peer === undefined || channel === undefined) {
    c.drop('no_peer');
    const icmp = icmpv6AddressUnreachable(packet, v6.local6);
    if (icmp) o.tun.write(icmp);
    return;
  }
  if (packet.byteLength > o.mtu) {
    c.drop('too_big');
    const icmp = icmpv6PacketTooBig(packet, v6.local6, o.mtu);
    if (icmp) o.tun.write(icmp);
    return;
  }
  const r = channel.send(packet);
  if (r === true) {
    c.tx(packet.byteLength);
    c.tx6(packet.byteLength);
    peer.traffic.tx(packet.byteLength);
    o.firewall?.noteOutbound(packet, peer.overlay);
    o.clamp?.noteOutbound(packet);
  } else {
    c.drop(r);
  }
}
