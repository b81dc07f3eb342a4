#!/usr/bin/env node
// Hub load tool (issue 10): a real `meshd hub` process on 127.0.0.1 and N lightweight virtual peers
// (bench/load/vpeer-worker.mjs: real handshakes, REGISTER, MAP acks, HEARTBEAT) spread over worker
// processes. Reports the hub's CPU and RSS while N peers register and while they only heartbeat,
// and how long one map change (a join, then a leave) takes to reach every peer.
//   npm run build && node bench/load/hub-load.mjs --peers 1000 [--workers 2] [--rate 50] [--max-pending 4] [--steady 60]
//     [--register-limit 600] [--settle-limit 900] [--partial]   (--partial: when registration hits its limit, stop joining
//     and measure the steady state and spread with the peers that did register) [--spreads K --spread-gap S] (K more
//     changes S seconds apart, not waiting for quiet: over a rekey cycle some fall inside the rekey wave)
//     [--workers-nice N] (the virtual peers run at nice N: the hub gets the CPU it asks for, as on its own machine)
// Joins are paced (rate) and closed-loop (at most max-pending registrations in flight per worker).
// Traffic stays on loopback (the hub on 127.0.0.1, each virtual peer on its own 127.1.0.0 and up); overlay addresses are registry numbers in 10.9.0.0/16 (no packet goes there).
import { fork, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { workerReplies } from './worker-replies.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(process.env.MESHD_DIST ?? join(here, '..', '..', 'dist'), 'cli.js'); // MESHD_DIST: a private build (vpeer-worker.mjs)
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const N = Number(args.peers ?? 1000);
// LOAD_DECODE=headers: workers decode only MAP part headers (vpeer-worker.mjs); the hub's work is the same.
const W = Number(args.workers ?? Math.max(1, Math.min(8, Math.ceil(N / 2500))));
const rate = Number(args.rate ?? 50); // joins per second, all workers together
const steadyS = Number(args.steady ?? 60);
const maxPending = Number(args['max-pending'] ?? 4); // registrations in flight per worker
const regLimitS = Number(args['register-limit'] ?? 600);
const settleLimitS = Number(args['settle-limit'] ?? 900); // seconds the maps may take to reach every peer after the last registration
const workersNice = Number(args['workers-nice'] ?? 0); // niceness of the virtual peers' processes (0: as the hub)
const port = 17000 + (process.pid % 1000);
const dir = mkdtempSync(join(tmpdir(), 'meshd-load-'));
// Key material as `meshd gensecret` prints it (a passphrase would cost each worker an scrypt).
const secret = randomBytes(32).toString('base64');
writeFileSync(join(dir, 'secret'), secret, { mode: 0o600 });

const ticks = 100; // USER_HZ on Linux
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / ticks;
}
function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
function hubStatus() {
  const r = spawnSync(process.execPath, [cli, 'status', '--state-dir', dir, '--json'], { encoding: 'utf8', timeout: 10_000 });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return { error: (r.stderr || r.stdout).slice(0, 200) };
  }
}
const say = (s) => console.log(`[load ${new Date().toISOString().slice(11, 19)}] ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The hub runs on the crypto addon like the daemon always does now (crypto/native.ts runtimeCrypto);
// MESHD_NODE_CRYPTO=1 in the environment keeps it on node:crypto (the old LOAD_HUB_AEAD=native preload is gone).
const hub = spawn(process.execPath, [...(process.env.LOAD_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean), cli, 'hub', '--listen', `127.0.0.1:${port}`, '--network', '10.9.0.0/16', '--secret-file', join(dir, 'secret'), '--state-dir', dir, '--log-level', process.env.LOAD_HUB_LEVEL ?? 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
const workers = [];
const progressByWorker = [];
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const w of workers) w.kill('SIGKILL');
  hub.kill(process.env.LOAD_HUB_NODE_ARGS ? 'SIGINT' : 'SIGKILL'); // SIGINT lets --cpu-prof write its profile
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(1));
const hardStop = setTimeout(() => {
  say('hard time limit reached; stopping');
  process.exit(2);
}, (regLimitS + steadyS + settleLimitS + 300) * 1000);
hardStop.unref();

let hubKey = '';
const hubLines = { n: 0, registered: 0, refused: 0, last: [], fanouts: new Map() };
await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error('hub did not start within 10 s')), 10_000);
  createInterface({ input: hub.stdout }).on('line', (l) => {
    hubLines.n++;
    if (process.env.LOAD_HUB_LOG) appendFileSync(process.env.LOAD_HUB_LOG, `${l}\n`);
    if (hubLines.n % 1000 === 0 || l.includes('"level":40') || l.includes('"level":50')) hubLines.last.push(l.slice(0, 300));
    if (hubLines.last.length > 20) hubLines.last.shift();
    if (/"msg":"hub: registered"/.test(l)) hubLines.registered++;
    if (l.includes('"hub: map distribution"')) {
      const j = JSON.parse(l);
      hubLines.maps = `${j.parts} parts, ${j.retransmits} resent in 10 s, ${j.inFlight} in flight, srtt ${j.srttMs} ms, ${j.giveUps} given up, queued ${JSON.stringify(j.queued)}; handshakes ${j.handshakes} (backlog ${j.handshakeBacklog}${j.underLoad ? ', under load' : ''}, cookies sent ${j.cookiesSent}, superseded ${j.superseded}, backlog full ${j.backlogFull})`;
      hubLines.partsTotal = (hubLines.partsTotal ?? 0) + j.parts;
    }
    if (l.includes('"hub: map change delivered"')) {
      // The hub's own view of a fan-out (hub/map-sender.ts FanoutReport), by version.
      const j = JSON.parse(l);
      hubLines.fanouts.set(j.version, j);
      if (hubLines.fanouts.size > 100) hubLines.fanouts.delete(hubLines.fanouts.keys().next().value);
    }
    if (/refused/.test(l)) hubLines.refused++;
    if (l.includes('"hub started"')) {
      hubKey = JSON.parse(l).publicKey;
      clearTimeout(t);
      resolve();
    }
  });
  hub.stderr.on('data', (d) => process.stderr.write(d));
});
say(`hub pid ${hub.pid} on 127.0.0.1:${port}; ${N} virtual peers in ${W} workers at ${rate} joins/s${workersNice ? `, workers at nice ${workersNice}` : ''}`);

const per = Math.ceil(N / W);
const fromWorkers = workerReplies();
const onAny = fromWorkers.onAny;
for (let i = 0; i < W; i++) {
  const w = fork(join(here, 'vpeer-worker.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  w.on('message', (m) => {
    if (m.type === 'error') say(`worker ${i}: ${m.error}`);
    if (m.type === 'progress') progressByWorker[i] = m.registered;
    fromWorkers.deliver(w, m);
  });
  workers.push(w);
  // --workers-nice N: the virtual peers yield the CPU to the hub, as a hub on its own VPS has its
  // cores to itself (on this 2-core box four workers simulating 10,000 peers want ~1.5 cores).
  if (workersNice) setPriority(w.pid, workersNice);
}
await Promise.all(workers.map((w) => onAny((x, m) => x === w && m.type === 'ready')));
const common = { secret, hubKey, hub: { address: '127.0.0.1', port } };

// Phase 1: registration.
const cpu0 = cpuSeconds(hub.pid);
const t0 = Date.now();
let registered = 0;
let lastCount = -1;
let flatSince = Date.now();
const progress = setInterval(async () => {
  const count = progressByWorker.reduce((a, b) => a + (b ?? 0), 0);
  say(`  registering: hub CPU ${(cpuSeconds(hub.pid) - cpu0).toFixed(1)} s, RSS ${rssMb(hub.pid).toFixed(0)} MB, ${((Date.now() - t0) / 1000).toFixed(0)} s, ~${count} registered (hub logged ${hubLines.registered} registrations, ${hubLines.refused} refusals); workers' CPU ${workersCpu().toFixed(0)} s; maps: ${hubLines.maps ?? '-'}`);
  if (count !== lastCount) {
    lastCount = count;
    flatSince = Date.now();
  } else if (Date.now() - flatSince >= 20_000) {
    // Stalled: what the peers and the hub's socket look like.
    const r = await versions();
    say(`  stalled: peer states ${JSON.stringify(r.states)}, link drops ${JSON.stringify(r.drops)}, worker lag ${r.lagMs} ms; hub socket ${hubSocket()}`);
    for (const st of r.stuck.slice(0, 4)) say(`    stuck ${JSON.stringify(st)}`);
  }
}, 10_000);
function workersCpu() {
  return workers.reduce((a, w) => a + cpuSeconds(w.pid), 0);
}
function hubSocket() {
  const r = spawnSync('ss', ['-uamn', 'src', `127.0.0.1:${port}`], { encoding: 'utf8', timeout: 5_000 });
  return (/skmem:\([^)]*\)/.exec(r.stdout ?? '') ?? ['?'])[0];
}
const regDone = Promise.all(
  workers.map((w, i) => {
    const count = Math.max(0, Math.min(per, N - i * per));
    w.send({ type: 'start', ...common, first: i * per, firstHost: 2, count, ratePerSec: rate / W, maxPending });
    return onAny((x, m) => x === w && m.type === 'registered').then((m) => (registered += m.registered));
  }),
);
let regResult = await Promise.race([regDone.then(() => 'done'), sleep(regLimitS * 1000).then(() => 'timeout')]);
if (regResult !== 'done' && args.partial !== undefined) {
  // Stop joining; the registrations in flight finish (bounded: each worker's closed loop has at most max-pending).
  for (const w of workers) w.send({ type: 'halt' });
  regResult = await Promise.race([regDone.then(() => 'halted at the limit'), sleep(120_000).then(() => 'timeout')]);
}
clearInterval(progress);
const regMs = Date.now() - t0;
const regCpu = cpuSeconds(hub.pid) - cpu0;
say(`registration ${regResult}: ${registered}/${N} registered in ${(regMs / 1000).toFixed(1)} s; hub CPU ${regCpu.toFixed(1)} s (${((100 * regCpu) / (regMs / 1000)).toFixed(0)} % of a core), RSS ${rssMb(hub.pid).toFixed(0)} MB`);
if (regResult === 'timeout') process.exit(3);
const M = registered; // peers measured below (N, or fewer with --partial)

// Let the join storm's map traffic settle: every peer at the same version.
async function versions() {
  const replies = await fromWorkers.ask(workers, { type: 'versions' }, 'versions');
  const hist = {};
  const states = {};
  const drops = {};
  const stuck = [];
  let regs = 0;
  let handshakes = 0;
  let lagMs = 0;
  for (const r of replies) {
    regs += r.registrations;
    handshakes += r.handshakes;
    for (const [v, n] of Object.entries(r.hist)) hist[v] = (hist[v] ?? 0) + n;
    for (const [k, n] of Object.entries(r.states)) states[k] = (states[k] ?? 0) + n;
    for (const [k, n] of Object.entries(r.drops)) drops[k] = (drops[k] ?? 0) + n;
    stuck.push(...r.stuck);
    lagMs = Math.max(lagMs, r.lagMs);
  }
  return { hist, regs, handshakes, states, drops, stuck, lagMs };
}
// (At 10,000 peers the maps trail the registrations: every peer needs every other peer's entry, ~N^2
// entries, which the hub streams paced behind REGISTER and HEARTBEAT; this phase times that.)
const cpuSettle0 = cpuSeconds(hub.pid);
let settledMs = 0;
for (let i = 0; i < settleLimitS; i++) {
  const { hist, regs, lagMs } = await versions();
  const vs = Object.keys(hist).map(Number);
  if (vs.length === 1 && vs[0] >= M) break;
  if (i % 10 === 0) {
    const top = Math.max(...vs);
    say(`  settling: ${settledMs / 1000} s, ${hist[top] ?? 0}/${M} peers at version ${top}, ${hist[0] ?? 0} without a map yet, ${vs.length} versions; registrations ${regs}; hub CPU ${(cpuSeconds(hub.pid) - cpuSettle0).toFixed(1)} s, RSS ${rssMb(hub.pid).toFixed(0)} MB; workers' CPU ${workersCpu().toFixed(0)} s, lag ${lagMs} ms; hub socket ${hubSocket()}; maps: ${hubLines.maps ?? '-'}`);
  }
  await sleep(1000);
  settledMs += 1000;
}
const settleCpu = cpuSeconds(hub.pid) - cpuSettle0;
const settled = await versions();
say(`maps settled ${settledMs} ms after the last registration (hub CPU ${settleCpu.toFixed(1)} s; ${hubLines.partsTotal ?? 0} MAP parts sent in all): versions ${JSON.stringify(settled.hist)}; registrations ${settled.regs}`);

// Phase 2: steady state, heartbeats only (20 s interval).
const cpu1 = cpuSeconds(hub.pid);
const rss1 = rssMb(hub.pid);
const s0 = Date.now();
await sleep(steadyS * 1000);
const steadyCpu = cpuSeconds(hub.pid) - cpu1;
const steadyPct = (100 * steadyCpu) / ((Date.now() - s0) / 1000);
const rss2 = rssMb(hub.pid);
say(`steady ${steadyS} s of heartbeats from ${M} peers: hub CPU ${steadyCpu.toFixed(2)} s = ${steadyPct.toFixed(1)} % of a core; RSS ${rss1.toFixed(0)} -> ${rss2.toFixed(0)} MB`);

// Phase 3: one map change (a join), then another (a leave): time until every peer has it.
// Sessions rekey every 2 minutes, so peers that registered within a minute rekey as a wave; a change
// timed inside it measures the wave. Before each change wait (up to 90 s) for the workers' event-loop
// lag to stay under --quiet-lag-ms twice in a row, and report how long that took.
const quietLagMs = Number(args['quiet-lag-ms'] ?? 100);
async function quiet() {
  const t = Date.now();
  let calm = 0;
  while (calm < 2 && Date.now() - t < 90_000) {
    const { lagMs } = await versions();
    calm = lagMs < quietLagMs ? calm + 1 : 0;
    if (calm < 2) await sleep(1000);
  }
  return Date.now() - t;
}
async function spread(kind, waitQuiet = true) {
  const waitedMs = waitQuiet ? await quiet() : 0;
  const before = await versions();
  const v = Math.max(...Object.keys(before.hist).map(Number)) + 1;
  const watched = Promise.all(workers.map((w) => { w.send({ type: 'watch', version: v }); return onAny((x, m) => x === w && m.type === 'watched' && m.version === v); }));
  await sleep(200);
  const t = Date.now();
  const cpuAt = { hub: cpuSeconds(hub.pid), workers: workersCpu() };
  if (kind === 'join') workers[0].send({ type: 'join', ...common, first: N + Math.floor(v), firstHost: 2 });
  else workers[0].send({ type: 'leave' });
  const res = await Promise.race([watched, sleep(30_000).then(() => undefined)]);
  // CPU used meanwhile (10 ms ticks): a hub that got less than the wall time was waiting for a core.
  const cpu = `hub CPU ${(cpuSeconds(hub.pid) - cpuAt.hub).toFixed(2)} s, workers' ${(workersCpu() - cpuAt.workers).toFixed(2)} s in ${((Date.now() - t) / 1000).toFixed(2)} s`;
  const after = await versions();
  // Handshakes the virtual peers completed meanwhile: a change timed inside a rekey wave shows it here.
  const wave = `${after.handshakes - before.handshakes} peer handshakes completed meanwhile, workers' lag before ${before.lagMs} ms`;
  if (!res) return { ms: Infinity, text: `${kind}: not every peer had version ${v} within 30 s (${wave})` };
  const last = Math.max(...res.map((m) => m.doneAt));
  await sleep(300); // the last ACKs reach the hub, which then logs the fan-out
  const f = hubLines.fanouts.get(v);
  const hubView = f ? `hub: ${f.members} members, waited ${f.waitedMs} ms, all sent ${f.sentMs} ms, all acked ${f.deliveredMs} ms after the change, ${f.unfinished} unfinished` : 'hub: no fan-out report';
  say(`  ${kind}: per worker ${res.map((m) => m.doneAt - t).join(', ')} ms; ${hubView}; ${cpu}; ${wave}; hub maps: ${hubLines.maps ?? '-'}`);
  const waited = waitQuiet ? ` (waited ${waitedMs} ms for the workers' lag to settle under ${quietLagMs} ms)` : '';
  return { ms: last - t, text: `${kind} (version ${v}): every peer had it ${last - t} ms after the change started${waited}` };
}
say((await spread('join')).text);
await sleep(2000);
say((await spread('leave')).text);
// --spreads K: K more changes (join, leave, ...) every --spread-gap seconds without waiting for quiet,
// over at least one rekey cycle (2 minutes) so some fall inside the wave of peers that rekey together.
const extra = Number(args.spreads ?? 0);
const gapS = Number(args['spread-gap'] ?? 10);
const times = [];
for (let i = 0; i < extra; i++) {
  await sleep(gapS * 1000);
  const r = await spread(i % 2 === 0 ? 'join' : 'leave', false);
  times.push(r.ms);
  say(r.text);
}
if (times.length) {
  const sorted = times.slice().sort((a, b) => a - b);
  say(`${times.length} changes every ${gapS} s: reached every peer in median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms, ${times.filter((x) => x <= 1000).length} of ${times.length} within 1 s; in order: ${times.join(', ')}`);
}
say(`final hub RSS ${rssMb(hub.pid).toFixed(0)} MB`);
console.log(JSON.stringify({ spreadsMs: times, peers: M, workers: W, rate, registrationS: regMs / 1000, registrationCpuS: regCpu, settleS: settledMs / 1000, settleCpuS: settleCpu, steadyS, steadyCpuPct: steadyPct, rssMb: rss2 }));
for (const w of workers) w.send({ type: 'stop' });
await sleep(500);
if (process.env.LOAD_HUB_NODE_ARGS) {
  // Let a profiled hub (--cpu-prof) stop by itself and write its profile while its stdout is still read.
  hub.kill('SIGINT');
  await Promise.race([new Promise((r) => hub.once('exit', r)), sleep(30_000)]);
}
process.exit(0);
