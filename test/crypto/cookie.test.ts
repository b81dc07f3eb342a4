// Cookie replies (crypto/cookie.ts): golden reply, the cookie MAC / seal / open round trip, mac2 on
// an initiation, rotation of the responder's secret with its grace, and the refusals (tampered
// reply, wrong mac1, wrong network secret, another source, a missing mac2).
import { describe, expect, it } from 'vitest';
import {
  COOKIE_SECRET_GRACE_MS,
  COOKIE_SECRET_ROTATE_MS,
  CookieChecker,
  cookieReplyKey,
  initiationMac1,
  mac2Of,
  openCookieReply,
  sealCookieReply,
  writeMac2,
} from '../../src/crypto/cookie.js';
import { createInitiation, HandshakeResponder } from '../../src/crypto/handshake.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { HANDSHAKE_INIT_SIZE, INIT_MAC2_OFFSET } from '../../src/wire/handshake.js';
import { Rng } from '../fakes/rng.js';
import { GOLDEN } from './golden.js';
import { fixedKey, identity, OTHER_PSK, PSK, WALL } from './helpers.js';

const alice = identity(1);
const bob = identity(2);
const src = (s: string) => new TextEncoder().encode(s);
const HERE = src('udp:192.0.2.1:1000');
const hex = (s: string) => toHex(fromHex(s));

/** bob's checker with a seeded random source (each secret and nonce differs, runs repeat). */
function checker(seed = 1, nowMs = 0): CookieChecker {
  const rng = new Rng(seed);
  return new CookieChecker(PSK, bob.keyPair.publicKey, nowMs, { random: (n) => rng.bytes(n) });
}

function freshInit(senderIndex = 7): Uint8Array {
  return createInitiation(alice, bob.keyPair.publicKey, senderIndex, WALL, { ephemeral: fixedKey(3) }).message;
}

describe('cookie replies: golden', () => {
  it('produces the golden cookie and COOKIE_REPLY, and alice opens it to the same cookie', () => {
    const ck = new CookieChecker(PSK, bob.keyPair.publicKey, 0, { random: (n) => new Uint8Array(n).fill(n === 32 ? 5 : 9) });
    expect(toHex(ck.cookie(HERE, 0))).toBe(GOLDEN.cookie);
    const init = fromHex(GOLDEN.init);
    expect(toHex(ck.createReply(init, HERE, 0))).toBe(hex(GOLDEN.cookieReply));
    const key = cookieReplyKey(PSK, bob.keyPair.publicKey);
    expect(toHex(sealCookieReply(key, 0x01020304, fromHex(GOLDEN.cookie), initiationMac1(init), new Uint8Array(24).fill(9)))).toBe(hex(GOLDEN.cookieReply));
    expect(toHex(openCookieReply(key, fromHex(GOLDEN.cookieReply), initiationMac1(init))!)).toBe(GOLDEN.cookie);
  });
});

describe('cookie replies: round trip', () => {
  it('reply -> cookie -> mac2 on the next initiation verifies for that source only', () => {
    const ck = checker();
    const first = freshInit(11);
    const reply = ck.createReply(first, HERE, 1_000);
    expect(reply.byteLength).toBeLessThan(first.byteLength);
    const cookie = openCookieReply(cookieReplyKey(PSK, bob.keyPair.publicKey), reply, initiationMac1(first))!;
    expect(cookie).toBeDefined();
    const next = freshInit(12);
    expect(ck.checkMac2(next, HERE, 2_000)).toBe(false); // missing (zero) mac2
    writeMac2(next, cookie);
    expect(toHex(next.subarray(INIT_MAC2_OFFSET))).toBe(toHex(mac2Of(cookie, next)));
    expect(ck.checkMac2(next, HERE, 2_000)).toBe(true);
    expect(ck.checkMac2(next, src('udp:192.0.2.1:1001'), 2_000)).toBe(false); // another port
    expect(ck.checkMac2(next, src('udp:192.0.2.9:1000'), 2_000)).toBe(false); // another IP
    // mac1 does not cover mac2: the initiation still passes the responder's mac1 and decrypts.
    const r = new HandshakeResponder(bob);
    expect(r.checkMac1(next)).toBe(true);
    expect(r.consumeInitiation(next, WALL).remoteIndex).toBe(12);
  });

  it('each reply has a fresh nonce: two replies for one source differ, both open to the same cookie', () => {
    const ck = checker();
    const init = freshInit();
    const [a, b] = [ck.createReply(init, HERE, 0), ck.createReply(init, HERE, 0)];
    expect(toHex(a)).not.toBe(toHex(b));
    const key = cookieReplyKey(PSK, bob.keyPair.publicKey);
    expect(toHex(openCookieReply(key, a, initiationMac1(init))!)).toBe(toHex(openCookieReply(key, b, initiationMac1(init))!));
  });

  it('a mac2 over other bytes (the initiation changed after it was computed) is refused', () => {
    const ck = checker();
    const init = freshInit();
    writeMac2(init, ck.cookie(HERE, 0));
    init[20]! ^= 1;
    expect(ck.checkMac2(init, HERE, 0)).toBe(false);
    expect(ck.checkMac2(init.subarray(0, HANDSHAKE_INIT_SIZE - 1), HERE, 0)).toBe(false);
  });
});

describe('cookie replies: refusals', () => {
  const init = freshInit();
  const key = cookieReplyKey(PSK, bob.keyPair.publicKey);
  const reply = checker().createReply(init, HERE, 0);
  const flip = (at: number) => {
    const t = new Uint8Array(reply);
    t[at]! ^= 0x40;
    return t;
  };
  it.each([
    ['the reply as sent (control)', reply, key, initiationMac1(init), true],
    ['a flipped bit in the nonce', flip(10), key, initiationMac1(init), false],
    ['a flipped bit in the sealed cookie', flip(40), key, initiationMac1(init), false],
    ['a flipped bit in the tag', flip(63), key, initiationMac1(init), false],
    ['a reserved byte set', flip(2), key, initiationMac1(init), false],
    ['opened with the mac1 of another initiation', reply, key, initiationMac1(freshInit(8).fill(1, 116, 132)), false],
    ['opened by a node with another network secret', reply, cookieReplyKey(OTHER_PSK, bob.keyPair.publicKey), initiationMac1(init), false],
    ['opened as if from another responder key', reply, cookieReplyKey(PSK, alice.keyPair.publicKey), initiationMac1(init), false],
    ['truncated', reply.subarray(0, 63), key, initiationMac1(init), false],
  ])('%s -> opens: %s', (_why, d, k, mac1, opens) => {
    expect(openCookieReply(k, d, mac1) !== undefined).toBe(opens);
  });
});

describe('cookie replies: the responder secret rotates', () => {
  // A cookie issued at `issuedAt` (secret born at 0), used in a mac2 at `usedAt`.
  it.each([
    ['at once', 0, 1_000, true],
    ['just before the rotation', 0, COOKIE_SECRET_ROTATE_MS - 1, true],
    ['at the rotation: the old secret is in its grace', 0, COOKIE_SECRET_ROTATE_MS, true],
    ['at the end of the grace', 0, COOKIE_SECRET_ROTATE_MS + COOKIE_SECRET_GRACE_MS - 1, true],
    ['after the grace', 0, COOKIE_SECRET_ROTATE_MS + COOKIE_SECRET_GRACE_MS, false],
    ['issued late in the secret life, used after the grace', COOKIE_SECRET_ROTATE_MS - 5_000, COOKIE_SECRET_ROTATE_MS + COOKIE_SECRET_GRACE_MS + 1, false],
    ['two rotations later', 0, 2 * COOKIE_SECRET_ROTATE_MS + 1, false],
  ])('cookie %s: issued at %d ms, used at %d ms -> accepted %s', (_why, issuedAt, usedAt, ok) => {
    const ck = checker(5, 0);
    const init = freshInit();
    writeMac2(init, ck.cookie(HERE, issuedAt));
    // The rotation happens on use: something asks for a cookie at the rotation time first.
    if (usedAt >= COOKIE_SECRET_ROTATE_MS) ck.cookie(src('udp:198.51.100.1:1'), COOKIE_SECRET_ROTATE_MS);
    expect(ck.checkMac2(init, HERE, usedAt)).toBe(ok);
  });

  it('an idle checker does not stretch the grace: the first use long after the due rotation refuses the old cookie', () => {
    const ck = checker(6, 0);
    const init = freshInit();
    writeMac2(init, ck.cookie(HERE, 0));
    expect(ck.checkMac2(init, HERE, COOKIE_SECRET_ROTATE_MS + COOKIE_SECRET_GRACE_MS + 5_000)).toBe(false);
  });

  it('after a rotation the cookie for a source changes; a fresh one verifies', () => {
    const ck = checker(7, 0);
    const before = toHex(ck.cookie(HERE, 0));
    const after = ck.cookie(HERE, COOKIE_SECRET_ROTATE_MS);
    expect(toHex(after)).not.toBe(before);
    const init = freshInit();
    writeMac2(init, after);
    expect(ck.checkMac2(init, HERE, COOKIE_SECRET_ROTATE_MS + 60_000)).toBe(true);
  });
});
