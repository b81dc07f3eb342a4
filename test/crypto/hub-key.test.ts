// HUB_KEY MACs: only a holder of the network secret gets (or believes) an answer.
import { describe, expect, it } from 'vitest';
import { buildHubKeyRequest, buildHubKeyResponse, verifyHubKeyRequest, verifyHubKeyResponse } from '../../src/crypto/hub-key.js';
import { toHex } from '../../src/util/bytes.js';
import { fixedKey, OTHER_PSK, PSK } from './helpers.js';

const hub = fixedKey(9).publicKey;

describe('hub-key MACs', () => {
  it('round trip: the peer learns the hub key', () => {
    const { message, nonce } = buildHubKeyRequest(PSK);
    const got = verifyHubKeyRequest(PSK, message)!;
    expect(toHex(got)).toBe(toHex(nonce));
    expect(toHex(verifyHubKeyResponse(PSK, buildHubKeyResponse(PSK, got, hub), nonce)!)).toBe(toHex(hub));
  });

  it.each([
    ['request from another network', () => verifyHubKeyRequest(PSK, buildHubKeyRequest(OTHER_PSK).message)],
    ['request with a flipped byte', () => {
      const m = buildHubKeyRequest(PSK).message;
      m[5]! ^= 1;
      return verifyHubKeyRequest(PSK, m);
    }],
    ['request of the wrong length', () => verifyHubKeyRequest(PSK, buildHubKeyRequest(PSK).message.subarray(0, 31))],
    ['response from another network', () => {
      const { nonce } = buildHubKeyRequest(PSK);
      return verifyHubKeyResponse(PSK, buildHubKeyResponse(OTHER_PSK, nonce, hub), nonce);
    }],
    ['response to another request (nonce mismatch)', () => {
      const a = buildHubKeyRequest(PSK);
      const b = buildHubKeyRequest(PSK);
      return verifyHubKeyResponse(PSK, buildHubKeyResponse(PSK, b.nonce, hub), a.nonce);
    }],
    ['response with the hub key altered', () => {
      const { nonce } = buildHubKeyRequest(PSK);
      const m = buildHubKeyResponse(PSK, nonce, hub);
      m[20]! ^= 1;
      return verifyHubKeyResponse(PSK, m, nonce);
    }],
  ])('refuses %s', (_why, f) => {
    expect(f()).toBeUndefined();
  });
});
