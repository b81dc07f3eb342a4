// Which port-mapping protocols the gateway answers (docs/NAT.md): one small request of our own per
// protocol, sent in parallel: a NAT-PMP external-address request (RFC 6886 3.2), a PCP ANNOUNCE
// (RFC 6887 14.1) and an SSDP M-SEARCH for an Internet Gateway Device (UPnP Device Architecture
// 1.1, 1.3.2). Any answer counts, an error result included: the question is whether the gateway
// speaks the protocol. Used by `meshd netcheck` and the peer's class. Creating and renewing a
// mapping is nat/port-map-client.ts; only its UPnP client loads @achingbrain/nat-port-mapper, and
// only once a gateway answered the search (the library and the HTTP stack it brings cost a peer
// ~2.5 MiB of memory; issue 19 item 7).
import { readFileSync } from 'node:fs';
import type { Endpoint, UdpSocket } from '../net/udp.js';
import { NATPMP_ADDRESS_REQUEST } from './port-map-codec.js';
import { askUdp } from './udp-ask.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { PortMapProtocol } from '../wire/nat-class.js';

/** Protocol: NAT-PMP and PCP servers listen on this port of the gateway (RFC 6886, RFC 6887). */
export const pcpPort = 5351;
/** SSDP's multicast group and port (UPnP Device Architecture 1.1, 1.3.2). */
export const ssdpGroup: Endpoint = { address: '239.255.255.250', port: 1900 };
/** Local tuning: how long each protocol gets to answer. */
export const portMapTimeoutMs = 1_500;
/** Local tuning: each probe is sent again this often until answered (three sends in portMapTimeoutMs),
 * as the mapping requests are (nat/port-map-client.ts): one lost datagram does not hide a gateway. */
export const probeResendMs = 500;

/** The IPv4 default gateway from /proc/net/route (Linux), or undefined. */
export function defaultGateway(routeTable = '/proc/net/route'): string | undefined {
  let text: string;
  try {
    text = readFileSync(routeTable, 'utf8');
  } catch {
    return undefined;
  }
  return parseDefaultGateway(text);
}

/** Pure: the gateway of the first default route in /proc/net/route text (hex, little-endian). */
export function parseDefaultGateway(text: string): string | undefined {
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || f[1] !== '00000000' || !/^[0-9A-Fa-f]{8}$/.test(f[2]!)) continue;
    const n = parseInt(f[2]!, 16);
    if (n === 0) continue;
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
  }
  return undefined;
}

/** Pure: our address on the gateway's subnet (the PCP client address and UPnP internal client),
 * from os.networkInterfaces()-shaped data; undefined when no IPv4 interface holds the gateway. */
export function localAddressToward(gateway: string, ifaces: Record<string, Array<{ family: string | number; address: string; netmask: string; internal: boolean }> | undefined>): string | undefined {
  const u = (ip: string) => ip.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
  const g = u(gateway);
  for (const list of Object.values(ifaces)) {
    for (const i of list ?? []) {
      if ((i.family !== 'IPv4' && i.family !== 4) || i.internal) continue;
      const m = u(i.netmask);
      if ((u(i.address) & m) === (g & m) && i.address !== gateway) return i.address;
    }
  }
  return undefined;
}

/** A PCP ANNOUNCE request (RFC 6887 7.1 and 14.1): version 2, opcode 0, lifetime 0, our address. */
export function pcpAnnounce(client: string): Uint8Array {
  const b = new Uint8Array(24);
  b[0] = 2;
  b[1] = 0;
  // Client IP as an IPv4-mapped IPv6 address.
  b[18] = 0xff;
  b[19] = 0xff;
  client.split('.').forEach((o, i) => (b[20 + i] = Number(o)));
  return b;
}

/** A PCP response: version 2, the R bit and opcode ANNOUNCE (any result code). */
export function isPcpAnnounceResponse(d: Uint8Array): boolean {
  return d.byteLength >= 24 && d[0] === 2 && d[1] === 0x80;
}

/** A NAT-PMP response to the external-address request: version 0, opcode 128 (any result code). */
export function isNatPmpAddressResponse(d: Uint8Array): boolean {
  return d.byteLength >= 4 && d[0] === 0 && d[1] === 128;
}

/** An SSDP M-SEARCH for an Internet Gateway Device, answers within `mxS` seconds. IGD:2 devices
 * answer a search for IGD:1 too (a device answers searches for lower versions of its type). */
export function ssdpSearch(mxS: number): Uint8Array {
  const lines = ['M-SEARCH * HTTP/1.1', `HOST: ${ssdpGroup.address}:${ssdpGroup.port}`, 'MAN: "ssdp:discover"', `MX: ${mxS}`, 'ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1'];
  return new TextEncoder().encode(`${lines.join('\r\n')}\r\n\r\n`);
}

/** An SSDP search response (HTTP 200) whose ST names an Internet Gateway Device or its WAN
 * connection services (some devices answer with those). */
export function isIgdSearchResponse(d: Uint8Array): boolean {
  const text = new TextDecoder().decode(d.subarray(0, 2048));
  if (!/^HTTP\/1\.[01] 200\b/.test(text)) return false;
  const st = /^ST:[ \t]*(\S+)/im.exec(text)?.[1];
  return st !== undefined && /^urn:schemas-upnp-org:(device:InternetGatewayDevice|service:WAN(IP|PPP)Connection):\d+$/.test(st);
}

interface Probe {
  openSocket: () => Promise<UdpSocket>;
  clock: Clock;
  timeoutMs: number;
}

/** True if an answer passing `ok` comes within the probe's time (the request resent every probeResendMs). */
async function answered(p: Probe, to: Endpoint, request: (s: UdpSocket) => Uint8Array, ok: (d: Uint8Array, from: Endpoint) => boolean): Promise<boolean> {
  const v = await askUdp({ ...p, to, request, accept: (d, from) => (ok(d, from) ? true : undefined), resendMs: probeResendMs });
  return v === true;
}

function pcpAnswers(gateway: string, p: Probe): Promise<boolean> {
  // The ANNOUNCE carries the socket's address (0.0.0.0 when it is not bound to one).
  return answered(p, { address: gateway, port: pcpPort }, (s) => pcpAnnounce(s.local.address), (d, from) => from.address === gateway && from.port === pcpPort && isPcpAnnounceResponse(d));
}

function natPmpAnswers(gateway: string, p: Probe): Promise<boolean> {
  return answered(p, { address: gateway, port: pcpPort }, () => NATPMP_ADDRESS_REQUEST, (d, from) => from.address === gateway && from.port === pcpPort && isNatPmpAddressResponse(d));
}

/** Any IGD on the link answers (it need not be the default gateway, as with the library's search). */
function upnpAnswers(p: Probe): Promise<boolean> {
  return answered(p, ssdpGroup, () => ssdpSearch(Math.max(1, Math.floor(p.timeoutMs / 1000))), (d) => isIgdSearchResponse(d));
}

/** The protocols the gateway answers, asked in parallel (about portMapTimeoutMs in all). */
export async function detectPortMapping(o: { gateway?: string; openSocket: () => Promise<UdpSocket>; timeoutMs?: number; clock?: Clock }): Promise<PortMapProtocol[]> {
  const gateway = o.gateway ?? defaultGateway();
  if (!gateway) return [];
  const p: Probe = { openSocket: o.openSocket, clock: o.clock ?? systemClock, timeoutMs: o.timeoutMs ?? portMapTimeoutMs };
  const [upnp, natpmp, pcp] = await Promise.all([
    upnpAnswers(p).catch(() => false),
    natPmpAnswers(gateway, p).catch(() => false),
    pcpAnswers(gateway, p).catch(() => false),
  ]);
  const out: PortMapProtocol[] = [];
  if (upnp) out.push('upnp');
  if (natpmp) out.push('natpmp');
  if (pcp) out.push('pcp');
  return out;
}
