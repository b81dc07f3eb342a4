// HUB_KEY MACs: only a holder of the network secret gets (or believes) an answer.
import { describe, expect, it } from 'vitest';
import { buildHubKeyRequest, buildHubKeyResponse, HUB_KEY_MAX_CLOCK_SKEW_MS, hubKeyRequestFresh, hubKeyRequestTimestamp, verifyHubKeyRequest, verifyHubKeyResponse } from '../../src/crypto/hub-key.js';
import { toHex } from '../../src/util/bytes.js';
import { fixedKey, OTHER_PSK, PSK } from './helpers.js';

const hub = fixedKey(9).publicKey;
const NOW = Date.UTC(2026, 0, 1);

describe('hub-key MACs', () => {
  it('round trip: the peer learns the hub key', () => {
    const { message, nonce } = buildHubKeyRequest(PSK, NOW);
    const got = verifyHubKeyRequest(PSK, message)!;
    expect(toHex(got)).toBe(toHex(nonce));
    expect(toHex(verifyHubKeyResponse(PSK, buildHubKeyResponse(PSK, got, hub), nonce)!)).toBe(toHex(hub));
  });

  it.each([
    ['request from another network', () => verifyHubKeyRequest(PSK, buildHubKeyRequest(OTHER_PSK, NOW).message)],
    ['request with a flipped byte', () => {
      const m = buildHubKeyRequest(PSK, NOW).message;
      m[5]! ^= 1;
      return verifyHubKeyRequest(PSK, m);
    }],
    ['request of the wrong length', () => verifyHubKeyRequest(PSK, buildHubKeyRequest(PSK, NOW).message.subarray(0, 32))],
    ['request with padding set (MAC covers it, but the hub checks it is zero)', () => {
      const m = buildHubKeyRequest(PSK, NOW).message;
      m[40]! ^= 1;
      return verifyHubKeyRequest(PSK, m);
    }],
    ['request with its timestamp moved (a stale copy made fresh)', () => {
      const m = buildHubKeyRequest(PSK, NOW).message;
      m[11]! ^= 1;
      return verifyHubKeyRequest(PSK, m);
    }],
    ['response from another network', () => {
      const { nonce } = buildHubKeyRequest(PSK, NOW);
      return verifyHubKeyResponse(PSK, buildHubKeyResponse(OTHER_PSK, nonce, hub), nonce);
    }],
    ['response to another request (nonce mismatch)', () => {
      const a = buildHubKeyRequest(PSK, NOW);
      const b = buildHubKeyRequest(PSK, NOW);
      return verifyHubKeyResponse(PSK, buildHubKeyResponse(PSK, b.nonce, hub), a.nonce);
    }],
    ['response with the hub key altered', () => {
      const { nonce } = buildHubKeyRequest(PSK, NOW);
      const m = buildHubKeyResponse(PSK, nonce, hub);
      m[20]! ^= 1;
      return verifyHubKeyResponse(PSK, m, nonce);
    }],
  ])('refuses %s', (_why, f) => {
    expect(f()).toBeUndefined();
  });

  it('a request carries its timestamp, readable before the MAC', () => {
    expect(hubKeyRequestTimestamp(buildHubKeyRequest(PSK, NOW).message)).toBe(NOW);
    expect(hubKeyRequestTimestamp(new Uint8Array(32))).toBeUndefined();
  });

  it.each([
    ['same instant', 0, true],
    ['peer 3 min behind (the handshake bound)', -HUB_KEY_MAX_CLOCK_SKEW_MS, true],
    ['peer 3 min ahead', HUB_KEY_MAX_CLOCK_SKEW_MS, true],
    ['a copy captured 3 min + 1 ms ago', -HUB_KEY_MAX_CLOCK_SKEW_MS - 1, false],
    ['a day-old copy', -86_400_000, false],
    ['stamped in the future beyond the bound', HUB_KEY_MAX_CLOCK_SKEW_MS + 1, false],
  ])('freshness: %s', (_why, offsetMs, fresh) => {
    expect(hubKeyRequestFresh(NOW + offsetMs, NOW)).toBe(fresh);
  });
});
