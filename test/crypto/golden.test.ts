// Golden vectors for the crypto that fills the outer messages: with fixed static and ephemeral keys
// the handshake, first transport packet and hub-key messages are byte-exact, checked both ways
// (we produce the golden bytes; the golden bytes consumed give the expected keys and fields).
import { describe, expect, it } from 'vitest';
import { createInitiation, consumeResponse, HandshakeResponder } from '../../src/crypto/handshake.js';
import { TransportSession } from '../../src/crypto/session.js';
import { buildHubKeyRequest, buildHubKeyResponse, verifyHubKeyRequest, verifyHubKeyResponse } from '../../src/crypto/hub-key.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { fixedKey, goldenHandshake, identity, PSK, WALL } from './helpers.js';
import { GOLDEN } from './golden.js';

const alice = identity(1);
const bob = identity(2);
const hex = (s: string) => toHex(fromHex(s));

describe('golden handshake', () => {
  it('produces the golden HANDSHAKE_INIT, HANDSHAKE_RESP, keys and first TRANSPORT', () => {
    expect(goldenHandshake()).toEqual({
      init: hex(GOLDEN.init), resp: hex(GOLDEN.resp), initiatorSendKey: GOLDEN.initiatorSendKey, initiatorRecvKey: GOLDEN.initiatorRecvKey, transport: hex(GOLDEN.transport),
    });
  });

  it('consumes the golden bytes: responder reads alice, initiator derives the golden keys, bob opens the packet', () => {
    const r = new HandshakeResponder(bob);
    const consumed = r.consumeInitiation(fromHex(GOLDEN.init), WALL);
    expect(toHex(consumed.remoteStatic)).toBe(toHex(alice.keyPair.publicKey));
    expect(consumed.remoteIndex).toBe(0x01020304);
    expect(consumed.timestampMs).toBe(WALL);
    const resp = r.createResponse(consumed, 0x0a0b0c0d, { ephemeral: fixedKey(4) });
    expect(toHex(resp.keys.recvKey)).toBe(GOLDEN.initiatorSendKey);
    expect(toHex(resp.keys.sendKey)).toBe(GOLDEN.initiatorRecvKey);
    const pending = createInitiation(alice, bob.keyPair.publicKey, 0x01020304, WALL, { ephemeral: fixedKey(3) }).pending;
    const keys = consumeResponse(pending, fromHex(GOLDEN.resp));
    expect(toHex(keys.sendKey)).toBe(GOLDEN.initiatorSendKey);
    expect(new TextDecoder().decode(new TransportSession(resp.keys, 0).open(fromHex(GOLDEN.transport), 0)!)).toBe('meshd');
  });
});

describe('golden hub-key messages', () => {
  const nonce = new Uint8Array(12).fill(7);
  it('produces the golden HUB_KEY_REQ and HUB_KEY_RESP', () => {
    expect(toHex(buildHubKeyRequest(PSK, WALL, nonce).message)).toBe(hex(GOLDEN.hubKeyReq));
    expect(toHex(buildHubKeyResponse(PSK, nonce, bob.keyPair.publicKey))).toBe(hex(GOLDEN.hubKeyResp));
  });
  it('verifies the golden bytes', () => {
    expect(toHex(verifyHubKeyRequest(PSK, fromHex(GOLDEN.hubKeyReq))!)).toBe(toHex(nonce));
    expect(toHex(verifyHubKeyResponse(PSK, fromHex(GOLDEN.hubKeyResp), nonce)!)).toBe(toHex(bob.keyPair.publicKey));
  });
});
