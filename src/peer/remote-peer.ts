// RemotePeer: everything this peer knows about one remote peer, in one record (wireguard-go's Peer,
// nebula's HostInfo): its map entry, path state, data channel, traffic and link handle. The table
// (peer-table.ts) owns the records and routes destinations to them; after that lookup the data path
// only reads fields. Created from map events by node.ts; the data path (outbound.ts, inbound.ts,
// link-sender.ts) takes the record as its argument.
import type { RemoteNode } from '../link/link.js';
import { relayPath, type Path } from '../link/path.js';
import { sameEndpoint, type Endpoint } from '../net/udp.js';
import type { DataChannel } from './channel.js';
import type { PeerPaths } from './peer-paths.js';
import type { HubLeg } from './transport-choice.js';
import type { PeerInfo } from './peer-map.js';
import { inPrefixes } from './route-table.js';
import { PeerTraffic } from './traffic.js';
import { isGlobalIpv6 } from '../util/endpoint-filter.js';
import { parseIpv6, samePrefix6 } from '../util/ipv6-prefix.js';

/** An IPv4 prefix, network already masked. */
export interface Prefix {
  readonly network: number;
  readonly length: number;
}

export class RemotePeer {
  /** The hub's map entry (replaced on every change the map reports). */
  info: PeerInfo;
  /** In the map now. A peer that left keeps its record (and KCP channel) for a while, unlisted:
   * a restarted hub may list it again with the same boot id (peer-table.ts). */
  listed = true;
  /** The pair's KCP conv from both boot ids (conv.ts), computed when the entry changes. */
  conv: number;
  /** Punching and the direct path; replaced when the peer leaves the map. */
  paths: PeerPaths;
  /** Built on first use by channels.ts; closed when the conv changes. */
  channel: DataChannel | undefined;
  readonly traffic = new PeerTraffic();
  /** What the peer told us it speaks (fec-caps.ts PEER_CAP_FEC), learned from its PINGs. */
  caps = 0;
  /** The hub leg its latest PING stated (leg-caps.ts); 'udp' until one says otherwise. */
  peerLeg: HubLeg = 'udp';
  /** The hub relay to this peer in the link's form, made once per address (not per datagram). */
  relay: Path;
  /** The link's record of this remote (session times), once it has spoken to us. */
  link: RemoteNode | undefined;
  /**
   * Prefixes routed to this peer and admitted as sources of its packets: its overlay /32 today.
   * Advertised subnets add prefixes here (and routes in the table, peer-table.ts setPrefixes).
   */
  prefixes: readonly Prefix[];
  /** Its overlay IPv6 address (16 bytes) from the map, the one v6 source it may send from and the
   * /128 routed to it (peer-table.ts); undefined when it has none. */
  overlay6: Uint8Array | undefined;

  constructor(info: PeerInfo, conv: number, paths: PeerPaths) {
    this.info = info;
    this.overlay6 = info.overlay6 !== undefined ? parseIpv6(info.overlay6) : undefined;
    this.conv = conv;
    this.paths = paths;
    this.relay = relayPath(info.overlay);
    this.prefixes = [{ network: info.overlay >>> 0, length: 32 }];
  }

  get id(): string {
    return this.info.id;
  }

  get overlay(): number {
    return this.info.overlay;
  }

  get publicKey(): Uint8Array {
    return this.info.publicKey;
  }

  /** Whether an inner packet from this peer may carry `src` as its source (no spoofing). */
  admits(src: number): boolean {
    return inPrefixes(this.prefixes, src);
  }

  /** Whether an inner IPv6 packet from this peer may carry the source at p[off] (its overlay6 only). */
  admits6(p: Uint8Array, off: number): boolean {
    return this.overlay6 !== undefined && samePrefix6(this.overlay6, 0, p, off, 128);
  }

  closeChannel(): void {
    this.channel?.close();
    this.channel = undefined;
  }
}

/** A peer's endpoint is a LAN one if the peer reported it and it is not what the hub observed,
 * nor a global IPv6 address (direct: no NAT in front of it; candidates.ts advertisedKind). */
export function endpointKind(peer: PeerInfo, e: Endpoint): 'lan' | 'direct' {
  return peer.lan.some((l) => sameEndpoint(l, e)) && !sameEndpoint(peer.reflexive, e) && !isGlobalIpv6(e.address) ? 'lan' : 'direct';
}
