// CPU time per TRANSPORT seal/open of a 1400-byte packet (dist/crypto/session.js, as the daemon runs it).
//   node bench/dataplane/seal.mjs [N]
import { TransportSession } from '../../dist/crypto/session.js';
const N = Number(process.argv[2] ?? 200000);
const key = new Uint8Array(32).fill(7);
const a = new TransportSession({ localIndex: 1, remoteIndex: 2, sendKey: key, recvKey: key, remoteStatic: new Uint8Array(32), isInitiator: true }, 0);
const b = new TransportSession({ localIndex: 2, remoteIndex: 1, sendKey: key, recvKey: key, remoteStatic: new Uint8Array(32), isInitiator: false }, 0);
const pt = new Uint8Array(1400).fill(1);
const out = new Uint8Array(1500);
for (let r = 0; r < 2; r++) {
  let t0 = process.cpuUsage();
  const sealed = [];
  for (let i = 0; i < N; i++) { const d = a.seal(pt, 1); if (i < 5000) sealed.push(d); }
  let d = process.cpuUsage(t0);
  console.log(`seal      ${((d.user + d.system) / N).toFixed(2)} us/packet`);
  t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) a.sealInto(pt, out, 1);
  d = process.cpuUsage(t0);
  console.log(`sealInto  ${((d.user + d.system) / N).toFixed(2)} us/packet`);
  t0 = process.cpuUsage();
  let ok = 0;
  for (const s of sealed) if (b.open(s, 1)) ok++;
  d = process.cpuUsage(t0);
  console.log(`open      ${((d.user + d.system) / sealed.length).toFixed(2)} us/packet (${ok}/${sealed.length} ok)`);
}
