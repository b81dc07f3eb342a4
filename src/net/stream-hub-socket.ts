// The hub's one UdpSocket when it also listens on TCP/TLS: the real UDP socket plus every stream
// connection (net/stream-node.ts), each shown to the layers above as one more endpoint (a
// pseudo-endpoint: the connection's remote address and port). A datagram sent to that endpoint goes
// down its connection, one read from it arrives "from" it; so the link, registry and relay treat a
// member reached over TCP like any other, relay between a TCP and a UDP member included.
// hub/run.ts composes it; the limits here are the stream side's answer to slowloris and floods.
import type { Clock, TimerHandle } from '../util/clock.js';
import { TokenBucket } from '../util/token-bucket.js';
import type { StreamConn } from './stream-node.js';
import { endpointKey, type Endpoint, type UdpHandler, type UdpSocket } from './udp.js';

export interface StreamHubLimits {
  /** Connections one IP address may hold (proven or not). */
  maxConnsPerIp: number;
  /** Connections in all. */
  maxConns: number;
  /** A connection whose endpoint no session has proven by then (Noise handshake and REGISTER) is closed. */
  unprovenDeadlineMs: number;
  /** A connection silent this long is closed (peers probe every second and heartbeat). */
  idleMs: number;
  /** New connections a second one IP address may open (burst 2x): a TLS handshake costs the hub a
   * signature, so reconnecting in a loop must not be free. */
  acceptsPerSecPerIp: number;
}

/** Local tuning. 8 per IP: a few peers behind one NAT, each with TCP and TLS at once while switching;
 * 10 s: a Noise handshake plus REGISTER take one round trip each, even over a slow TLS path;
 * 90 s idle: several heartbeats (hub-client) and 90 probes. */
export const defaultStreamHubLimits: StreamHubLimits = { maxConnsPerIp: 8, maxConns: 4096, unprovenDeadlineMs: 10_000, idleMs: 90_000, acceptsPerSecPerIp: 4 };
/** Accept buckets kept at most; past it the full (idle) ones are forgotten. */
const maxAcceptBuckets = 10_000;

export interface StreamHubCounters {
  accepted: number;
  refusedPerIp: number;
  refusedTotal: number;
  refusedRate: number;
  closedUnproven: number;
  closedIdle: number;
  closedBadFrame: number;
  sendFull: number;
}

export interface StreamHubOptions {
  clock: Clock;
  limits?: Partial<StreamHubLimits>;
  /** True once a session owns this endpoint (hub/run.ts asks the registry). */
  isProven?: (e: Endpoint) => boolean;
  /** Sees every datagram first (UDP or stream); true = consumed (the transport probe responder). */
  intercept?: (data: Buffer, from: Endpoint) => boolean;
}

interface Entry {
  conn: StreamConn;
  pseudo: Endpoint;
  timer: TimerHandle;
  lastFramesIn: number;
  proven: boolean;
}

export class StreamHubSocket implements UdpSocket {
  readonly counters: StreamHubCounters = { accepted: 0, refusedPerIp: 0, refusedTotal: 0, refusedRate: 0, closedUnproven: 0, closedIdle: 0, closedBadFrame: 0, sendFull: 0 };
  private readonly limits: StreamHubLimits;
  private readonly byKey = new Map<string, Entry>();
  private readonly perIp = new Map<string, number>();
  private readonly acceptBuckets = new Map<string, TokenBucket>();
  private total = 0;
  private handler: UdpHandler | undefined;
  private closed = false;

  constructor(
    private readonly udp: UdpSocket,
    private readonly o: StreamHubOptions,
  ) {
    this.limits = { ...defaultStreamHubLimits, ...o.limits };
    udp.onMessage((d, from) => this.deliver(d, from));
  }

  get local(): Endpoint {
    return this.udp.local;
  }

  /** Open stream connections (status). */
  get connections(): number {
    return this.byKey.size;
  }

  /** Counts a raw connection against the limits before anything is read; false = refuse it. */
  admit(remote: Endpoint): boolean {
    if (this.closed) return false;
    if (this.total >= this.limits.maxConns) {
      this.counters.refusedTotal++;
      return false;
    }
    const n = this.perIp.get(remote.address) ?? 0;
    if (n >= this.limits.maxConnsPerIp) {
      this.counters.refusedPerIp++;
      return false;
    }
    const now = this.o.clock.now();
    let b = this.acceptBuckets.get(remote.address);
    if (!b) {
      if (this.acceptBuckets.size >= maxAcceptBuckets) for (const [k, v] of this.acceptBuckets) if (v.idle(now)) this.acceptBuckets.delete(k);
      b = new TokenBucket(this.limits.acceptsPerSecPerIp, 2 * this.limits.acceptsPerSecPerIp, now);
      if (this.acceptBuckets.size < maxAcceptBuckets) this.acceptBuckets.set(remote.address, b);
    }
    if (!b.take(now)) {
      this.counters.refusedRate++;
      return false;
    }
    this.perIp.set(remote.address, n + 1);
    this.total++;
    return true;
  }

  /** Takes an admitted connection: it gets a pseudo-endpoint and its deadline starts. */
  attach(conn: StreamConn): void {
    if (this.closed) {
      conn.close('hub closing');
      return;
    }
    this.counters.accepted++;
    const pseudo = this.freeEndpoint(conn.remote);
    const key = endpointKey(pseudo);
    const e: Entry = { conn, pseudo, timer: undefined, lastFramesIn: 0, proven: false };
    this.byKey.set(key, e);
    e.timer = this.o.clock.setTimer(this.limits.unprovenDeadlineMs, () => this.check(e));
    conn.onDatagram((d) => this.deliver(d, pseudo));
    conn.onClose((why) => {
      if (why === 'bad frame') this.counters.closedBadFrame++;
      this.o.clock.clearTimer(e.timer);
      if (this.byKey.get(key) === e) this.byKey.delete(key);
      const n = (this.perIp.get(conn.remote.address) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(conn.remote.address);
      else this.perIp.set(conn.remote.address, n);
      this.total--;
    });
  }

  /** A member on a TCP/TLS leg: every StreamConn frames the datagram into a new buffer before send
   * returns (stream-frame.ts encodeFrame); anyone else: what the UDP socket below says. */
  copiesOnSend(to: Endpoint): boolean {
    if (this.closed) return false;
    if (this.byKey.size > 0 && this.byKey.has(endpointKey(to))) return true;
    return this.udp.copiesOnSend?.(to) ?? false;
  }

  send(data: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    const e = this.byKey.size > 0 ? this.byKey.get(endpointKey(to)) : undefined;
    if (!e) {
      this.udp.send(data, to);
      return;
    }
    if (!e.conn.send(data)) this.counters.sendFull++;
  }

  onMessage(handler: UdpHandler): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const e of [...this.byKey.values()]) e.conn.close('hub closing');
    this.handler = undefined;
    await this.udp.close();
  }

  private deliver(d: Buffer, from: Endpoint): void {
    if (this.closed) return;
    if (this.o.intercept?.(d, from)) return;
    try {
      this.handler?.(d, from);
    } catch {
      // the link catches its own errors; a throw here is a bug, and the socket carries on
    }
  }

  /** The remote's own address and port, unless another connection holds it (two connections from
   * one NAT mapping, TCP and TLS): then the next free port on that address. */
  private freeEndpoint(remote: Endpoint): Endpoint {
    for (let i = 0; i < 65536; i++) {
      const port = ((remote.port - 1 + i) % 65535) + 1;
      if (!this.byKey.has(`${remote.address}:${port}`)) return { address: remote.address, port };
    }
    return remote; // unreachable: maxConnsPerIp is far below 65535
  }

  private check(e: Entry): void {
    if (e.conn.closed) return;
    if (!e.proven) {
      e.proven = this.o.isProven?.(e.pseudo) ?? true;
      if (!e.proven) {
        this.counters.closedUnproven++;
        e.conn.close('unproven');
        return;
      }
    } else if (e.conn.counters.framesIn === e.lastFramesIn) {
      this.counters.closedIdle++;
      e.conn.close('idle');
      return;
    }
    e.lastFramesIn = e.conn.counters.framesIn;
    e.timer = this.o.clock.setTimer(this.limits.idleMs, () => this.check(e));
  }
}
