// MACs of TRANSPORT_PROBE / TRANSPORT_PROBE_REPLY (wire/probe.ts): only holders of the network psk
// get answers from the hub, and a peer counts only replies made with it (an on-path box cannot make
// a blocked UDP leg look alive). Pure; used by hub/transport-probe.ts and peer/hub-transport.ts.
import { timingSafeEqual } from 'node:crypto';
import { DecodeError } from '../util/errors.js';
import { decodeProbe, encodeProbe, macOffsetOf, PROBE_MAC_SIZE, ProbeType, type Probe } from '../wire/probe.js';
import { hmac } from './noise.js';

const LABEL = new TextEncoder().encode('meshd v1 transport probe');
const ZERO_MAC = new Uint8Array(PROBE_MAC_SIZE);

/** The probe key: HMAC-BLAKE2s(psk, label), so the psk itself keys nothing else. */
export function transportProbeKey(psk: Uint8Array): Uint8Array {
  return hmac(psk, LABEL);
}

function macOf(key: Uint8Array, d: Uint8Array, at: number): Uint8Array {
  return hmac(key, d.subarray(0, at)).subarray(0, PROBE_MAC_SIZE);
}

function seal(key: Uint8Array, type: ProbeType, seq: number, token: number): Buffer {
  const d = encodeProbe({ type, seq, token, mac: ZERO_MAC });
  const at = macOffsetOf(type);
  d.set(macOf(key, d, at), at);
  return d;
}

export const sealProbe = (key: Uint8Array, seq: number, token: number): Buffer => seal(key, ProbeType.Probe, seq, token);

/** The reply to an opened probe: same seq and token, half its size. */
export const sealProbeReply = (key: Uint8Array, p: Pick<Probe, 'seq' | 'token'>): Buffer => seal(key, ProbeType.Reply, p.seq, p.token);

export type OpenedProbe = Probe | 'malformed' | 'bad_mac';

/** A probe or reply whose MAC checks, else why not. */
export function openProbe(key: Uint8Array, d: Uint8Array): OpenedProbe {
  let p: Probe;
  try {
    p = decodeProbe(d);
  } catch (e) {
    if (e instanceof DecodeError) return 'malformed';
    throw e;
  }
  return timingSafeEqual(macOf(key, d, macOffsetOf(p.type)), p.mac) ? p : 'bad_mac';
}
