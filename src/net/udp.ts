// The UDP socket contract every component uses. Two real implementations, chosen by net/udp-open.ts:
// net/udp-native.ts (batched recvmmsg/sendmmsg on Linux, the default) and net/udp-node.ts (the only
// node:dgram user, the fallback); test/net/udp-contract.test.ts runs the contract on both.
// test/fakes/memory-udp.ts is the in-memory twin (a lossy, seeded switch).
import { ipv4Endpoint, parseIpv4 } from '../util/ipv4.js';
import { canonicalIpv6, isIpv6Text } from '../util/ipv6.js';
import type { FastRecvPort } from './fast-recv-port.js';

export interface Endpoint {
  /** IPv4 dotted quad, or IPv6 in canonical RFC 5952 text (util/ipv6.ts; no zone, never v4-mapped). */
  readonly address: string;
  readonly port: number;
  /** `address` as a u32, when whoever made the endpoint had it (util/ipv4.ts ipv4Endpoint: not
   * enumerable). The native socket sends on it without a lookup; absent, it parses `address`. */
  readonly u32?: number;
}

/** "192.0.2.1:7000" or "[2001:db8::1]:7000": a stable map key for an endpoint, and how it is shown. */
export function endpointKey(e: Endpoint): string {
  return isIpv6Text(e.address) ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** The IP family of an endpoint's address. */
export function endpointFamily(e: Endpoint): 4 | 6 {
  return isIpv6Text(e.address) ? 6 : 4;
}

export function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  return a !== undefined && b !== undefined && a.address === b.address && a.port === b.port;
}

/** Parses "ip:port" with an IPv4 address or "[ip]:port" with an IPv6 one (canonicalised; v4-mapped
 * reads as IPv4), or returns undefined. */
export function parseEndpoint(s: string): Endpoint | undefined {
  const v6 = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(s.trim());
  if (v6) {
    const port = Number(v6[2]);
    const address = canonicalIpv6(v6[1]!);
    if (address === undefined || port < 1 || port > 65535) return undefined;
    if (address.startsWith('::ffff:') && v6[1]!.includes('.')) return parseEndpoint(`${v6[1]!.slice(v6[1]!.lastIndexOf(':') + 1)}:${port}`);
    return { address, port };
  }
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  const octets = m[1]!.split('.').map(Number);
  if (port < 1 || port > 65535 || octets.some((o) => o > 255)) return undefined;
  const u32 = parseIpv4(m[1]!);
  return u32 === undefined ? { address: m[1]!, port } : ipv4Endpoint(u32, port);
}

/** Counters a status command can print. */
export interface UdpCounters {
  sent: number;
  received: number;
  sendErrors: number;
  handlerErrors: number;
}

export type UdpHandler = (data: Buffer, from: Endpoint) => void;

/**
 * One bound UDP socket.
 * - `send` never throws: a datagram that cannot be sent is dropped (UDP is lossy) and counted.
 * - The handler gets each datagram with its source. The buffer is only valid during the call
 *   (an implementation may reuse it); copy what must outlive the call.
 * - A handler that throws is a bug, but the socket catches it, counts it and carries on.
 * - After `close()` resolves, `send` is a no-op and the handler is never called again.
 */
/** UdpSocket.nativeSendFd: a socket's fd and address family. */
export interface NativeSendFd {
  readonly fd: number;
  readonly family: 4 | 6;
  /** The same socket's receive half of the fast path (src/net/native/fastrecv.c), where it has one:
   * replies from the destination arrive on the socket that sends to it. */
  readonly recv?: FastRecvPort;
}

export interface UdpSocket {
  readonly local: Endpoint;
  send(data: Uint8Array, to: Endpoint): void;
  /** True when send(data, to) copies `data` before it returns, so the caller may reuse its buffer
   * at once (the link then seals into one scratch buffer: no ArrayBuffer per datagram). Absent or
   * false: send may keep `data` (node:dgram until its callback, a TCP stream, the in-memory twin). */
  copiesOnSend?(to: Endpoint): boolean;
  /** The native socket send(data, to) would use now (fd and family, 6 taking v4-mapped addresses),
   * for the TUN addon's fast path (src/tun/native/fastpath.c) to send from; absent or undefined when
   * that is not one native socket (node:dgram, a TCP stream, an extra punching socket). */
  nativeSendFd?(to: Endpoint): NativeSendFd | undefined;
  onMessage(handler: UdpHandler): void;
  close(): Promise<void>;
}
