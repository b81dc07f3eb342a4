// The receive half of the native fast path as the peer sees it (src/net/native/fastrecv.c): entries
// JS installs per pair on the socket the pair's datagrams arrive on, through which small IPv4 packets
// from the pair are opened and written to the TUN without a turn of JS. Only the native UDP socket
// has one (udp-native.ts); src/peer/fast-path.ts decides what goes in.
import { parseIpv4 } from '../util/ipv4.js';
import { parseIpv6 } from '../util/ipv6.js';
import type { Endpoint } from './udp.js';

/** One pair's entry: which datagrams are its and what their packets must carry. */
export interface FastRecvEntry {
  /** Our session's receiver index (crypto/session.ts FastRecvKey). */
  readonly localIndex: number;
  readonly key: Uint8Array;
  /** The session's replay window state (shared: the fast path marks it). */
  readonly replay: Uint8Array;
  /** The entry leaves everything to JS this long after it was set, unless set again. */
  readonly validMs: number;
  /** The pair's endpoint as the socket reports sources (sourceWords). */
  readonly source: Uint32Array;
  /** The inner source it admits (the peer's overlay IPv4) and the destination (ours), host order. */
  readonly peerIp: number;
  readonly localIp: number;
  /** Larger IP packets, and more datagrams a second than maxPps, go to JS. */
  readonly maxBytes: number;
  readonly maxPps: number;
  /** The inner message kind of a plain IP packet (wire/inner.ts InnerKind.IP). */
  readonly innerKind: number;
  /** The TUN to write to (the addon keeps a dup of it) and its virtio_net_hdr bytes. */
  readonly tunFd: number;
  readonly vnetLen: number;
}

export interface FastRecvStats {
  received: number;
  /** Datagrams of an entry left to JS: over maxPps, entry past its time, not one small IPv4 packet
   * from the peer to us (another kind, a routed source), the tag did not verify. */
  toJsRate: number;
  toJsStale: number;
  toJsInner: number;
  toJsAuth: number;
  tunErrors: number;
  /** With take: [localIndex, packets, bytes, wireBytes, skipped, late] per entry since the last take. */
  entries: Float64Array;
}

export const fastRecvColumns = 6;

export interface FastRecvPort {
  set(e: FastRecvEntry): boolean;
  /** Removes the entry for localIndex, or every entry. */
  delete(localIndex?: number): void;
  stats(take?: boolean): FastRecvStats;
}

/** An endpoint as the native socket reports a datagram's source: [family, port, a0..a3], host-order
 * words, a v4-mapped address as family 4; undefined for text that is no address. */
export function sourceWords(ep: Endpoint): Uint32Array | undefined {
  const v4 = parseIpv4(ep.address);
  if (v4 !== undefined) return Uint32Array.of(4, ep.port, v4 >>> 0, 0, 0, 0);
  const b = parseIpv6(ep.address);
  if (b === undefined) return undefined;
  const w = (i: number): number => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
  if (w(0) === 0 && w(4) === 0 && w(8) === 0xffff) return Uint32Array.of(4, ep.port, w(12), 0, 0, 0);
  return Uint32Array.of(6, ep.port, w(0), w(4), w(8), w(12));
}
