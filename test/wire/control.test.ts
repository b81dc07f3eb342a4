// Golden bytes, fuzz and the name maps for wire/control.ts.
import { describe, expect, it } from 'vitest';
import {
  ackSeqAt, CandidateKind, ControlType, controlTypeName, decodeControl, encodeControl, mapEntryBytes, MapOp, PROTOCOL_VERSION, ProtocolVersionError, PublishRefusal,
  publishRefusalName, RefusalReason, refusalReasonName, REGISTER_FLAG_NAME_HINT, REGISTER_FLAG_NAT_INFO, REGISTER_FLAG_OVERLAY6, REGISTER_V1_TYPE,
  type ControlMessage, type MapEntry,
} from '../../src/wire/control.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';
import { Rng } from '../fakes/rng.js';
import { fuzzCodec } from '../helpers/fuzz.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';

const key = new Uint8Array(32).fill(0xab);
const keyHex = 'ab'.repeat(32);
const entry: MapEntry = {
  op: MapOp.UPSERT, publicKey: key, overlay: 0x0a090003, bootId: 9n, name: 'c',
  reflexive: { address: '198.51.100.7', port: 40000 }, lan: [],
};

const golden: Array<[string, ControlMessage, string]> = [
  [
    'REGISTER: seq LE, overlay BE, prefix, name, lan eps, boot id LE, flags',
    { type: ControlType.REGISTER, seq: 1, overlay: 0x0a090002, prefix: 24, name: 'ab', lan: [{ address: '192.168.1.5', port: 51820 }], bootId: 0x1122334455667788n, flags: 0 },
    '3c 01000000 02 0a090002 18 02 6162 01 04c0a80105 6cca 8877665544332211 00',
  ],
  [
    'REGISTER: overlay 0 asks for an address, flag 1 marks the name a host-name hint',
    { type: ControlType.REGISTER, seq: 2, overlay: 0, prefix: 0, name: 'pi', lan: [], bootId: 1n, flags: REGISTER_FLAG_NAME_HINT },
    '3c 02000000 02 00000000 00 02 7069 00 0100000000000000 01',
  ],
  [
    'REGISTER_OK: observed endpoint and heartbeat interval (an older hub: nothing assigned)',
    { type: ControlType.REGISTER_OK, seq: 1, observed: { address: '203.0.113.9', port: 1 }, heartbeatMs: 20000 },
    '02 01000000 04cb007109 0100 204e0000',
  ],
  [
    'REGISTER_OK: then the assigned overlay BE, prefix and name',
    { type: ControlType.REGISTER_OK, seq: 1, observed: { address: '203.0.113.9', port: 1 }, heartbeatMs: 20000, assigned: { overlay: 0x0a090003, prefix: 24, name: 'pi-2' } },
    '02 01000000 04cb007109 0100 204e0000 0a090003 18 04 70692d32',
  ],
  ['REGISTER_REFUSED: reason and text', { type: ControlType.REGISTER_REFUSED, seq: 2, reason: RefusalReason.NAME_TAKEN, text: 'x' }, '03 02000000 03 01 78'],
  ['REGISTER_REFUSED: a hub cut from its cluster', { type: ControlType.REGISTER_REFUSED, seq: 2, reason: RefusalReason.UNAVAILABLE, text: 'x' }, '03 02000000 07 01 78'],
  [
    'MAP: header then one upsert entry',
    { type: ControlType.MAP, seq: 3, version: 7, base: 6, part: 0, parts: 1, entries: [entry] },
    `04 03000000 07000000 06000000 0000 0100 0100 01 ${keyHex} 0a090003 0900000000000000 01 63 04c6336407 409c 00`,
  ],
  [
    'REGISTER: flag NAT_INFO (4) then the nat class (EDM, APDF, sequential delta -2, PCP)',
    {
      type: ControlType.REGISTER, seq: 1, overlay: 0, prefix: 0, name: '', lan: [], bootId: 1n, flags: REGISTER_FLAG_NAT_INFO,
      nat: { mapping: 'edm', filtering: 'address-port', allocation: 'sequential', delta: -2, portMap: ['pcp'] },
    },
    '3c 01000000 02 00000000 00 00 00 0100000000000000 04 02 02 02 feff 04',
  ],
  [
    'HEARTBEAT: then the nat class (EIM, filtering unknown, preserved, UPnP and NAT-PMP)',
    { type: ControlType.HEARTBEAT, seq: 5, mapVersion: 2, lan: [], nat: { mapping: 'eim', filtering: 'unknown', allocation: 'preserved', delta: 0, portMap: ['upnp', 'natpmp'] } },
    '06 05000000 02000000 00 01 00 01 0000 03',
  ],
  [
    'PUNCH: then the partner\'s nat class (EDM random)',
    { type: ControlType.PUNCH, seq: 4, publicKey: key, overlay: 0x0a090003, candidates: [], nat: { mapping: 'edm', filtering: 'address-port', allocation: 'random', delta: 0, portMap: [] } },
    `0a 04000000 ${keyHex} 0a090003 00 02 02 03 0000 00`,
  ],
  ['ACK: just the seq', { type: ControlType.ACK, seq: 0xdeadbeef }, '05 efbeadde'],
  ['HEARTBEAT: map version and lan eps', { type: ControlType.HEARTBEAT, seq: 5, mapVersion: 2, lan: [] }, '06 05000000 02000000 00'],
  [
    'HEARTBEAT_OK: observed and current version',
    { type: ControlType.HEARTBEAT_OK, seq: 5, observed: { address: '10.0.0.1', port: 2 }, mapVersion: 3 },
    '07 05000000 040a000001 0200 03000000',
  ],
  ['GOODBYE: just the seq', { type: ControlType.GOODBYE, seq: 6 }, '08 06000000'],
  ['HOME_MOVED: just the seq', { type: ControlType.HOME_MOVED, seq: 6 }, '3d 06000000'],
  ['PUNCH_REQUEST: target overlay BE', { type: ControlType.PUNCH_REQUEST, seq: 7, target: 0x0a090003 }, '09 07000000 0a090003'],
  [
    'PUNCH: key, overlay, kinded candidates',
    { type: ControlType.PUNCH, seq: 4, publicKey: key, overlay: 0x0a090003, candidates: [{ kind: CandidateKind.LAN, endpoint: { address: '10.0.0.2', port: 1 } }] },
    `0a 04000000 ${keyHex} 0a090003 01 01 040a000002 0100`,
  ],
  ['PUBLISH: name, public port LE', { type: ControlType.PUBLISH, seq: 8, name: 'web', port: 8080 }, '0b 08000000 03 776562 901f'],
  ['PUBLISH_OK: echoes name and port', { type: ControlType.PUBLISH_OK, seq: 8, name: 'web', port: 8080 }, '0c 08000000 03 776562 901f'],
  [
    'PUBLISH_REFUSED: name, reason, text',
    { type: ControlType.PUBLISH_REFUSED, seq: 8, name: 'w', reason: PublishRefusal.PORT_NOT_ALLOWED, text: 'x' },
    '0d 08000000 01 77 01 01 78',
  ],
  [
    'PUBLISH_REFUSED: TOO_MANY_SERVICES (7)',
    { type: ControlType.PUBLISH_REFUSED, seq: 8, name: 'w', reason: PublishRefusal.TOO_MANY_SERVICES, text: 'x' },
    '0d 08000000 01 77 07 01 78',
  ],
  [
    'STREAM_OPEN: conv LE, service name, visitor endpoint',
    { type: ControlType.STREAM_OPEN, seq: 9, conv: 0x01020304, name: 'w', visitor: { address: '203.0.113.50', port: 40000 } },
    '0e 09000000 04030201 01 77 04cb007132 409c',
  ],
  // IPv6 (protocol 2): family 6, 16 address bytes in network order, port LE.
  [
    'REGISTER: a global and a ULA IPv6 LAN endpoint beside an IPv4 one',
    {
      type: ControlType.REGISTER, seq: 1, overlay: 0x0a090002, prefix: 24, name: 'ab', bootId: 1n, flags: 0,
      lan: [{ address: '192.168.1.5', port: 51820 }, { address: '2001:db8::5', port: 51820 }, { address: 'fd00:1:2:3::5', port: 1 }],
    },
    '3c 01000000 02 0a090002 18 02 6162 03 04c0a80105 6cca 0620010db8000000000000000000000005 6cca 06fd000001000200030000000000000005 0100 0100000000000000 00',
  ],
  [
    'REGISTER: flag OVERLAY6 (0x10) then overlay6 and prefix6 (:: = assign me one)',
    { type: ControlType.REGISTER, seq: 1, overlay: 0, prefix: 0, name: '', lan: [], bootId: 1n, flags: REGISTER_FLAG_OVERLAY6, overlay6: '::', prefix6: 0 },
    `3c 01000000 02 00000000 00 00 00 0100000000000000 10 ${'00'.repeat(16)} 00`,
  ],
  [
    'REGISTER: NAT_INFO and OVERLAY6 together: the nat class first',
    {
      type: ControlType.REGISTER, seq: 1, overlay: 0, prefix: 0, name: '', lan: [], bootId: 1n, flags: REGISTER_FLAG_NAT_INFO | REGISTER_FLAG_OVERLAY6,
      nat: { mapping: 'eim', filtering: 'unknown', allocation: 'preserved', delta: 0, portMap: [] }, overlay6: 'fd9a:1::2', prefix6: 64,
    },
    '3c 01000000 02 00000000 00 00 00 0100000000000000 14 01 00 01 0000 00 fd9a0001000000000000000000000002 40',
  ],
  [
    'REGISTER_OK: an IPv6 observed endpoint, the assigned overlay then overlay6 and prefix6',
    {
      type: ControlType.REGISTER_OK, seq: 1, observed: { address: '2001:db8:1::9', port: 1 }, heartbeatMs: 20000,
      assigned: { overlay: 0x0a090003, prefix: 24, name: 'pi', overlay6: 'fd9a:1::3', prefix6: 64 },
    },
    '02 01000000 0620010db8000100000000000000000009 0100 204e0000 0a090003 18 02 7069 fd9a0001000000000000000000000003 40',
  ],
  [
    'MAP: op bit 7 (0x81) says overlay6 follows the overlay; an IPv6 reflexive endpoint',
    { type: ControlType.MAP, seq: 3, version: 7, base: 6, part: 0, parts: 1, entries: [{ ...entry, overlay6: 'fd9a:1::3', reflexive: { address: '2001:db8::7', port: 40000 } }] },
    `04 03000000 07000000 06000000 0000 0100 0100 81 ${keyHex} 0a090003 fd9a0001000000000000000000000003 0900000000000000 01 63 0620010db8000000000000000000000007 409c 00`,
  ],
  [
    'MAP: a REMOVE may carry overlay6 too (0x82)',
    { type: ControlType.MAP, seq: 3, version: 7, base: 6, part: 0, parts: 1, entries: [{ ...entry, op: MapOp.REMOVE, overlay6: 'fd9a:1::3' }] },
    `04 03000000 07000000 06000000 0000 0100 0100 82 ${keyHex} 0a090003 fd9a0001000000000000000000000003 0900000000000000 01 63 04c6336407 409c 00`,
  ],
  [
    'HEARTBEAT_OK: an IPv6 observed endpoint',
    { type: ControlType.HEARTBEAT_OK, seq: 5, observed: { address: '2001:db8::1', port: 2 }, mapVersion: 3 },
    '07 05000000 0620010db8000000000000000000000001 0200 03000000',
  ],
  [
    'PUNCH: an IPv6 public candidate',
    { type: ControlType.PUNCH, seq: 4, publicKey: key, overlay: 0x0a090003, candidates: [{ kind: CandidateKind.PUBLIC, endpoint: { address: '2001:db8:0:1::2', port: 1 } }] },
    `0a 04000000 ${keyHex} 0a090003 01 02 0620010db8000000010000000000000002 0100`,
  ],
  [
    'STREAM_OPEN: an IPv6 visitor',
    { type: ControlType.STREAM_OPEN, seq: 9, conv: 1, name: 'w', visitor: { address: '2001:db8::32', port: 40000 } },
    '0e 09000000 01000000 01 77 0620010db8000000000000000000000032 409c',
  ],
];

describe('control codec', () => {
  it('keeps unknown REGISTER flag bits (a newer peer) instead of refusing them', () => {
    expect(decodeControl(fromHex('3c 01000000 02 0a090002 18 00 00 0000000000000000 0a'.replace(/\s+/g, '')))).toMatchObject({ type: ControlType.REGISTER, flags: 0x0a });
  });

  it.each([
    ['protocol 1 (type 1, 6-byte endpoints: an older peer)', '01 07000000 0a090002 18 02 6162 01 c0a80105 6cca 0100000000000000 00', 1, 7],
    ['protocol 1 cut short after the seq', '01 07000000', 1, 7],
    ['protocol 3 (a newer peer): nothing after the version is read', '3c 08000000 03 ffff', 3, 8],
    ['protocol 0', '3c 09000000 00 0a090002 18 00 00 0000000000000000 00', 0, 9],
  ])('throws ProtocolVersionError (code DECODE_VERSION) for a REGISTER of %s', (_why, hex, version, seq) => {
    let err: unknown;
    try {
      decodeControl(fromHex(hex.replace(/\s+/g, '')));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtocolVersionError);
    expect(err).toBeInstanceOf(DecodeError);
    expect(err).toMatchObject({ code: 'DECODE_VERSION', version, seq });
  });

  it.each([
    ['an unknown flag bit (a newer peer: 0x02 MAP_EXT, 0x80)', '3c 01000000 02 0a090002 18 00 00 0000000000000000 82', 0x82],
    ['bytes after the known fields (a newer peer\'s field)', '3c 01000000 02 0a090002 18 00 00 0000000000000000 00 00', 0],
    ['NAT_INFO and an unknown bit, then more bytes', '3c 01000000 02 0a090002 18 00 00 0000000000000000 84 010102fe ff00 99', 0x84],
  ])('ignores in REGISTER %s', (_why, hex, flags) => {
    expect(decodeControl(fromHex(hex.replace(/\s+/g, '')))).toMatchObject({ type: ControlType.REGISTER, flags });
  });

  it('reads unknown nat class values as unknown (a newer peer)', () => {
    const m = decodeControl(fromHex('06 05000000 02000000 00 090909 0000 f8'.replace(/\s+/g, '')));
    expect(m).toMatchObject({ nat: { mapping: 'unknown', filtering: 'unknown', allocation: 'unknown', delta: 0, portMap: [] } });
  });

  it.each(golden)('%s', (_why, msg, hex) => {
    expect(toHex(encodeControl(msg))).toBe(hex.replace(/\s+/g, ''));
    expect(decodeControl(fromHex(hex))).toEqual(msg);
  });

  it.each([
    ['empty', ''],
    ['unknown type', '63 00000000'],
    ['short seq', '05 0000'],
    ['trailing bytes', '05 00000000 00'],
    ['REGISTER NAT_INFO with a short nat class', '3c 01000000 02 0a090002 18 00 00 0000000000000000 04 0102'],
    ['REGISTER without flags', '3c 01000000 02 0a090002 18 02 6162 00 0100000000000000'],
    ['REGISTER OVERLAY6 with a short overlay6', '3c 01000000 02 00000000 00 00 00 0100000000000000 10 fd9a'],
    ['REGISTER OVERLAY6 prefix6 over 128', `3c 01000000 02 00000000 00 00 00 0100000000000000 10 ${'00'.repeat(16)} 81`],
    ['REGISTER_OK assigned prefix6 over 128', `02 01000000 04cb007109 0100 204e0000 0a090003 18 00 fd9a0001000000000000000000000003 81`],
    ['REGISTER_OK assigned overlay6 cut short', '02 01000000 04cb007109 0100 204e0000 0a090003 18 00 fd9a00'],
    ['an endpoint of family 5', '07 05000000 050a000001 0200 03000000'],
    ['an endpoint of family 0', '07 05000000 000a000001 0200 03000000'],
    ['a family-6 endpoint cut short', '07 05000000 0620010db8 0200 03000000'],
    ['a family-6 endpoint holding a v4-mapped address (one encoding per address)', '07 05000000 0600000000000000000000ffffc0000201 0200 03000000'],
    ['a family-4 endpoint read as 6 (19 bytes expected)', '07 05000000 06c0000201 0200 03000000'],
    ['a LAN list with an IPv6 endpoint cut short', '3c 01000000 02 0a090002 18 00 01 0620010db8'],
    ['PUNCH candidate of family 9', `0a 04000000 ${keyHex} 0a090003 01 02 090a000002 0100`],
    ['HEARTBEAT short nat class', '06 05000000 02000000 00 0102'],
    ['PUNCH short nat class', `0a 04000000 ${keyHex} 0a090003 00 01`],
    ['REGISTER_OK short assigned overlay', '02 01000000 04cb007109 0100 204e0000 0a09'],
    ['REGISTER_OK assigned prefix over 32', '02 01000000 04cb007109 0100 204e0000 0a090003 21 00'],
    ['prefix over 32', '3c 01000000 02 0a090002 21 00 00 0000000000000000 00'],
    ['name past the end', '3c 01000000 02 0a090002 18 05 61 00 0000000000000000 00'],
    ['invalid UTF-8 name', '3c 01000000 02 0a090002 18 01 ff 00 0000000000000000 00'],
    ['unknown refusal reason', '03 02000000 09 00'],
    ['MAP part beyond parts', '04 03000000 07000000 06000000 0200 0100 0000'],
    ['MAP bad op', `04 03000000 07000000 06000000 0000 0100 0100 07 ${keyHex} 0a090003 0900000000000000 00 04c6336407 409c 00`],
    ['MAP bad op with the OVERLAY6 bit', `04 03000000 07000000 06000000 0000 0100 0100 83 ${keyHex} 0a090003 ${'00'.repeat(16)} 0900000000000000 00 04c6336407 409c 00`],
    ['MAP OVERLAY6 bit with overlay6 cut short', `04 03000000 07000000 06000000 0000 0100 0100 81 ${keyHex} 0a090003 fd9a`],
    ['MAP entry with a malformed reflexive endpoint', `04 03000000 07000000 06000000 0000 0100 0100 01 ${keyHex} 0a090003 0900000000000000 00 07c6336407 409c 00`],
    ['PUNCH bad candidate kind', `0a 04000000 ${keyHex} 0a090003 01 09 040a000002 0100`],
    ['PUBLISH short port', '0b 08000000 01 77 90'],
    ['PUBLISH_REFUSED unknown reason', '0d 08000000 01 77 63 00'],
    ['STREAM_OPEN short visitor', '0e 09000000 04030201 01 77 04cb00'],
  ])('rejects %s with DecodeError', (_why, hex) => {
    expect(() => decodeControl(fromHex(hex))).toThrow(DecodeError);
  });

  it('pins the type and reason names', () => {
    expect(controlTypeName).toEqual({
      60: 'REGISTER', 2: 'REGISTER_OK', 3: 'REGISTER_REFUSED', 4: 'MAP', 5: 'ACK', 6: 'HEARTBEAT', 7: 'HEARTBEAT_OK',
      8: 'GOODBYE', 9: 'PUNCH_REQUEST', 10: 'PUNCH', 11: 'PUBLISH', 12: 'PUBLISH_OK', 13: 'PUBLISH_REFUSED', 14: 'STREAM_OPEN',
      30: 'ROUTE_OFFER', 31: 'MAP_EXT', 61: 'HOME_MOVED',
    });
    expect(publishRefusalName).toEqual({
      1: 'PORT_NOT_ALLOWED', 2: 'NAME_TAKEN', 3: 'PORT_IN_USE', 4: 'LISTEN_FAILED', 5: 'BAD_REQUEST', 6: 'NOT_REGISTERED', 7: 'TOO_MANY_SERVICES',
    });
    expect(refusalReasonName).toEqual({ 1: 'ADDRESS_IN_USE', 2: 'OUTSIDE_NETWORK', 3: 'NAME_TAKEN', 4: 'KEY_NOT_ALLOWED', 5: 'BAD_REQUEST', 6: 'VERSION', 7: 'UNAVAILABLE' });
    expect([PROTOCOL_VERSION, REGISTER_V1_TYPE, REGISTER_FLAG_OVERLAY6]).toEqual([2, 1, 0x10]);
  });

  it.each([
    ['IPv4 endpoints', entry],
    ['IPv6 endpoints and overlay6', { ...entry, overlay6: 'fd9a::1', reflexive: { address: '2001:db8::7', port: 1 }, lan: [{ address: 'fd00::1', port: 2 }, { address: '192.168.0.2', port: 3 }] }],
  ])('sizes a MAP entry exactly (%s)', (_why, e) => {
    const one = encodeControl({ type: ControlType.MAP, seq: 0, version: 1, base: 0, part: 0, parts: 1, entries: [e] });
    const none = encodeControl({ type: ControlType.MAP, seq: 0, version: 1, base: 0, part: 0, parts: 1, entries: [] });
    expect(one.byteLength - none.byteLength).toBe(mapEntryBytes(e));
  });

  it('fuzz: decode succeeds or throws DecodeError, and decode-encode-decode is a fixed point', () => {
    const seeds = golden.map(([, m]) => encodeControl(m));
    const input = (rng: Rng): Uint8Array => {
      if (rng.chance(0.5)) {
        // Mutate a valid message: flip, truncate or extend, so the fuzz reaches deep fields.
        const s = seeds[rng.int(seeds.length)]!;
        let b = s.slice(0, rng.chance(0.3) ? rng.int(s.byteLength + 1) : s.byteLength);
        for (let j = rng.int(3); j > 0 && b.byteLength > 0; j--) b[rng.int(b.byteLength)] = rng.int(256);
        if (rng.chance(0.1)) b = Uint8Array.of(...b, rng.int(256));
        return b;
      }
      const b = rng.bytes(rng.int(64));
      if (b.byteLength > 0) b[0] = rng.chance(0.2) ? ControlType.REGISTER : 1 + rng.int(10);
      return b;
    };
    const decoded = fuzzCodec<ControlMessage>({ seed: 11, iterations: 20000, input, decode: decodeControl, encode: encodeControl, sameBytes: false });
    expect(decoded).toBeGreaterThan(1000);
  });
});

describe('endpoint encoding (plain u32 math, same bytes as ip-num)', () => {
  const heartbeat = (address: string): ControlMessage => ({ type: ControlType.HEARTBEAT_OK, seq: 1, observed: { address, port: 0x1234 }, mapVersion: 0 });

  it('encodes random addresses exactly as ipv4ToU32 and decodes them back', () => {
    const rng = new Rng(10);
    for (let i = 0; i < 2000; i++) {
      const address = [0, 0, 0, 0].map(() => rng.int(256)).join('.');
      const b = encodeControl(heartbeat(address));
      expect(b[5]).toBe(4);
      expect(new DataView(b.buffer, b.byteOffset).getUint32(6, false)).toBe(ipv4ToU32(address));
      expect(decodeControl(b)).toEqual(heartbeat(address));
    }
  });

  it.each([
    ['too few octets', '10.9.0'],
    ['an octet over 255', '10.9.0.256'],
    ['an empty octet', '10..0.1'],
    ['a trailing dot', '10.9.0.1.'],
    ['a letter', '10.9.0.x'],
    ['a hostname', 'hub.example'],
  ])('refuses %s with the TypeError ipv4ToU32 throws', (_why, address) => {
    expect(() => encodeControl(heartbeat(address))).toThrow(TypeError);
  });
});

describe('control messages of only a type and a seq (the decoder and encoder skip the Reader/Writer)', () => {
  it.each([
    ['ACK, seq 0', ControlType.ACK, 0, '05 00000000'],
    ['ACK, the top bit set (a negative int32 in JS bit math)', ControlType.ACK, 0x80000000, '05 00000080'],
    ['ACK, the largest seq', ControlType.ACK, 0xffffffff, '05 ffffffff'],
    ['GOODBYE', ControlType.GOODBYE, 0x01020304, '08 04030201'],
    ['HOME_MOVED', ControlType.HOME_MOVED, 0xfffffffe, '3d feffffff'],
  ])('%s: golden both ways', (_why, type, seq, hex) => {
    expect(toHex(encodeControl({ type, seq } as ControlMessage))).toBe(hex.replace(/ /g, ''));
    expect(decodeControl(fromHex(hex.replace(/ /g, '')))).toEqual({ type, seq });
  });

  it.each([
    ['HEARTBEAT cut after its seq', '06 01000000'],
    ['MAP cut after its seq', '04 01000000'],
    ['PUNCH_REQUEST cut after its seq', '09 01000000'],
    ['an unknown type', 'fe 01000000'],
  ])('%s: still read field by field, and refused', (_why, hex) => {
    expect(() => decodeControl(fromHex(hex.replace(/ /g, '')))).toThrow(DecodeError);
  });

  it('an ACK with a trailing byte is refused (the short path takes exactly 5 bytes)', () => {
    expect(() => decodeControl(fromHex('05010000' + '0000'))).toThrow(DecodeError);
  });

  it.each<[string, string, number | undefined]>([
    ['an ACK after the inner kind byte', '10 05 ffffff80', 0x80ffffff],
    ['an ACK at the start', '05 04030201', 0x01020304],
    ['a GOODBYE (not an ACK)', '10 08 01000000', undefined],
    ['an ACK with a trailing byte', '10 05 01000000 00', undefined],
    ['an ACK cut short', '10 05 010000', undefined],
  ])('ackSeqAt reads %s in place, as decodeControl would', (_why, hex, seq) => {
    const b = fromHex(hex.replace(/ /g, ''));
    const at = b[0] === 0x10 ? 1 : 0;
    expect(ackSeqAt(b, at)).toBe(seq);
    if (seq !== undefined) expect(decodeControl(b.subarray(at))).toEqual({ type: ControlType.ACK, seq });
  });
});
