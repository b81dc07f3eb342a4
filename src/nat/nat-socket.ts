// The peer's UDP seam with extra sockets (docs/NAT.md): wraps the main socket (the batched native
// one stays the fast path) and lets a pair own an extra socket that won a birthday or prediction
// punch. Sends to an endpoint adopted by an extra socket leave from it; everything else from the
// main socket. NAT_PROBE_REPLYs are taken out for the prober before the link sees them.
// Adoption happens only after the link authenticated a datagram (adopt(), called by the peer on an
// authenticated PING/PONG), so a forged datagram to an extra socket cannot move a path.
import { endpointKey, sameEndpoint, type Endpoint, type NativeSendFd, type UdpHandler, type UdpSocket } from '../net/udp.js';
import { isNatOpen, NAT_PROBE_REPLY_TYPE, natProbeKind } from '../wire/nat-probe.js';

/** Local tuning: endpoints remembered as "last heard on an extra socket" awaiting adoption. */
const maxPending = 4_096;

export class NatSocket implements UdpSocket {
  private handler: UdpHandler | undefined;
  private probeReplyHandler: ((d: Uint8Array, from: Endpoint, on: UdpSocket) => void) | undefined;
  /** endpoint key -> extra socket its traffic uses (adopted). */
  private readonly routes = new Map<string, UdpSocket>();
  /** endpoint key -> extra socket it was last heard on (not yet authenticated). */
  private readonly pending = new Map<string, UdpSocket>();
  private readonly extras = new Set<UdpSocket>();
  /** The socket and source of the datagram being delivered (two fields: no allocation per packet). */
  private deliveringSock: UdpSocket | undefined;
  private deliveringFrom: Endpoint | undefined;
  private closed = false;
  /** NAT_OPEN datagrams (a partner's birthday sockets opening their mappings) dropped unread. */
  opensDropped = 0;

  constructor(readonly main: UdpSocket) {
    main.onMessage((d, from) => this.deliver(main, d, from));
  }

  get local(): Endpoint {
    return this.main.local;
  }

  /** Extra sockets alive now (tests, status). */
  get extraCount(): number {
    return this.extras.size;
  }

  onMessage(handler: UdpHandler): void {
    this.handler = handler;
  }

  onProbeReply(h: (d: Uint8Array, from: Endpoint, on: UdpSocket) => void): void {
    this.probeReplyHandler = h;
  }

  send(data: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    // The data path's common case (no extra socket in play) builds no key and allocates nothing.
    if (this.routes.size === 0 && (this.deliveringSock === undefined || this.deliveringSock === this.main)) {
      this.main.send(data, to);
      return;
    }
    const via = this.routes.get(endpointKey(to)) ?? (this.deliveringSock && sameEndpoint(this.deliveringFrom, to) ? this.deliveringSock : this.main);
    via.send(data, to);
  }

  /** The main socket's answer in the data path's common case (no extra socket in play), else false. */
  copiesOnSend(to: Endpoint): boolean {
    const mainOnly = this.routes.size === 0 && (this.deliveringSock === undefined || this.deliveringSock === this.main);
    return !this.closed && mainOnly && (this.main.copiesOnSend?.(to) ?? false);
  }

  /** The main socket's native fd when send(data, to) would go through it, else undefined (an extra
   * socket owns the endpoint's mapping). */
  nativeSendFd(to: Endpoint): NativeSendFd | undefined {
    if (this.closed) return undefined;
    const via = this.routes.size === 0 ? this.main : (this.routes.get(endpointKey(to)) ?? this.main);
    return via === this.main ? this.main.nativeSendFd?.(to) : undefined;
  }

  /** Sends from a given extra socket (a birthday socket opening its mapping). */
  sendVia(sock: UdpSocket, data: Uint8Array, to: Endpoint): void {
    if (!this.closed && this.extras.has(sock)) sock.send(data, to);
  }

  /** Takes an extra socket into the seam: what it receives reaches the link like the main socket's. */
  addExtra(sock: UdpSocket): void {
    if (this.closed) {
      void sock.close();
      return;
    }
    this.extras.add(sock);
    sock.onMessage((d, from) => this.deliver(sock, d, from));
  }

  /** The link authenticated a datagram from `from`: if it came on an extra socket, that socket now
   * carries the traffic to `from`. Returns the socket adopted, if any. */
  adopt(from: Endpoint): UdpSocket | undefined {
    const k = endpointKey(from);
    const sock = this.pending.get(k);
    if (!sock || !this.extras.has(sock)) return undefined;
    this.pending.delete(k);
    // The first adopted socket keeps the route: the partner took its path from our first answer,
    // which left from that socket's mapping. Moving to a second socket whose mapping the partner's
    // spray also hit (birthday) would close the first (releaseUnused) under the partner's path: a
    // CI run lost a -> b for seconds that way while b -> a, answered to its source, still worked.
    const held = this.routes.get(k);
    if (held !== undefined && this.extras.has(held)) return held === sock ? sock : undefined;
    this.routes.set(k, sock);
    return sock;
  }

  /** Whether an adopted route uses this extra socket. */
  carries(sock: UdpSocket): boolean {
    for (const s of this.routes.values()) if (s === sock) return true;
    return false;
  }

  /** The extra socket carrying traffic to `to`, if any. */
  routeOf(to: Endpoint): UdpSocket | undefined {
    return this.routes.get(endpointKey(to));
  }

  /** Closes extra sockets that carry no adopted route, except `keep`. */
  async releaseUnused(keep: ReadonlySet<UdpSocket> = new Set()): Promise<number> {
    const used = new Set(this.routes.values());
    const drop = [...this.extras].filter((s) => !used.has(s) && !keep.has(s));
    for (const s of drop) this.extras.delete(s);
    for (const [k, s] of this.pending) if (!this.extras.has(s)) this.pending.delete(k);
    await Promise.all(drop.map((s) => s.close()));
    return drop.length;
  }

  /** Forgets the route to `to` (its direct path died) and closes its socket when nothing else uses it. */
  async dropRoute(to: Endpoint): Promise<void> {
    const k = endpointKey(to);
    const s = this.routes.get(k);
    if (!s) return;
    this.routes.delete(k);
    if (![...this.routes.values()].includes(s)) {
      this.extras.delete(s);
      await s.close();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.extras];
    this.extras.clear();
    this.routes.clear();
    this.pending.clear();
    await Promise.all(all.map((s) => s.close()));
    await this.main.close();
  }

  private deliver(sock: UdpSocket, d: Buffer, from: Endpoint): void {
    if (d[0] === NAT_PROBE_REPLY_TYPE && natProbeKind(d) === 'reply') {
      this.probeReplyHandler?.(d, from, sock);
      return;
    }
    if (isNatOpen(d)) {
      this.opensDropped++;
      return;
    }
    if (sock !== this.main) {
      if (this.pending.size >= maxPending) this.pending.delete(this.pending.keys().next().value!);
      this.pending.set(endpointKey(from), sock);
    }
    this.deliveringSock = sock;
    this.deliveringFrom = from;
    try {
      this.handler?.(d, from);
    } finally {
      this.deliveringSock = undefined;
      this.deliveringFrom = undefined;
    }
  }
}
