#!/usr/bin/env node
// The datagram source of the real-process fuzz (bench/fuzz/real-hub.fuzz.ts): reads a pcap of real
// meshd traffic (tcpdump -w), keeps the UDP payloads as the corpus, and sends `count` random and
// mutated datagrams to host:port from `sockets` source ports as fast as the socket drains,
// bounded by `maxSeconds`. Prints one JSON line of what it sent.
//   node flood.mjs <pcap> <host> <port> <count> <maxSeconds> [sockets=64] [seed=1]
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

const [pcapPath, host, portS, countS, maxS, socketsS = '64', seedS = '1'] = process.argv.slice(2);
const port = Number(portS);
const count = Number(countS);
const deadline = Date.now() + Number(maxS) * 1000;

/** UDP payloads from a classic pcap (Ethernet or Linux cooked v1/v2), IPv4 only. */
function payloads(buf) {
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20);
  const l2 = linktype === 1 ? 14 : linktype === 113 ? 16 : linktype === 276 ? 20 : linktype === 101 ? 0 : -1;
  if (l2 < 0) throw new Error(`unsupported pcap link type ${linktype}`);
  const out = [];
  for (let o = 24; o + 16 <= buf.length; ) {
    const incl = u32(o + 8);
    const p = buf.subarray(o + 16, o + 16 + incl);
    o += 16 + incl;
    const ip = p.subarray(l2);
    if (ip.length < 28 || ip[0] >> 4 !== 4 || ip[9] !== 17) continue;
    const ihl = (ip[0] & 15) * 4;
    out.push(new Uint8Array(ip.subarray(ihl + 8)));
  }
  return out;
}

let s = Number(seedS) >>> 0;
const rnd = () => {
  s = (s + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rnd() * n);
const bytes = (n) => Uint8Array.from({ length: n }, () => int(256));

const corpus = payloads(readFileSync(pcapPath));
if (corpus.length === 0) throw new Error('no UDP payloads in the capture');
const ops = {};
function mutate() {
  const src = corpus[int(corpus.length)];
  const op = int(9);
  let out;
  switch (op) {
    case 0: out = src; break; // byte-exact replay
    case 1: out = new Uint8Array(src); for (let i = 0, n = 1 + int(3); i < n; i++) out[int(out.length)] ^= 1 << int(8); break;
    case 2: out = new Uint8Array(src); out[int(out.length)] = int(256); break;
    case 3: out = src.subarray(0, int(src.length)); break;
    case 4: { const e = bytes(1 + int(64)); out = new Uint8Array(src.length + e.length); out.set(src); out.set(e, src.length); break; }
    case 5: { const t = corpus[int(corpus.length)]; const cut = int(Math.min(src.length, t.length) + 1); out = new Uint8Array(t); out.set(src.subarray(0, cut)); break; }
    case 6: out = new Uint8Array(src); out[0] = int(8); break;
    case 7: out = new Uint8Array(src.length); out.set(src.subarray(0, 16)); out.set(bytes(Math.max(0, src.length - 16)), 16); break;
    default: out = bytes(int(1400)); if (out.length && rnd() < 0.5) out[0] = 1 + int(6);
  }
  ops[op] = (ops[op] ?? 0) + 1;
  return out;
}

const socks = await Promise.all(Array.from({ length: Number(socketsS) }, () => new Promise((res) => { const so = createSocket('udp4'); so.bind(0, () => res(so)); })));
let sent = 0;
let errors = 0;
const t0 = Date.now();
// Keep at most `window` sends in flight so the flood goes as fast as the kernel takes it.
const window = 256;
let inflight = 0;
await new Promise((resolve) => {
  const pump = () => {
    while (inflight < window && sent < count && Date.now() < deadline) {
      const d = mutate();
      inflight++;
      sent++;
      socks[sent % socks.length].send(d, port, host, (err) => {
        if (err) errors++;
        inflight--;
        if (sent >= count || Date.now() >= deadline) { if (inflight === 0) resolve(); } else if (inflight < window / 2) setImmediate(pump);
      });
    }
  };
  pump();
});
const ms = Date.now() - t0;
for (const so of socks) so.close();
console.log(JSON.stringify({ corpus: corpus.length, sent, errors, ms, perSec: Math.round((sent / ms) * 1000), ops }));
