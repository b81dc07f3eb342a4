// The one node:dgram user: a UdpSocket (net/udp.ts) over a real IPv4 or IPv6 socket (both families
// when bound to "::"), one sendto per datagram.
// net/udp-open.ts uses it where the batched net/udp-native.ts cannot load (or MESHD_UDP=node);
// everything else sees only the UdpSocket interface.
import { createSocket, type Socket } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIPv4, isIPv6 } from 'node:net';
import { isIpv6Text } from '../util/ipv6.js';
import type { Endpoint, UdpCounters, UdpHandler, UdpSocket } from './udp.js';

/** Local tuning: 4 MiB absorbs bursts of ~2800 full datagrams while the event loop is busy. */
export const defaultSocketBufferBytes = 4 * 1024 * 1024;

export interface UdpOptions {
  recvBufferBytes?: number;
  sendBufferBytes?: number;
}

export type { UdpCounters } from './udp.js';

export class NodeUdpSocket implements UdpSocket {
  readonly impl = 'node' as const;
  readonly counters: UdpCounters = { sent: 0, received: 0, sendErrors: 0, handlerErrors: 0 };
  private handler: UdpHandler | undefined;
  private closed = false;
  /** One completion callback for every send: no closure per datagram. */
  private readonly onSent = (err: Error | null): void => {
    if (err) this.counters.sendErrors++;
  };

  /** An IPv6 socket: sends to IPv4 addresses go v4-mapped (udp6 sockets take no IPv4 literal). */
  private readonly ipv6: boolean;

  constructor(
    private readonly sock: Socket,
    readonly local: Endpoint,
  ) {
    this.ipv6 = isIpv6Text(local.address);
    sock.on('message', (msg, rinfo) => {
      if (this.closed || !this.handler) return;
      this.counters.received++;
      try {
        this.handler(msg, { address: sourceAddress(rinfo.address), port: rinfo.port });
      } catch {
        this.counters.handlerErrors++;
      }
    });
    // Errors after bind (ICMP unreachable surfacing on some platforms, EPERM from firewalls) are
    // routine for UDP: count them and carry on.
    sock.on('error', () => {
      this.counters.sendErrors++;
    });
  }

  send(data: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    const v6 = isIpv6Text(to.address);
    if (v6 && (!this.ipv6 || to.address.includes('%'))) {
      // An IPv4 socket cannot reach an IPv6 address; a zone never belongs in an Endpoint (util/ipv6.ts).
      this.counters.sendErrors++;
      return;
    }
    try {
      this.sock.send(data, to.port, this.ipv6 && !v6 ? `::ffff:${to.address}` : to.address, this.onSent);
      this.counters.sent++;
    } catch {
      this.counters.sendErrors++;
    }
  }

  onMessage(handler: UdpHandler): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.handler = undefined;
    return new Promise((resolve) => {
      try {
        this.sock.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/** The text of a received source: a v4-mapped one (an IPv4 peer on a dual-stack socket) as the
 * plain dotted quad, so both families see an IPv4 peer under one address. */
function sourceAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * Resolves IP literals synchronously. node:dgram resolves every send's address through
 * dns.lookup, which answers an IP literal on the next tick: one closure and one nextTick per
 * datagram, and the sendto happens after the caller returned. Endpoints here are always literals.
 */
function lookupLiteral(address: string, family: unknown, cb: (err: Error | null, address: string, family: number) => void): void {
  if (isIPv4(address)) cb(null, address, 4);
  else if (isIPv6(address)) cb(null, address, 6);
  else dnsLookup(address, 4, cb);
}

/** Binds a UDP socket (port 0 picks a free one) with large buffers: IPv4 for an IPv4 address, IPv6
 * for an IPv6 one, both families on "::" (IPV6_V6ONLY off only there). */
export function openUdp(bind: Endpoint, opts: UdpOptions = {}): Promise<NodeUdpSocket> {
  const v6 = isIpv6Text(bind.address);
  const sock = createSocket({
    type: v6 ? 'udp6' : 'udp4',
    ipv6Only: v6 && bind.address !== '::',
    lookup: lookupLiteral as never,
    recvBufferSize: opts.recvBufferBytes ?? defaultSocketBufferBytes,
    sendBufferSize: opts.sendBufferBytes ?? defaultSocketBufferBytes,
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sock.once('error', onError);
    sock.bind(bind.port, bind.address, () => {
      sock.off('error', onError);
      const a = sock.address();
      resolve(new NodeUdpSocket(sock, { address: a.address, port: a.port }));
    });
  });
}
