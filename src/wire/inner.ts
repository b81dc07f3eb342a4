// Inner messages: the plaintext of a TRANSPORT datagram (PROTOCOL.md "Inner messages"). Used by
// src/link (demux by kind), the hub (CONTROL, RELAY_TO/FROM) and the peer (PING/PONG, KCP, IP).
//
//   0  kind u8
//   KEEPALIVE  (0)  -
//   KCP        (1)  1 kcp datagram [n]
//   IP         (2)  1 ipv4 packet [n]
//   PING       (3)  1 txid u64 LE | 9 flags u8                                   = 10 bytes
//   PONG       (4)  1 txid u64 LE | 9 observed ep (wire/endpoint.ts)          = 16 or 28 bytes
//   CONTROL   (16)  1 control message [n] (wire/control.ts)
//   STREAM    (17)  1 op u8 | 2 conv u32 LE | 6 payload [n]   op 1 DATA: KCP datagram (stream mode),
//                                                            op 2 RESET: reason UTF-8 (docs/PUBLISH.md)
//   RELAY_TO  (32)  1 dst_overlay u32 BE | 5 outer datagram [n]
//   RELAY_FROM(33)  1 src_overlay u32 BE | 5 outer datagram [n]
import { DecodeError } from '../util/errors.js';
import { viewOf } from '../util/bytes.js';
import { endpointBytes, ENDPOINT_V4_BYTES, ENDPOINT_V6_BYTES, readEndpoint, writeEndpoint } from './endpoint.js';

export enum InnerKind {
  KEEPALIVE = 0,
  KCP = 1,
  IP = 2,
  PING = 3,
  PONG = 4,
  CONTROL = 16,
  STREAM = 17,
  RELAY_TO = 32,
  RELAY_FROM = 33,
}

export const innerKindName: Readonly<Record<InnerKind, string>> = {
  [InnerKind.KEEPALIVE]: 'KEEPALIVE',
  [InnerKind.KCP]: 'KCP',
  [InnerKind.IP]: 'IP',
  [InnerKind.PING]: 'PING',
  [InnerKind.PONG]: 'PONG',
  [InnerKind.CONTROL]: 'CONTROL',
  [InnerKind.STREAM]: 'STREAM',
  [InnerKind.RELAY_TO]: 'RELAY_TO',
  [InnerKind.RELAY_FROM]: 'RELAY_FROM',
};

export const INNER_HEADER_BYTES = 1;
export const PING_BYTES = 10;
/** A PONG with an IPv4 observed endpoint; with an IPv6 one it is PONG_V6_BYTES. */
export const PONG_BYTES = 9 + ENDPOINT_V4_BYTES;
export const PONG_V6_BYTES = 9 + ENDPOINT_V6_BYTES;
export const RELAY_HEADER_BYTES = 5;
/** kind, op, conv: the headroom a stream's KCP reserves in each datagram. */
export const STREAM_HEADER_BYTES = 6;

/** Writes the RELAY_TO / RELAY_FROM header (kind, overlay u32 BE) into out[0..5), for a datagram
 * already in place after it: the hub's rewrite of a RELAY_TO (hub/relay-rewrite.ts), a peer sealing
 * straight into the frame (link/link.ts relayFrame). encodeInner gives the same bytes. */
export function writeRelayHeader(out: Uint8Array, kind: InnerKind.RELAY_TO | InnerKind.RELAY_FROM, overlay: number): void {
  const o = overlay >>> 0;
  out[0] = kind;
  out[1] = o >>> 24;
  out[2] = (o >>> 16) & 0xff;
  out[3] = (o >>> 8) & 0xff;
  out[4] = o & 0xff;
}

/** STREAM ops (protocol: both sides must agree). */
export enum StreamOp {
  DATA = 1,
  RESET = 2,
}

/** PING flags (protocol: both sides must agree). */
export const PING_FLAG_PUNCH = 1;
export const PING_FLAG_USER = 2;
/** The sender speaks FEC (inner kinds 5 and 6, peer/fec-caps.ts); older peers ignore the bit. */
export const PING_FLAG_FEC = 4;
/** The sender does not know yet whether the receiver speaks FEC: answer with a PING_FLAG_FEC PING. */
export const PING_FLAG_FEC_ASK = 8;
/** The sender's own hub leg is TCP/TLS now (issue 21; peer/leg-caps.ts): the receiver's per-pair
 * transport decision reads it. Every PING states it; older peers neither set nor read the bit. */
export const PING_FLAG_STREAM_LEG = 64;

/** A UDP endpoint as carried on the wire (wire/endpoint.ts): dotted quad or canonical IPv6 text;
 * structurally the same as net/udp.ts Endpoint. */
export interface WireEndpoint {
  readonly address: string;
  readonly port: number;
}

export type InnerMessage =
  | { kind: InnerKind.KEEPALIVE }
  | { kind: InnerKind.KCP; payload: Uint8Array }
  | { kind: InnerKind.IP; packet: Uint8Array }
  | { kind: InnerKind.PING; txid: bigint; flags: number }
  | { kind: InnerKind.PONG; txid: bigint; observed: WireEndpoint }
  | { kind: InnerKind.CONTROL; body: Uint8Array }
  | { kind: InnerKind.STREAM; op: StreamOp; conv: number; payload: Uint8Array }
  | { kind: InnerKind.RELAY_TO; overlay: number; datagram: Uint8Array }
  | { kind: InnerKind.RELAY_FROM; overlay: number; datagram: Uint8Array };

/** The kind byte of an inner message without decoding the rest, or undefined when empty. */
export function innerKindOf(b: Uint8Array): InnerKind | undefined {
  const k = b[0];
  return k !== undefined && k in innerKindName ? (k as InnerKind) : undefined;
}

function withBody(kind: InnerKind, body: Uint8Array, headerBytes = INNER_HEADER_BYTES): Uint8Array {
  const out = new Uint8Array(headerBytes + body.byteLength);
  out[0] = kind;
  out.set(body, headerBytes);
  return out;
}

export function encodeInner(m: InnerMessage): Uint8Array {
  switch (m.kind) {
    case InnerKind.KEEPALIVE:
      return Uint8Array.of(InnerKind.KEEPALIVE);
    case InnerKind.KCP:
      return withBody(m.kind, m.payload);
    case InnerKind.IP:
      return withBody(m.kind, m.packet);
    case InnerKind.CONTROL:
      return withBody(m.kind, m.body);
    case InnerKind.PING: {
      const out = new Uint8Array(PING_BYTES);
      const v = viewOf(out);
      out[0] = m.kind;
      v.setBigUint64(1, BigInt.asUintN(64, m.txid), true);
      v.setUint8(9, m.flags & 0xff);
      return out;
    }
    case InnerKind.PONG: {
      const out = new Uint8Array(9 + endpointBytes(m.observed));
      const v = viewOf(out);
      out[0] = m.kind;
      v.setBigUint64(1, BigInt.asUintN(64, m.txid), true);
      writeEndpoint(v, 9, m.observed);
      return out;
    }
    case InnerKind.STREAM: {
      const out = withBody(m.kind, m.payload, STREAM_HEADER_BYTES);
      out[1] = m.op;
      viewOf(out).setUint32(2, m.conv >>> 0, true);
      return out;
    }
    case InnerKind.RELAY_TO:
    case InnerKind.RELAY_FROM: {
      const out = withBody(m.kind, m.datagram, RELAY_HEADER_BYTES);
      viewOf(out).setUint32(1, m.overlay >>> 0, false);
      return out;
    }
  }
}

/** Decodes an inner message. Byte fields are views into `b` (copy them to keep them). */
export function decodeInner(b: Uint8Array): InnerMessage {
  if (b.byteLength < INNER_HEADER_BYTES) throw new DecodeError('inner: empty');
  const kind = b[0]!;
  const v = viewOf(b);
  switch (kind) {
    case InnerKind.KEEPALIVE:
      if (b.byteLength !== 1) throw new DecodeError('inner: KEEPALIVE with a body');
      return { kind };
    case InnerKind.KCP:
      return { kind, payload: b.subarray(1) };
    case InnerKind.IP:
      return { kind, packet: b.subarray(1) };
    case InnerKind.CONTROL:
      return { kind, body: b.subarray(1) };
    case InnerKind.PING:
      if (b.byteLength !== PING_BYTES) throw new DecodeError(`inner: PING of ${b.byteLength} bytes`);
      return { kind, txid: v.getBigUint64(1, true), flags: v.getUint8(9) };
    case InnerKind.PONG: {
      if (b.byteLength !== PONG_BYTES && b.byteLength !== PONG_V6_BYTES) throw new DecodeError(`inner: PONG of ${b.byteLength} bytes`);
      const { endpoint, bytes } = readEndpoint(v, 9, b.byteLength, 'observed');
      if (9 + bytes !== b.byteLength) throw new DecodeError(`inner: PONG of ${b.byteLength} bytes`);
      return { kind, txid: v.getBigUint64(1, true), observed: endpoint };
    }
    case InnerKind.STREAM: {
      if (b.byteLength < STREAM_HEADER_BYTES) throw new DecodeError('inner: short STREAM header');
      const op = b[1]!;
      if (op !== StreamOp.DATA && op !== StreamOp.RESET) throw new DecodeError(`inner: STREAM op ${op}`);
      return { kind, op, conv: v.getUint32(2, true), payload: b.subarray(STREAM_HEADER_BYTES) };
    }
    case InnerKind.RELAY_TO:
    case InnerKind.RELAY_FROM:
      if (b.byteLength < RELAY_HEADER_BYTES) throw new DecodeError('inner: short RELAY header');
      return { kind, overlay: v.getUint32(1, false), datagram: b.subarray(RELAY_HEADER_BYTES) };
    default:
      throw new DecodeError(`inner: unknown kind ${kind}`, 'DECODE_UNKNOWN_TYPE');
  }
}
