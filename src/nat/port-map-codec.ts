// PCP MAP (RFC 6887) and NAT-PMP (RFC 6886) requests and responses for one UDP mapping: pure codecs
// used by nat/port-map-client.ts (golden bytes in test/nat/port-map-codec.test.ts). Our own because
// @achingbrain/nat-port-mapper has no PCP, and its NAT-PMP client binds port 5350 and refreshes on
// its own timers (no injected clock or socket); it still does the UPnP-IGD part.
//
// PCP MAP request (60 bytes)                    PCP MAP response (60 bytes)
//   0 version=2 | 1 opcode=1 | 2 reserved u16      0 version=2 | 1 0x80|1 | 2 reserved | 3 result u8
//   4 lifetime u32 BE (s; 0 = delete)              4 lifetime u32 | 8 epoch u32 | 12 reserved (12)
//   8 client IP (16, IPv4-mapped)                 24 nonce (12) | 36 protocol | 37 reserved (3)
//  24 nonce (12) | 36 protocol=17 | 37 reserved    40 internal port | 42 external port
//  40 internal port u16 | 42 suggested ext port    44 external IP (16, IPv4-mapped)
//  44 suggested external IP (16, zero = any)
//
// NAT-PMP map request (12 bytes)                 NAT-PMP map response (16 bytes)
//   0 version=0 | 1 opcode=1 (UDP) | 2 reserved     0 version=0 | 1 opcode=129 | 2 result u16
//   4 internal port | 6 suggested ext port         4 epoch u32 | 8 internal port | 10 external port
//   8 lifetime u32 (s; 0 = delete)                12 lifetime u32
// NAT-PMP external address: request 0x00 0x00; response 0 | 128 | result u16 | epoch u32 | IPv4 (12 bytes).
import { DecodeError } from '../util/errors.js';
import { viewOf } from '../util/bytes.js';

export const PCP_VERSION = 2;
export const PCP_OPCODE_MAP = 1;
export const PCP_MAP_BYTES = 60;
export const NATPMP_MAP_REQUEST_BYTES = 12;
export const NATPMP_MAP_RESPONSE_BYTES = 16;
export const NATPMP_ADDRESS_RESPONSE_BYTES = 12;
const UDP = 17;

/** PCP result codes (RFC 6887 7.4) by number, for status and logs. */
export const pcpResultName: Record<number, string> = {
  0: 'SUCCESS', 1: 'UNSUPP_VERSION', 2: 'NOT_AUTHORIZED', 3: 'MALFORMED_REQUEST', 4: 'UNSUPP_OPCODE', 5: 'UNSUPP_OPTION', 6: 'MALFORMED_OPTION',
  7: 'NETWORK_FAILURE', 8: 'NO_RESOURCES', 9: 'UNSUPP_PROTOCOL', 10: 'USER_EX_QUOTA', 11: 'CANNOT_PROVIDE_EXTERNAL', 12: 'ADDRESS_MISMATCH', 13: 'EXCESSIVE_REMOTE_PEERS',
};

export interface PcpMapRequest {
  lifetimeS: number;
  client: string;
  nonce: Uint8Array;
  internalPort: number;
  suggestedPort: number;
  suggestedAddress?: string;
}

export interface PcpMapResponse {
  result: number;
  lifetimeS: number;
  epoch: number;
  nonce: Uint8Array;
  internalPort: number;
  externalPort: number;
  externalAddress: string;
}

function putMappedV4(b: Uint8Array, at: number, ip: string | undefined): void {
  if (ip === undefined || ip === '0.0.0.0') return; // all zero: "any" (RFC 6887 11.1)
  b[at + 10] = 0xff;
  b[at + 11] = 0xff;
  ip.split('.').forEach((o, i) => (b[at + 12 + i] = Number(o) & 255));
}

function getMappedV4(b: Uint8Array, at: number): string {
  return `${b[at + 12]}.${b[at + 13]}.${b[at + 14]}.${b[at + 15]}`;
}

export function encodePcpMap(r: PcpMapRequest): Uint8Array {
  if (r.nonce.byteLength !== 12) throw new DecodeError('pcp: nonce must be 12 bytes');
  const b = new Uint8Array(PCP_MAP_BYTES);
  const v = viewOf(b);
  b[0] = PCP_VERSION;
  b[1] = PCP_OPCODE_MAP;
  v.setUint32(4, r.lifetimeS >>> 0);
  putMappedV4(b, 8, r.client);
  b.set(r.nonce, 24);
  b[36] = UDP;
  v.setUint16(40, r.internalPort);
  v.setUint16(42, r.suggestedPort);
  putMappedV4(b, 44, r.suggestedAddress);
  return b;
}

/** A PCP MAP response; throws DecodeError for anything else (a request, another opcode, short). */
export function decodePcpMapResponse(b: Uint8Array): PcpMapResponse {
  if (b.byteLength < PCP_MAP_BYTES) throw new DecodeError(`pcp: ${b.byteLength} bytes`);
  if (b[0] !== PCP_VERSION || b[1] !== (0x80 | PCP_OPCODE_MAP)) throw new DecodeError('pcp: not a MAP response');
  const v = viewOf(b);
  if (b[36] !== UDP) throw new DecodeError('pcp: not a UDP mapping');
  return {
    result: b[3]!,
    lifetimeS: v.getUint32(4),
    epoch: v.getUint32(8),
    nonce: b.slice(24, 36),
    internalPort: v.getUint16(40),
    externalPort: v.getUint16(42),
    externalAddress: getMappedV4(b, 44),
  };
}

export interface NatPmpMapResponse {
  result: number;
  epoch: number;
  internalPort: number;
  externalPort: number;
  lifetimeS: number;
}

export function encodeNatPmpMap(internalPort: number, suggestedPort: number, lifetimeS: number): Uint8Array {
  const b = new Uint8Array(NATPMP_MAP_REQUEST_BYTES);
  const v = viewOf(b);
  b[1] = 1;
  v.setUint16(4, internalPort);
  v.setUint16(6, suggestedPort);
  v.setUint32(8, lifetimeS >>> 0);
  return b;
}

export function decodeNatPmpMapResponse(b: Uint8Array): NatPmpMapResponse {
  if (b.byteLength < NATPMP_MAP_RESPONSE_BYTES || b[0] !== 0 || b[1] !== 129) throw new DecodeError('nat-pmp: not a UDP map response');
  const v = viewOf(b);
  return { result: v.getUint16(2), epoch: v.getUint32(4), internalPort: v.getUint16(8), externalPort: v.getUint16(10), lifetimeS: v.getUint32(12) };
}

export const NATPMP_ADDRESS_REQUEST = new Uint8Array([0, 0]);

export function decodeNatPmpAddressResponse(b: Uint8Array): { result: number; address: string } {
  if (b.byteLength < NATPMP_ADDRESS_RESPONSE_BYTES || b[0] !== 0 || b[1] !== 128) throw new DecodeError('nat-pmp: not an address response');
  const v = viewOf(b);
  return { result: v.getUint16(2), address: `${b[8]}.${b[9]}.${b[10]}.${b[11]}` };
}
