// ACL_POLICY_DELTA (control type 62, hub -> peer): a peer's compiled ACL policy as changes against a
// version it holds, or (base 0) whole, in one or more parts the peer applies atomically once all are
// in (docs/ACL.md "Deltas and parts"). Sent only to peers whose REGISTER carried the ACL_DELTA
// capability (wire/control.ts REGISTER ext); others get ACL_POLICY (type 40, wire/acl.ts).
//
//   0  type u8 (62) | 1 seq u32 LE | 5 base u32 LE | 9 version u32 LE | 13 mode u8 | 14 part u8 |
//   15 parts u8 | 16 nrules u16 LE | 18 count u16 LE | 20 entry [count]
//   entry  = index u16 LE | op u8 | body
//     op 1 DEFINE  rule_id u16 LE | action u8 | proto u8 | port_lo u16 LE | port_hi u16 LE | any u8
//                  (rule `index` is this rule, with no sources yet; any 1 = any source, 0 = listed)
//     op 2 ADD     n u16 LE | src u32 BE [n]      (sources added to rule `index`)
//     op 3 REMOVE  n u16 LE | src u32 BE [n]      (sources removed from rule `index`)
//   base 0 = from nothing: the parts DEFINE every index < nrules (a whole policy). base != 0: applies
//   to the peer's policy of version `base` (same mode, nrules rules). parts 1..48, part < parts;
//   every part of one version repeats base, version, mode and nrules.
import { viewOf } from '../util/bytes.js';
import { DecodeError } from '../util/errors.js';
import { AclAction, aclProtos, AclMode, type AclProto } from './acl.js';

/** Control type 62 (allocation: policydelta, session 6). 63 stays reserved for the ACL family. */
export const ACL_DELTA_TYPE = 62;
export const ACL_DELTA_HEADER_BYTES = 20;
/** Protocol: one part fits one datagram with room for the seal (the hub's ACL_MAX_BYTES). */
export const ACL_DELTA_MAX_PART_BYTES = 1200;
/** Protocol: at most this many parts per version (the peer's assembly bound): ~14,000 sources, and
 * within the hub's 64 reliable messages pending per member (hub/control-budget.ts). */
export const ACL_DELTA_MAX_PARTS = 48;

export enum AclOpKind {
  DEFINE = 1,
  ADD = 2,
  REMOVE = 3,
}
export const aclOpName: Readonly<Record<AclOpKind, string>> = { [AclOpKind.DEFINE]: 'define', [AclOpKind.ADD]: 'add', [AclOpKind.REMOVE]: 'remove' };

export type AclOp =
  | { op: AclOpKind.DEFINE; index: number; rule: number; action: AclAction; proto: AclProto; portLo: number; portHi: number; any: boolean }
  | { op: AclOpKind.ADD | AclOpKind.REMOVE; index: number; sources: number[] };

export interface AclDeltaMessage {
  seq: number;
  /** 0 = a whole policy (from nothing). */
  base: number;
  version: number;
  mode: AclMode;
  part: number;
  parts: number;
  /** Rules of the policy at `version`. */
  nrules: number;
  ops: AclOp[];
}

const DEFINE_BYTES = 3 + 9;
const LIST_FIXED_BYTES = 3 + 2;

export function aclOpBytes(o: AclOp): number {
  return o.op === AclOpKind.DEFINE ? DEFINE_BYTES : LIST_FIXED_BYTES + 4 * o.sources.length;
}

export function aclDeltaBytes(m: Pick<AclDeltaMessage, 'ops'>): number {
  return ACL_DELTA_HEADER_BYTES + m.ops.reduce((n, o) => n + aclOpBytes(o), 0);
}

export function encodeAclDelta(m: AclDeltaMessage): Uint8Array {
  if (m.ops.length > 0xffff || m.nrules > 0xffff) throw new RangeError('acl delta: too many entries');
  const out = new Uint8Array(aclDeltaBytes(m));
  const v = viewOf(out);
  v.setUint8(0, ACL_DELTA_TYPE);
  v.setUint32(1, m.seq >>> 0, true);
  v.setUint32(5, m.base >>> 0, true);
  v.setUint32(9, m.version >>> 0, true);
  v.setUint8(13, m.mode);
  v.setUint8(14, m.part);
  v.setUint8(15, m.parts);
  v.setUint16(16, m.nrules, true);
  v.setUint16(18, m.ops.length, true);
  let o = ACL_DELTA_HEADER_BYTES;
  for (const e of m.ops) {
    v.setUint16(o, e.index, true);
    v.setUint8(o + 2, e.op);
    o += 3;
    if (e.op === AclOpKind.DEFINE) {
      v.setUint16(o, e.rule, true);
      v.setUint8(o + 2, e.action);
      v.setUint8(o + 3, e.proto);
      v.setUint16(o + 4, e.portLo, true);
      v.setUint16(o + 6, e.portHi, true);
      v.setUint8(o + 8, e.any ? 1 : 0);
      o += 9;
      continue;
    }
    if (e.sources.length > 0xffff) throw new RangeError('acl delta: too many sources in one entry');
    v.setUint16(o, e.sources.length, true);
    o += 2;
    for (const s of e.sources) {
      v.setUint32(o, s >>> 0, false);
      o += 4;
    }
  }
  return out;
}

export function decodeAclDelta(b: Uint8Array): AclDeltaMessage {
  if (b.byteLength < ACL_DELTA_HEADER_BYTES) throw new DecodeError(`acl delta: short header (${b.byteLength} bytes)`);
  const v = viewOf(b);
  if (v.getUint8(0) !== ACL_DELTA_TYPE) throw new DecodeError(`acl delta: type ${v.getUint8(0)}`, 'DECODE_UNKNOWN_TYPE');
  const mode = v.getUint8(13);
  if (mode !== AclMode.OPEN && mode !== AclMode.ENFORCE) throw new DecodeError(`acl delta: mode ${mode}`);
  const part = v.getUint8(14);
  const parts = v.getUint8(15);
  if (parts === 0 || parts > ACL_DELTA_MAX_PARTS || part >= parts) throw new DecodeError(`acl delta: part ${part} of ${parts}`);
  const nrules = v.getUint16(16, true);
  const count = v.getUint16(18, true);
  const ops: AclOp[] = [];
  let o = ACL_DELTA_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (o + 3 > b.byteLength) throw new DecodeError(`acl delta: short entry ${i}`);
    const index = v.getUint16(o, true);
    const op = v.getUint8(o + 2);
    if (index >= nrules) throw new DecodeError(`acl delta: entry ${i} index ${index} of ${nrules} rules`);
    o += 3;
    if (op === AclOpKind.DEFINE) {
      if (o + 9 > b.byteLength) throw new DecodeError(`acl delta: short rule ${i}`);
      const action = v.getUint8(o + 2);
      if (action !== AclAction.ALLOW && action !== AclAction.DENY) throw new DecodeError(`acl delta: entry ${i} action ${action}`);
      const proto = v.getUint8(o + 3);
      if (!(aclProtos as readonly number[]).includes(proto)) throw new DecodeError(`acl delta: entry ${i} protocol ${proto}`);
      const portLo = v.getUint16(o + 4, true);
      const portHi = v.getUint16(o + 6, true);
      if (portLo > portHi) throw new DecodeError(`acl delta: entry ${i} ports ${portLo}-${portHi}`);
      const any = v.getUint8(o + 8);
      if (any > 1) throw new DecodeError(`acl delta: entry ${i} any ${any}`);
      ops.push({ op, index, rule: v.getUint16(o, true), action, proto: proto as AclProto, portLo, portHi, any: any === 1 });
      o += 9;
    } else if (op === AclOpKind.ADD || op === AclOpKind.REMOVE) {
      if (o + 2 > b.byteLength) throw new DecodeError(`acl delta: short list ${i}`);
      const n = v.getUint16(o, true);
      o += 2;
      if (o + 4 * n > b.byteLength) throw new DecodeError(`acl delta: entry ${i} short sources`);
      const sources: number[] = [];
      for (let k = 0; k < n; k++, o += 4) sources.push(v.getUint32(o, false));
      ops.push({ op, index, sources });
    } else {
      throw new DecodeError(`acl delta: entry ${i} op ${op}`);
    }
  }
  if (o !== b.byteLength) throw new DecodeError(`acl delta: ${b.byteLength - o} trailing bytes`);
  return { seq: v.getUint32(1, true), base: v.getUint32(5, true), version: v.getUint32(9, true), mode, part, parts, nrules, ops };
}

/** Cuts one version's ops into parts of at most `maxBytes` each (a long ADD/REMOVE list is split
 * across parts), seq 0 (the sender writes each part's seq). Empty ops = one part with no entries.
 * Throws RangeError past ACL_DELTA_MAX_PARTS (the hub counts it as too large). */
export function splitAclDelta(h: Omit<AclDeltaMessage, 'seq' | 'part' | 'parts' | 'ops'>, ops: readonly AclOp[], maxBytes = ACL_DELTA_MAX_PART_BYTES): AclDeltaMessage[] {
  const room = maxBytes - ACL_DELTA_HEADER_BYTES;
  const chunks: AclOp[][] = [[]];
  let used = 0;
  const push = (e: AclOp): void => {
    const n = aclOpBytes(e);
    if (used + n > room) {
      chunks.push([]);
      used = 0;
    }
    chunks[chunks.length - 1]!.push(e);
    used += n;
  };
  for (const e of ops) {
    if (e.op === AclOpKind.DEFINE) {
      push(e);
      continue;
    }
    let k = 0;
    do {
      let fit = Math.floor((room - used - LIST_FIXED_BYTES) / 4);
      if (fit < 1 && k < e.sources.length) {
        chunks.push([]);
        used = 0;
        fit = Math.floor((room - LIST_FIXED_BYTES) / 4);
      }
      const take = e.sources.slice(k, k + Math.max(0, fit));
      push({ op: e.op, index: e.index, sources: take });
      k += take.length;
    } while (k < e.sources.length);
  }
  if (chunks.length > ACL_DELTA_MAX_PARTS) throw new RangeError(`acl delta: ${chunks.length} parts`);
  return chunks.map((c, part) => ({ seq: 0, ...h, part, parts: chunks.length, ops: c }));
}
