// Crypto throughput on one core: seal/open of 1400-byte TRANSPORT packets, full handshakes, and the
// cost of refusing an initiation with a bad mac1 (checkMac1 only, no DH). Figures go in the README.
// Run:  npx tsc --outDir /tmp/meshd-bench --module nodenext --moduleResolution nodenext --target es2022 --types node --skipLibCheck bench/crypto.ts && node /tmp/meshd-bench/bench/crypto.js
import { createInitiation, consumeResponse, HandshakeResponder } from '../src/crypto/handshake.js';
import { generateKeyPair } from '../src/crypto/keys.js';
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
