// ACL_POLICY: the hub's compiled firewall policy for one receiving peer (docs/ACL.md). A control
// message (inner CONTROL body, hub -> peer only) kept out of control.ts's union: peers that set
// REGISTER flag 0x08 (REGISTER_FLAG_ACL) get it; node.ts hands type 40 here before decodeControl.
//
//   0  type u8 (40) | 1 seq u32 LE | 5 version u32 LE | 9 mode u8 | 10 count u16 LE | 12 rule [count]
//   rule = rule_id u16 LE | action u8 | proto u8 | port_lo u16 LE | port_hi u16 LE | nsrc u16 LE | src u32 BE [nsrc]
//   mode   0 OPEN (no policy: allow everything) | 1 ENFORCE (first matching rule, else deny)
//   action 1 ALLOW | 2 DENY;  proto 0 any | 1 icmp | 6 tcp | 17 udp (ports 0-65535 when any/icmp)
//   nsrc   0xFFFF = any source (no addresses follow); otherwise that many overlay addresses
//
// REVOKED (type 41, hub -> ACL-capable peers): keys the hub operator revoked (`meshd hub revoke`);
// the peer closes its sessions with them and refuses their handshakes.
//   0  type u8 (41) | 1 seq u32 LE | 5 count u16 LE | 7 public_key [32] [count]
import { viewOf } from '../util/bytes.js';
import { DecodeError } from '../util/errors.js';

/** Control types 40+ are the ACL/revocation family (protocol). */
export const ACL_POLICY_TYPE = 40;
/** REVOKED: keys whose sessions a peer must close and whose handshakes it must refuse (protocol). */
export const REVOKED_TYPE = 41;
export const REVOKED_HEADER_BYTES = 7;
/** Keys per REVOKED message so it fits one datagram (the hub sends several for more). */
export const REVOKED_MAX_KEYS = 32;

export enum AclMode {
  OPEN = 0,
  ENFORCE = 1,
}
export enum AclAction {
  ALLOW = 1,
  DENY = 2,
}
export const aclActionName: Readonly<Record<AclAction, string>> = { [AclAction.ALLOW]: 'allow', [AclAction.DENY]: 'deny' };
/** IP protocol numbers a rule may name; 0 = any. */
export const aclProtos = [0, 1, 6, 17] as const;
export type AclProto = (typeof aclProtos)[number];

export const ACL_HEADER_BYTES = 12;
export const ACL_RULE_FIXED_BYTES = 10;
/** nsrc value meaning "any source". */
export const ACL_ANY_SOURCE = 0xffff;
/** Protocol: a policy message fits one datagram with room for the seal (hub refuses larger). */
export const ACL_MAX_BYTES = 1200;

export interface WireAclRule {
  rule: number;
  action: AclAction;
  proto: AclProto;
  portLo: number;
  portHi: number;
  /** undefined = any source. */
  sources: number[] | undefined;
}

export interface AclPolicyMessage {
  seq: number;
  version: number;
  mode: AclMode;
  rules: WireAclRule[];
}

export function aclPolicyBytes(m: { readonly rules: readonly WireAclRule[] }): number {
  return ACL_HEADER_BYTES + m.rules.reduce((n, r) => n + ACL_RULE_FIXED_BYTES + 4 * (r.sources?.length ?? 0), 0);
}

export function encodeAclPolicy(m: AclPolicyMessage): Uint8Array {
  if (m.rules.length > 0xffff) throw new RangeError('acl: too many rules');
  const out = new Uint8Array(aclPolicyBytes(m));
  const v = viewOf(out);
  v.setUint8(0, ACL_POLICY_TYPE);
  v.setUint32(1, m.seq >>> 0, true);
  v.setUint32(5, m.version >>> 0, true);
  v.setUint8(9, m.mode);
  v.setUint16(10, m.rules.length, true);
  let o = ACL_HEADER_BYTES;
  for (const r of m.rules) {
    if (r.sources !== undefined && r.sources.length >= ACL_ANY_SOURCE) throw new RangeError('acl: too many sources');
    v.setUint16(o, r.rule, true);
    v.setUint8(o + 2, r.action);
    v.setUint8(o + 3, r.proto);
    v.setUint16(o + 4, r.portLo, true);
    v.setUint16(o + 6, r.portHi, true);
    v.setUint16(o + 8, r.sources === undefined ? ACL_ANY_SOURCE : r.sources.length, true);
    o += ACL_RULE_FIXED_BYTES;
    for (const s of r.sources ?? []) {
      v.setUint32(o, s >>> 0, false);
      o += 4;
    }
  }
  return out;
}

export function decodeAclPolicy(b: Uint8Array): AclPolicyMessage {
  if (b.byteLength < ACL_HEADER_BYTES) throw new DecodeError(`acl: short header (${b.byteLength} bytes)`);
  const v = viewOf(b);
  if (v.getUint8(0) !== ACL_POLICY_TYPE) throw new DecodeError(`acl: type ${v.getUint8(0)}`, 'DECODE_UNKNOWN_TYPE');
  const seq = v.getUint32(1, true);
  const version = v.getUint32(5, true);
  const mode = v.getUint8(9);
  if (mode !== AclMode.OPEN && mode !== AclMode.ENFORCE) throw new DecodeError(`acl: mode ${mode}`);
  const count = v.getUint16(10, true);
  const rules: WireAclRule[] = [];
  let o = ACL_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (o + ACL_RULE_FIXED_BYTES > b.byteLength) throw new DecodeError(`acl: short rule ${i}`);
    const action = v.getUint8(o + 2);
    if (action !== AclAction.ALLOW && action !== AclAction.DENY) throw new DecodeError(`acl: rule ${i} action ${action}`);
    const proto = v.getUint8(o + 3);
    if (!(aclProtos as readonly number[]).includes(proto)) throw new DecodeError(`acl: rule ${i} protocol ${proto}`);
    const portLo = v.getUint16(o + 4, true);
    const portHi = v.getUint16(o + 6, true);
    if (portLo > portHi) throw new DecodeError(`acl: rule ${i} ports ${portLo}-${portHi}`);
    const nsrc = v.getUint16(o + 8, true);
    const rule = v.getUint16(o, true);
    o += ACL_RULE_FIXED_BYTES;
    let sources: number[] | undefined;
    if (nsrc !== ACL_ANY_SOURCE) {
      if (o + 4 * nsrc > b.byteLength) throw new DecodeError(`acl: rule ${i} short sources`);
      sources = [];
      for (let k = 0; k < nsrc; k++, o += 4) sources.push(v.getUint32(o, false));
    }
    rules.push({ rule, action, proto: proto as AclProto, portLo, portHi, sources });
  }
  if (o !== b.byteLength) throw new DecodeError(`acl: ${b.byteLength - o} trailing bytes`);
  return { seq, version, mode, rules };
}

export interface RevokedMessage {
  seq: number;
  keys: Uint8Array[];
}

export function encodeRevoked(m: RevokedMessage): Uint8Array {
  if (m.keys.length > REVOKED_MAX_KEYS) throw new RangeError('revoked: too many keys');
  const out = new Uint8Array(REVOKED_HEADER_BYTES + 32 * m.keys.length);
  const v = viewOf(out);
  v.setUint8(0, REVOKED_TYPE);
  v.setUint32(1, m.seq >>> 0, true);
  v.setUint16(5, m.keys.length, true);
  m.keys.forEach((k, i) => {
    if (k.byteLength !== 32) throw new RangeError('revoked: a public key is 32 bytes');
    out.set(k, REVOKED_HEADER_BYTES + 32 * i);
  });
  return out;
}

export function decodeRevoked(b: Uint8Array): RevokedMessage {
  if (b.byteLength < REVOKED_HEADER_BYTES) throw new DecodeError(`revoked: short header (${b.byteLength} bytes)`);
  const v = viewOf(b);
  if (v.getUint8(0) !== REVOKED_TYPE) throw new DecodeError(`revoked: type ${v.getUint8(0)}`, 'DECODE_UNKNOWN_TYPE');
  const count = v.getUint16(5, true);
  if (count > REVOKED_MAX_KEYS) throw new DecodeError(`revoked: ${count} keys`);
  if (b.byteLength !== REVOKED_HEADER_BYTES + 32 * count) throw new DecodeError(`revoked: ${b.byteLength} bytes for ${count} keys`);
  const keys: Uint8Array[] = [];
  for (let i = 0; i < count; i++) keys.push(b.slice(REVOKED_HEADER_BYTES + 32 * i, REVOKED_HEADER_BYTES + 32 * (i + 1)));
  return { seq: v.getUint32(1, true), keys };
}
