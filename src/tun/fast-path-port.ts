// The TUN addon's native fast path as the peer sees it (src/tun/native/fastpath.c): entries JS
// installs per pair, through which small IPv4 packets read from the TUN are sealed and sent in C
// without a turn of JS. Only the Linux TUN has one; src/peer/fast-path.ts decides what goes in. The
// receive half lives on the UDP socket (src/net/fast-recv-port.ts) and writes to this TUN's fd.

/** One pair's entry: where its small packets go and on which key. */
export interface FastPathEntry {
  /** The peer's overlay IPv4 address (host-order u32): packets to it are matched. */
  readonly dst: number;
  readonly remoteIndex: number;
  /** The session's 32-byte send key. */
  readonly key: Uint8Array;
  /** The session's send counter cell (crypto/session.ts counterCell), shared. */
  readonly counterCell: Float64Array;
  readonly counterLimit: number;
  /** The entry stops sending this long after it was set, unless set again. */
  readonly validMs: number;
  /** The UDP socket to send from, and the destination (4 or 16 address bytes, network order). */
  readonly fd: number;
  readonly address: Uint8Array;
  readonly port: number;
  /** Larger IP packets go to JS. */
  readonly maxBytes: number;
  /** More small packets a second to the pair than this go to JS. */
  readonly maxPps: number;
  /** The inner message kind of a plain IP packet (wire/inner.ts InnerKind.IP). */
  readonly innerKind: number;
}

export interface FastPathStats {
  sent: number;
  refusedRate: number;
  refusedStale: number;
  refusedLimit: number;
  sendErrors: number;
  /** With take: [dst, packets, bytes] per entry, sent since the last take (zeroed by it); else empty. */
  entries: Float64Array;
}

export interface FastPathPort {
  /** Installs or replaces the entry for e.dst; false when the table is full or e is refused. */
  set(e: FastPathEntry): boolean;
  /** Removes the entry for dst, or every entry. */
  delete(dst?: number): void;
  /** The totals; take: also each entry's counts since the last take (only the owner takes). */
  stats(take?: boolean): FastPathStats;
  /** The TUN's fd and the virtio_net_hdr bytes each write starts with, for the receive half
   * (src/net/native/fastrecv.c writes the pair's packets there); undefined once closed or with an
   * addon built before it. */
  writeFd?(): { fd: number; vnetLen: number } | undefined;
}
