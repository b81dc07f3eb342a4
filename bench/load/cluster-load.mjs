#!/usr/bin/env node
// Cluster load tool (issue 24): H real `meshd hub` processes on 127.0.0.1 sharing one network state
// through a 3-node NATS JetStream cluster started here (loopback, temporary storage, killed at the
// end), and N virtual peers (bench/load/vpeer-worker.mjs: real handshakes, REGISTER, MAP acks,
// HEARTBEAT) split evenly over the hubs, each hub's share in its own worker processes. With --hubs 1
// and no --nats it is one hub alone (the in-memory state), the comparison beside it.
// Reports: registration (wall time, per-peer p50/p99 from first datagram to REGISTER_OK), the time
// until every peer holds the full map, heartbeat CPU, and how long one change (a join on one hub, a
// leave on the other, ...) takes to reach every peer of every hub; CPU of hubs, NATS nodes and
// workers per phase, and their peak RSS (VmHWM).
//   npm run build && node bench/load/cluster-load.mjs --hubs 2 --peers 2000 [--workers 2] [--nats 3] [--rate 200]
//     [--max-pending 8] [--steady 20] [--spreads 4 --spread-gap 5] [--register-limit S] [--settle-limit S]
//     [--time-limit S] [--workers-nice N] [--warmup N] [--out FILE]   (--out: append the run's JSON summary as one line)
// --warmup N: before the measured changes, N unmeasured pairs of changes (a server joining, then leaving):
// they run the virtual peers' delta code for the first time (V8 compiles it then), which a real
// fleet of separate peer processes does not share; printed and kept apart (result.warmup), not timed
// into the figures, every map still checked after each. --help: this text.
// --nats defaults to 3 with more than one hub and 0 (no NATS, the in-memory state) with one; --nats 3
// --hubs 1 measures one hub that shares its state through NATS with nobody.
// --scope [--servers 4 --group-size 100]: ACL-scoped maps. Writes a tag policy (bench/load/acl-scope.mjs:
// groups of --group-size peers that may reach themselves, --servers members everybody may reach) and
// passes --acl to the hubs; the virtual peers register with names and the ACL flag and keep their
// maps' members. The settle then waits until every peer holds exactly the members it should (its
// group and the servers; a server: everybody), and the changes are a spare server joining (and
// leaving: every peer must see it) and a spare member of group 0 joining (and leaving: its group and
// the servers must see it), each timed until every peer that should see it does, then checked: no
// peer holds what it should not. --acl-flag 0: the peers do not set REGISTER flag 0x08, so the hubs
// send them no ACL_POLICY (the maps' cost alone). --acl-deltas 1: the peers also take ACL_POLICY_DELTA
// (REGISTER CAPS ext, docs/ACL.md "Deltas and parts"); with the ACL flag every peer's held policy is
// checked against the plan (policies held: exact, wrong, none). --check: a correctness run (small scale, e.g. --peers 200): exit 4
// unless every map was exact after the settle and after every change.
// --time-limit (default 690 s, so a run fits the 12 minutes a bench-lock holder may take): past it the
// run stops where it is, prints what it measured and exits 2.
// Traffic stays on loopback (hubs on 127.0.0.1, each virtual peer on its own 127.1.0.0 and up); overlay
// addresses are registry numbers in 10.9.0.0/16 (no packet goes there).
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { startNatsCluster } from './nats-cluster.mjs';
import { workerReplies } from './worker-replies.mjs';
import { scopedChangeSpec, scopePlan, sparesFor, warmupChangeSpec } from './acl-scope.mjs';

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv.includes('--help')) {
  // The opening comment is the usage (without this, --help would start a default run).
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  console.log(text.slice(1, text.findIndex((l) => l.startsWith('import '))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
const cli = join(process.env.MESHD_DIST ?? join(here, '..', '..', 'dist'), 'cli.js'); // MESHD_DIST: a private build
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]?.startsWith('--') ? '' : all[i + 1]]] : acc), []));
const H = Number(args.hubs ?? 2);
const natsNodes = Number(args.nats ?? (H > 1 ? 3 : 0));
const N = Number(args.peers ?? 2000);
const W = Math.max(H, Math.ceil(Number(args.workers ?? Math.max(H, Math.ceil(N / 2500))) / H) * H); // a multiple of H
const rate = Number(args.rate ?? 200); // joins per second, all workers together
const maxPending = Number(args['max-pending'] ?? 8);
const steadyS = Number(args.steady ?? 20);
const regLimitS = Number(args['register-limit'] ?? 300);
const settleLimitS = Number(args['settle-limit'] ?? 420);
const timeLimitS = Number(args['time-limit'] ?? 690);
const spreads = Number(args.spreads ?? 4); // changes after the first join and leave
const gapS = Number(args['spread-gap'] ?? 5);
const warmups = Number(args.warmup ?? 0); // unmeasured join-and-leave pairs before the measured changes
const workersNice = Number(args['workers-nice'] ?? 0);
const quietLagMs = Number(args['quiet-lag-ms'] ?? 100);
if (H > 1 && natsNodes === 0) throw new Error('--hubs 2 needs NATS (--nats 3)');
const scoped = args.scope !== undefined || args.check !== undefined;
const checkRun = args.check !== undefined;
const scope = scoped ? { peers: N, servers: Number(args.servers ?? 4), groupSize: Number(args['group-size'] ?? 100), spares: sparesFor(spreads, warmups), spareGroup: 0, aclFlag: args['acl-flag'] !== '0', aclDeltas: args['acl-deltas'] === '1' } : undefined;
const plan = scope ? scopePlan(scope) : undefined;

// --autogroup-nice N: with the kernel's autogroups (/proc/sys/kernel/sched_autogroup_enabled 1) every
// session shares the CPUs equally whatever its processes' nice, so other sessions' `nice -n 19` work
// still takes its full share beside this run (measured: 43 % of the box during a change). Run the tool
// under `setsid` (its own session, so its own autogroup) and give N < 0 to weigh this run's group
// above the others (root); the value is recorded in the result either way.
const autogroupNice = args['autogroup-nice'];
if (autogroupNice !== undefined) writeFileSync('/proc/self/autogroup', `${Number(autogroupNice)}`);
const autogroup = (() => {
  try {
    return `${readFileSync('/proc/self/autogroup', 'utf8').trim()} (autogroups ${readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1' ? 'on' : 'off'})`;
  } catch {
    return 'unknown';
  }
})();
const dir = mkdtempSync(join(tmpdir(), 'meshd-cload-'));
const secret = randomBytes(32).toString('base64'); // key material as `meshd gensecret` prints it
writeFileSync(join(dir, 'secret'), secret, { mode: 0o600 });
if (plan) writeFileSync(join(dir, 'acl.json'), JSON.stringify(plan.policy()));
const basePort = 18000 + (process.pid % 100) * 10;
const started = Date.now();
const say = (s) => console.log(`[cload ${new Date().toISOString().slice(11, 19)} +${((Date.now() - started) / 1000).toFixed(0)}s] ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// /proc readings: CPU seconds (USER_HZ 100) and RSS now / peak (VmHWM), of any pid.
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}
function memMb(pid, field) {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}
/** The main thread's on-CPU and run-queue wait, ms (/proc/PID/schedstat: a process that wants a
 * CPU and waits for one shows in the wait, one with nothing to do in neither). */
function schedMs(pid) {
  try {
    const [cpuNs, waitNs] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { cpu: cpuNs / 1e6, wait: waitNs / 1e6 };
  } catch {
    return { cpu: NaN, wait: NaN };
  }
}
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN);
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');

// What the run measured so far; printed (and appended to --out) however it ends.
const result = { hubs: H, natsNodes, peers: N, workers: W, rate, maxPending, scope, autogroup, startedAt: new Date().toISOString(), uptimeStart: readFileSync('/proc/loadavg', 'utf8').trim() };
let nats;
const hubs = [];
const workers = [];
let finished = false;
function peaks() {
  result.peakRssMb = {
    hubs: hubs.map((h) => Math.round(memMb(h.proc.pid, 'VmHWM'))),
    nats: nats ? nats.pids().map((p) => Math.round(memMb(p, 'VmHWM'))) : [],
  };
  // Each hub's handshake counters at its last map log (totals over the run).
  result.handshakePressure = hubs.map((h) => h.handshakePressure ?? null);
}
function cleanup() {
  if (finished) return;
  finished = true;
  peaks();
  result.uptimeEnd = readFileSync('/proc/loadavg', 'utf8').trim();
  result.wallS = (Date.now() - started) / 1000;
  console.log(JSON.stringify(result));
  if (args.out) appendFileSync(args.out, `${JSON.stringify(result)}\n`);
  for (const w of workers) w.kill('SIGKILL');
  for (const h of hubs) h.proc.kill('SIGKILL');
  nats?.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(1));
setTimeout(() => {
  say(`time limit (${timeLimitS} s) reached; stopping with what was measured`);
  result.stoppedAt = result.phase ?? 'start';
  process.exit(2);
}, timeLimitS * 1000).unref();

// Phase 0: NATS, then the hubs.
if (natsNodes > 0) {
  nats = await startNatsCluster(natsNodes);
  say(`nats: ${natsNodes} node(s) ${nats.urls.join(' ')} (pids ${nats.pids().join(', ')})`);
}
function startHub(i) {
  const port = basePort + i * 4;
  const stateDir = join(dir, `hub${i}`);
  mkdirSync(stateDir);
  const a = [cli, 'hub', '--listen', `127.0.0.1:${port}`, '--network', '10.9.0.0/16', '--secret-file', join(dir, 'secret'), '--state-dir', stateDir, '--log-level', 'info'];
  if (nats) for (const u of nats.urls) a.push('--cluster', u);
  if (plan) a.push('--acl', join(dir, 'acl.json'));
  // LOAD_HUB_NODE_ARGS: node flags for the hubs (e.g. --cpu-prof --cpu-prof-dir DIR; they stop with SIGINT at the end).
  const proc = spawn(process.execPath, [...(process.env.LOAD_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean), ...a], { stdio: ['ignore', 'pipe', 'pipe'] });
  const h = { i, port, proc, key: '', registered: 0, partsTotal: 0, fanouts: new Map(), fanoutLog: [], maps: '-', warns: [] };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`hub ${i} did not start within 30 s: ${h.warns.join(' | ')}`)), 30_000);
    createInterface({ input: proc.stdout }).on('line', (l) => {
      if (process.env.LOAD_HUB_LOG) appendFileSync(`${process.env.LOAD_HUB_LOG}.${i}`, `${l}\n`);
      if (l.includes('"level":40') || l.includes('"level":50')) {
        h.warns.push(l.slice(0, 300));
        if (h.warns.length > 10) h.warns.shift();
      }
      if (l.includes('"hub: registered"')) h.registered++;
      if (l.includes('"hub: map distribution"')) {
        const j = JSON.parse(l);
        h.partsTotal += j.parts;
        h.maps = `${j.parts} parts/10 s, ${j.retransmits} resent, ${j.inFlight} in flight, srtt ${j.srttMs} ms, queued ${JSON.stringify(j.queued)}, handshakes ${j.handshakes}`;
        // The handshake pressure (a rekey storm shows here first): DH backlog, cookie replies sent,
        // initiations refused for a full backlog, packets dropped waiting for a handshake (totals).
        h.maps += ` (backlog ${j.handshakeBacklog}${j.underLoad ? ', under load' : ''}, cookies ${j.cookiesSent}, backlog full ${j.backlogFull ?? '-'}, queue full ${j.queueFull ?? '-'})`;
        h.handshakePressure = { backlog: j.handshakeBacklog, underLoad: j.underLoad, cookiesSent: j.cookiesSent, superseded: j.superseded, backlogFull: j.backlogFull, queueFull: j.queueFull };
      }
      if (l.includes('"hub: map change delivered"')) {
        const j = JSON.parse(l);
        j.loggedAt = Date.now();
        h.fanouts.set(j.version, j);
        h.fanoutLog.push(j); // every report (a joiner's own full map can share its version with the fan-out)
        if (h.fanoutLog.length > 100) h.fanoutLog.shift();
        if (h.fanouts.size > 100) h.fanouts.delete(h.fanouts.keys().next().value);
      }
      if (l.includes('"hub started"')) {
        h.key = JSON.parse(l).publicKey;
        clearTimeout(t);
        resolve(h);
      }
    });
    proc.stderr.on('data', (d) => process.stderr.write(d));
    proc.on('exit', (code, sig) => {
      if (!finished) say(`hub ${i} exited (${code ?? sig}); last warnings: ${h.warns.join(' | ')}`);
    });
  });
}
for (let i = 0; i < H; i++) hubs.push(await startHub(i));
say(`${H} hub(s) on ports ${hubs.map((h) => h.port).join(', ')} (pids ${hubs.map((h) => h.proc.pid).join(', ')}); ${N} virtual peers in ${W} workers (${W / H} per hub) at ${rate} joins/s; scheduler group ${autogroup}`);

const cpu = () => ({ hubs: hubs.map((h) => cpuSeconds(h.proc.pid)), nats: nats ? sum(nats.pids().map(cpuSeconds)) : 0, workers: sum(workers.map((w) => cpuSeconds(w.pid))) });
function cpuSince(c0, wallS0) {
  const wallS = Math.max(wallS0, 0.01);
  const c = cpu();
  const hubsS = c.hubs.map((x, i) => x - c0.hubs[i]);
  return {
    hubsCpuS: hubsS.map((x) => Number(x.toFixed(2))),
    hubsPctOfCore: hubsS.map((x) => Number(((100 * x) / wallS).toFixed(1))),
    natsCpuS: Number((c.nats - c0.nats).toFixed(2)),
    natsPctOfCore: Number(((100 * (c.nats - c0.nats)) / wallS).toFixed(1)),
    workersCpuS: Number((c.workers - c0.workers).toFixed(1)),
  };
}
/** Main threads' on-CPU and run-queue wait (ms) of the hubs and the workers (summed) since `s0`. */
const sched = () => ({ hubs: hubs.map((h) => schedMs(h.proc.pid)), workers: workers.map((w) => schedMs(w.pid)) });
function schedSince(s0) {
  const s = sched();
  const d = (a, b) => ({ cpu: Math.round(b.cpu - a.cpu), wait: Math.round(b.wait - a.wait) });
  const w = s.workers.map((x, i) => d(s0.workers[i], x));
  return { hubs: s.hubs.map((x, i) => d(s0.hubs[i], x)), workers: { cpu: sum(w.map((x) => x.cpu)), wait: sum(w.map((x) => x.wait)) } };
}
const schedText = (x) => `main threads on CPU / waiting for one: hubs ${x.hubs.map((h) => `${h.cpu} / ${h.wait}`).join(', ')} ms, workers ${x.workers.cpu} / ${x.workers.wait} ms`;
const cpuText = (x) => `hubs CPU ${x.hubsCpuS.join(' + ')} s (${x.hubsPctOfCore.join(', ')} % of a core), NATS ${x.natsCpuS} s (${x.natsPctOfCore} %), workers ${x.workersCpuS} s`;
const rssText = () => `RSS hubs ${hubs.map((h) => memMb(h.proc.pid, 'VmRSS').toFixed(0)).join(', ')} MB${nats ? `, NATS ${nats.pids().map((p) => memMb(p, 'VmRSS').toFixed(0)).join(', ')} MB` : ''}`;

// Workers: W / H per hub; worker k serves hub k % H.
const fromWorkers = workerReplies();
const onAny = fromWorkers.onAny;
const progress = [];
for (let k = 0; k < W; k++) {
  // LOAD_WORKER_NODE_ARGS: node flags for the workers (e.g. --cpu-prof --cpu-prof-dir DIR).
  const w = fork(join(here, 'vpeer-worker.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: (process.env.LOAD_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean) });
  w.hub = hubs[k % H];
  w.on('message', (m) => {
    if (m.type === 'error') say(`worker ${k}: ${m.error}`);
    if (m.type === 'progress') progress[k] = m.registered;
    fromWorkers.deliver(w, m);
  });
  workers.push(w);
  if (workersNice) setPriority(w.pid, workersNice);
}
await Promise.all(workers.map((w) => onAny((x, m) => x === w && m.type === 'ready')));
const common = (h) => ({ secret, hubKey: h.key, hub: { address: '127.0.0.1', port: h.port }, scope });
const firstHost = 2;
const members = new Set(); // scoped runs: the indices registered network-wide
/** Scoped runs: every worker's maps against the plan (acl-scope.mjs compareScope), summed. */
async function scopeCheck() {
  // Members now: every worker's registered peers (late registrations after a time limit, and the
  // spares joined and left, included).
  const stats = await fromWorkers.ask(workers, { type: 'regstats' }, 'regstats');
  members.clear();
  for (const m of stats) for (const i of m.indices ?? []) members.add(i);
  const list = [...members];
  const replies = await fromWorkers.ask(workers, { type: 'scopecheck', members: list, firstHost }, 'scopecheck');
  const r = { peers: 0, exact: 0, missing: 0, extra: 0, noMap: 0, held: 0, aclPolicies: 0, aclExact: 0, aclWrong: 0, aclNone: 0, examples: [] };
  for (const x of replies) {
    for (const k of ['peers', 'exact', 'missing', 'extra', 'noMap', 'held', 'aclPolicies', 'aclExact', 'aclWrong', 'aclNone']) r[k] += x[k] ?? 0;
    r.examples.push(...x.examples);
  }
  r.examples = r.examples.slice(0, 3);
  return r;
}
const scopeText = (r) => `${r.exact} of ${r.peers} maps exact, ${r.missing} entries missing, ${r.extra} extra, ${r.noMap} without a map, ${r.held} entries held, ${r.aclPolicies} ACL_POLICY received${scope?.aclFlag ? ` (policies held: ${r.aclExact} exact, ${r.aclWrong} wrong, ${r.aclNone} none)` : ''}${r.examples.length ? `; e.g. ${JSON.stringify(r.examples.slice(0, 2))}` : ''}`;

/** Every worker's version histogram, merged per hub. */
async function versions() {
  const replies = await fromWorkers.ask(workers, { type: 'versions' }, 'versions');
  const perHub = hubs.map(() => ({ hist: {}, states: {}, noMap: [] }));
  let lagMs = 0;
  let handshakes = 0;
  replies.forEach((r, k) => {
    const ph = perHub[k % H];
    for (const [v, n] of Object.entries(r.hist)) ph.hist[v] = (ph.hist[v] ?? 0) + n;
    for (const [s, n] of Object.entries(r.states)) ph.states[s] = (ph.states[s] ?? 0) + n;
    ph.noMap.push(...(r.noMap ?? []));
    lagMs = Math.max(lagMs, r.lagMs);
    handshakes += r.handshakes;
  });
  return { perHub, lagMs, handshakes };
}

// Phase 1: registration, every worker at once (each its share of `rate`).
result.phase = 'registration';
const per = Math.ceil(N / W);
const c0 = cpu();
const t0 = Date.now();
const regMs = [];
let registered = 0;
const ticker = setInterval(() => {
  const x = cpuSince(c0, (Date.now() - t0) / 1000);
  say(`  registering: ~${sum(progress.map((p) => p ?? 0))} registered (hubs logged ${hubs.map((h) => h.registered).join(' + ')}); ${cpuText(x)}; ${rssText()}; maps ${hubs.map((h) => h.maps).join(' | ')}`);
}, 10_000);
const regDone = Promise.all(
  workers.map((w, k) => {
    const count = Math.max(0, Math.min(per, N - k * per));
    w.send({ type: 'start', ...common(w.hub), first: k * per, firstHost, count, ratePerSec: rate / W, maxPending });
    return onAny((x, m) => x === w && m.type === 'registered').then((m) => {
      registered += m.registered;
      for (const i of m.indices ?? []) members.add(i);
      regMs.push(...(m.regMs ?? []));
    });
  }),
);
let regResult = await Promise.race([regDone.then(() => 'done'), sleep(regLimitS * 1000).then(() => 'timeout')]);
if (regResult !== 'done') {
  // Past the limit: start no more, give the ones in flight 30 s, then count what registered.
  for (const w of workers) w.send({ type: 'halt' });
  regResult = await Promise.race([regDone.then(() => 'halted at the limit'), sleep(30_000).then(() => 'timeout')]);
  if (regResult === 'timeout') {
    const stats = await fromWorkers.ask(workers, { type: 'regstats' }, 'regstats');
    registered = sum(stats.map((m) => m.registered));
    for (const m of stats) for (const i of m.indices ?? []) members.add(i);
    regMs.splice(0, regMs.length, ...stats.flatMap((m) => m.regMs));
  }
}
clearInterval(ticker);
const regWallS = (Date.now() - t0) / 1000;
regMs.sort((a, b) => a - b);
result.registration = { result: regResult, registered, wallS: regWallS, joinsPerS: Number((registered / regWallS).toFixed(0)), perPeerMs: { p50: pct(regMs, 0.5), p99: pct(regMs, 0.99), max: regMs.at(-1) }, ...cpuSince(c0, regWallS) };
if (nats) {
  result.registration.natsTraffic = await nats.traffic('meshd-hub-');
  const t = result.registration.natsTraffic;
  say(`  NATS traffic of the hubs' connections so far: ${t.inMsgs} messages (${(t.inBytes / 1e6).toFixed(1)} MB) from the hubs, ${t.outMsgs} (${(t.outBytes / 1e6).toFixed(1)} MB) to them, over ${t.connections} connections: ${(t.inMsgs / Math.max(1, registered)).toFixed(1)} and ${(t.outMsgs / Math.max(1, registered)).toFixed(1)} per registration`);
}
say(`registration ${regResult}: ${registered}/${N} in ${regWallS.toFixed(1)} s (${result.registration.joinsPerS}/s); per peer p50 ${pct(regMs, 0.5)} ms, p99 ${pct(regMs, 0.99)} ms, max ${regMs.at(-1)} ms; ${cpuText(result.registration)}; ${rssText()}`);
if (regResult === 'timeout' && !plan) process.exit(3); // scoped runs go on with the peers registered (scopeCheck counts late ones)
const M = registered;

// Phase 2: settle: on every hub, every peer at one version holding all M members (each member
// bumps the map version at least once, so the version is at least M).
result.phase = 'settle';
const c1 = cpu();
const t1 = Date.now();
let settled = false;
// What the changes need after the settle (quiet waits, gaps, 30 s for a slow one): the settle stops
// early rather than leave no time for them.
const reserveS = steadyS + (2 + 2 * warmups) * 15 + spreads * (gapS + 5) + 30;
const settleUntil = Math.min(t1 + settleLimitS * 1000, started + (timeLimitS - reserveS) * 1000);
let settleSeen;
for (let i = 0; plan && Date.now() < settleUntil; i++) {
  // Scoped maps: settled when every peer holds exactly what the plan says (versions may differ).
  const r = await scopeCheck();
  result.settle = { scope: r };
  if (r.exact === r.peers && r.peers === members.size) {
    settled = true;
    break;
  }
  if (i % 10 === 0) say(`  settling ${((Date.now() - t1) / 1000).toFixed(0)} s: ${scopeText(r)}; ${cpuText(cpuSince(c1, (Date.now() - t1) / 1000))}; ${rssText()}; maps ${hubs.map((h) => h.maps).join(' | ')}`);
  await sleep(1000);
}
for (let i = 0; !plan && Date.now() < settleUntil; i++) {
  const { perHub, lagMs } = await versions();
  settleSeen = perHub;
  const ok = perHub.map((ph) => {
    const vs = Object.keys(ph.hist).map(Number);
    return vs.length === 1 && vs[0] >= M;
  });
  if (ok.every(Boolean)) {
    settled = true;
    break;
  }
  if (i % 10 === 0) {
    const text = perHub.map((ph, h) => {
      const vs = Object.keys(ph.hist).map(Number);
      const top = Math.max(...vs);
      return `hub ${h}: ${ph.hist[top]} at ${top}, ${ph.hist[0] ?? 0} without a map, ${vs.length} versions`;
    });
    const tail = perHub.flatMap((ph) => ph.noMap);
    if (tail.length > 0 && tail.length <= 10) say(`  registered without a map yet: ${JSON.stringify(tail.slice(0, 2))}`);
    say(`  settling ${((Date.now() - t1) / 1000).toFixed(0)} s: ${text.join('; ')}; worker lag ${lagMs} ms; ${cpuText(cpuSince(c1, (Date.now() - t1) / 1000))}; ${rssText()}; maps ${hubs.map((h) => h.maps).join(' | ')}`);
  }
  await sleep(1000);
}
// No time left to settle (a slow registration under --time-limit): the maps as they are.
if (plan && !result.settle?.scope) result.settle = { scope: await scopeCheck() };
const settleS = (Date.now() - t1) / 1000;
result.settle = { settled, wallS: settleS, ...cpuSince(c1, settleS), ...(plan ? { scope: result.settle?.scope } : {}) };
result.settle.mapPartsSent = hubs.map((h) => h.partsTotal); // from the hubs' 10 s distribution lines (registration and settle)
if (plan) {
  say(`maps ${settled ? 'settled: every peer holds exactly its scope' : 'NOT exact'} ${settleS.toFixed(0)} s after the last registration: ${scopeText(result.settle.scope)}; MAP parts sent ${result.settle.mapPartsSent.join(' + ')}; ${cpuText(result.settle)}; ${rssText()}`);
} else if (!settled) {
  settleSeen ??= (await versions()).perHub;
  // How far it got: peers holding the full map (at the top version) per hub, and at what pace.
  result.settle.fullMapPeers = settleSeen.map((ph) => ph.hist[Math.max(...Object.keys(ph.hist).map(Number))] ?? 0);
  const full = sum(result.settle.fullMapPeers);
  const perS = full / Math.max(1, regWallS + settleS); // since the first registration
  result.settle.fullMapsPerS = Number(perS.toFixed(1));
  say(`  ${full} of ${M} peers got their full map in ${(regWallS + settleS).toFixed(0)} s since the first registration (${perS.toFixed(1)}/s); MAP parts sent so far ${result.settle.mapPartsSent.join(' + ')}; at that pace the other ${M - full} need ~${perS > 0 ? ((M - full) / perS).toFixed(0) : '?'} s more`);
}
if (!plan) say(`maps ${settled ? 'settled' : `NOT settled (${result.settle.fullMapPeers.join(' + ')} of ${M} peers hold the full map)`} ${settleS.toFixed(0)} s after the last registration; ${cpuText(result.settle)}; ${rssText()}`);

// Phase 3: heartbeats only (skipped when the maps are still streaming: that is not the steady state).
if (settled) {
  result.phase = 'steady';
  const c2 = cpu();
  const t2 = Date.now();
  await sleep(steadyS * 1000);
  result.steady = { wallS: (Date.now() - t2) / 1000, ...cpuSince(c2, (Date.now() - t2) / 1000) };
  say(`steady ${steadyS} s of heartbeats from ${M} peers: ${cpuText(result.steady)}; ${rssText()}`);
}

// Phase 4: changes. Each is a join (alternating hubs) or a leave (on the other hub), timed until
// every peer of every hub has its hub's next version. The first two wait for the workers' lag to settle.
// Maps not settled: timed over the peers holding the full map only (the others still stream theirs,
// and a member gets a delta only once its full map is acked), and said so.
result.phase = 'changes';
async function quiet() {
  const t = Date.now();
  let calm = 0;
  while (calm < 2 && Date.now() - t < 60_000) {
    calm = (await versions()).lagMs < quietLagMs ? calm + 1 : 0;
    if (calm < 2) await sleep(1000);
  }
  return Date.now() - t;
}
let joined = 0;
async function change(n, waitQuiet, label = '') {
  const kind = n % 2 === 0 ? 'join' : 'leave';
  const at = kind === 'join' ? (n / 2) % H : ((n - 1) / 2 + 1) % H; // join on hub 0, leave on hub 1, join on hub 1, ...
  const waitedMs = waitQuiet ? await quiet() : 0;
  const before = await versions();
  const target = before.perHub.map((ph) => Math.max(...Object.keys(ph.hist).map(Number)) + 1);
  const from = (k) => (settled ? 0 : target[k % H] - 1);
  const counted = Promise.all(workers.map((w, k) => onAny((x, m) => x === w && m.type === 'watching' && m.version === target[k % H])));
  const watched = Promise.all(workers.map((w, k) => { w.send({ type: 'watch', version: target[k % H], from: from(k) }); return onAny((x, m) => x === w && m.type === 'watched' && m.version === target[k % H]); }));
  const watchedPeers = sum((await counted).map((m) => m.peers));
  await sleep(200);
  const cx = cpu();
  const t = Date.now();
  const w0 = workers[at]; // worker `at` serves hub `at`
  if (kind === 'join') w0.send({ type: 'join', ...common(hubs[at]), first: N + 10 + joined++, firstHost: 2 });
  else w0.send({ type: 'leave' });
  const res = await Promise.race([watched, sleep(30_000).then(() => undefined)]);
  const wallS = (Date.now() - t) / 1000;
  const c = cpuSince(cx, wallS);
  const after = await versions();
  if (!res) {
    say(`  ${kind} at hub ${at}: not every one of ${watchedPeers} watched peers had it within 30 s`);
    return { kind, hub: at, ms: null, peers: watchedPeers };
  }
  const perHubMs = hubs.map((_, h) => Math.max(...res.filter((_, k) => k % H === h).map((m) => m.doneAt)) - t);
  await sleep(300); // the last ACKs reach the hubs, which then log their fan-outs
  const views = hubs.map((h, i) => {
    const f = h.fanouts.get(target[i]);
    return f ? `hub ${i}: waited ${Math.round(f.waitedMs)} ms, all sent ${Math.round(f.sentMs)} ms, all acked ${Math.round(f.deliveredMs)} ms` : `hub ${i}: no fan-out report`;
  });
  const ms = Math.max(...perHubMs);
  say(`  ${label}${kind} at hub ${at}: ${settled ? 'every peer' : `every one of the ${watchedPeers} peers holding the full map`} had it in ${ms} ms (per hub ${perHubMs.join(', ')} ms)${waitQuiet ? `, after ${waitedMs} ms waiting for quiet` : ''}; ${views.join('; ')}; ${cpuText(c)}; ${after.handshakes - before.handshakes} peer handshakes meanwhile`);
  return { kind, hub: at, ms, peers: watchedPeers, perHubMs, hubsCpuS: c.hubsCpuS, natsCpuS: c.natsCpuS, workersCpuS: c.workersCpuS };
}
// Scoped runs: change n is, in cycles of four, a spare server joining at hub c % H and leaving, then
// a spare member of group 0 joining at hub (c + 1) % H and leaving (c = the cycle; acl-scope.mjs
// scopedChangeSpec; warm-ups: warmupChangeSpec). Timed until every
// peer that should see it (a server: everybody; the member: group 0 and the servers) does; then a
// scopecheck: nobody holds what it should not.
async function scopedChange({ kind, server, at, index, key }, waitQuiet, label = '') {
  const what = `${label}${server ? 'server' : 'group-0 member'} ${plan.name(index)} ${kind}`;
  const waitedMs = waitQuiet ? await quiet() : 0;
  const watchers = [...members].filter((j) => plan.sees(j, index));
  const counted = Promise.all(workers.map((w) => onAny((x, m) => x === w && m.type === 'watching' && m.key === key)));
  const watched = Promise.all(workers.map((w) => { w.send({ type: 'watchEntry', key, index, present: kind === 'join', watchers, firstHost }); return onAny((x, m) => x === w && m.type === 'watched' && m.key === key); }));
  const watchedPeers = sum((await counted).map((m) => m.peers));
  await sleep(200);
  const cx = cpu();
  const sx = sched();
  const t = Date.now();
  const w0 = workers[at]; // worker `at` serves hub `at`
  if (kind === 'join') {
    members.add(index);
    w0.send({ type: 'join', ...common(hubs[at]), first: index, firstHost });
  } else {
    members.delete(index);
    w0.send({ type: 'leave', index });
  }
  const res = await Promise.race([watched, sleep(30_000).then(() => undefined)]);
  const wallS = (Date.now() - t) / 1000;
  const cs = cpuSince(cx, wallS);
  const ss = schedSince(sx);
  await sleep(500); // late deltas to peers that should not get one would show now
  const check = await scopeCheck();
  const exact = check.exact === check.peers;
  if (!res) {
    say(`  ${what} at hub ${at}: not every one of ${watchedPeers} peers that should see it did within 30 s; ${scopeText(check)}`);
    return { kind, server, hub: at, ms: null, peers: watchedPeers, exact };
  }
  // Per hub, over the workers that had peers to watch (a hub homing none of them: '-').
  const watching = await counted;
  const perHubMs = hubs.map((_, h) => {
    const ds = res.filter((_, k) => k % H === h && watching[k].peers > 0).map((m) => m.doneAt - t);
    return ds.length ? Math.max(...ds) : null;
  });
  const done = perHubMs.filter((x) => x !== null);
  const ms = done.length ? Math.max(...done) : null; // null: no peer had to see it (its watchers were gone)
  // Each hub's largest fan-out logged since the command: its timeline and its pump's slices.
  const fanouts = hubs.map((h) => h.fanoutLog.filter((f) => f.loggedAt >= t).sort((a, b) => b.members - a.members)[0]);
  const views = fanouts.map((f, i) => (f ? `hub ${i}: ${f.members} members, learnt ~+${Math.round(f.loggedAt - f.deliveredMs - t)} ms, waited ${Math.round(f.waitedMs)}, sent ${Math.round(f.sentMs)}, acked ${Math.round(f.deliveredMs)} ms${f.pump ? `, pump ${f.pump.slices} slices, ${f.pump.parts} parts, busy ${f.pump.busyMs} ms, waited ${f.pump.waitMs} ms, ${f.pump.inflightStops} at the in-flight limit` : ''}` : `hub ${i}: no fan-out report`));
  say(`  ${what} at hub ${at}: all ${watchedPeers} peers that should see it did in ${ms} ms (per hub ${perHubMs.map((x) => x ?? '-').join(', ')} ms)${waitQuiet ? `, after ${waitedMs} ms waiting for quiet` : ''}; then ${scopeText(check)}; ${cpuText(cs)}; ${schedText(ss)}; ${views.join('; ')}`);
  return { kind, server, hub: at, at: t, ms, peers: watchedPeers, perHubMs, exact, hubsCpuS: cs.hubsCpuS, natsCpuS: cs.natsCpuS, workersCpuS: cs.workersCpuS, sched: ss, fanouts: fanouts.map((f) => f ?? null) };
}
if (warmups > 0) {
  say(`warm-up: ${warmups} unmeasured join-and-leave pair(s) of a server (they run the virtual peers' delta code for the first time: a real fleet of separate peer processes would not share that warm-up); not in the figures below`);
  result.warmup = [];
  for (let w = 0; w < 2 * warmups; w++) result.warmup.push(await (plan ? scopedChange(warmupChangeSpec(plan, w, H, warmups), true, 'warm-up, not measured: ') : change(w % 2, true, 'warm-up, not measured: ')));
  if (plan) result.exactAfterWarmup = result.warmup.every((c) => c.exact);
}
result.changes = [];
for (let n = 0; n < 2 + spreads; n++) {
  if (n >= 2) await sleep(gapS * 1000);
  result.changes.push(await (plan ? scopedChange(scopedChangeSpec(plan, n, H), n < 2) : change(n, n < 2)));
}
const times = result.changes.map((c) => c.ms ?? Infinity).sort((a, b) => a - b);
result.changeMs = { median: pct(times, 0.5), min: times[0], max: times.at(-1), within2s: times.filter((x) => x <= 2000).length, of: times.length };
if (!plan) say(`${times.length} changes reached ${settled ? `every one of ${M} peers` : `every peer holding the full map (${result.changes.map((c) => c.peers).join(', ')} of ${M})`} in median ${result.changeMs.median} ms (${result.changeMs.min}-${result.changeMs.max} ms), ${result.changeMs.within2s} of ${times.length} within 2 s`);
if (plan) {
  for (const server of [true, false]) {
    const ts = result.changes.filter((c) => c.server === server).map((c) => c.ms ?? Infinity).sort((a, b) => a - b);
    result[server ? 'serverChangeMs' : 'groupChangeMs'] = { median: pct(ts, 0.5), max: ts.at(-1), within2s: ts.filter((x) => x <= 2000).length, of: ts.length };
    say(`  ${server ? 'server changes (every peer)' : 'group-0 changes (its group and the servers)'}: median ${pct(ts, 0.5)} ms, max ${ts.at(-1)} ms, ${ts.filter((x) => x <= 2000).length} of ${ts.length} within 2 s`);
  }
  result.exactAfterChanges = result.changes.every((c) => c.exact);
}
if (nats) result.natsTrafficEnd = await nats.traffic('meshd-hub-');
result.mapPartsSent = hubs.map((h) => h.partsTotal);
peaks();
say(`peak RSS (VmHWM): hubs ${result.peakRssMb.hubs.join(', ')} MB${nats ? `; NATS ${result.peakRssMb.nats.join(', ')} MB` : ''}`);
for (const h of hubs) if (h.warns.length) say(`hub ${h.i} warnings (last ${h.warns.length}): ${h.warns.slice(-3).join(' | ')}`);
result.phase = 'done';
if (checkRun) {
  result.check = settled && result.exactAfterChanges && result.exactAfterWarmup !== false ? 'pass' : 'fail';
  say(`scope check ${result.check.toUpperCase()}: every map exact after the settle ${settled ? 'yes' : 'NO'}, after every change ${result.exactAfterChanges ? 'yes' : 'NO'}${warmups > 0 ? `, after every warm-up change ${result.exactAfterWarmup ? 'yes' : 'NO'}` : ''}`);
}
for (const w of workers) w.send({ type: 'stop' });
// Profiled workers and hubs write their profile on exit: wait for them (bounded), else half a second.
const exited = (c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', r)));
await Promise.race([Promise.all(workers.map(exited)), sleep(process.env.LOAD_WORKER_NODE_ARGS ? 20_000 : 500)]);
if (process.env.LOAD_HUB_NODE_ARGS) {
  for (const h of hubs) h.proc.kill('SIGINT');
  await Promise.race([Promise.all(hubs.map((h) => exited(h.proc))), sleep(20_000)]);
}
process.exit(checkRun && result.check !== 'pass' ? 4 : 0);
