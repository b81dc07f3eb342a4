// Codec of NAT_PROBE / NAT_PROBE_REPLY (docs/NAT.md): how a peer learns, from one socket, the public
// endpoint the hub sees on each of its two ports (the main one and the probe port, main + 1 unless
// --probe-port). The MACs are made and checked in crypto/nat-probe.ts; the hub answers in
// hub/probe-port.ts, the peer asks in nat/prober.ts. Types 0x20/0x21 are outside the link's outer
// types (wire/outer.ts), so a link that sees one drops it.
//
// NAT_PROBE (0x20), 64 bytes                NAT_PROBE_REPLY (0x21), 64 bytes
//   0  type | flags | 0 | 0                   0  type | flags (echoed) | 0 | 0
//   4  txid [12]                              4  txid [12] (echoed)
//   16 timestamp u64 BE (unix ms)             16 observed ip u32 BE | port u16 BE
//   24 zero padding [24]                      22 answering hub port u16 BE
//   48 mac [16]                               24 zero padding [24]
//                                             48 mac [16]
// Both are 64 bytes: the hub never sends more than it received (no reflection gain), and only to
// the request's source. flags bit 0 OTHER_PORT asks the reply from the hub's other port (filtering).
import { DecodeError } from '../util/errors.js';
import { ipv4ToU32, u32ToIpv4 } from '../util/ipv4.js';
import type { WireEndpoint } from './inner.js';

export const NAT_PROBE_TYPE = 0x20;
export const NAT_PROBE_REPLY_TYPE = 0x21;
export const NAT_PROBE_SIZE = 64;
export const NAT_PROBE_TXID_SIZE = 12;
export const NAT_PROBE_MAC_SIZE = 16;
export const NAT_PROBE_MAC_OFFSET = 48;
export const NAT_PROBE_FLAG_OTHER_PORT = 0x01;
const FLAGS_KNOWN = NAT_PROBE_FLAG_OTHER_PORT;

export interface NatProbe {
  flags: number;
  txid: Uint8Array;
  timestampMs: number;
  mac: Uint8Array;
}

export interface NatProbeReply {
  flags: number;
  txid: Uint8Array;
  observed: WireEndpoint;
  /** The hub port this reply was sent from. */
  hubPort: number;
  mac: Uint8Array;
}

/** 'probe' | 'reply' for a datagram of the right size and type, else undefined (cheap, no allocation). */
export function natProbeKind(d: Uint8Array): 'probe' | 'reply' | undefined {
  if (d.byteLength !== NAT_PROBE_SIZE || d[2] !== 0 || d[3] !== 0) return undefined;
  return d[0] === NAT_PROBE_TYPE ? 'probe' : d[0] === NAT_PROBE_REPLY_TYPE ? 'reply' : undefined;
}

function put(out: Uint8Array, at: number, b: Uint8Array, size: number, name: string): void {
  if (b.byteLength !== size) throw new RangeError(`${name} must be ${size} bytes`);
  out.set(b, at);
}

export function encodeNatProbe(m: NatProbe): Uint8Array {
  if (!Number.isSafeInteger(m.timestampMs) || m.timestampMs < 0) throw new RangeError('timestampMs must be a non-negative safe integer');
  const out = new Uint8Array(NAT_PROBE_SIZE);
  out[0] = NAT_PROBE_TYPE;
  out[1] = m.flags;
  put(out, 4, m.txid, NAT_PROBE_TXID_SIZE, 'txid');
  new DataView(out.buffer).setBigUint64(16, BigInt(m.timestampMs));
  put(out, NAT_PROBE_MAC_OFFSET, m.mac, NAT_PROBE_MAC_SIZE, 'mac');
  return out;
}

export function decodeNatProbe(d: Uint8Array): NatProbe {
  if (natProbeKind(d) !== 'probe') throw new DecodeError('NAT_PROBE: bad size, type or reserved bytes');
  if ((d[1]! & ~FLAGS_KNOWN) !== 0) throw new DecodeError(`NAT_PROBE: flags 0x${d[1]!.toString(16)}`);
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const ts = v.getBigUint64(16);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError('NAT_PROBE: timestamp out of range');
  for (let i = 24; i < NAT_PROBE_MAC_OFFSET; i++) if (d[i] !== 0) throw new DecodeError('NAT_PROBE: padding not zero');
  return { flags: d[1]!, txid: d.slice(4, 16), timestampMs: Number(ts), mac: d.slice(NAT_PROBE_MAC_OFFSET) };
}

export function encodeNatProbeReply(m: NatProbeReply): Uint8Array {
  const out = new Uint8Array(NAT_PROBE_SIZE);
  const v = new DataView(out.buffer);
  out[0] = NAT_PROBE_REPLY_TYPE;
  out[1] = m.flags;
  put(out, 4, m.txid, NAT_PROBE_TXID_SIZE, 'txid');
  v.setUint32(16, ipv4ToU32(m.observed.address), false);
  v.setUint16(20, m.observed.port, false);
  v.setUint16(22, m.hubPort, false);
  put(out, NAT_PROBE_MAC_OFFSET, m.mac, NAT_PROBE_MAC_SIZE, 'mac');
  return out;
}

export function decodeNatProbeReply(d: Uint8Array): NatProbeReply {
  if (natProbeKind(d) !== 'reply') throw new DecodeError('NAT_PROBE_REPLY: bad size, type or reserved bytes');
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  for (let i = 24; i < NAT_PROBE_MAC_OFFSET; i++) if (d[i] !== 0) throw new DecodeError('NAT_PROBE_REPLY: padding not zero');
  return {
    flags: d[1]!,
    txid: d.slice(4, 16),
    observed: { address: u32ToIpv4(v.getUint32(16, false)), port: v.getUint16(20, false) },
    hubPort: v.getUint16(22, false),
    mac: d.slice(NAT_PROBE_MAC_OFFSET),
  };
}

/** NAT_OPEN (0x22, 4 bytes `22 00 00 00`): what a birthday socket sends the partner only to open a
 * mapping on its own NAT; the receiver drops it unread (nat/nat-socket.ts). Carries nothing. */
export const NAT_OPEN = new Uint8Array([0x22, 0, 0, 0]);

export function isNatOpen(d: Uint8Array): boolean {
  return d.byteLength === 4 && d[0] === 0x22 && d[1] === 0 && d[2] === 0 && d[3] === 0;
}
