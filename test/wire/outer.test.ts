// Outer classification: the type-name map is pinned; messageTypeOf checks reserved bytes and sizes.
import { describe, expect, it } from 'vitest';
import { messageTypeName, MessageType, messageTypeOf, typeNameOf } from '../../src/wire/outer.js';
import { fromHex } from '../../src/util/bytes.js';
import { GOLDEN } from '../crypto/golden.js';

const withByte = (d: Uint8Array, i: number, v: number) => {
  const t = new Uint8Array(d);
  t[i] = v;
  return t;
};

describe('outer message types', () => {
  it('pins the type-to-name map', () => {
    expect(messageTypeName).toEqual({ 1: 'HANDSHAKE_INIT', 2: 'HANDSHAKE_RESP', 3: 'COOKIE_REPLY', 4: 'TRANSPORT', 5: 'HUB_KEY_REQ', 6: 'HUB_KEY_RESP', 7: 'JOIN_INIT', 8: 'JOIN_RESP', 9: 'JOIN_REFUSED' });
    expect(typeNameOf(10)).toBe('TYPE_10');
  });

  it.each([
    ['golden init', fromHex(GOLDEN.init), MessageType.HandshakeInit],
    ['golden resp', fromHex(GOLDEN.resp), MessageType.HandshakeResp],
    ['golden transport', fromHex(GOLDEN.transport), MessageType.Transport],
    ['golden hub key req', fromHex(GOLDEN.hubKeyReq), MessageType.HubKeyReq],
    ['golden hub key resp', fromHex(GOLDEN.hubKeyResp), MessageType.HubKeyResp],
    ['golden cookie reply', fromHex(GOLDEN.cookieReply), MessageType.CookieReply],
    ['cookie reply one byte short', fromHex(GOLDEN.cookieReply).subarray(0, 63), undefined],
    ['transport of exactly 32 bytes (empty plaintext)', fromHex(GOLDEN.transport).subarray(0, 32), MessageType.Transport],
    ['transport under 32 bytes', fromHex(GOLDEN.transport).subarray(0, 31), undefined],
    ['init one byte short', fromHex(GOLDEN.init).subarray(0, 147), undefined],
    ['resp one byte long', new Uint8Array([...fromHex(GOLDEN.resp), 0]), undefined],
    ['hub key req with a reserved byte set', withByte(fromHex(GOLDEN.hubKeyReq), 1, 1), undefined],
    ['transport with reserved byte 3 set', withByte(fromHex(GOLDEN.transport), 3, 0x80), undefined],
    ['type 3 of a size that is not 64', withByte(fromHex(GOLDEN.transport), 0, 3), undefined],
    ['type 10 (unassigned)', withByte(fromHex(GOLDEN.transport), 0, 10), undefined],
    ['type 7 (JOIN_INIT) of a size that is not 256', withByte(fromHex(GOLDEN.transport), 0, 7), undefined],
    ['JOIN_INIT of 256 bytes', withByte(new Uint8Array(256), 0, 7), MessageType.JoinInit],
    ['JOIN_REFUSED of 32 bytes', withByte(new Uint8Array(32), 0, 9), MessageType.JoinRefused],
    ['JOIN_RESP of 128 bytes', withByte(new Uint8Array(128), 0, 8), MessageType.JoinResp],
    ['JOIN_RESP over 256 bytes', withByte(new Uint8Array(257), 0, 8), undefined],
    ['type 0', withByte(fromHex(GOLDEN.transport), 0, 0), undefined],
    ['empty datagram', new Uint8Array(0), undefined],
  ])('%s -> %s', (_why, d, want) => {
    expect(messageTypeOf(d)).toBe(want);
  });
});
