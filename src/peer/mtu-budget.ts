// The underlay bytes one full-size TUN packet costs (docs/PROTOCOL.md "MTU budget"): the sum of
// every header on the way out, so the default TUN MTU can be checked against a 1500-byte underlay
// of either family (test/peer/mtu-budget.test.ts). Pure: no I/O.
import { KCP_OVERHEAD_BYTES } from '../arq/constants.js';
import { FEC_DATA_HEADER_BYTES } from '../fec/frame.js';
import { INNER_HEADER_BYTES, RELAY_HEADER_BYTES } from '../wire/inner.js';
import { TRANSPORT_OVERHEAD } from '../wire/outer.js';

export const UDP_HEADER_BYTES = 8;
/** IP header of the underlay datagram: IPv4 without options, IPv6 without extension headers. */
export const IP_HEADER_BYTES = { 4: 20, 6: 40 } as const;

export interface UnderlayPath {
  /** The family of the underlay leg (a relayed packet crosses two legs; the v6 one is the larger). */
  family: 4 | 6;
  /** Through the hub: the sealed peer datagram rides inside RELAY_TO/RELAY_FROM of the hub session. */
  relayed: boolean;
  /** KCP carries the packet (a KCP segment header); datagram mode sends it bare. */
  kcp: boolean;
  /** FEC data framing (inner kind 5); peer/fec-stage.ts frames direct messages only. */
  fec: boolean;
}

/** The size of the IP datagram on the underlay wire for one TUN packet of `packetBytes`. */
export function underlayPacketBytes(packetBytes: number, p: UnderlayPath): number {
  const inner = INNER_HEADER_BYTES + (p.kcp ? KCP_OVERHEAD_BYTES : 0) + packetBytes + (p.fec ? FEC_DATA_HEADER_BYTES : 0);
  const sealed = TRANSPORT_OVERHEAD + inner;
  const onHubLeg = p.relayed ? TRANSPORT_OVERHEAD + RELAY_HEADER_BYTES + sealed : sealed;
  return IP_HEADER_BYTES[p.family] + UDP_HEADER_BYTES + onHubLeg;
}
