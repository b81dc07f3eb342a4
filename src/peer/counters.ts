// Counters of the peer's data plane: packets and bytes per direction, and drops by reason. Every
// dropped packet lands in exactly one reason, so `meshd status` and the metrics explain the loss.
// Per-peer traffic lives in each peer's record (traffic.ts).

export const dropReasons = [
  'not_ipv4', // TUN gave a packet that is not a well-formed IPv4 packet
  'no_route', // destination outside the overlay prefix
  'no_peer', // destination in the overlay prefix but no such peer (ICMP host unreachable sent)
  'too_big', // larger than the path allows (ICMP fragmentation needed sent)
  'no_path', // the peer is known but no session or path exists yet
  'queue_full', // the peer's KCP send queue is full: drop like a router queue so TCP backs off
  'kcp_rejected', // KCP refused an inbound datagram (wrong conv, malformed)
  'spoofed_source', // inbound packet whose source is not the sending peer's overlay address
  'not_for_us', // inbound packet whose destination is not this peer
  'malformed', // inbound inner message or packet that does not parse
  'tun_write', // the kernel refused a packet written to the TUN
  'acl_denied', // inbound packet the hub's ACL policy does not allow (per rule: acl-firewall.ts)
  'ipv6_malformed', // an IPv6 packet (TUN or inner) that is not whole, or whose extension-header chain does not parse (ip6-packet.ts)
  'no_ipv6', // an IPv6 packet while this peer has no overlay IPv6 address
] as const;

export type DropReason = (typeof dropReasons)[number];

export interface Traffic {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
}

export class DataCounters implements Traffic {
  txPackets = 0;
  txBytes = 0;
  rxPackets = 0;
  rxBytes = 0;
  /** The IPv6 share of the totals above (issue 22): status and meshd_family_packets_total. */
  readonly v6: Traffic = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0 };
  readonly drops: Record<DropReason, number> = Object.fromEntries(dropReasons.map((r) => [r, 0])) as Record<DropReason, number>;

  drop(reason: DropReason): void {
    this.drops[reason]++;
  }

  tx(bytes: number): void {
    this.txPackets++;
    this.txBytes += bytes;
  }

  /** Packets the native fast path sent (peer/fast-path.ts). */
  txMany(packets: number, bytes: number): void {
    this.txPackets += packets;
    this.txBytes += bytes;
  }

  rx(bytes: number): void {
    this.rxPackets++;
    this.rxBytes += bytes;
  }

  /** Packets the native fast path received and wrote to the TUN (peer/fast-path.ts books them). */
  rxMany(packets: number, bytes: number): void {
    this.rxPackets += packets;
    this.rxBytes += bytes;
  }

  /** Counts an IPv6 packet in its family's share (after tx/rx counted it in the totals). */
  tx6(bytes: number): void {
    this.v6.txPackets++;
    this.v6.txBytes += bytes;
  }

  rx6(bytes: number): void {
    this.v6.rxPackets++;
    this.v6.rxBytes += bytes;
  }
}
