// Which port-mapping protocols the gateway answers (docs/NAT.md): NAT-PMP and UPnP-IGD through
// @achingbrain/nat-port-mapper (the library speaks both), PCP (RFC 6887) with one ANNOUNCE request
// of our own (the library has no PCP). Any answer counts, an error result included: the question
// is whether the gateway speaks the protocol. Used by `meshd netcheck` and the peer's class.
// Creating, renewing and deleting a mapping is not done yet (docs/NAT.md "Not done").
import { readFileSync } from 'node:fs';
import { pmpNat, upnpNat } from '@achingbrain/nat-port-mapper';
import type { Endpoint, UdpSocket } from '../net/udp.js';
import type { PortMapProtocol } from '../wire/nat-class.js';

/** Protocol: NAT-PMP and PCP servers listen on this port of the gateway (RFC 6886, RFC 6887). */
export const pcpPort = 5351;
/** Local tuning: how long each protocol gets to answer. */
export const portMapTimeoutMs = 1_500;

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

async function pcpAnswers(gateway: string, openSocket: () => Promise<UdpSocket>, timeoutMs: number): Promise<boolean> {
  const s = await openSocket();
  try {
    return await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      s.onMessage((d, from) => {
        if (from.address === gateway && from.port === pcpPort && isPcpAnnounceResponse(d)) {
          clearTimeout(t);
          resolve(true);
        }
      });
      const to: Endpoint = { address: gateway, port: pcpPort };
      s.send(pcpAnnounce(s.local.address === '0.0.0.0' ? '0.0.0.0' : s.local.address), to);
    });
  } finally {
    await s.close();
  }
}

async function natPmpAnswers(gateway: string, timeoutMs: number): Promise<boolean> {
  const gw = pmpNat(gateway);
  try {
    await gw.externalIp({ signal: AbortSignal.timeout(timeoutMs) });
    return true;
  } catch (e) {
    // An error result from the gateway (e.g. "Network Failure") is still a NAT-PMP answer.
    return !(e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError' || /abort/i.test(e.message)));
  } finally {
    await gw.stop().catch(() => undefined);
  }
}

async function upnpAnswers(timeoutMs: number): Promise<boolean> {
  try {
    for await (const g of upnpNat().findGateways({ signal: AbortSignal.timeout(timeoutMs) })) {
      await g.stop().catch(() => undefined);
      return true;
    }
  } catch {
    // timeout: no gateway answered the SSDP search
  }
  return false;
}

/** The protocols the gateway answers, asked in parallel (about portMapTimeoutMs in all). */
export async function detectPortMapping(o: { gateway?: string; openSocket: () => Promise<UdpSocket>; timeoutMs?: number }): Promise<PortMapProtocol[]> {
  const gateway = o.gateway ?? defaultGateway();
  if (!gateway) return [];
  const ms = o.timeoutMs ?? portMapTimeoutMs;
  const [upnp, natpmp, pcp] = await Promise.all([upnpAnswers(ms), natPmpAnswers(gateway, ms), pcpAnswers(gateway, o.openSocket, ms).catch(() => false)]);
  const out: PortMapProtocol[] = [];
  if (upnp) out.push('upnp');
  if (natpmp) out.push('natpmp');
  if (pcp) out.push('pcp');
  return out;
}
