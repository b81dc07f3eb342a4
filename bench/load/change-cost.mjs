#!/usr/bin/env node
// What one map change costs each side, counted in one process without sockets or a scheduler in the
// way (issue 24: "a change to 20,000 peers under 2 s" on a 2-core box is a CPU budget). A real hub
// (hub/hub.ts startHub) and N virtual peers (vpeer.mjs, the workers' peer) on an in-memory switch;
// datagrams are delivered in batches, and the CPU of each batch is charged to the side it was for:
// peers' batches to the peers, everything else (the hub's batches, its flush and pump timers) to the
// hub. Then `--changes` times a spare peer joins or leaves and every member must hold the new
// version. Prints per change the CPU per member of the hub and of a peer (microseconds), and the
// datagrams. The switch's copy is counted on the sending side; a real worker pays a send(2) instead.
//   npm run build && nice -n 19 node bench/load/change-cost.mjs [--peers 2000] [--changes 6] [--json]
// MESHD_DIST: a private build. `--cpu-prof` on node's command line profiles it (deliverToHub and
// deliverToPeers are the roots of the two sides' work).
import { pino } from 'pino';
import { loadDist, virtualPeer } from './vpeer.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]?.startsWith('--') ? '' : all[i + 1]]] : acc), []));
const N = Number(args.peers ?? 2000);
const changes = Number(args.changes ?? 6);
const dist = process.env.MESHD_DIST ?? new URL('../../dist', import.meta.url).pathname;
const d = await loadDist(dist);
const { startHub } = await import(`${dist}/hub/hub.js`);
const log = pino({ level: 'silent' });
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// The switch: sockets by "address:port"; a send is copied and queued, the pump delivers the queue.
const sockets = new Map();
let queue = [];
let pumping = false;
const counts = { toHub: 0, toPeers: 0 };
let peerCpuUs = 0;
class MemSocket {
  constructor(address, port, isHub) {
    this.local = Object.freeze({ address, port });
    this.isHub = isHub;
    this.handler = undefined;
    this.counters = { sent: 0, received: 0, sendErrors: 0, handlerErrors: 0 };
    sockets.set(`${address}:${port}`, this);
  }
  send(data, to) {
    const dst = sockets.get(`${to.address}:${to.port}`);
    if (!dst) return;
    this.counters.sent++;
    const copy = Buffer.allocUnsafe(data.byteLength);
    copy.set(data);
    queue.push({ dst, data: copy, from: this.local });
    if (!pumping) {
      pumping = true;
      setImmediate(pump);
    }
  }
  copiesOnSend() {
    return true;
  }
  onMessage(h) {
    this.handler = h;
  }
  close() {
    sockets.delete(`${this.local.address}:${this.local.port}`);
    this.handler = undefined;
    return Promise.resolve();
  }
}
function deliverToHub(batch, from, to) {
  for (let i = from; i < to; i++) batch[i].dst.handler?.(batch[i].data, batch[i].from);
}
function deliverToPeers(batch, from, to) {
  for (let i = from; i < to; i++) batch[i].dst.handler?.(batch[i].data, batch[i].from);
}
function pump() {
  pumping = false;
  const batch = queue;
  queue = [];
  for (let i = 0; i < batch.length; ) {
    let j = i;
    const hub = batch[i].dst.isHub;
    while (j < batch.length && batch[j].dst.isHub === hub) j++;
    if (hub) {
      counts.toHub += j - i;
      deliverToHub(batch, i, j);
    } else {
      counts.toPeers += j - i;
      const t = cpuUs();
      deliverToPeers(batch, i, j);
      peerCpuUs += cpuUs() - t;
    }
    i = j;
  }
}

const hubSock = new MemSocket('127.0.0.1', 7000, true);
const hubKeys = d.generateKeyPair();
const psk = new Uint8Array(32).fill(7);
const hub = startHub({
  listen: hubSock.local, network: '10.9.0.0/16', psk, keyPair: hubKeys, clock: d.systemClock, wallClock: d.systemWallClock, log, udp: hubSock,
});
const hubEp = hubSock.local;
const peers = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let watch; // { version, pending: Set }
function onVersion(p, v) {
  if (watch && v >= watch.version && watch.pending.delete(p) && watch.pending.size === 0) watch.done();
}
function makePeer(index) {
  const address = `127.${1 + ((index >>> 16) & 0x7f)}.${(index >>> 8) & 0xff}.${index & 0xff}`;
  const udp = new MemSocket(address, 40000, false);
  return virtualPeer(d, log, { udp, hub: hubEp, hubKey: hubKeys.publicKey, psk, index, overlay: (0x0a090002 + index) >>> 0, name: '', held: undefined, onVersion });
}
const t0 = Date.now();
for (let i = 0; i < N; i += 100) {
  const batch = [];
  for (let k = i; k < Math.min(N, i + 100); k++) {
    const p = makePeer(k);
    peers.push(p);
    batch.push(p.client.start());
  }
  await Promise.all(batch);
}
// hub.status() lists every member: called only between the measured changes.
const version = () => hub.status().mapVersion;
for (let i = 0, v = version(); i < 600 && peers.some((p) => p.map.version !== v); i++, v = version()) await sleep(100);
console.error(`${N} peers registered and settled at version ${version()} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
await sleep(300);

const results = [];
let spare;
for (let n = 0; n < changes; n++) {
  const join = n % 2 === 0;
  const target = version() + 1;
  const pending = new Set(peers);
  const done = new Promise((resolve) => (watch = { version: target, pending, done: resolve }));
  const c0 = cpuUs();
  const p0 = peerCpuUs;
  const n0 = { ...counts };
  const w0 = Date.now();
  if (join) {
    spare = makePeer(N + 10 + n);
    await spare.client.start();
  } else {
    await spare.client.stop();
    await spare.link.close();
    await spare.udp.close();
  }
  const ok = await Promise.race([done.then(() => true), sleep(60_000).then(() => false)]);
  const wallMs = Date.now() - w0;
  // The last ACKs still on their way to the hub are part of the change's cost.
  for (let i = 0; i < 100 && (queue.length > 0 || pumping); i++) await sleep(10);
  await sleep(50);
  const total = cpuUs() - c0;
  const peersUs = peerCpuUs - p0;
  const r = {
    change: join ? 'join' : 'leave', ok, members: N, wallMs,
    hubUsPerMember: Number(((total - peersUs) / N).toFixed(1)), peerUsPerMember: Number((peersUs / N).toFixed(1)),
    toPeers: counts.toPeers - n0.toPeers, toHub: counts.toHub - n0.toHub,
  };
  results.push(r);
  console.error(`  ${r.change}: ${ok ? 'every member has it' : 'NOT every member'} in ${wallMs} ms; CPU per member: hub ${r.hubUsPerMember} us, peer ${r.peerUsPerMember} us; datagrams ${r.toPeers} to peers, ${r.toHub} to the hub`);
  await sleep(500);
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = { peers: N, changes: results, medianHubUsPerMember: med(results.map((r) => r.hubUsPerMember)), medianPeerUsPerMember: med(results.map((r) => r.peerUsPerMember)) };
console.error(`median CPU per member and change: hub ${summary.medianHubUsPerMember} us, peer ${summary.medianPeerUsPerMember} us`);
if (args.json !== undefined) console.log(JSON.stringify(summary));
process.exit(0);
