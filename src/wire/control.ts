// Control messages: the body of an inner CONTROL message, peer <-> hub only (PROTOCOL.md "Control
// messages"). Used by src/hub (server, map sender) and src/peer/hub-client.ts.
//
//   0  type u8 | 1 seq u32 LE | 5 body (per type)
//   ep       = family u8 (4|6) | address [4|16] | port u16 LE         (7 or 19 bytes, wire/endpoint.ts)
//   str      = len u8 | UTF-8 [len]                                             (<= 255 bytes)
//   eps      = count u8 | ep [count]
//   ip6      = 16 bytes, network order; all zero = none
//   REGISTER (60)    version u8 | overlay u32 BE | prefix u8 | name str | lan eps | boot_id u64 LE | flags u8
//                    [| nat] [| overlay6 ip6 | prefix6 u8]
//                    version = PROTOCOL_VERSION; the hub reads nothing after a version it does not
//                    speak and answers REGISTER_REFUSED VERSION. A protocol-1 REGISTER (type 1, 6-byte
//                    endpoints) is refused too, as BAD_REQUEST with a text an old peer can print.
//                    overlay 0 (prefix 0) = assign me one; flags bit 0 NAME_HINT = name is the host
//                    name, the hub may number it; unknown flag bits and bytes after the known fields are
//                    ignored (a newer peer, an older hub); nat = nat class (wire/nat-class.ts, 6 bytes)
//                    when flags bit 2 NAT_INFO; overlay6/prefix6 when flags bit 4 OVERLAY6 (overlay6
//                    all zero = assign me one)
//                    [| ext*] ext = kind u8 | len u8 | value [len] to the end (session 6): kind 1 CAPS
//                    value[0] = capability bits (REGISTER_CAP_*); unknown kinds are skipped, a cut ext
//                    ends the list (an older hub skips them all). New capabilities go here, not in
//                    flags (all 8 flag bits are taken). kind 2 RELAY_BUDGET (len 0): send me
//                    RELAY_BUDGET (type 64, wire/relay-budget.ts) after REGISTER_OK (session 8).
//   REGISTER_OK      observed ep | heartbeat_ms u32 LE [| overlay u32 BE | prefix u8 | name str
//                    [| overlay6 ip6 | prefix6 u8]]
//                    the address and name the hub assigned; absent = as requested
//   REGISTER_REFUSED reason u8 | text str
//   MAP              version u32 | base u32 | part u16 | parts u16 | count u16 | entry [count]
//     entry          op u8 | public_key [32] | overlay u32 BE [| overlay6 ip6] | boot_id u64 | name str |
//                    reflexive ep | lan eps
//                    op: low 7 bits 1 UPSERT, 2 REMOVE; bit 7 OVERLAY6 = overlay6 follows the overlay
//                    (absent: the member has no overlay IPv6 address; a v4-only map pays no bytes)
//   ACK              -
//   HEARTBEAT        map_version u32 | lan eps [| nat]      nat only from peers whose REGISTER set NAT_INFO
//   HEARTBEAT_OK     observed ep | map_version u32
//   GOODBYE          -
//   HOME_MOVED       -   (p->h: this member registered on another hub of the network, a faster
//                    one; its old home drops it at once but keeps the session: it is the standby now)
//   PUNCH_REQUEST    target overlay u32 BE
//   PUNCH            public_key [32] | overlay u32 BE | count u8 | (kind u8 | ep) [count] [| nat]
//                    nat = the partner's class, only to peers whose REGISTER set NAT_INFO
//   PUBLISH          name str | public_port u16 LE                      (docs/PUBLISH.md)
//   PUBLISH_OK       name str | public_port u16 LE
//   PUBLISH_REFUSED  name str | reason u8 | text str
//   STREAM_OPEN      conv u32 LE | name str | visitor ep
//   ROUTE_OFFER      routes offered by the sender (wire/routes.ts), ACKed
//   MAP_EXT          admitted and refused routes of every member (wire/routes.ts), ACKed; only to
//                    peers whose REGISTER set flag 0x02 ROUTES, so older peers never see it
import { DecodeError } from '../util/errors.js';
import { viewOf } from '../util/bytes.js';
import { formatIpv6, IPV6_BYTES, isZeroIpv6, parseIpv6 } from '../util/ipv6.js';
import type { WireEndpoint } from './inner.js';
import { endpointBytes, ENDPOINT_V6_BYTES, readEndpoint, writeEndpoint } from './endpoint.js';
import { readMapExt, readRouteOffer, writeMapExt, writeRouteOffer, type ExtRoute, type RoutePrefix } from './routes.js';
import { decodeNatClass, encodeNatClass, NAT_CLASS_BYTES, type NatClass } from './nat-class.js';

/**
 * Protocol version (both sides must agree): REGISTER carries it and the hub refuses any other.
 * 1: IPv4-only 6-byte endpoints (REGISTER was type 1). 2: family-tagged endpoints, overlay6 fields.
 */
export const PROTOCOL_VERSION = 2;
/** The control type protocol-1 peers sent REGISTER as; decoding it throws ProtocolVersionError. */
export const REGISTER_V1_TYPE = 1;

export enum ControlType {
  /** Numbered apart from protocol 1's REGISTER (type 1), so a hub tells the versions apart. */
  REGISTER = 60,
  REGISTER_OK = 2,
  REGISTER_REFUSED = 3,
  MAP = 4,
  ACK = 5,
  HEARTBEAT = 6,
  HEARTBEAT_OK = 7,
  GOODBYE = 8,
  PUNCH_REQUEST = 9,
  PUNCH = 10,
  PUBLISH = 11,
  PUBLISH_OK = 12,
  PUBLISH_REFUSED = 13,
  STREAM_OPEN = 14,
  /** Issue 23: numbered apart from the others so parallel additions do not collide. */
  ROUTE_OFFER = 30,
  MAP_EXT = 31,
  /** Issue 24 (several hubs): numbered in the block 60-63 given to it (60 is REGISTER). */
  HOME_MOVED = 61,
}

export const controlTypeName: Readonly<Record<ControlType, string>> = {
  [ControlType.REGISTER]: 'REGISTER',
  [ControlType.REGISTER_OK]: 'REGISTER_OK',
  [ControlType.REGISTER_REFUSED]: 'REGISTER_REFUSED',
  [ControlType.MAP]: 'MAP',
  [ControlType.ACK]: 'ACK',
  [ControlType.HEARTBEAT]: 'HEARTBEAT',
  [ControlType.HEARTBEAT_OK]: 'HEARTBEAT_OK',
  [ControlType.GOODBYE]: 'GOODBYE',
  [ControlType.PUNCH_REQUEST]: 'PUNCH_REQUEST',
  [ControlType.PUNCH]: 'PUNCH',
  [ControlType.PUBLISH]: 'PUBLISH',
  [ControlType.PUBLISH_OK]: 'PUBLISH_OK',
  [ControlType.PUBLISH_REFUSED]: 'PUBLISH_REFUSED',
  [ControlType.STREAM_OPEN]: 'STREAM_OPEN',
  [ControlType.ROUTE_OFFER]: 'ROUTE_OFFER',
  [ControlType.MAP_EXT]: 'MAP_EXT',
  [ControlType.HOME_MOVED]: 'HOME_MOVED',
};

/** Why the hub refused a PUBLISH (protocol: both sides must agree). */
export enum PublishRefusal {
  PORT_NOT_ALLOWED = 1,
  NAME_TAKEN = 2,
  PORT_IN_USE = 3,
  LISTEN_FAILED = 4,
  BAD_REQUEST = 5,
  NOT_REGISTERED = 6,
  /** The member already publishes the hub's --publish-max-services. */
  TOO_MANY_SERVICES = 7,
}

export const publishRefusalName: Readonly<Record<PublishRefusal, string>> = {
  [PublishRefusal.PORT_NOT_ALLOWED]: 'PORT_NOT_ALLOWED',
  [PublishRefusal.NAME_TAKEN]: 'NAME_TAKEN',
  [PublishRefusal.PORT_IN_USE]: 'PORT_IN_USE',
  [PublishRefusal.LISTEN_FAILED]: 'LISTEN_FAILED',
  [PublishRefusal.BAD_REQUEST]: 'BAD_REQUEST',
  [PublishRefusal.NOT_REGISTERED]: 'NOT_REGISTERED',
  [PublishRefusal.TOO_MANY_SERVICES]: 'TOO_MANY_SERVICES',
};

export enum RefusalReason {
  ADDRESS_IN_USE = 1,
  OUTSIDE_NETWORK = 2,
  NAME_TAKEN = 3,
  KEY_NOT_ALLOWED = 4,
  BAD_REQUEST = 5,
  /** The peer speaks another protocol version (PROTOCOL_VERSION). */
  VERSION = 6,
  /** The hub cannot make the claim unique now (cut from the shared state, `--cluster`): try again
   * later. A peer older than this reason drops the refusal as malformed and retries, as it did when
   * such a REGISTER went unanswered. */
  UNAVAILABLE = 7,
}

export const refusalReasonName: Readonly<Record<RefusalReason, string>> = {
  [RefusalReason.ADDRESS_IN_USE]: 'ADDRESS_IN_USE',
  [RefusalReason.OUTSIDE_NETWORK]: 'OUTSIDE_NETWORK',
  [RefusalReason.NAME_TAKEN]: 'NAME_TAKEN',
  [RefusalReason.KEY_NOT_ALLOWED]: 'KEY_NOT_ALLOWED',
  [RefusalReason.BAD_REQUEST]: 'BAD_REQUEST',
  [RefusalReason.VERSION]: 'VERSION',
  [RefusalReason.UNAVAILABLE]: 'UNAVAILABLE',
};

/** A REGISTER of another protocol version: the hub answers REGISTER_REFUSED instead of misparsing. */
export class ProtocolVersionError extends DecodeError {
  constructor(
    readonly version: number,
    readonly seq: number,
  ) {
    super(`control: REGISTER of protocol version ${version}, this side speaks ${PROTOCOL_VERSION}`, 'DECODE_VERSION');
  }
}

/** REGISTER flags (protocol). */
export const REGISTER_FLAG_NAME_HINT = 0x01;
/** The peer wants MAP_EXT (routes); a hub that does not know the bit ignores it. */
export const REGISTER_FLAG_ROUTES = 0x02;
/** The REGISTER (and later HEARTBEATs) carry the peer's NAT class; PUNCH may carry the partner's. */
export const REGISTER_FLAG_NAT_INFO = 0x04;
/** The peer enforces ACL_POLICY and honours REVOKED (wire/acl.ts). */
export const REGISTER_FLAG_ACL = 0x08;
/** The REGISTER carries overlay6/prefix6 (overlay IPv6, issue 22); set by encodeControl when overlay6 is given. */
export const REGISTER_FLAG_OVERLAY6 = 0x10;
/** REGISTER ext kind: capability bits (protocol). */
export const REGISTER_EXT_CAPS = 1;
/** REGISTER ext kind: the peer reads RELAY_BUDGET (wire/relay-budget.ts); empty value (protocol). */
export const REGISTER_EXT_RELAY_BUDGET = 2;
/** Capability: the peer applies ACL_POLICY_DELTA (type 62, wire/acl-delta.ts), whole and in parts. */
export const REGISTER_CAP_ACL_DELTA = 0x01;

/** What the hub gave a peer in REGISTER_OK. */
export interface Assigned {
  overlay: number;
  prefix: number;
  name: string;
  /** The overlay IPv6 address (canonical text) and prefix length, when the hub assigned one. */
  overlay6?: string;
  prefix6?: number;
}

export enum MapOp {
  UPSERT = 1,
  REMOVE = 2,
}

export enum CandidateKind {
  LAN = 1,
  PUBLIC = 2,
}

export const CONTROL_HEADER_BYTES = 5;
/** The largest encoded endpoint (an IPv6 one); sizes computed from it are upper bounds. */
export const ENDPOINT_BYTES = ENDPOINT_V6_BYTES;
export const PUBLIC_KEY_BYTES = 32;
/** Fixed part of a MAP entry without its reflexive endpoint and overlay6 (op, key, overlay, boot
 * id, name len, lan count). */
export const MAP_ENTRY_FIXED_BYTES = 1 + 32 + 4 + 8 + 1 + 1;
/** MAP entry op bit: overlay6 [16] follows the overlay (protocol). */
export const MAP_OP_FLAG_OVERLAY6 = 0x80;
export const MAP_HEADER_BYTES = CONTROL_HEADER_BYTES + 4 + 4 + 2 + 2 + 2;
/** Protocol: at most this many LAN endpoints per node (keeps a MAP entry small). */
export const MAX_LAN_ENDPOINTS = 8;

export interface Candidate {
  kind: CandidateKind;
  endpoint: WireEndpoint;
}

export interface MapEntry {
  op: MapOp;
  publicKey: Uint8Array;
  overlay: number;
  /** The member's overlay IPv6 address (canonical text); absent = none (op bit OVERLAY6 clear). */
  overlay6?: string;
  bootId: bigint;
  name: string;
  reflexive: WireEndpoint;
  lan: WireEndpoint[];
}

export type ControlMessage =
  | {
      type: ControlType.REGISTER;
      seq: number;
      overlay: number;
      prefix: number;
      name: string;
      lan: WireEndpoint[];
      bootId: bigint;
      flags?: number;
      nat?: NatClass;
      /** Present iff flag OVERLAY6: the overlay IPv6 address asked for ("::" = assign me one). */
      overlay6?: string;
      prefix6?: number;
      /** Capability bits (REGISTER_CAP_*) sent as ext CAPS; absent or 0 = none. */
      caps?: number;
      /** Sent as ext RELAY_BUDGET: the peer wants the hub's relay budget (RELAY_BUDGET, type 64). */
      relayBudget?: boolean;
    }
  | { type: ControlType.REGISTER_OK; seq: number; observed: WireEndpoint; heartbeatMs: number; assigned?: Assigned }
  | { type: ControlType.REGISTER_REFUSED; seq: number; reason: RefusalReason; text: string }
  | { type: ControlType.MAP; seq: number; version: number; base: number; part: number; parts: number; entries: MapEntry[] }
  | { type: ControlType.ACK; seq: number }
  | { type: ControlType.HEARTBEAT; seq: number; mapVersion: number; lan: WireEndpoint[]; nat?: NatClass }
  | { type: ControlType.HEARTBEAT_OK; seq: number; observed: WireEndpoint; mapVersion: number }
  | { type: ControlType.GOODBYE; seq: number }
  | { type: ControlType.HOME_MOVED; seq: number }
  | { type: ControlType.PUNCH_REQUEST; seq: number; target: number }
  | { type: ControlType.PUNCH; seq: number; publicKey: Uint8Array; overlay: number; candidates: Candidate[]; nat?: NatClass }
  | { type: ControlType.PUBLISH; seq: number; name: string; port: number }
  | { type: ControlType.PUBLISH_OK; seq: number; name: string; port: number }
  | { type: ControlType.PUBLISH_REFUSED; seq: number; name: string; reason: PublishRefusal; text: string }
  | { type: ControlType.STREAM_OPEN; seq: number; conv: number; name: string; visitor: WireEndpoint }
  | { type: ControlType.ROUTE_OFFER; seq: number; prefixes: RoutePrefix[] }
  | { type: ControlType.MAP_EXT; seq: number; version: number; routes: ExtRoute[] };

const utf8 = new TextEncoder();

const utf8d = new TextDecoder('utf-8', { fatal: true });

class Writer {
  private buf = new Uint8Array(256);
  private v = viewOf(this.buf);
  private n = 0;
  private room(k: number): void {
    if (this.n + k <= this.buf.byteLength) return;
    const next = new Uint8Array(Math.max(this.buf.byteLength * 2, this.n + k));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.v = viewOf(next);
  }
  u8(x: number): void {
    this.room(1);
    this.v.setUint8(this.n, x);
    this.n += 1;
  }
  u16(x: number): void {
    this.room(2);
    this.v.setUint16(this.n, x, true);
    this.n += 2;
  }
  u32(x: number, le = true): void {
    this.room(4);
    this.v.setUint32(this.n, x >>> 0, le);
    this.n += 4;
  }
  u64(x: bigint): void {
    this.room(8);
    this.v.setBigUint64(this.n, BigInt.asUintN(64, x), true);
    this.n += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.byteLength);
    this.buf.set(b, this.n);
    this.n += b.byteLength;
  }
  str(s: string): void {
    const b = utf8.encode(s);
    if (b.byteLength > 255) throw new RangeError('control: string longer than 255 bytes');
    this.u8(b.byteLength);
    this.bytes(b);
  }
  ep(e: WireEndpoint): void {
    this.room(ENDPOINT_V6_BYTES);
    this.n += writeEndpoint(this.v, this.n, e);
  }
  ip6(address: string | undefined): void {
    if (address === undefined) return this.bytes(new Uint8Array(IPV6_BYTES));
    const b = parseIpv6(address);
    if (b === undefined) throw new TypeError(`not an IPv6 address: ${address}`);
    this.bytes(b);
  }
  eps(list: readonly WireEndpoint[]): void {
    if (list.length > MAX_LAN_ENDPOINTS) throw new RangeError('control: too many endpoints');
    this.u8(list.length);
    for (const e of list) this.ep(e);
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

class Reader {
  private off = 0;
  private readonly v: DataView;
  constructor(private readonly b: Uint8Array) {
    this.v = viewOf(b);
  }
  private need(k: number, what: string): void {
    if (this.off + k > this.b.byteLength) throw new DecodeError(`control: short ${what}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.v.getUint8(this.off++);
  }
  u16(what: string): number {
    this.need(2, what);
    const x = this.v.getUint16(this.off, true);
    this.off += 2;
    return x;
  }
  u32(what: string, le = true): number {
    this.need(4, what);
    const x = this.v.getUint32(this.off, le);
    this.off += 4;
    return x;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const x = this.v.getBigUint64(this.off, true);
    this.off += 8;
    return x;
  }
  bytes(k: number, what: string): Uint8Array {
    this.need(k, what);
    const out = this.b.slice(this.off, this.off + k);
    this.off += k;
    return out;
  }
  str(what: string): string {
    const n = this.u8(what);
    const b = this.bytes(n, what);
    try {
      return utf8d.decode(b);
    } catch {
      throw new DecodeError(`control: ${what} is not UTF-8`);
    }
  }
  ep(what: string): WireEndpoint {
    const { endpoint, bytes } = readEndpoint(this.v, this.off, this.b.byteLength, what);
    this.off += bytes;
    return endpoint;
  }
  /** 16 bytes as canonical text; all zero reads as undefined ("none") unless `zero` is wanted. */
  ip6(what: string, zero = false): string | undefined {
    const b = this.bytes(IPV6_BYTES, what);
    return !zero && isZeroIpv6(b) ? undefined : formatIpv6(b);
  }
  prefix6(what: string): number {
    const p = this.u8(what);
    if (p > 128) throw new DecodeError(`control: ${what} /${p}`);
    return p;
  }
  eps(what: string): WireEndpoint[] {
    const n = this.u8(what);
    if (n > MAX_LAN_ENDPOINTS) throw new DecodeError(`control: ${n} ${what}`);
    const out: WireEndpoint[] = [];
    for (let i = 0; i < n; i++) out.push(this.ep(what));
    return out;
  }
  skipRest(): void {
    this.off = this.b.byteLength;
  }
  left(): number {
    return this.b.byteLength - this.off;
  }
  atEnd(): boolean {
    return this.off === this.b.byteLength;
  }
  end(): void {
    if (this.off !== this.b.byteLength) throw new DecodeError(`control: ${this.b.byteLength - this.off} trailing bytes`);
  }
}

export function encodeControl(m: ControlMessage): Uint8Array {
  if (m.type === ControlType.ACK || m.type === ControlType.GOODBYE || m.type === ControlType.HOME_MOVED) return encodeSeqOnly(m.type, m.seq);
  const w = new Writer();
  w.u8(m.type);
  w.u32(m.seq);
  switch (m.type) {
    case ControlType.REGISTER: {
      w.u8(PROTOCOL_VERSION);
      w.u32(m.overlay, false);
      w.u8(m.prefix);
      w.str(m.name);
      w.eps(m.lan);
      w.u64(m.bootId);
      // The optional fields' bits follow the fields: set when present, clear when absent.
      const optional = (m.nat ? REGISTER_FLAG_NAT_INFO : 0) | (m.overlay6 !== undefined ? REGISTER_FLAG_OVERLAY6 : 0);
      w.u8(((m.flags ?? 0) & ~(REGISTER_FLAG_NAT_INFO | REGISTER_FLAG_OVERLAY6)) | optional);
      if (m.nat) w.bytes(encodeNatClass(m.nat));
      if (m.overlay6 !== undefined) {
        w.ip6(m.overlay6);
        w.u8(m.prefix6 ?? 0);
      }
      if (m.caps) {
        w.u8(REGISTER_EXT_CAPS);
        w.u8(1);
        w.u8(m.caps);
      }
      if (m.relayBudget) {
        w.u8(REGISTER_EXT_RELAY_BUDGET);
        w.u8(0);
      }
      break;
    }
    case ControlType.REGISTER_OK:
      w.ep(m.observed);
      w.u32(m.heartbeatMs);
      if (m.assigned) {
        w.u32(m.assigned.overlay, false);
        w.u8(m.assigned.prefix);
        w.str(m.assigned.name);
        if (m.assigned.overlay6 !== undefined) {
          w.ip6(m.assigned.overlay6);
          w.u8(m.assigned.prefix6 ?? 0);
        }
      }
      break;
    case ControlType.REGISTER_REFUSED:
      w.u8(m.reason);
      w.str(m.text);
      break;
    case ControlType.MAP:
      w.u32(m.version);
      w.u32(m.base);
      w.u16(m.part);
      w.u16(m.parts);
      w.u16(m.entries.length);
      for (const e of m.entries) {
        if (e.publicKey.byteLength !== PUBLIC_KEY_BYTES) throw new RangeError('control: public key must be 32 bytes');
        w.u8(e.op | (e.overlay6 !== undefined ? MAP_OP_FLAG_OVERLAY6 : 0));
        w.bytes(e.publicKey);
        w.u32(e.overlay, false);
        if (e.overlay6 !== undefined) w.ip6(e.overlay6);
        w.u64(e.bootId);
        w.str(e.name);
        w.ep(e.reflexive);
        w.eps(e.lan);
      }
      break;
    // ACK, GOODBYE and HOME_MOVED (only the seq) are written by encodeSeqOnly above.
    case ControlType.HEARTBEAT:
      w.u32(m.mapVersion);
      w.eps(m.lan);
      if (m.nat) w.bytes(encodeNatClass(m.nat));
      break;
    case ControlType.HEARTBEAT_OK:
      w.ep(m.observed);
      w.u32(m.mapVersion);
      break;
    case ControlType.PUNCH_REQUEST:
      w.u32(m.target, false);
      break;
    case ControlType.PUNCH:
      if (m.publicKey.byteLength !== PUBLIC_KEY_BYTES) throw new RangeError('control: public key must be 32 bytes');
      if (m.candidates.length > 255) throw new RangeError('control: too many candidates');
      w.bytes(m.publicKey);
      w.u32(m.overlay, false);
      w.u8(m.candidates.length);
      for (const c of m.candidates) {
        w.u8(c.kind);
        w.ep(c.endpoint);
      }
      if (m.nat) w.bytes(encodeNatClass(m.nat));
      break;
    case ControlType.PUBLISH:
    case ControlType.PUBLISH_OK:
      w.str(m.name);
      w.u16(m.port);
      break;
    case ControlType.PUBLISH_REFUSED:
      w.str(m.name);
      w.u8(m.reason);
      w.str(m.text);
      break;
    case ControlType.STREAM_OPEN:
      w.u32(m.conv);
      w.str(m.name);
      w.ep(m.visitor);
      break;
    case ControlType.ROUTE_OFFER:
      writeRouteOffer(w, m.prefixes);
      break;
    case ControlType.MAP_EXT:
      writeMapExt(w, m.version, m.routes);
      break;
  }
  return w.done();
}

/** Bytes of a control message that is only its type and seq (ACK, GOODBYE, HOME_MOVED). */
const SEQ_ONLY_BYTES = 5;

/** The u32 (little-endian, as the Writer writes it) at b[at..at+4). */
const u32At = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/**
 * The seq of an ACK that fills b from `at` to its end, else undefined: the hub reads a member's ACK
 * (one per MAP part per member) in place in the inner message, with no decode (hub/server.ts);
 * decodeControl gives the same seq for the same bytes.
 */
export function ackSeqAt(b: Uint8Array, at: number): number | undefined {
  return b.byteLength - at === SEQ_ONLY_BYTES && b[at] === ControlType.ACK ? u32At(b, at + 1) : undefined;
}

/** ACK, GOODBYE and HOME_MOVED: the bytes the Writer would give, without its 256-byte buffer. */
function encodeSeqOnly(type: ControlType, seq: number): Uint8Array {
  const b = new Uint8Array(SEQ_ONLY_BYTES);
  const s = seq >>> 0;
  b[0] = type;
  b[1] = s & 0xff;
  b[2] = (s >>> 8) & 0xff;
  b[3] = (s >>> 16) & 0xff;
  b[4] = s >>> 24;
  return b;
}

/** REGISTER's ext list (after the known fields): the CAPS bits and whether ext RELAY_BUDGET was
 * there; a cut or unknown ext is skipped. */
function registerCaps(r: Reader, exts?: { relayBudget?: boolean }): number {
  let caps = 0;
  while (r.left() >= 2) {
    const kind = r.u8('ext kind');
    const len = r.u8('ext length');
    if (len > r.left()) break;
    const value = r.bytes(len, 'ext value');
    if (kind === REGISTER_EXT_CAPS && len >= 1) caps = value[0]!;
    if (kind === REGISTER_EXT_RELAY_BUDGET && exts) exts.relayBudget = true;
  }
  return caps;
}

export function decodeControl(b: Uint8Array): ControlMessage {
  // The hub takes an ACK per MAP part per member (20,000 per change at 20,000 members): the messages
  // that are only a type and a seq skip the Reader. The same bytes decode the same either way.
  if (b.byteLength === SEQ_ONLY_BYTES) {
    const type = b[0];
    if (type === ControlType.ACK || type === ControlType.GOODBYE || type === ControlType.HOME_MOVED) return { type, seq: u32At(b, 1) };
  }
  const r = new Reader(b);
  const type = r.u8('type');
  if (type === REGISTER_V1_TYPE) throw new ProtocolVersionError(1, r.u32('seq'));
  if (!(type in controlTypeName)) throw new DecodeError(`control: unknown type ${type}`, 'DECODE_UNKNOWN_TYPE');
  const seq = r.u32('seq');
  let m: ControlMessage;
  switch (type as ControlType) {
    case ControlType.REGISTER: {
      const version = r.u8('version');
      if (version !== PROTOCOL_VERSION) throw new ProtocolVersionError(version, seq);
      const overlay = r.u32('overlay', false);
      const prefix = r.u8('prefix');
      if (prefix > 32) throw new DecodeError(`control: prefix /${prefix}`);
      m = { type, seq, overlay, prefix, name: r.str('name'), lan: r.eps('lan endpoints'), bootId: r.u64('boot id') };
      const flags = r.u8('flags');
      m.flags = flags;
      if ((flags & REGISTER_FLAG_NAT_INFO) !== 0) m.nat = decodeNatClass(r.bytes(NAT_CLASS_BYTES, 'nat class'));
      if ((flags & REGISTER_FLAG_OVERLAY6) !== 0) {
        m.overlay6 = r.ip6('overlay6', true);
        m.prefix6 = r.prefix6('prefix6');
      }
      const exts: { relayBudget?: boolean } = {};
      const caps = registerCaps(r, exts);
      if (exts.relayBudget) m.relayBudget = true;
      if (caps !== 0) m.caps = caps;
      r.skipRest(); // fields of newer peers (flag bits this hub does not know)
      break;
    }
    case ControlType.REGISTER_OK: {
      const observed = r.ep('observed');
      const heartbeatMs = r.u32('heartbeat');
      m = { type, seq, observed, heartbeatMs };
      if (!r.atEnd()) {
        const overlay = r.u32('assigned overlay', false);
        const prefix = r.u8('assigned prefix');
        if (prefix > 32) throw new DecodeError(`control: prefix /${prefix}`);
        m.assigned = { overlay, prefix, name: r.str('assigned name') };
        if (!r.atEnd()) {
          const overlay6 = r.ip6('assigned overlay6');
          const prefix6 = r.prefix6('assigned prefix6');
          if (overlay6 !== undefined) {
            m.assigned.overlay6 = overlay6;
            m.assigned.prefix6 = prefix6;
          }
        }
      }
      break;
    }
    case ControlType.REGISTER_REFUSED: {
      const reason = r.u8('reason');
      if (!(reason in refusalReasonName)) throw new DecodeError(`control: refusal reason ${reason}`);
      m = { type, seq, reason, text: r.str('text') };
      break;
    }
    case ControlType.MAP: {
      const version = r.u32('version');
      const base = r.u32('base');
      const part = r.u16('part');
      const parts = r.u16('parts');
      if (parts === 0 || part >= parts) throw new DecodeError(`control: MAP part ${part} of ${parts}`);
      const count = r.u16('entry count');
      const entries: MapEntry[] = [];
      for (let i = 0; i < count; i++) {
        const opByte = r.u8('op');
        const op = opByte & ~MAP_OP_FLAG_OVERLAY6;
        if (op !== MapOp.UPSERT && op !== MapOp.REMOVE) throw new DecodeError(`control: MAP op ${op}`);
        const publicKey = r.bytes(PUBLIC_KEY_BYTES, 'public key');
        const overlay = r.u32('overlay', false);
        const overlay6 = (opByte & MAP_OP_FLAG_OVERLAY6) !== 0 ? r.ip6('overlay6', true) : undefined;
        const entry: MapEntry = { op, publicKey, overlay, bootId: r.u64('boot id'), name: r.str('name'), reflexive: r.ep('reflexive'), lan: r.eps('lan endpoints') };
        if (overlay6 !== undefined) entry.overlay6 = overlay6;
        entries.push(entry);
      }
      m = { type, seq, version, base, part, parts, entries };
      break;
    }
    case ControlType.ACK:
    case ControlType.GOODBYE:
    case ControlType.HOME_MOVED:
      m = { type, seq };
      break;
    case ControlType.HEARTBEAT:
      m = { type, seq, mapVersion: r.u32('map version'), lan: r.eps('lan endpoints') };
      if (!r.atEnd()) m.nat = decodeNatClass(r.bytes(NAT_CLASS_BYTES, 'nat class'));
      break;
    case ControlType.HEARTBEAT_OK:
      m = { type, seq, observed: r.ep('observed'), mapVersion: r.u32('map version') };
      break;
    case ControlType.PUNCH_REQUEST:
      m = { type, seq, target: r.u32('target', false) };
      break;
    case ControlType.PUNCH: {
      const publicKey = r.bytes(PUBLIC_KEY_BYTES, 'public key');
      const overlay = r.u32('overlay', false);
      const n = r.u8('candidate count');
      const candidates: Candidate[] = [];
      for (let i = 0; i < n; i++) {
        const kind = r.u8('candidate kind');
        if (kind !== CandidateKind.LAN && kind !== CandidateKind.PUBLIC) throw new DecodeError(`control: candidate kind ${kind}`);
        candidates.push({ kind, endpoint: r.ep('candidate') });
      }
      m = { type, seq, publicKey, overlay, candidates };
      if (!r.atEnd()) m.nat = decodeNatClass(r.bytes(NAT_CLASS_BYTES, 'nat class'));
      break;
    }
    case ControlType.PUBLISH:
    case ControlType.PUBLISH_OK:
      m = { type, seq, name: r.str('service name'), port: r.u16('port') };
      break;
    case ControlType.PUBLISH_REFUSED: {
      const name = r.str('service name');
      const reason = r.u8('reason');
      if (!(reason in publishRefusalName)) throw new DecodeError(`control: publish refusal reason ${reason}`);
      m = { type, seq, name, reason, text: r.str('text') };
      break;
    }
    case ControlType.STREAM_OPEN:
      m = { type, seq, conv: r.u32('conv'), name: r.str('service name'), visitor: r.ep('visitor') };
      break;
    case ControlType.ROUTE_OFFER:
      m = { type, seq, prefixes: readRouteOffer(r) };
      break;
    case ControlType.MAP_EXT: {
      const ext = readMapExt(r);
      m = { type, seq, version: ext.version, routes: ext.routes };
      break;
    }
  }
  r.end();
  return m;
}

/** Encoded size of one MAP entry, so the hub can split a map into datagram-sized parts. */
export function mapEntryBytes(e: MapEntry): number {
  let n = MAP_ENTRY_FIXED_BYTES + utf8.encode(e.name).byteLength + endpointBytes(e.reflexive) + (e.overlay6 !== undefined ? IPV6_BYTES : 0);
  for (const l of e.lan) n += endpointBytes(l);
  return n;
}
