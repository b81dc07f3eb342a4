// PCP MAP and NAT-PMP codecs (nat/port-map-codec.ts): golden bytes both ways (RFC 6887 11.1, RFC 6886
// 3.3), and a seeded fuzz loop: a decoder either decodes or throws DecodeError.
import { describe, expect, it } from 'vitest';
import {
  decodeNatPmpAddressResponse, decodeNatPmpMapResponse, decodePcpMapResponse, encodeNatPmpMap, encodePcpMap, PCP_MAP_BYTES, pcpResultName,
} from '../../src/nat/port-map-codec.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';
import { Rng } from '../fakes/rng.js';

const hex = (s: string) => s.replace(/\s+/g, '');
const nonce = fromHex('0102030405060708090a0b0c');

describe('PCP MAP', () => {
  it('request: version 2, opcode 1, lifetime, client as IPv4-mapped, nonce, UDP, ports, any external address', () => {
    const b = encodePcpMap({ lifetimeS: 7200, client: '192.168.1.2', nonce, internalPort: 51820, suggestedPort: 51820 });
    expect(toHex(b)).toBe(hex(`02 01 0000 00001c20 ${'00'.repeat(10)} ffff c0a80102
      0102030405060708090a0b0c 11 000000 ca6c ca6c ${'00'.repeat(16)}`));
  });

  it('request with a suggested external address (a renewal asks for what it has); lifetime 0 deletes', () => {
    const b = encodePcpMap({ lifetimeS: 0, client: '192.168.1.2', nonce, internalPort: 51820, suggestedPort: 41000, suggestedAddress: '198.51.100.101' });
    expect(toHex(b.subarray(4, 8))).toBe('00000000');
    expect(toHex(b.subarray(42, 60))).toBe(hex(`a028 ${'00'.repeat(10)} ffff c6336465`));
  });

  const response = hex(`02 81 00 00 00001c20 000003e8 ${'00'.repeat(12)}
    0102030405060708090a0b0c 11 000000 ca6c a028 ${'00'.repeat(10)} ffff c6336465`);

  it('response: result, lifetime, epoch, nonce, internal and assigned external endpoint', () => {
    expect(decodePcpMapResponse(fromHex(response))).toEqual({
      result: 0, lifetimeS: 7200, epoch: 1000, nonce, internalPort: 51820, externalPort: 41000, externalAddress: '198.51.100.101',
    });
  });

  it.each([
    ['a request echoed back (no R bit)', `02 01${response.slice(4)}`],
    ['an ANNOUNCE response', `02 80${response.slice(4)}`],
    ['NAT-PMP (version 0)', `00 81${response.slice(4)}`],
    ['a TCP mapping', response.slice(0, 72) + '06' + response.slice(74)],
    ['short', response.slice(0, 100)],
  ])('refuses %s', (_why, h) => {
    expect(() => decodePcpMapResponse(fromHex(hex(h)))).toThrow(DecodeError);
  });

  it('names the result codes a gateway sends', () => {
    expect([0, 2, 8, 12].map((r) => pcpResultName[r])).toEqual(['SUCCESS', 'NOT_AUTHORIZED', 'NO_RESOURCES', 'ADDRESS_MISMATCH']);
  });
});

describe('NAT-PMP', () => {
  it('map request: version 0, opcode 1 (UDP), ports, lifetime', () => {
    expect(toHex(encodeNatPmpMap(51820, 51820, 7200))).toBe('00010000ca6cca6c00001c20');
  });

  it('map response and external address response', () => {
    expect(decodeNatPmpMapResponse(fromHex('0081000000000 3e8ca6ca02800001c20'.replace(/\s/g, '')))).toEqual({ result: 0, epoch: 1000, internalPort: 51820, externalPort: 41000, lifetimeS: 7200 });
    expect(decodeNatPmpAddressResponse(fromHex('0080000000000 3e8c6336465'.replace(/\s/g, '')))).toEqual({ result: 0, address: '198.51.100.101' });
    expect(() => decodeNatPmpMapResponse(fromHex('0080000000000 3e8c6336465'.replace(/\s/g, '')))).toThrow(DecodeError);
  });
});

describe('fuzz', () => {
  it('every decoder decodes or throws DecodeError on random bytes', () => {
    const rng = new Rng(20);
    for (let i = 0; i < 1000; i++) {
      const b = rng.bytes(rng.int(PCP_MAP_BYTES + 8));
      if (rng.chance(0.5) && b.byteLength > 1) {
        b[0] = rng.chance(0.5) ? 2 : 0;
        b[1] = [0x81, 129, 128][rng.int(3)]!;
      }
      for (const f of [decodePcpMapResponse, decodeNatPmpMapResponse, decodeNatPmpAddressResponse]) {
        try {
          f(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }
    }
  });
});
