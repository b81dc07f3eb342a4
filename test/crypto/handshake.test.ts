// The handshake: good path key agreement and every named refusal.
import { describe, expect, it } from 'vitest';
import { createInitiation, consumeResponse, HandshakeResponder, staticShared } from '../../src/crypto/handshake.js';
import { Noise } from '../../src/crypto/noise.js';
import { nodeNoise } from '../../src/crypto/noise-node.js';
import { HandshakeError } from '../../src/util/errors.js';
import { toHex } from '../../src/util/bytes.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { fixedKey, identity, identity as baseIdentity, OTHER_PSK, WALL } from './helpers.js';

const alice = identity(1);
const bob = identity(2);

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof HandshakeError) return e.code;
    throw e;
  }
  return undefined;
}

describe('handshake good path', () => {
  it('derives matching keys on both sides', () => {
    const responder = new HandshakeResponder(bob);
    const { message, pending } = createInitiation(alice, bob.keyPair.publicKey, 0x11111111, WALL);
    expect(message.byteLength).toBe(148);
    expect(responder.checkMac1(message)).toBe(true);
    const consumed = responder.consumeInitiation(message, WALL + 50);
    expect(toHex(consumed.remoteStatic)).toBe(toHex(alice.keyPair.publicKey));
    expect(consumed.remoteIndex).toBe(0x11111111);
    expect(consumed.timestampMs).toBe(WALL);
    const resp = responder.createResponse(consumed, 0x22222222);
    expect(resp.message.byteLength).toBe(92);
    const keys = consumeResponse(pending, resp.message);
    expect(toHex(keys.sendKey)).toBe(toHex(resp.keys.recvKey));
    expect(toHex(keys.recvKey)).toBe(toHex(resp.keys.sendKey));
    expect(toHex(keys.sendKey)).not.toBe(toHex(keys.recvKey));
    expect(keys).toMatchObject({ localIndex: 0x11111111, remoteIndex: 0x22222222, isInitiator: true });
    expect(resp.keys).toMatchObject({ localIndex: 0x22222222, remoteIndex: 0x11111111, isInitiator: false });
    expect(toHex(keys.remoteStatic)).toBe(toHex(bob.keyPair.publicKey));
    expect(toHex(resp.keys.remoteStatic)).toBe(toHex(alice.keyPair.publicKey));
  });

  it('gives different keys for every handshake (fresh ephemerals)', () => {
    const responder = new HandshakeResponder(bob);
    const a = createInitiation(alice, bob.keyPair.publicKey, 1, WALL);
    const ka = consumeResponse(a.pending, responder.createResponse(responder.consumeInitiation(a.message, WALL), 2).message);
    const b = createInitiation(alice, bob.keyPair.publicKey, 3, WALL + 1);
    const kb = consumeResponse(b.pending, responder.createResponse(responder.consumeInitiation(b.message, WALL + 1), 4).message);
    expect(toHex(ka.sendKey)).not.toBe(toHex(kb.sendKey));
  });
});

describe('handshake refusals (responder)', () => {
  const init = () => createInitiation(alice, bob.keyPair.publicKey, 7, WALL).message;
  it.each([
    ['truncated by one byte', () => new HandshakeResponder(bob).consumeInitiation(init().subarray(0, 147), WALL), 'HANDSHAKE_SHORT'],
    ['empty', () => new HandshakeResponder(bob).consumeInitiation(new Uint8Array(0), WALL), 'HANDSHAKE_SHORT'],
    ['extended by one byte', () => {
      const m = new Uint8Array(149);
      m.set(init());
      return new HandshakeResponder(bob).consumeInitiation(m, WALL);
    }, 'HANDSHAKE_LONG'],
    ['reserved byte set', () => {
      const m = init();
      m[2] = 1;
      return new HandshakeResponder(bob).consumeInitiation(m, WALL);
    }, 'HANDSHAKE_TYPE'],
    ['initiator has another network secret: mac1 is keyed by the psk', () =>
      new HandshakeResponder(bob).consumeInitiation(createInitiation(identity(1, OTHER_PSK), bob.keyPair.publicKey, 7, WALL).message, WALL), 'HANDSHAKE_BAD_MAC'],
    ['addressed to another responder key: mac1 includes it', () =>
      new HandshakeResponder(bob).consumeInitiation(createInitiation(alice, generateKeyPair().publicKey, 7, WALL).message, WALL), 'HANDSHAKE_BAD_MAC'],
    ['a flipped mac1 byte', () => {
      const m = init();
      m[120]! ^= 1;
      return new HandshakeResponder(bob).consumeInitiation(m, WALL);
    }, 'HANDSHAKE_BAD_MAC'],
    ['initiator key not in the allow-list', () =>
      new HandshakeResponder(bob, { allowedKeys: () => false }).consumeInitiation(init(), WALL), 'HANDSHAKE_KEY_NOT_ALLOWED'],
    ['timestamp 181 s behind the responder clock', () => new HandshakeResponder(bob).consumeInitiation(init(), WALL + 181_000), 'HANDSHAKE_STALE'],
    ['timestamp 181 s ahead of the responder clock', () => new HandshakeResponder(bob).consumeInitiation(init(), WALL - 181_000), 'HANDSHAKE_STALE'],
  ])('%s -> %s', (_why, f, code) => {
    expect(codeOf(f)).toBe(code);
  });

  it('accepts a timestamp 179 s off either way (inside the skew bound)', () => {
    expect(codeOf(() => new HandshakeResponder(bob).consumeInitiation(init(), WALL + 179_000))).toBeUndefined();
    expect(codeOf(() => new HandshakeResponder(bob).consumeInitiation(init(), WALL - 179_000))).toBeUndefined();
  });

  it('refuses a replayed initiation and an older one, accepts a newer one', () => {
    const r = new HandshakeResponder(bob);
    const first = createInitiation(alice, bob.keyPair.publicKey, 1, WALL).message;
    const older = createInitiation(alice, bob.keyPair.publicKey, 2, WALL - 1000).message;
    const newer = createInitiation(alice, bob.keyPair.publicKey, 3, WALL + 1).message;
    r.consumeInitiation(first, WALL);
    expect(codeOf(() => r.consumeInitiation(first, WALL))).toBe('HANDSHAKE_REPLAY');
    expect(codeOf(() => r.consumeInitiation(older, WALL))).toBe('HANDSHAKE_REPLAY');
    expect(codeOf(() => r.consumeInitiation(newer, WALL))).toBeUndefined();
  });

  it('refused initiations do not advance the replay timestamp', () => {
    const r = new HandshakeResponder(bob);
    expect(codeOf(() => r.consumeInitiation(createInitiation(alice, bob.keyPair.publicKey, 1, WALL + 500_000).message, WALL))).toBe('HANDSHAKE_STALE');
    expect(codeOf(() => r.consumeInitiation(createInitiation(alice, bob.keyPair.publicKey, 1, WALL).message, WALL))).toBeUndefined();
  });

  it('detects a tampered encrypted static even with a valid mac1 (needs the psk to forge)', async () => {
    const { mac1Key } = await import('../../src/crypto/handshake.js');
    const { createHmac } = await import('node:crypto');
    const m = init();
    m[50]! ^= 1;
    m.set(createHmac('blake2s256', mac1Key(bob.psk, bob.keyPair.publicKey)).update(m.subarray(0, 116)).digest().subarray(0, 16), 116);
    expect(codeOf(() => new HandshakeResponder(bob).consumeInitiation(m, WALL))).toBe('HANDSHAKE_DECRYPT');
  });
});

describe('handshake refusals (initiator)', () => {
  function exchange(resp = new HandshakeResponder(bob)) {
    const i = createInitiation(alice, bob.keyPair.publicKey, 0xabc, WALL);
    const r = resp.createResponse(resp.consumeInitiation(i.message, WALL), 0xdef);
    return { pending: i.pending, response: r.message };
  }
  it.each([
    ['truncated response', (p: ReturnType<typeof exchange>) => consumeResponse(p.pending, p.response.subarray(0, 91)), 'HANDSHAKE_SHORT'],
    ['extended response', (p: ReturnType<typeof exchange>) => consumeResponse(p.pending, new Uint8Array([...p.response, 0])), 'HANDSHAKE_LONG'],
    ['a flipped mac1 byte', (p: ReturnType<typeof exchange>) => {
      p.response[61]! ^= 1;
      return consumeResponse(p.pending, p.response);
    }, 'HANDSHAKE_BAD_MAC'],
    ['receiver index of another initiation', (p: ReturnType<typeof exchange>) => {
      const other = createInitiation(alice, bob.keyPair.publicKey, 0x999, WALL + 5).pending;
      return consumeResponse(other, p.response);
    }, 'HANDSHAKE_UNKNOWN_INDEX'],
    ['the same response twice', (p: ReturnType<typeof exchange>) => {
      consumeResponse(p.pending, p.response);
      return consumeResponse(p.pending, p.response);
    }, 'HANDSHAKE_USED'],
  ])('%s -> %s', (_why, f, code) => {
    expect(codeOf(() => f(exchange()))).toBe(code);
  });

  it('a responder with another network secret: the response does not verify', () => {
    // The responder's mac1 for the response is keyed by its (wrong) psk: refused before decrypting.
    const evil = new HandshakeResponder(identity(2, OTHER_PSK), {});
    const i = createInitiation(identity(1, OTHER_PSK), bob.keyPair.publicKey, 5, WALL);
    const r = evil.createResponse(evil.consumeInitiation(i.message, WALL), 6);
    const mine = createInitiation(alice, bob.keyPair.publicKey, 5, WALL);
    expect(codeOf(() => consumeResponse(mine.pending, r.message))).toBe('HANDSHAKE_BAD_MAC');
  });

  it('an old response from before a responder restart does not match a new initiation', () => {
    const before = new HandshakeResponder(bob);
    const old = createInitiation(alice, bob.keyPair.publicKey, 0x100, WALL);
    const oldResp = before.createResponse(before.consumeInitiation(old.message, WALL), 0x200).message;
    // Responder restarts: a fresh instance has no replay memory and accepts a new initiation.
    const after = new HandshakeResponder(bob);
    const fresh = createInitiation(alice, bob.keyPair.publicKey, 0x101, WALL + 6000);
    const freshResp = after.createResponse(after.consumeInitiation(fresh.message, WALL + 6000), 0x201);
    // The late old response names another index...
    expect(codeOf(() => consumeResponse(fresh.pending, oldResp))).toBe('HANDSHAKE_UNKNOWN_INDEX');
    // ...and even with the same index it would not decrypt (other ephemerals).
    const same = createInitiation(alice, bob.keyPair.publicKey, 0x100, WALL + 7000);
    expect(codeOf(() => consumeResponse(same.pending, oldResp))).toBe('HANDSHAKE_DECRYPT');
    const keys = consumeResponse(fresh.pending, freshResp.message);
    expect(toHex(keys.sendKey)).toBe(toHex(freshResp.keys.recvKey));
  });
});

describe('the static-static DH is made once per pair', () => {
  /** A Noise on node:crypto that counts its X25519 calls; the identities below run on it. */
  let dhCalls = 0;
  const counting = new Noise({ ...nodeNoise, x25519: (priv, pub) => (dhCalls++, nodeNoise.x25519(priv, pub)) });
  const identity = (seed: number) => ({ ...baseIdentity(seed), noise: counting });
  /** Counts the X25519 calls `fn` makes through the counting backend. */
  function countingDh<T>(fn: () => T): { result: T; dh: number } {
    dhCalls = 0;
    const result = fn();
    return { result, dh: dhCalls };
  }

  it('a precomputed staticShared gives byte-identical initiations with one DH fewer', () => {
    const alice = identity(1);
    const bob = identity(2);
    const plain = countingDh(() => createInitiation(alice, bob.keyPair.publicKey, 7, WALL, { ephemeral: fixedKey(3) }));
    const ss = staticShared(alice, bob.keyPair.publicKey);
    const cached = countingDh(() => createInitiation(alice, bob.keyPair.publicKey, 7, WALL, { ephemeral: fixedKey(3), staticShared: ss }));
    expect(toHex(cached.result.message)).toBe(toHex(plain.result.message));
    expect([plain.dh, cached.dh]).toEqual([2, 1]);
  });

  it('the value is really used: a wrong one makes an initiation the responder cannot decrypt', () => {
    const alice = identity(1);
    const bob = identity(2);
    const wrong = staticShared(alice, identity(5).keyPair.publicKey);
    const { message } = createInitiation(alice, bob.keyPair.publicKey, 7, WALL, { staticShared: wrong });
    expect(() => new HandshakeResponder(bob).consumeInitiation(message, WALL)).toThrow(expect.objectContaining({ code: 'HANDSHAKE_DECRYPT' }));
  });

  it('the responder keeps it per initiator key after the first consume, and forget() drops it', () => {
    const alice = identity(1);
    const bob = identity(2);
    const r = new HandshakeResponder(bob);
    const consume = (n: number) => {
      const { message } = createInitiation(alice, bob.keyPair.publicKey, n, WALL + n);
      return countingDh(() => r.consumeInitiation(message, WALL + n)).dh;
    };
    expect(consume(1)).toBe(2); // es and ss
    expect(consume(2)).toBe(1); // es only
    expect(consume(3)).toBe(1);
    r.forget(alice.keyPair.publicKey);
    expect(consume(4)).toBe(2);
    // A refused consume (replay) keeps nothing new and does not poison the cache.
    const old = createInitiation(alice, bob.keyPair.publicKey, 9, WALL + 1).message;
    expect(() => r.consumeInitiation(old, WALL + 1)).toThrow(expect.objectContaining({ code: 'HANDSHAKE_REPLAY' }));
    expect(consume(5)).toBe(1);
  });
});
