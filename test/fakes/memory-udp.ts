// The in-memory twin of net/udp-node.ts: a flat switch of UdpSockets on the ManualClock with seeded
// loss, delay and duplication. test/vnet builds NATs on top of MemorySocket.
import type { Endpoint, UdpHandler, UdpSocket } from '../../src/net/udp.js';
import { endpointKey } from '../../src/net/udp.js';
import type { Clock } from '../../src/util/clock.js';
import { Rng } from './rng.js';

/** Whatever carries a MemorySocket's datagrams (a switch, a virtual internet). */
export interface Fabric {
  transmit(from: MemorySocket, data: Buffer, to: Endpoint): void;
  unbind(sock: MemorySocket): void;
}

export class MemorySocket implements UdpSocket {
  private handler: UdpHandler | undefined;
  private closed = false;
  sent = 0;
  received = 0;
  handlerErrors = 0;

  constructor(
    private readonly fabric: Fabric,
    readonly local: Endpoint,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  send(data: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    this.sent++;
    // Copy now: the caller may reuse its buffer, as with a real socket.
    this.fabric.transmit(this, Buffer.from(data), to);
  }

  /** Like the native socket: send copies (above), so the link seals into its scratch buffer. */
  copiesOnSend(): boolean {
    return true;
  }

  onMessage(handler: UdpHandler): void {
    this.handler = handler;
  }

  /** Called by the fabric to hand a datagram to this socket. */
  deliver(data: Buffer, from: Endpoint): void {
    if (this.closed || !this.handler) return;
    this.received++;
    try {
      this.handler(data, from);
    } catch {
      this.handlerErrors++;
    }
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.handler = undefined;
      this.fabric.unbind(this);
    }
    return Promise.resolve();
  }
}

export interface LinkQuality {
  /** Probability a datagram is dropped. */
  loss?: number;
  /** Probability a datagram is delivered twice. */
  duplicate?: number;
  /** One-way delay in ms: base plus a uniform jitter in [0, jitter). */
  delayMs?: number;
  jitterMs?: number;
}

/** Schedules delivery with loss, duplication and delay drawn from a seeded Rng. */
export function scheduleDelivery(clock: Clock, rng: Rng, q: LinkQuality, deliver: () => void): void {
  if (q.loss && rng.chance(q.loss)) return;
  const copies = q.duplicate && rng.chance(q.duplicate) ? 2 : 1;
  for (let i = 0; i < copies; i++) {
    const delay = (q.delayMs ?? 1) + (q.jitterMs ? rng.next() * q.jitterMs : 0);
    clock.setTimer(delay, deliver);
  }
}

/** A flat network: every socket reaches every other; unknown destinations are dropped. */
export class MemoryUdpSwitch implements Fabric {
  private readonly sockets = new Map<string, MemorySocket>();
  private nextPort = 40000;
  readonly rng: Rng;
  dropped = 0;

  constructor(
    private readonly clock: Clock,
    public quality: LinkQuality = {},
    seed = 1,
  ) {
    this.rng = new Rng(seed);
  }

  /** A socket bound to address:port (port 0 or omitted picks a free one). */
  open(address = '192.0.2.1', port = 0): MemorySocket {
    const p = port || this.nextPort++;
    const sock = new MemorySocket(this, { address, port: p });
    const k = endpointKey(sock.local);
    if (this.sockets.has(k)) throw new Error(`address in use: ${k}`);
    this.sockets.set(k, sock);
    return sock;
  }

  transmit(from: MemorySocket, data: Buffer, to: Endpoint): void {
    scheduleDelivery(this.clock, this.rng, this.quality, () => {
      const dst = this.sockets.get(endpointKey(to));
      if (dst) dst.deliver(data, from.local);
      else this.dropped++;
    });
  }

  unbind(sock: MemorySocket): void {
    this.sockets.delete(endpointKey(sock.local));
  }
}
