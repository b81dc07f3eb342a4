// A hub's UDP path (hub/network-state.ts HubPath) as its presence record carries it in the shared
// state (hub/nats-state.ts), and back. Pure; another hub wrote the record, so reading it checks
// everything and gives undefined for anything off (that hub then gets no relayed data: counted).
import { endpointKey, parseEndpoint, type Endpoint } from '../net/udp.js';
import { HUB_EPOCH_SIZE } from '../wire/hub-data.js';
import type { HubPath } from './network-state.js';

/** Protocol: at most this many addresses per hub are read (an IPv4 and an IPv6 one, and spares). */
export const hubPathMaxEndpoints = 4;

/** The JSON form in a presence record. */
export interface HubPathRecord {
  /** The hub's static public key, base64. */
  key: string;
  /** "ip:port" or "[ip6]:port". */
  udp: string[];
  /** The boot epoch, hex. */
  epoch: string;
}

export function hubPathRecord(p: HubPath): HubPathRecord {
  return { key: Buffer.from(p.publicKey).toString('base64'), udp: p.endpoints.map(endpointKey), epoch: Buffer.from(p.epoch).toString('hex') };
}

/** The path a presence record's `path` field holds, or undefined when it is absent or malformed. */
export function hubPathOf(v: unknown): HubPath | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Partial<Record<keyof HubPathRecord, unknown>>;
  if (typeof r.key !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(r.key)) return undefined;
  if (typeof r.epoch !== 'string' || !new RegExp(`^[0-9a-f]{${2 * HUB_EPOCH_SIZE}}$`).test(r.epoch)) return undefined;
  if (!Array.isArray(r.udp)) return undefined;
  const endpoints: Endpoint[] = [];
  for (const u of r.udp.slice(0, hubPathMaxEndpoints)) {
    const e = typeof u === 'string' ? parseEndpoint(u) : undefined;
    if (e) endpoints.push(e);
  }
  if (endpoints.length === 0) return undefined;
  return { publicKey: new Uint8Array(Buffer.from(r.key, 'base64')), endpoints, epoch: new Uint8Array(Buffer.from(r.epoch, 'hex')) };
}
