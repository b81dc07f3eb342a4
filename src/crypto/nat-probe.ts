// MACs of NAT_PROBE / NAT_PROBE_REPLY (wire/nat-probe.ts): only holders of the network psk get
// answers from the hub's probe port, and a peer believes only replies made with it. Pure; used by
// hub/probe-port.ts and nat/prober.ts.
import { timingSafeEqual } from 'node:crypto';
import { hmac } from './noise.js';
import {
  decodeNatProbe, decodeNatProbeReply, encodeNatProbe, encodeNatProbeReply, NAT_PROBE_MAC_OFFSET, NAT_PROBE_MAC_SIZE,
  type NatProbe, type NatProbeReply,
} from '../wire/nat-probe.js';
import { DecodeError } from '../util/errors.js';

const LABEL = new TextEncoder().encode('meshd v1 nat probe');
const ZERO_MAC = new Uint8Array(NAT_PROBE_MAC_SIZE);

/** The probe key: HMAC-BLAKE2s(psk, label), so the psk itself never keys anything else. */
export function natProbeKey(psk: Uint8Array): Uint8Array {
  return hmac(psk, LABEL);
}

function macOf(key: Uint8Array, d: Uint8Array): Uint8Array {
  return hmac(key, d.subarray(0, NAT_PROBE_MAC_OFFSET)).subarray(0, NAT_PROBE_MAC_SIZE);
}

function sealed(key: Uint8Array, d: Uint8Array): Uint8Array {
  d.set(macOf(key, d), NAT_PROBE_MAC_OFFSET);
  return d;
}

function macOk(key: Uint8Array, d: Uint8Array): boolean {
  return timingSafeEqual(macOf(key, d), d.subarray(NAT_PROBE_MAC_OFFSET));
}

export function sealNatProbe(key: Uint8Array, m: Omit<NatProbe, 'mac'>): Uint8Array {
  return sealed(key, encodeNatProbe({ ...m, mac: ZERO_MAC }));
}

/** The probe, or undefined when it is malformed or its MAC is wrong. */
export function openNatProbe(key: Uint8Array, d: Uint8Array): NatProbe | undefined {
  try {
    const m = decodeNatProbe(d);
    return macOk(key, d) ? m : undefined;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

export function sealNatProbeReply(key: Uint8Array, m: Omit<NatProbeReply, 'mac'>): Uint8Array {
  return sealed(key, encodeNatProbeReply({ ...m, mac: ZERO_MAC }));
}

export function openNatProbeReply(key: Uint8Array, d: Uint8Array): NatProbeReply | undefined {
  try {
    const m = decodeNatProbeReply(d);
    return macOk(key, d) ? m : undefined;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}
