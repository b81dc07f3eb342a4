// The crypto addon's Noise primitives (crypto/native.ts nativeNoise, src/crypto/native/noise.c) must give exactly
// node:crypto's bytes: RFC 7748 and RFC 7693 vectors, seeded comparisons with node:crypto and the
// node backend, refusals (low-order keys, wrong arguments), and whole handshakes with either backend
// at every step, reproducing the golden messages.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CookieChecker, cookieReplyKey, initiationMac1, openCookieReply } from '../../src/crypto/cookie.js';
import { createInitiation, consumeResponse, HandshakeResponder, PendingInitiation } from '../../src/crypto/handshake.js';
import { generateKeyPair, keyPairFromPrivate } from '../../src/crypto/keys.js';
import { nodeNoise } from '../../src/crypto/noise-node.js';
import { cryptoAddonAvailable, nativeNoise } from '../../src/crypto/native.js';
import { aeadOpen, aeadSeal, hash, hmac, kdf, Noise, NODE_NOISE, x25519, type NoiseBackend } from '../../src/crypto/noise.js';
import { TransportSession } from '../../src/crypto/session.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { Rng } from '../fakes/rng.js';
import { GOLDEN } from './golden.js';
import { fixedKey, goldenHandshake, identity, PSK, WALL } from './helpers.js';

const native = nativeNoise();
const hex = (s: string) => toHex(fromHex(s));

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? 'no code';
  }
  return undefined;
}

/** Splits `b` at seeded points into `count` parts (some empty). */
function split(rng: Rng, b: Uint8Array, count: number): Uint8Array[] {
  const cuts = Array.from({ length: count - 1 }, () => rng.int(b.byteLength + 1)).sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const c of [...cuts, b.byteLength]) {
    out.push(b.subarray(at, c));
    at = c;
  }
  return out;
}

it('the built addon has the handshake primitives', () => {
  expect(nativeNoise() !== undefined).toBe(cryptoAddonAvailable());
});

describe.skipIf(native === undefined)('native Noise primitives', () => {
  const nat = native as NoiseBackend;
  /** The native primitives as handshakes get them (passed in, as the link does). */
  const natNoise = new Noise(nat);

  describe('X25519', () => {
    it.each([
      ['RFC 7748 5.2 first vector', 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4', 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c', 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552'],
      ['RFC 7748 5.2 second vector (u with the top bit set, masked)', '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d', 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493', '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957'],
      ['RFC 7748 6.1 alice with bob', '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'],
      ['RFC 7748 6.1 bob with alice', '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'],
    ])('%s', (_why, k, u, want) => {
      expect(toHex(nat.x25519(fromHex(k), fromHex(u))!)).toBe(want);
      expect(toHex(nodeNoise.x25519(fromHex(k), fromHex(u))!)).toBe(want);
    });

    it('RFC 7748 5.2 iterated: 1 and 1,000 rounds of k, u = X25519(k, u), k', () => {
      let k = fromHex('09' + '00'.repeat(31));
      let u = k;
      for (let i = 1; i <= 1000; i++) {
        [k, u] = [nat.x25519(k, u)!, k];
        if (i === 1) expect(toHex(k)).toBe('422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079');
      }
      expect(toHex(k)).toBe('684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51');
    });

    it('RFC 7748 6.1 public keys from private ones (base point)', () => {
      expect(toHex(nat.x25519Base(fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
      expect(toHex(nat.x25519Base(fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')))).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    });

    it('agrees with node:crypto on seeded keys (unclamped bytes; both sides of each DH)', () => {
      const rng = new Rng(7748);
      for (let i = 0; i < 20; i++) {
        const a = rng.bytes(32);
        const b = rng.bytes(32);
        const pa = nat.x25519Base(a);
        const pb = nat.x25519Base(b);
        expect(toHex(pa)).toBe(toHex(nodeNoise.x25519Base(a)));
        const s = nat.x25519(a, pb)!;
        expect(toHex(s)).toBe(toHex(nat.x25519(b, pa)!));
        expect(toHex(s)).toBe(toHex(nodeNoise.x25519(a, pb)!));
      }
    });

    // Curve25519 points of order 1, 2, 4 and 8 and their non-canonical encodings: X25519 with any
    // clamped scalar gives zero, which both backends refuse (undefined, no throw).
    it.each([
      ['0', '0000000000000000000000000000000000000000000000000000000000000000'],
      ['1', '0100000000000000000000000000000000000000000000000000000000000000'],
      ['order 8', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'],
      ['order 8, the other', '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157'],
      ['p - 1', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
      ['p (= 0)', 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
      ['p + 1 (= 1)', 'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
      ['0 with the top bit set', '0000000000000000000000000000000000000000000000000000000000000080'],
    ])('refuses the low-order public key %s', (_why, u) => {
      const priv = new Rng(1).bytes(32);
      expect(nat.x25519(priv, fromHex(u))).toBeUndefined();
      expect(nodeNoise.x25519(priv, fromHex(u))).toBeUndefined();
    });

    it('generated key pairs (native backend passed) are X25519(private, 9) and distinct', () => {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const k = generateKeyPair(natNoise);
        expect(toHex(nodeNoise.x25519Base(k.privateKey))).toBe(toHex(k.publicKey));
        expect(toHex(keyPairFromPrivate(k.privateKey, natNoise).publicKey)).toBe(toHex(k.publicKey));
        seen.add(toHex(k.privateKey));
      }
      expect(seen.size).toBe(20);
    });
  });

  describe('BLAKE2s, HMAC, KDF', () => {
    it('BLAKE2s-256 of "abc" is RFC 7693 appendix B; of nothing, the known empty digest', () => {
      const abc = new TextEncoder().encode('abc');
      expect(toHex(nat.hash(abc))).toBe('508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982');
      expect(toHex(nat.hash(abc.subarray(0, 1), new Uint8Array(0), abc.subarray(1)))).toBe('508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982');
      expect(toHex(nat.hash())).toBe(createHash('blake2s256').digest('hex'));
    });

    it('hash of 1..8 parts equals node:crypto on seeded inputs', () => {
      const rng = new Rng(7693);
      for (let i = 0; i < 200; i++) {
        const msg = rng.bytes(rng.int(300));
        const parts = split(rng, msg, 1 + rng.int(8));
        expect(toHex(nat.hash(...parts))).toBe(createHash('blake2s256').update(msg).digest('hex'));
      }
    });

    it('HMAC-BLAKE2s equals createHmac("blake2s256") for keys of 0..100 bytes (longer than the block: hashed) and 0..8 parts', () => {
      const rng = new Rng(2104);
      for (const klen of [0, 1, 16, 32, 63, 64, 65, 100]) {
        for (let i = 0; i < 25; i++) {
          const key = rng.bytes(klen);
          const msg = rng.bytes(rng.int(200));
          const parts = split(rng, msg, rng.int(9) || (msg.byteLength === 0 ? 0 : 1));
          expect(toHex(nat.hmac(key, ...parts))).toBe(createHmac('blake2s256', key).update(msg).digest('hex'));
        }
      }
    });

    it('KDF with 1, 2 and 3 outputs equals the node backend (and its first outputs agree across n)', () => {
      const rng = new Rng(5869);
      for (let i = 0; i < 50; i++) {
        const ck = rng.bytes(32);
        const input = rng.bytes([0, 32, 48, rng.int(100)][i % 4] as number);
        for (const n of [1, 2, 3] as const) {
          const t = nat.kdf(n, ck, input);
          expect(t.byteLength).toBe(32 * n);
          expect(toHex(t)).toBe(toHex(nodeNoise.kdf(n, ck, input)));
        }
        const [a1, a2, a3] = natNoise.kdf(3, ck, input).map(toHex);
        expect([a1, a2, a3]).toEqual(kdf(3, ck, input).map(toHex));
        expect(kdf(1, ck, input).map(toHex)).toEqual([a1]);
      }
    });

    it('noise.ts hash/hmac dispatch to the backend of their Noise with the same bytes', () => {
      const a = new TextEncoder().encode('meshd');
      const want = [toHex(hash(a, a)), toHex(hmac(a, a))];
      expect([toHex(natNoise.hash(a, a)), toHex(natNoise.hmac(a, a))]).toEqual(want);
    });
  });

  describe('ChaCha20-Poly1305 boxes', () => {
    it.each([
      [0, 0, 0],
      [16, 32, 0],
      [32, 32, 1],
      [12, 0, 255],
      [1, 1, 2 ** 32 + 5],
      [100, 16, 2 ** 53 - 1],
      [1400, 64, 7],
    ])('%i bytes, %i bytes of ad, counter %d: node:crypto bytes, opened both ways', (len, adLen, counter) => {
      const rng = new Rng(len * 1000 + adLen);
      const key = rng.bytes(32);
      const pt = rng.bytes(len);
      const ad = rng.bytes(adLen);
      const sealed = nat.seal(key, counter, pt, ad);
      expect(toHex(sealed)).toBe(toHex(nodeNoise.seal(key, counter, pt, ad)));
      expect(toHex(nat.open(key, counter, nodeNoise.seal(key, counter, pt, ad), ad)!)).toBe(toHex(pt));
      expect(toHex(nodeNoise.open(key, counter, sealed, ad)!)).toBe(toHex(pt));
    });

    it('refuses a flipped byte of ciphertext, tag or ad, another counter or key, and a box under 16 bytes', () => {
      const rng = new Rng(8439);
      const key = rng.bytes(32);
      const ad = rng.bytes(32);
      const sealed = nat.seal(key, 0, rng.bytes(32), ad);
      for (const at of [0, 31, 32, 47]) {
        const bad = new Uint8Array(sealed);
        bad[at]! ^= 1;
        expect(nat.open(key, 0, bad, ad)).toBeUndefined();
      }
      const badAd = new Uint8Array(ad);
      badAd[5]! ^= 0x80;
      expect(nat.open(key, 0, sealed, badAd)).toBeUndefined();
      expect(nat.open(key, 1, sealed, ad)).toBeUndefined();
      expect(nat.open(rng.bytes(32), 0, sealed, ad)).toBeUndefined();
      expect(nat.open(key, 0, sealed.subarray(0, 15), ad)).toBeUndefined();
      expect(nat.open(key, 0, sealed, ad)).toBeDefined();
    });

    it('noise.ts aeadSeal/aeadOpen under the native backend read the views they are given', () => {
      const backing = new Uint8Array(200).map((_, i) => i);
      const key = backing.subarray(3, 35);
      const pt = backing.subarray(50, 70);
      const ad = backing.subarray(100, 132);
      const want = toHex(aeadSeal(key, 9, pt, ad));
      const sealed = natNoise.aeadSeal(key, 9, pt, ad);
      expect(toHex(sealed)).toBe(want);
      const shifted = new Uint8Array(sealed.byteLength + 5);
      shifted.set(sealed, 5);
      expect(toHex(natNoise.aeadOpen(key, 9, shifted.subarray(5), ad)!)).toBe(toHex(pt));
      expect(toHex(aeadOpen(key, 9, shifted.subarray(5), ad)!)).toBe(toHex(pt));
    });
  });

  describe('wrong arguments throw NOISE_BAD_ARG (no crash)', () => {
    const k32 = new Uint8Array(32).fill(1);
    it.each([
      ['x25519 private key of 31 bytes', () => nat.x25519(new Uint8Array(31), k32)],
      ['x25519 public key of 33 bytes', () => nat.x25519(k32, new Uint8Array(33))],
      ['x25519 public key missing', () => (nat.x25519 as (k: Uint8Array) => unknown)(k32)],
      ['x25519 of a string', () => nat.x25519('k'.repeat(32) as unknown as Uint8Array, k32)],
      ['x25519 of a Uint16Array', () => nat.x25519(new Uint16Array(16) as unknown as Uint8Array, k32)],
      ['x25519Base of 0 bytes', () => nat.x25519Base(new Uint8Array(0))],
      ['hash of a number', () => nat.hash(k32, 5 as unknown as Uint8Array)],
      ['hash of 9 parts', () => nat.hash(...Array.from({ length: 9 }, () => k32))],
      ['hmac without a key', () => (nat.hmac as () => unknown)()],
      ['kdf with n = 4', () => nat.kdf(4 as 3, k32, k32)],
      ['kdf with n = 0', () => nat.kdf(0 as 1, k32, k32)],
      ['kdf with a 16-byte chaining key', () => nat.kdf(1, new Uint8Array(16), k32)],
      ['seal with a 16-byte key', () => nat.seal(new Uint8Array(16), 0, k32, k32)],
      ['seal with counter -1', () => nat.seal(k32, -1, k32, k32)],
      ['seal with counter past 2^53', () => nat.seal(k32, 2 ** 60, k32, k32)],
      ['seal without ad', () => (nat.seal as (k: Uint8Array, c: number, p: Uint8Array) => unknown)(k32, 0, k32)],
      ['open with a 33-byte key', () => nat.open(new Uint8Array(33), 0, k32, k32)],
    ])('%s', (_why, f) => {
      expect(codeOf(f)).toBe('NOISE_BAD_ARG');
    });

    it('names the function and the length found', () => {
      expect(() => nat.x25519(new Uint8Array(31), k32)).toThrow(/noiseX25519: private key must be a 32-byte Uint8Array \(got 31 bytes\)/);
    });
  });

  describe('handshakes across backends', () => {
    const alice = identity(1);
    const bob = identity(2);
    const on = (b: boolean) => (b ? natNoise : NODE_NOISE);

    // Every assignment of {node, native} to the four steps: initiation, consumption, response, and
    // the initiator's consumption. A side may change backend between its two steps.
    it.each(Array.from({ length: 16 }, (_, m) => [m.toString(2).padStart(4, '0')]))('steps on backends %s (1 = native) agree on the keys', (mask) => {
      const step = [...mask].map((c) => on(c === '1'));
      const init = createInitiation({ ...alice, noise: step[0]! }, bob.keyPair.publicKey, 0x01020304, WALL);
      const consumed = new HandshakeResponder({ ...bob, noise: step[1]! }).consumeInitiation(init.message, WALL);
      expect(toHex(consumed.remoteStatic)).toBe(toHex(alice.keyPair.publicKey));
      const resp = new HandshakeResponder({ ...bob, noise: step[2]! }).createResponse(consumed, 0x0a0b0c0d);
      const p = init.pending;
      const pending = new PendingInitiation({ ...alice, noise: step[3]! }, p.localIndex, p.remoteStatic, p.wallMs, p.message, p.chainingKey, p.hashState, p.ephemeral);
      const keys = consumeResponse(pending, resp.message);
      expect(toHex(keys.sendKey)).toBe(toHex(resp.keys.recvKey));
      expect(toHex(keys.recvKey)).toBe(toHex(resp.keys.sendKey));
      const sealed = new TransportSession(keys, 0).seal(new TextEncoder().encode('across'), 0)!;
      expect(new TextDecoder().decode(new TransportSession(resp.keys, 0).open(sealed, 0)!)).toBe('across');
    });

    it('reproduces the golden HANDSHAKE_INIT, HANDSHAKE_RESP, keys and first TRANSPORT', () => {
      expect(goldenHandshake(natNoise)).toEqual({
        init: hex(GOLDEN.init), resp: hex(GOLDEN.resp), initiatorSendKey: GOLDEN.initiatorSendKey, initiatorRecvKey: GOLDEN.initiatorRecvKey, transport: hex(GOLDEN.transport),
      });
    });

    it('consumes the golden bytes and makes the golden COOKIE_REPLY', () => {
      const r = new HandshakeResponder({ ...bob, noise: natNoise });
      const consumed = r.consumeInitiation(fromHex(GOLDEN.init), WALL);
      expect(consumed.timestampMs).toBe(WALL);
      expect(toHex(r.createResponse(consumed, 0x0a0b0c0d, { ephemeral: fixedKey(4) }).keys.recvKey)).toBe(GOLDEN.initiatorSendKey);
      const pending = createInitiation({ ...alice, noise: natNoise }, bob.keyPair.publicKey, 0x01020304, WALL, { ephemeral: fixedKey(3) }).pending;
      expect(toHex(consumeResponse(pending, fromHex(GOLDEN.resp)).sendKey)).toBe(GOLDEN.initiatorSendKey);
      const ck = new CookieChecker(PSK, bob.keyPair.publicKey, 0, { noise: natNoise, random: (n) => new Uint8Array(n).fill(n === 32 ? 5 : 9) });
      const init = fromHex(GOLDEN.init);
      expect(toHex(ck.createReply(init, new TextEncoder().encode('udp:192.0.2.1:1000'), 0))).toBe(hex(GOLDEN.cookieReply));
      expect(toHex(openCookieReply(cookieReplyKey(PSK, bob.keyPair.publicKey, natNoise), fromHex(GOLDEN.cookieReply), initiationMac1(init), natNoise)!)).toBe(GOLDEN.cookie);
    });

    it('x25519 through noise.ts refuses a low-order key under either backend', () => {
      const priv = fixedKey(5).privateKey;
      expect(x25519(priv, new Uint8Array(32))).toBeUndefined();
      expect(natNoise.x25519(priv, new Uint8Array(32))).toBeUndefined();
    });
  });
});
