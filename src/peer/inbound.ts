// The inbound data path: UDP -> classify -> open -> replay check -> KCP -> TUN.
//   1-3. udp, classify, open and replay-check happen in src/link (Link.receive); node.ts takes the
//        record of the sending key (the one lookup: peer-table.ts get(id)) and hands KCP and IP
//        inner messages here with it. Only authenticated plaintext from a known peer arrives, as a
//        view of the socket's receive slot (decrypted in place): valid only during receive(); every
//        stage below copies what it keeps (KCP its segments, the FEC decoder its symbols, the TUN
//        its write queue).
//   4. kind       KCP datagram -> the record's channel; IP -> the packet itself; FEC (kind 5) -> the
//                 FEC stage (fec-stage.ts), which hands each message it carries or repairs back here;
//                 DUP (kind 6) -> dup-stage.ts, which hands back the first copy of each
//   5. reassemble the channel yields whole packets (receive()) right after input(); a datagram
//                 with another conv of the pair means the peer restarted: new channel
//   6. check      IPv4 (IPv6: inbound6.ts, source = the record's overlay6, destination = ours,
//                 extension headers bounded), source admitted by the record (its overlay address, or inside the subnet
//                 routes we take through it: no spoofing), destination us or inside our own admitted
//                 prefixes (the kernel forwards it, issue 23)
//   6a. acl       the hub's policy for this peer, replies of our own flows pass (acl-firewall.ts)
//   6b. clamp     an inner TCP ACK from a pair we send KCP to advertises at most --tcp-window-clamp
//                 (tcp-window-clamp.ts: the window this peer will hold for the flow)
//   7. write      to the TUN
import type { TunDevice } from '../tun/device.js';
import { ipv4Dst, ipv4Src, ipv4TotalLength } from '../tun/ip-packet.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import type { Logger } from '../util/log.js';
import { InnerKind } from '../wire/inner.js';
import { INNER_KIND_FEC } from '../fec/frame.js';
import { INNER_KIND_DUP } from './dup-stage.js';
import type { AclFirewall } from './acl-firewall.js';
import type { Channels } from './channels.js';
import type { DataCounters } from './counters.js';
import { laneOfConv } from './flow-lane.js';
import { checkV6 } from './inbound6.js';
import type { RemotePeer } from './remote-peer.js';
import type { TcpWindowClamp } from './tcp-window-clamp.js';

export interface InboundOptions {
  channels: Channels;
  counters: DataCounters;
  tun: Pick<TunDevice, 'write'>;
  localAddress: number;
  log: Logger;
  /** Subnet routes and exit nodes (issue 23, routes/route-manager.ts); absent = overlay only. */
  routes?: {
    /** `src` (not the peer's overlay address) is inside the prefixes we route to `from`. */
    sourceAllowed(from: number, src: number): boolean;
    /** `dst` (not us) is inside our own admitted prefixes: the kernel forwards it. */
    forwardAllowed(dst: number, bytes: number): boolean;
  };
  /** The ACL (stage 6a); absent = allow all. */
  firewall?: Pick<AclFirewall, 'admit'>;
  /** Our overlay IPv6 address (16 bytes); absent: inner v6 packets are dropped as no_ipv6. */
  local6?: Uint8Array;
  /** Inner kind 5 (fec-stage.ts); absent = dropped as malformed. */
  fec?: { receive(peer: RemotePeer, frame: Uint8Array): void };
  /** Inner kind 6, doubled interactive messages (dup-stage.ts); absent = dropped as malformed. */
  dup?: { receive(peer: RemotePeer, frame: Uint8Array): void };
  /** Stage 6b (tcp-window-clamp.ts); absent = windows pass as sent. */
  clamp?: Pick<TcpWindowClamp, 'inbound'>;
}

export class Inbound {
  constructor(private readonly o: InboundOptions) {}

  /** Stage 4: one inner KCP or IP message from `peer`. */
  receive(peer: RemotePeer, plaintext: Uint8Array): void {
    if (this.o.channels.closed) return;
    const kind = plaintext[0];
    if (kind === InnerKind.KCP) {
      this.reassemble(peer, plaintext.subarray(1));
    } else if (kind === InnerKind.IP) {
      this.deliver(peer, plaintext.subarray(1));
    } else if (kind === INNER_KIND_FEC && this.o.fec) {
      this.o.fec.receive(peer, plaintext);
    } else if (kind === INNER_KIND_DUP && this.o.dup) {
      this.o.dup.receive(peer, plaintext);
    } else {
      this.o.counters.drop('malformed');
    }
  }

  /** Stage 5: feed the channel, then deliver every packet it completed. */
  private reassemble(peer: RemotePeer, datagram: Uint8Array): void {
    const { channels, counters } = this.o;
    if (datagram.byteLength < 4) {
      counters.drop('kcp_rejected');
      return;
    }
    const conv = (datagram[0]! | (datagram[1]! << 8) | (datagram[2]! << 16) | (datagram[3]! << 24)) >>> 0;
    let ch = peer.channel ?? channels.open(peer);
    let r = ch ? ch.input(datagram, conv) : 'rejected';
    // The peer may have restarted: accept its new conv only when the map agrees (boot ids).
    if (r === 'foreign' && ch!.conv !== peer.conv && laneOfConv(peer.conv, conv) !== undefined) {
      this.o.log.info({ peer: u32ToIpv4(peer.overlay), conv }, 'peer restarted; new KCP conversation');
      ch = channels.reopen(peer);
      r = ch ? ch.input(datagram, conv) : 'rejected';
    }
    if (r !== 'ok') counters.drop('kcp_rejected');
    if (ch) {
      channels.flushSoon();
      for (let p = ch.receive(); p !== undefined; p = ch.receive()) this.deliver(peer, p);
    }
  }

  /** Stages 6-7 (with 6a) for one packet from `peer`. */
  private deliver(peer: RemotePeer, packet: Uint8Array): void {
    const c = this.o.counters;
    if (packet.byteLength > 0 && packet[0]! >> 4 === 6) {
      const bad = checkV6(peer, packet, this.o.local6);
      if (bad !== undefined) {
        c.drop(bad);
        return;
      }
    } else {
      const total = ipv4TotalLength(packet);
      if (total === undefined || total !== packet.byteLength) {
        c.drop('malformed');
        return;
      }
      const src = ipv4Src(packet)!;
      if (!peer.admits(src) && !(this.o.routes?.sourceAllowed(peer.overlay, src) ?? false)) {
        c.drop('spoofed_source');
        return;
      }
      const dst = ipv4Dst(packet)!;
      if (dst !== this.o.localAddress && !(this.o.routes?.forwardAllowed(dst, packet.byteLength) ?? false)) {
        c.drop('not_for_us');
        return;
      }
    }
    if (this.o.firewall && !this.o.firewall.admit(packet, peer.overlay, this.o.localAddress)) {
      c.drop('acl_denied');
      return;
    }
    this.o.clamp?.inbound(packet, peer.channel);
    if (!this.o.tun.write(packet)) {
      c.drop('tun_write');
      return;
    }
    c.rx(packet.byteLength);
    if (packet[0]! >> 4 === 6) c.rx6(packet.byteLength);
    peer.traffic.rx(packet.byteLength);
  }
}
