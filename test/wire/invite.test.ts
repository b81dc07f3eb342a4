// Invite token and JOIN_* codecs (wire/invite.ts): golden bytes both ways, refusals of forged and
// truncated tokens by code, and the seeded fuzz loop for each decoder.
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';
import {
  crc32,
  decodeInviteToken,
  decodeJoinInit,
  decodeJoinRefused,
  decodeJoinResp,
  decodeJoinResult,
  decodeTokenBytes,
  encodeInviteToken,
  encodeJoinInit,
  encodeJoinRefused,
  encodeJoinResp,
  encodeJoinResult,
  encodeTokenBytes,
  JoinRefusal,
  joinRefusalName,
  type InviteToken,
} from '../../src/wire/invite.js';
import type { Rng } from '../fakes/rng.js';
import { fuzzCodec, withTypeHeader } from '../helpers/fuzz.js';

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const TOKEN: InviteToken = { networkId: fill(8, 0x11), hubKey: fill(32, 0x22), inviteId: fill(8, 0x33), secret: fill(32, 0x44), addresses: ['203.0.113.1:7000'] };
const GOLDEN_TOKEN_HEX =
  '01' + '11'.repeat(8) + '22'.repeat(32) + '33'.repeat(8) + '44'.repeat(32) + '01' + '10' + Buffer.from('203.0.113.1:7000').toString('hex');
const GOLDEN_TOKEN = GOLDEN_TOKEN_HEX + crc32(fromHex(GOLDEN_TOKEN_HEX)).toString(16).padStart(8, '0');

describe('invite token', () => {
  it('crc32 is IEEE CRC-32 (check value of "123456789")', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('golden bytes both ways, and the text form', () => {
    expect(toHex(encodeTokenBytes(TOKEN))).toBe(GOLDEN_TOKEN);
    expect(decodeTokenBytes(fromHex(GOLDEN_TOKEN))).toEqual(TOKEN);
    const text = encodeInviteToken(TOKEN);
    expect(text.startsWith('meshd1-')).toBe(true);
    expect(text).toMatch(/^meshd1-[A-Za-z0-9_-]+$/);
    expect(decodeInviteToken(`  ${text}\n`)).toEqual(TOKEN);
  });

  it.each([
    ['no prefix', (t: string) => t.slice(7), 'TOKEN_PREFIX'],
    ['another prefix version', (t: string) => `meshd2-${t.slice(7)}`, 'TOKEN_PREFIX'],
    ['truncated by one character', (t: string) => t.slice(0, -1), 'TOKEN_CHECKSUM'],
    ['truncated to half', (t: string) => t.slice(0, 60), 'TOKEN_TRUNCATED'],
    ['one character changed', (t: string) => t.slice(0, 30) + (t[30] === 'A' ? 'B' : 'A') + t.slice(31), 'TOKEN_CHECKSUM'],
    ['not base64url', (t: string) => `${t}!`, 'TOKEN_MALFORMED'],
  ])('refuses a token %s', (_why, mangle, code) => {
    const text = mangle(encodeInviteToken(TOKEN));
    expect(() => decodeInviteToken(text)).toThrow(DecodeError);
    try {
      decodeInviteToken(text);
    } catch (e) {
      expect((e as DecodeError).code).toBe(code);
    }
  });

  it('refuses a version it does not read, even with a good checksum', () => {
    const b = encodeTokenBytes(TOKEN);
    b[0] = 2;
    new DataView(b.buffer).setUint32(b.byteLength - 4, crc32(b.subarray(0, b.byteLength - 4)), false);
    expect(() => decodeTokenBytes(b)).toThrow(expect.objectContaining({ code: 'TOKEN_VERSION' }));
  });

  it('fuzz: decode or DecodeError; decode-encode-decode fixed point', () => {
    const base = encodeTokenBytes({ ...TOKEN, addresses: ['a:1', 'hub.example:7000'] });
    const input = (rng: Rng) => {
      const d = rng.chance(0.3) ? rng.bytes(rng.int(200)) : new Uint8Array(base);
      if (rng.chance(0.7)) for (let i = rng.int(3); i >= 0; i--) d[rng.int(d.byteLength || 1)] = rng.int(256);
      // Most inputs carry a valid checksum so the field checks are reached.
      if (d.byteLength >= 86 && rng.chance(0.8)) new DataView(d.buffer).setUint32(d.byteLength - 4, crc32(d.subarray(0, d.byteLength - 4)), false);
      return d;
    };
    expect(fuzzCodec({ seed: 25, iterations: 3000, input, decode: decodeTokenBytes, encode: encodeTokenBytes })).toBeGreaterThan(100);
  });
});

describe('JOIN messages', () => {
  const init = { networkId: fill(8, 1), inviteId: fill(8, 2), handshake: Uint8Array.from({ length: 148 }, (_, i) => i) };
  const resp = { handshake: fill(92, 5), sealed: fill(80, 6) };
  const refused = { networkId: fill(8, 1), inviteId: fill(8, 2), reason: JoinRefusal.OTHER_NETWORK };

  it('pins the refusal names', () => {
    expect(joinRefusalName).toEqual({ 1: 'UNKNOWN_INVITE', 2: 'OTHER_NETWORK', 3: 'USED', 4: 'EXPIRED', 5: 'WRONG_KEY', 6: 'REVOKED', 7: 'HUB_ERROR' });
  });

  it('golden bytes both ways', () => {
    const i = encodeJoinInit(init);
    expect(toHex(i)).toBe('07000000' + '01'.repeat(8) + '02'.repeat(8) + toHex(init.handshake) + '00'.repeat(88));
    expect(decodeJoinInit(i)).toEqual(init);
    const r = encodeJoinResp(resp);
    expect(toHex(r)).toBe('08000000' + '05'.repeat(92) + '06'.repeat(80));
    expect(decodeJoinResp(r)).toEqual(resp);
    const f = encodeJoinRefused(refused);
    expect(toHex(f)).toBe('09000000' + '01'.repeat(8) + '02'.repeat(8) + '02' + '00'.repeat(11));
    expect(decodeJoinRefused(f)).toEqual(refused);
  });

  it('JoinResult golden bytes both ways', () => {
    const ok = { ok: true as const, networkPsk: fill(32, 9), network: 0x0a090000, prefix: 24, name: 'pc' };
    expect(toHex(encodeJoinResult(ok))).toBe('00' + '09'.repeat(32) + '0a090000' + '18' + '02' + '7063');
    expect(decodeJoinResult(encodeJoinResult(ok))).toEqual(ok);
    const no = { ok: false as const, reason: JoinRefusal.USED, text: 'used' };
    expect(toHex(encodeJoinResult(no))).toBe('03' + '04' + '75736564');
    expect(decodeJoinResult(encodeJoinResult(no))).toEqual(no);
  });

  it.each([
    ['JOIN_INIT', 7, () => encodeJoinInit(init), decodeJoinInit, encodeJoinInit],
    ['JOIN_RESP', 8, () => encodeJoinResp(resp), decodeJoinResp, encodeJoinResp],
    ['JOIN_REFUSED', 9, () => encodeJoinRefused(refused), decodeJoinRefused, encodeJoinRefused],
    ['JoinResult', 0, () => encodeJoinResult({ ok: true, networkPsk: fill(32, 9), network: 1, prefix: 24, name: 'pc' }), decodeJoinResult, encodeJoinResult],
  ] as const)('fuzz %s: decode or DecodeError; decode-encode-decode fixed point', (_n, type, sample, dec, enc) => {
    const base = sample();
    const input = (rng: Rng) => {
      const d = rng.chance(0.6) ? new Uint8Array(base) : rng.bytes(rng.int(base.byteLength * 2));
      if (rng.chance(0.5)) for (let i = rng.int(4); i >= 0; i--) d[rng.int(d.byteLength || 1)] = rng.int(256);
      if (type !== 0) withTypeHeader(rng, d, type);
      return d;
    };
    const ok = fuzzCodec<unknown>({ seed: 250 + type, iterations: 3000, input, decode: dec, encode: (m) => enc(m as never) });
    expect(ok).toBeGreaterThan(0);
  });
});
