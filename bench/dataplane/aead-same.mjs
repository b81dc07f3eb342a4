// Checks the crypto addon's AEAD against node:crypto (same bytes both ways, tag failures caught) and
// times both: node bench/dataplane/aead-same.mjs [N]   (each session is given its AEAD; null: node:crypto)
import { TransportSession } from '../../dist/crypto/session.js';
import { nativeAead } from '../../dist/crypto/native.js';
const N = Number(process.argv[2] ?? 100000);
const native = nativeAead();
if (!native) throw new Error('addon has no AEAD');
const key = new Uint8Array(32).map((_, i) => i * 7);
const mk = (aead) => [
  new TransportSession({ localIndex: 1, remoteIndex: 2, sendKey: key, recvKey: key, remoteStatic: new Uint8Array(32), isInitiator: true }, 0, 0, aead),
  new TransportSession({ localIndex: 2, remoteIndex: 1, sendKey: key, recvKey: key, remoteStatic: new Uint8Array(32), isInitiator: false }, 0, 0, aead),
];
for (const len of [0, 1, 15, 16, 17, 64, 1379, 1400]) {
  const pt = new Uint8Array(len).map((_, i) => (i * 31) & 255);
  const [a1] = mk(null);
  const slow = a1.seal(pt, 1);
  const [a2, b2] = mk(native);
  const fast = a2.seal(pt, 1);
  if (Buffer.compare(slow, fast) !== 0) throw new Error(`seal differs at ${len}`);
  const opened = b2.open(slow, 1);
  if (!opened || Buffer.compare(opened, Buffer.from(pt)) !== 0) throw new Error(`open differs at ${len}`);
  const bad = Buffer.from(fast); bad[bad.length - 1] ^= 1;
  const [, b3] = mk(native);
  if (b3.open(bad, 1) !== undefined || b3.drops.auth !== 1) throw new Error(`forgery accepted at ${len}`);
}
console.log('same bytes: ok');
const pt = new Uint8Array(1400).fill(1);
for (const [name, be] of [['node:crypto', null], ['addon', native]]) {
  const [a, b] = mk(be);
  const sealed = [];
  let t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) { const d = a.seal(pt, 1); if (i < 20000) sealed.push(d); }
  let d = process.cpuUsage(t0);
  const s = (d.user + d.system) / N;
  t0 = process.cpuUsage();
  for (const x of sealed) b.open(x, 1);
  d = process.cpuUsage(t0);
  console.log(`${name.padEnd(12)} seal ${s.toFixed(2)} us, open ${((d.user + d.system) / sealed.length).toFixed(2)} us (1400 bytes)`);
}
