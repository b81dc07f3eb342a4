// What the NATS buckets of several hubs hold (hub/nats-state.ts and its parts): bucket and key names,
// and the record shapes with their checks. Pure: no NATS client, no I/O.
//   <p>_claims   addr.<u32> and name.<hex utf8> -> key id; key.<id> -> a BindingRecord;
//                svc.<port> -> a published port (hub/service-claims.ts)
//   <p>_members  m.<id> -> a MemberRecord (its home hub writes it)
//   <p>_hubs     h.<hubId> -> presence (hub/nats-presence.ts); `sweep` (hub/nats-leases.ts)
import { createHash } from 'node:crypto';
import type { Endpoint } from '../net/udp.js';
import { ConfigError } from '../util/errors.js';
import { canonicalIpv6 } from '../util/ipv6.js';
import { decodeNatClass, encodeNatClass, NAT_CLASS_BYTES, type NatClass } from '../wire/nat-class.js';

export const enc = new TextEncoder();
export const dec = new TextDecoder();
export const json = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v));

/** Bucket name prefix for a network (pure): hubs with the same secret and CIDR share it. */
export function bucketPrefix(psk: Uint8Array, cidr: string): string {
  return `meshd_${createHash('sha256').update('meshd nats state v1\0').update(psk).update(cidr).digest('hex').slice(0, 16)}`;
}

export const addrKey = (overlay: number) => `addr.${overlay >>> 0}`;
export const nameKey = (name: string) => `name.${Buffer.from(name, 'utf8').toString('hex')}`;
export const bindingKey = (id: string) => `key.${id}`;
export const memberKey = (id: string) => `m.${id}`;
export const hubKey = (hubId: string) => `h.${hubId}`;
/** The lease sweep's key in the presence bucket: taken by create (one hub at a time), gone with the
 * bucket's max age (the presence TTL), so a hub that died sweeping holds it no longer than that. */
export const sweepKey = 'sweep';
/** A hub's heartbeat key in the claims and members buckets (never a key id: those are hex). */
export const heartbeatId = (hubId: string) => `_hb.${hubId}`;
/** The NATS core subject a hub receives signals on (pure); hub ids are checked to be one token. */
export function signalSubject(prefix: string, hubId: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(hubId)) throw new ConfigError('--cluster', `hub id "${hubId}" is not a NATS subject token`);
  return `${prefix}.hub.${hubId}`;
}

/** What a member's entry holds in the members bucket. */
export interface MemberRecord {
  home: string;
  publicKey: string;
  overlay: number;
  /** The member's overlay IPv6 address (canonical text), when it has one (issue 22). */
  overlay6?: string;
  name: string;
  bootId: string;
  reflexive: Endpoint;
  lan: Endpoint[];
  /** Its NAT class as hex of the wire's 6 bytes (wire/nat-class.ts), when it reported one: the other
   * hubs pass it in PUNCH to their members (without it an EIM <-> random-port EDM pair across hubs
   * never tries the birthday technique and stays relayed). */
  nat?: string;
}

/** A record's NAT class when it is well-formed (another hub wrote it; anything else is left out). */
export function natOfRecord(v: unknown): NatClass | undefined {
  if (typeof v !== 'string' || !/^[0-9a-f]*$/.test(v) || v.length !== 2 * NAT_CLASS_BYTES) return undefined;
  return decodeNatClass(new Uint8Array(Buffer.from(v, 'hex')));
}

/** The record form of a NAT class (pure; natOfRecord reads it back). */
export function natRecordOf(c: NatClass): string {
  return Buffer.from(encodeNatClass(c)).toString('hex');
}

/** A record's overlay6 when it is canonical IPv6 text (another hub wrote it; anything else is left out). */
export function overlay6Of(rec: MemberRecord): { overlay6?: string } {
  return typeof rec.overlay6 === 'string' && canonicalIpv6(rec.overlay6) === rec.overlay6 ? { overlay6: rec.overlay6 } : {};
}

/** What a binding record (key.<id>) holds in the claims bucket. */
export interface BindingRecord {
  overlay: number;
  name: string;
  lastSeenMs: number;
  pinned: boolean;
}
