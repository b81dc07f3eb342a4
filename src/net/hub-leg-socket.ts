// A peer's one UdpSocket when the hub may be reached over a stream (issue 21): datagrams to the hub
// endpoint go over UDP or down the current stream connection (net/stream-node.ts), as
// peer/hub-transport.ts decides; everything else (peer to peer) stays UDP. Datagrams read from the
// stream arrive "from" the hub endpoint, so the link above sees one hub, whatever carries it.
import type { StreamConn } from './stream-node.js';
import { sameEndpoint, type Endpoint, type NativeSendFd, type UdpHandler, type UdpSocket } from './udp.js';

export type HubLegName = 'udp' | 'stream';

export class HubLegSocket implements UdpSocket {
  readonly counters = { streamSent: 0, streamReceived: 0, streamDropped: 0 };
  /** True: datagrams to the hub go down the stream (dropped while there is none). */
  useStream = false;
  private conn: StreamConn | undefined;
  private handler: UdpHandler | undefined;
  private closed = false;

  constructor(
    private readonly udp: UdpSocket,
    readonly hub: Endpoint,
    /** Sees datagrams from the hub first, with the leg they came on; true = consumed (probe replies). */
    private readonly intercept?: (d: Buffer, leg: HubLegName) => boolean,
  ) {
    udp.onMessage((d, from) => {
      if (this.closed) return;
      if (this.intercept && sameEndpoint(from, hub) && this.intercept(d, 'udp')) return;
      this.handler?.(d, from);
    });
  }

  get local(): Endpoint {
    return this.udp.local;
  }

  get stream(): StreamConn | undefined {
    return this.conn && !this.conn.closed ? this.conn : undefined;
  }

  /** Makes `conn` the stream leg (closing any previous one); undefined drops it. */
  setStream(conn: StreamConn | undefined): void {
    if (this.conn && this.conn !== conn) this.conn.close('replaced');
    this.conn = conn;
    conn?.onDatagram((d) => {
      if (this.closed || this.conn !== conn) return;
      this.counters.streamReceived++;
      if (this.intercept?.(d, 'stream')) return;
      try {
        this.handler?.(d, this.hub);
      } catch {
        // the link catches its own errors; the stream carries on
      }
    });
  }

  send(data: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    if (this.useStream && sameEndpoint(to, this.hub)) this.sendStream(data);
    else this.udp.send(data, to);
  }

  /** The UDP socket's answer, except to the hub over the stream (it keeps the bytes until written). */
  copiesOnSend(to: Endpoint): boolean {
    return !(this.useStream && sameEndpoint(to, this.hub)) && (this.udp.copiesOnSend?.(to) ?? false);
  }

  /** The UDP socket's, except to the hub over the stream. */
  nativeSendFd(to: Endpoint): NativeSendFd | undefined {
    return this.closed || (this.useStream && sameEndpoint(to, this.hub)) ? undefined : this.udp.nativeSendFd?.(to);
  }

  /** To the hub over UDP whatever the current leg (probes). */
  sendUdp(data: Uint8Array): void {
    if (!this.closed) this.udp.send(data, this.hub);
  }

  /** To the hub down the stream; false (counted) when there is none or its buffer is full. */
  sendStream(data: Uint8Array): boolean {
    const c = this.stream;
    if (this.closed || !c || !c.send(data)) {
      this.counters.streamDropped++;
      return false;
    }
    this.counters.streamSent++;
    return true;
  }

  onMessage(handler: UdpHandler): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.conn?.close('closing');
    this.handler = undefined;
    await this.udp.close();
  }
}
