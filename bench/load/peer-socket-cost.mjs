#!/usr/bin/env node
// CPU of a virtual peer's socket alone, the two kinds the load workers can run (vpeer-worker.mjs
// LOAD_PEER_SOCKET): `dgram` (connected-udp.mjs, node:dgram) and `native` (native-peer-udp.mjs, the
// UDP addon). One process: a hub-side native socket sends one 150-byte datagram to each of --peers
// sockets per round (a MAP part), each answers 40 bytes (its ACK); rounds alternate between the kinds.
// The hub side is the same for both, so the difference per round trip is the peers' sockets.
//   nice -n 19 node bench/load/peer-socket-cost.mjs [--peers 2000] [--rounds 10] [--alternations 4]
import { openConnectedUdp } from './connected-udp.mjs';
import { loadUdpAddon, openNativePeerUdp } from './native-peer-udp.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]?.startsWith('--') ? '' : all[i + 1]]] : acc), []));
const K = Number(args.peers ?? 2000);
const rounds = Number(args.rounds ?? 10);
const alternations = Number(args.alternations ?? 4);
const dist = process.env.MESHD_DIST ?? new URL('../../dist', import.meta.url).pathname;
const { openUdpSocket } = await import(`${dist}/net/udp-open.js`);
const addon = loadUdpAddon(dist);
if (!addon) throw new Error('the UDP addon is not built (npm install)');
const hubSock = await openUdpSocket({ address: '127.0.0.1', port: 0 }, { impl: 'native' });
const hub = { address: '127.0.0.1', port: hubSock.local.port };
let replies = 0;
let wake;
hubSock.onMessage(() => {
  if (++replies === K) wake?.();
});
const part = new Uint8Array(150).fill(1);
const ack = new Uint8Array(40).fill(2);
async function open(kind, base) {
  const socks = [];
  for (let i = 0; i < K; i++) {
    const index = base + i;
    const address = `127.${1 + ((index >>> 16) & 0x7f)}.${(index >>> 8) & 0xff}.${index & 0xff}`;
    const s = kind === 'native' ? openNativePeerUdp(addon, address, hub) : await openConnectedUdp(address, hub);
    s.onMessage((_d, from) => s.send(ack, from));
    socks.push(s);
  }
  return socks;
}
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
async function measure(socks) {
  const c0 = cpuUs();
  for (let r = 0; r < rounds; r++) {
    replies = 0;
    const done = new Promise((resolve) => (wake = resolve));
    for (const s of socks) hubSock.send(part, s.local);
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (replies < K) console.error(`  a round lost ${K - replies} of ${K} replies`);
  }
  return (cpuUs() - c0) / (rounds * K);
}
const kinds = { dgram: await open('dgram', 0), native: await open('native', 20_000) };
const per = { dgram: [], native: [] };
for (let a = 0; a < alternations; a++) {
  for (const kind of a % 2 === 0 ? ['dgram', 'native'] : ['native', 'dgram']) per[kind].push(await measure(kinds[kind]));
}
const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
for (const kind of ['dgram', 'native']) console.log(`${kind}: ${per[kind].map((x) => x.toFixed(1)).join(', ')} us of CPU per round trip (hub side included), median ${med(per[kind]).toFixed(1)}`);
for (const s of [...kinds.dgram, ...kinds.native]) await s.close();
await hubSock.close();
process.exit(0);
