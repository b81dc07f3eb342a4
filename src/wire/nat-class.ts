// A peer's NAT class on the wire (docs/NAT.md): the optional trailing field of REGISTER and
// HEARTBEAT (REGISTER flag NAT_INFO) and of PUNCH (the partner's class, sent only to peers that set
// NAT_INFO). Used by wire/control.ts; the classification itself is nat/classify.ts.
//
//   0 mapping u8 | 1 filtering u8 | 2 allocation u8 | 3 delta i16 LE | 5 port_map u8     (6 bytes)
//   mapping    0 unknown, 1 endpoint-independent, 2 endpoint-dependent
//   filtering  0 unknown, 1 address-dependent or looser, 2 address-and-port-dependent
//   allocation 0 unknown, 1 preserved, 2 sequential (delta = step between fresh mappings), 3 random
//   port_map   bit 0 UPnP-IGD, bit 1 NAT-PMP, bit 2 PCP answered on the gateway
// Unknown enum values decode as 0 (unknown) so a newer peer's class never breaks an older decoder.
import { DecodeError } from '../util/errors.js';
import { viewOf } from '../util/bytes.js';

export const NAT_CLASS_BYTES = 6;

export type Mapping = 'unknown' | 'eim' | 'edm';
export type Filtering = 'unknown' | 'address' | 'address-port';
export type Allocation = 'unknown' | 'preserved' | 'sequential' | 'random';
export type PortMapProtocol = 'upnp' | 'natpmp' | 'pcp';

export interface NatClass {
  mapping: Mapping;
  filtering: Filtering;
  allocation: Allocation;
  /** Sequential allocation: the port step between two fresh mappings (0 otherwise). */
  delta: number;
  /** Port-mapping protocols the gateway answered. */
  portMap: PortMapProtocol[];
}

const mappings: readonly Mapping[] = ['unknown', 'eim', 'edm'];
const filterings: readonly Filtering[] = ['unknown', 'address', 'address-port'];
const allocations: readonly Allocation[] = ['unknown', 'preserved', 'sequential', 'random'];
const portMaps: readonly PortMapProtocol[] = ['upnp', 'natpmp', 'pcp'];

export const unknownNatClass: NatClass = { mapping: 'unknown', filtering: 'unknown', allocation: 'unknown', delta: 0, portMap: [] };

export function encodeNatClass(c: NatClass): Uint8Array {
  const b = new Uint8Array(NAT_CLASS_BYTES);
  const v = viewOf(b);
  v.setUint8(0, mappings.indexOf(c.mapping));
  v.setUint8(1, filterings.indexOf(c.filtering));
  v.setUint8(2, allocations.indexOf(c.allocation));
  v.setInt16(3, Math.max(-32768, Math.min(32767, Math.trunc(c.delta))), true);
  let bits = 0;
  for (const p of c.portMap) bits |= 1 << portMaps.indexOf(p);
  v.setUint8(5, bits);
  return b;
}

export function decodeNatClass(b: Uint8Array): NatClass {
  if (b.byteLength !== NAT_CLASS_BYTES) throw new DecodeError(`nat class: ${b.byteLength} bytes`);
  const v = viewOf(b);
  const bits = v.getUint8(5);
  return {
    mapping: mappings[v.getUint8(0)] ?? 'unknown',
    filtering: filterings[v.getUint8(1)] ?? 'unknown',
    allocation: allocations[v.getUint8(2)] ?? 'unknown',
    delta: v.getInt16(3, true),
    portMap: portMaps.filter((_, i) => (bits & (1 << i)) !== 0),
  };
}
