// Crypto throughput on one core: seal/open of 1400-byte TRANSPORT packets, full handshakes, and the
// cost of refusing an initiation with a bad mac1 (checkMac1 only, no DH); then each handshake step and
// Noise primitive on node:crypto and on the addon (crypto/noise.ts backends) side by side. Figures go
// in the README.
// Run:  npm run bench:crypto   (the crypto addon is looked up two levels above src/crypto/native.js, so
// bench:build links build/ into dist-bench/; without it the native column would be absent)
import { createInitiation, consumeResponse, HandshakeResponder, staticShared, type HandshakeIdentity } from '../src/crypto/handshake.js';
import { generateKeyPair } from '../src/crypto/keys.js';
import { nativeNoise } from '../src/crypto/native.js';
import { Noise, NODE_NOISE, type NoiseBackend } from '../src/crypto/noise.js';
import { derivePsk } from '../src/crypto/psk.js';
import { TransportSession } from '../src/crypto/session.js';

const PACKET = 1400;
const psk = derivePsk('benchmark network secret');
const alice = { keyPair: generateKeyPair(), psk };
const bob = { keyPair: generateKeyPair(), psk };
let wall = 1_700_000_000_000;

function handshake(responder: HandshakeResponder, i: number) {
  wall += 1;
  const init = createInitiation(alice, bob.keyPair.publicKey, i, wall);
  const resp = responder.createResponse(responder.consumeInitiation(init.message, wall), i + 1);
  return { a: consumeResponse(init.pending, resp.message), b: resp.keys };
}

/** Runs fn repeatedly for about `ms` (after a warm-up) and returns operations per second. */
function rate(ms: number, fn: (i: number) => void): number {
  for (let i = 0; i < 2000; i++) fn(i);
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(ms) * 1_000_000n;
  let t = t0;
  while (t < end) {
    for (let k = 0; k < 1000; k++) fn(n++);
    t = process.hrtime.bigint();
  }
  return n / (Number(t - t0) / 1e9);
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const gbit = (pps: number) => ((pps * PACKET * 8) / 1e9).toFixed(2);

const responder = new HandshakeResponder(bob, { maxClockSkewMs: Infinity });
const { a, b } = handshake(responder, 1);
const sender = new TransportSession(a, 0);
const receiver = new TransportSession(b, 0);
const plaintext = new Uint8Array(PACKET).fill(0x5a);

const sealPps = rate(2000, () => sender.seal(plaintext, 1));
const out = new Uint8Array(PACKET + 32);
const sealIntoPps = rate(2000, () => sender.sealInto(plaintext, out, 1));

// Open: pre-seal a ring of packets, then time opening them in order on fresh receivers (so the
// replay window accepts every one); sealing is outside the timed region.
const RING = 8192;
let openNs = 0n;
let opened = 0;
for (let lap = 0; lap < 40; lap++) {
  const s = new TransportSession(a, 0);
  const packets = Array.from({ length: RING }, () => s.seal(plaintext, 1)!);
  const r = new TransportSession(b, 0);
  const t0 = process.hrtime.bigint();
  for (const p of packets) if (r.open(p, 1) !== undefined) opened++;
  if (lap >= 2) openNs += process.hrtime.bigint() - t0; // first laps are warm-up
  else opened = 0;
}
const openPps = opened / (Number(openNs) / 1e9);
void receiver;

const hsPerSec = rate(2000, (i) => handshake(responder, 10 + i * 2));
const bad = createInitiation({ keyPair: alice.keyPair, psk: derivePsk('some other network secret') }, bob.keyPair.publicKey, 1, wall).message;
const badMacPerSec = rate(1000, () => responder.checkMac1(bad));

console.log(`node ${process.version}, one core, ${PACKET}-byte plaintext`);
console.log(`seal          ${fmt(sealPps).padStart(10)} packets/s  ${gbit(sealPps)} Gbit/s  (${(1e6 / sealPps).toFixed(2)} us/packet)`);
console.log(`sealInto      ${fmt(sealIntoPps).padStart(10)} packets/s  ${gbit(sealIntoPps)} Gbit/s  (caller buffer)`);
console.log(`open          ${fmt(openPps).padStart(10)} packets/s  ${gbit(openPps)} Gbit/s  (${(1e6 / openPps).toFixed(2)} us/packet${opened > 0 ? '' : ', NONE OPENED'})`);
console.log(`handshake     ${fmt(hsPerSec).padStart(10)} /s  (initiation + consume + response + consume, ${(1e6 / hsPerSec).toFixed(0)} us)`);
console.log(`bad-mac init  ${fmt(badMacPerSec).padStart(10)} /s  refused by checkMac1 (${(1e6 / badMacPerSec).toFixed(2)} us)`);

// ---- Handshake steps and primitives per Noise backend ----

/** Microseconds per call of fn over about `ms` after `warm` calls (fn gets the call number). */
function usPer(ms: number, warm: number, fn: (i: number) => void): number {
  for (let i = 0; i < warm; i++) fn(i);
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(ms) * 1_000_000n;
  let t = t0;
  while (t < end) {
    for (let k = 0; k < 20; k++) fn(warm + n++);
    t = process.hrtime.bigint();
  }
  return Number(t - t0) / 1e3 / n;
}

/** Microseconds per call of step over `items` prepared untimed (each consumed once). */
function usEach<T>(items: T[], step: (x: T) => void): number {
  const t0 = process.hrtime.bigint();
  for (const x of items) step(x);
  return Number(process.hrtime.bigint() - t0) / 1e3 / items.length;
}

const STEPS = 1000; // handshakes per timed step: ~0.3-0.7 s each on node:crypto, ~0.2-0.5 s on the addon

function stepCosts(noise: Noise): Record<string, number> {
  const a: HandshakeIdentity = { keyPair: generateKeyPair(noise), psk, noise };
  const b: HandshakeIdentity = { keyPair: generateKeyPair(noise), psk, noise };
  const r = new HandshakeResponder(b, { maxClockSkewMs: Infinity });
  // Warm the caches a running node has (static KeyObjects, JIT) with a few handshakes.
  for (let i = 0; i < 20; i++) {
    const init = createInitiation(a, b.keyPair.publicKey, i, (wall += 1));
    consumeResponse(init.pending, r.createResponse(r.consumeInitiation(init.message, wall), i).message);
  }
  const idx = Array.from({ length: STEPS }, (_, i) => i);
  const inits: ReturnType<typeof createInitiation>[] = [];
  const createInitiationUs = usEach(idx, (i) => inits.push(createInitiation(a, b.keyPair.publicKey, i, (wall += 1))));
  // As src/link does: DH(static, static) made once per remote and passed in (the responder keeps
  // its own per initiator key after the first consume, so the step below is the kept path).
  const ss = staticShared(a, b.keyPair.publicKey);
  const keptSsUs = usEach(idx, (i) => createInitiation(a, b.keyPair.publicKey, STEPS + i, (wall += 1), { staticShared: ss }));
  const resps: { message: Uint8Array }[] = [];
  const respondUs = usEach(inits, (x) => resps.push(r.createResponse(r.consumeInitiation(x.message, wall), 7)));
  // The same with the responder's kept static DH dropped before each (a key's first handshake).
  const fresh = Array.from({ length: STEPS }, (_, i) => createInitiation(a, b.keyPair.publicKey, i, (wall += 1)).message);
  const respondFreshUs = usEach(fresh, (m) => {
    r.forget(a.keyPair.publicKey);
    r.createResponse(r.consumeInitiation(m, wall), 7);
  });
  const pairs = inits.map((x, i) => [x.pending, (resps[i] as { message: Uint8Array }).message] as const);
  const consumeResponseUs = usEach(pairs, ([pending, m]) => consumeResponse(pending, m));
  return {
    'createInitiation': createInitiationUs,
    'consumeInitiation + createResponse': respondUs,
    'consumeResponse': consumeResponseUs,
    'createInitiation, static DH kept': keptSsUs,
    'handshake, initiator (create + consume)': createInitiationUs + consumeResponseUs,
    'handshake, initiator, static DH kept': keptSsUs + consumeResponseUs,
    'handshake, responder': respondUs,
    'handshake, responder, first from a key': respondFreshUs,
  };
}

function primitiveCosts(n: Noise): Record<string, number> {
  const b = n.backend;
  const k1 = generateKeyPair(n);
  const k2 = generateKeyPair(n);
  const k32 = new Uint8Array(32).fill(3);
  const box = n.aeadSeal(k32, 0, k32, k32);
  return {
    'X25519 (static keys)': usPer(300, 50, () => b.x25519(k1.privateKey, k2.publicKey)),
    'key pair (ephemeral)': usPer(300, 50, () => generateKeyPair(n)),
    'hash (2 x 32 B)': usPer(200, 500, () => n.hash(k32, k32)),
    'HMAC (32 B key, 33 B)': usPer(200, 500, () => n.hmac(k32, k32, k32.subarray(0, 1))),
    'KDF, 2 outputs': usPer(200, 500, () => n.kdf(2, k32, k32)),
    'KDF, 3 outputs': usPer(200, 500, () => n.kdf(3, k32, k32)),
    'seal box (32 B, 32 B ad)': usPer(200, 500, () => n.aeadSeal(k32, 0, k32, k32)),
    'open box (32 B, 32 B ad)': usPer(200, 500, () => n.aeadOpen(k32, 0, box, k32)),
  };
}

const nativeBackend = nativeNoise();
const columns: [string, NoiseBackend | undefined][] = [['node:crypto', undefined]];
if (nativeBackend) columns.push(['native', nativeBackend]);
const table: Record<string, number>[] = [];
for (const [, b] of columns) {
  const n = b ? new Noise(b) : NODE_NOISE;
  table.push({ ...stepCosts(n), ...primitiveCosts(n) });
}

console.log('');
console.log(`handshake steps and Noise primitives, us per call${nativeBackend ? '' : ' (addon not found: node:crypto only)'}`);
console.log(`${''.padEnd(42)}${columns.map(([name]) => name.padStart(12)).join('')}${nativeBackend ? '       ratio' : ''}`);
for (const row of Object.keys(table[0] as Record<string, number>)) {
  const v = table.map((t) => t[row] as number);
  const ratio = v.length > 1 ? `${((v[0] as number) / (v[1] as number)).toFixed(1).padStart(11)}x` : '';
  console.log(`${row.padEnd(42)}${v.map((x) => x.toFixed(x < 10 ? 2 : 0).padStart(12)).join('')}${ratio}`);
}
