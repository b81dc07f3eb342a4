// One port-mapping protocol talking to the gateway: create (or renew) a UDP mapping for an internal
// port, and delete it. PCP and NAT-PMP are ours (nat/port-map-codec.ts, on an injected socket and
// clock, so the in-process fake gateway drives them); UPnP-IGD goes through
// @achingbrain/nat-port-mapper. Used by nat/port-mapper.ts, which decides when to call them.
import { randomBytes } from 'node:crypto';
import type { Gateway } from '@achingbrain/nat-port-mapper';
import type { Endpoint, UdpSocket } from '../net/udp.js';
import type { Clock } from '../util/clock.js';
import { MeshdError } from '../util/errors.js';
import { fromHex, toHex } from '../util/bytes.js';
import {
  decodeNatPmpAddressResponse, decodeNatPmpMapResponse, decodePcpMapResponse, encodeNatPmpMap, encodePcpMap, NATPMP_ADDRESS_REQUEST, pcpResultName,
} from './port-map-codec.js';
import { pcpPort } from './port-map.js';
import { askUdp } from './udp-ask.js';

export type MapProtocol = 'pcp' | 'natpmp' | 'upnp';

/** A mapping request failed: no answer (`PORTMAP_TIMEOUT`) or an error result (`PORTMAP_REFUSED`). */
export class PortMapError extends MeshdError {}

export interface Granted {
  external: Endpoint;
  lifetimeS: number;
}

export interface MapProtocolClient {
  readonly protocol: MapProtocol;
  /** Creates or renews the mapping (same internal port: the gateway keeps the external one). */
  map(internalPort: number, lifetimeS: number, suggested?: Endpoint): Promise<Granted>;
  /** Deletes the mapping (best effort, resolves after one answer or the timeout). */
  unmap(internalPort: number, external: Endpoint): Promise<void>;
  /** What nat/port-mapper.ts keeps in the state dir to delete the mapping after a crash. */
  persisted(): Record<string, string>;
}

/** Local tuning: RFC 6887 8.1.1 starts retransmissions at 3 s; a LAN gateway answers in ms, so
 * three sends 250 ms apart and 1.5 s in all (the detection's budget) are plenty. */
export const requestTimeoutMs = 1_500;
const resendMs = 500;

export interface UdpClientOptions {
  gateway: string;
  /** Our address on the gateway's LAN (PCP's client IP must be the packet's source). */
  client: string;
  openSocket: () => Promise<UdpSocket>;
  clock: Clock;
}

/** Asks the gateway's `port` until `parse` takes an answer from it (undefined or a DecodeError: not
 * ours, keep waiting); PORTMAP_TIMEOUT when none comes within requestTimeoutMs. */
async function ask<T>(o: UdpClientOptions, port: number, req: Uint8Array, parse: (d: Uint8Array) => T | undefined): Promise<T> {
  const v = await askUdp({
    openSocket: o.openSocket,
    clock: o.clock,
    to: { address: o.gateway, port },
    request: () => req,
    accept: (d, from) => (from.address === o.gateway && from.port === port ? parse(d) : undefined),
    resendMs,
    timeoutMs: requestTimeoutMs,
  });
  if (v === undefined) throw new PortMapError('PORTMAP_TIMEOUT', `no answer from ${o.gateway}:${port}`);
  return v;
}

export class PcpClient implements MapProtocolClient {
  readonly protocol = 'pcp' as const;
  /** RFC 6887 11.1: the nonce names the mapping; renewals and the delete must repeat it. */
  readonly nonce: Uint8Array;

  constructor(private readonly o: UdpClientOptions, nonceHex?: string) {
    this.nonce = nonceHex ? fromHex(nonceHex) : new Uint8Array(randomBytes(12));
  }

  async map(internalPort: number, lifetimeS: number, suggested?: Endpoint): Promise<Granted> {
    const r = await this.request(internalPort, lifetimeS, suggested);
    return { external: { address: r.externalAddress, port: r.externalPort }, lifetimeS: r.lifetimeS };
  }

  async unmap(internalPort: number, external: Endpoint): Promise<void> {
    await this.request(internalPort, 0, external).catch(() => undefined);
  }

  persisted(): Record<string, string> {
    return { nonce: toHex(this.nonce), client: this.o.client };
  }

  private async request(internalPort: number, lifetimeS: number, suggested?: Endpoint) {
    const req = encodePcpMap({ lifetimeS, client: this.o.client, nonce: this.nonce, internalPort, suggestedPort: suggested?.port ?? internalPort, ...(suggested ? { suggestedAddress: suggested.address } : {}) });
    const r = await ask(this.o, pcpPort, req, (d) => {
      const m = decodePcpMapResponse(d);
      return m.internalPort === internalPort && toHex(m.nonce) === toHex(this.nonce) ? m : undefined;
    });
    if (r.result !== 0) throw new PortMapError('PORTMAP_REFUSED', `PCP ${pcpResultName[r.result] ?? r.result}`);
    return r;
  }
}

export class NatPmpClient implements MapProtocolClient {
  readonly protocol = 'natpmp' as const;

  constructor(private readonly o: UdpClientOptions) {}

  async map(internalPort: number, lifetimeS: number, suggested?: Endpoint): Promise<Granted> {
    const m = await this.request(internalPort, suggested?.port ?? internalPort, lifetimeS);
    // NAT-PMP's MAP answer has no address: ask for it (RFC 6886 3.2).
    const a = await ask(this.o, pcpPort, NATPMP_ADDRESS_REQUEST, decodeNatPmpAddressResponse);
    if (a.result !== 0) throw new PortMapError('PORTMAP_REFUSED', `NAT-PMP address result ${a.result}`);
    return { external: { address: a.address, port: m.externalPort }, lifetimeS: m.lifetimeS };
  }

  async unmap(internalPort: number): Promise<void> {
    // RFC 6886 3.4: lifetime 0 and suggested port 0 delete the mapping.
    await this.request(internalPort, 0, 0).catch(() => undefined);
  }

  persisted(): Record<string, string> {
    return { client: this.o.client };
  }

  private async request(internalPort: number, suggestedPort: number, lifetimeS: number) {
    const m = await ask(this.o, pcpPort, encodeNatPmpMap(internalPort, suggestedPort, lifetimeS), (d) => {
      const r = decodeNatPmpMapResponse(d);
      return r.internalPort === internalPort ? r : undefined;
    });
    if (m.result !== 0) throw new PortMapError('PORTMAP_REFUSED', `NAT-PMP result ${m.result}`);
    return m;
  }
}

/** UPnP-IGD through the library (SSDP discovery, SOAP AddAnyPortMapping); the library's own refresh
 * timers are off, nat/port-mapper.ts renews. Its unmap() deletes by internal port with an empty
 * protocol, which miniupnpd refuses, so the delete is our own DeletePortMapping through its device. */
export class UpnpClient implements MapProtocolClient {
  readonly protocol = 'upnp' as const;
  private gw: Gateway | undefined;

  constructor(private readonly o: { client: string; timeoutMs?: number }) {}

  private async gateway(): Promise<Gateway> {
    if (this.gw) return this.gw;
    // Loaded here, not at start: only a peer whose gateway answered the UPnP search maps through it.
    const { upnpNat } = await import('@achingbrain/nat-port-mapper');
    for await (const g of upnpNat({ autoRefresh: false }).findGateways({ signal: AbortSignal.timeout(this.o.timeoutMs ?? requestTimeoutMs) })) {
      this.gw = g;
      return g;
    }
    throw new PortMapError('PORTMAP_TIMEOUT', 'no UPnP-IGD gateway answered');
  }

  async map(internalPort: number, lifetimeS: number, suggested?: Endpoint): Promise<Granted> {
    try {
      const g = await this.gateway();
      const m = await g.map(internalPort, this.o.client, { protocol: 'udp', externalPort: suggested?.port ?? internalPort, ttl: lifetimeS * 1000, autoRefresh: false, description: 'meshd', signal: AbortSignal.timeout(5_000) });
      // The library asks at least an hour; IGD leases are whatever was asked.
      return { external: { address: m.externalHost, port: m.externalPort }, lifetimeS: Math.max(lifetimeS, 3600) };
    } catch (e) {
      throw e instanceof PortMapError ? e : new PortMapError('PORTMAP_REFUSED', `UPnP-IGD: ${String(e)}`);
    }
  }

  async unmap(_internalPort: number, external: Endpoint): Promise<void> {
    try {
      const g = (await this.gateway()) as unknown as { getGateway(o?: object): Promise<{ run(service: string, action: string, args: Array<[string, unknown]>, o?: object): Promise<unknown> }>; stop(): Promise<void> };
      const dev = await g.getGateway({ signal: AbortSignal.timeout(requestTimeoutMs) });
      await dev.run('urn:schemas-upnp-org:service:WANIPConnection:2', 'DeletePortMapping', [['NewRemoteHost', ''], ['NewExternalPort', external.port], ['NewProtocol', 'UDP']], { signal: AbortSignal.timeout(requestTimeoutMs) });
    } catch {
      // best effort: the lease ends by itself
    }
  }

  persisted(): Record<string, string> {
    return { client: this.o.client };
  }

  async close(): Promise<void> {
    // stop() also unmaps what the library tracked; with our own delete done first that is a no-op.
    await this.gw?.stop().catch(() => undefined);
    this.gw = undefined;
  }
}

/** The clients for the protocols the gateway answered, in the order they are asked: PCP (it names
 * the mapping with a nonce and gives the address in one answer), NAT-PMP, UPnP-IGD (SSDP + SOAP). */
export function clientsFor(protocols: readonly MapProtocol[], o: UdpClientOptions): MapProtocolClient[] {
  const out: MapProtocolClient[] = [];
  if (protocols.includes('pcp')) out.push(new PcpClient(o));
  if (protocols.includes('natpmp')) out.push(new NatPmpClient(o));
  if (protocols.includes('upnp')) out.push(new UpnpClient({ client: o.client }));
  return out;
}

/** A client able to delete the mapping a record describes (PCP with the recorded nonce and client). */
export function clientForRecord(r: { protocol: MapProtocol; gateway: string; extra: Record<string, string> }, o: Omit<UdpClientOptions, 'gateway' | 'client'>): MapProtocolClient | undefined {
  const client = r.extra.client;
  if (!client) return undefined;
  const udp = { ...o, gateway: r.gateway, client };
  if (r.protocol === 'pcp') return new PcpClient(udp, r.extra.nonce);
  if (r.protocol === 'natpmp') return new NatPmpClient(udp);
  return new UpnpClient({ client });
}
