// TRANSPORT_PROBE / TRANSPORT_PROBE_REPLY: the unsealed echo a peer uses to tell whether the hub
// answers over UDP, and how lossy each of its hub legs (UDP, TCP, TLS) is (issue 21, docs/STREAM.md).
// The hub answers each probe it receives on the leg it came from, statelessly, with fewer bytes
// than the probe (no amplification) and under a global rate (hub/transport-probe.ts). The types sit
// outside the outer message types (wire/outer.ts, 1..6): the link drops them if they reach it.
//
//     PROBE (64 bytes)                        PROBE_REPLY (32 bytes)
//     0      1      2      3                  0      1      2      3
//     +------+------+------+------+           +------+------+------+------+
//     | 0x50 |  0   |  0   |  0   |           | 0x51 |  0   |  0   |  0   |
//     +------+------+------+------+           +------+------+------+------+
//     | seq u32                   |           | seq u32 (echoed)          |
//     | token u32                 |           | token u32 (echoed)        |
//     | zero padding [36]         |           | 0 u32                     |
//     | mac [16] at 48            |           | mac [16] at 16            |
// mac: keyed with the network secret over the bytes before it (crypto/transport-probe.ts), so only
// members get answers and a peer believes only the hub's (like NAT_PROBE, wire/nat-probe.ts).
import { DecodeError } from '../util/errors.js';

export enum ProbeType {
  Probe = 0x50,
  Reply = 0x51,
}

export const PROBE_TYPE_NAMES: Readonly<Record<ProbeType, string>> = {
  [ProbeType.Probe]: 'TRANSPORT_PROBE',
  [ProbeType.Reply]: 'TRANSPORT_PROBE_REPLY',
};

/** Protocol: the probe is padded so the reply (PROBE_REPLY_SIZE) is half of it (no amplification). */
export const PROBE_SIZE = 64;
export const PROBE_REPLY_SIZE = 32;
export const PROBE_MAC_SIZE = 16;
/** Where the MAC sits in a probe and in a reply (it covers every byte before it). */
export const PROBE_MAC_OFFSET = PROBE_SIZE - PROBE_MAC_SIZE;
export const PROBE_REPLY_MAC_OFFSET = PROBE_REPLY_SIZE - PROBE_MAC_SIZE;

export interface Probe {
  type: ProbeType;
  /** The sender's sequence number, echoed. */
  seq: number;
  /** A value the sender picked, echoed: a reply that does not carry it is not ours. */
  token: number;
  /** PROBE_MAC_SIZE bytes (crypto/transport-probe.ts); zeros until sealed. */
  mac: Uint8Array;
}

/** Cheap classification on the receive path: the probe type of `d`, or undefined. */
export function probeTypeOf(d: Uint8Array): ProbeType | undefined {
  if (d[1] !== 0 || d[2] !== 0 || d[3] !== 0) return undefined;
  if (d[0] === ProbeType.Probe && d.byteLength === PROBE_SIZE) return ProbeType.Probe;
  if (d[0] === ProbeType.Reply && d.byteLength === PROBE_REPLY_SIZE) return ProbeType.Reply;
  return undefined;
}

export const macOffsetOf = (type: ProbeType): number => (type === ProbeType.Probe ? PROBE_MAC_OFFSET : PROBE_REPLY_MAC_OFFSET);

export function encodeProbe(p: Probe): Buffer {
  const out = Buffer.alloc(p.type === ProbeType.Probe ? PROBE_SIZE : PROBE_REPLY_SIZE);
  out[0] = p.type;
  out.writeUInt32BE(p.seq >>> 0, 4);
  out.writeUInt32BE(p.token >>> 0, 8);
  if (p.mac.byteLength !== PROBE_MAC_SIZE) throw new DecodeError(`transport probe mac of ${p.mac.byteLength} bytes`, 'PROBE_MALFORMED');
  out.set(p.mac, macOffsetOf(p.type));
  return out;
}

export function decodeProbe(d: Uint8Array): Probe {
  const type = probeTypeOf(d);
  if (type === undefined) throw new DecodeError('not a transport probe (type, reserved bytes or size)', 'PROBE_MALFORMED');
  const macAt = macOffsetOf(type);
  for (let i = 12; i < macAt; i++) if (d[i] !== 0) throw new DecodeError('transport probe padding is not zero', 'PROBE_MALFORMED');
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  return { type, seq: v.getUint32(4), token: v.getUint32(8), mac: Uint8Array.from(d.subarray(macAt, macAt + PROBE_MAC_SIZE)) };
}
