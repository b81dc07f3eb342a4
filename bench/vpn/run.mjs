#!/usr/bin/env node
// Side-by-side VPN bench (issue 8): the same namespaces (peer A, peer B, hub H, router R, optional
// delay bridge D) for every system; iperf3 TCP 1 and 4 streams, ping RTT idle and under load,
// CPU seconds per GB, peak RSS, and a TCP echo latency test; loss 0/1/5/10 %, 0 and 20 ms one-way.
//
//   npm run build && node bench/vpn/run.mjs [--quick] [--systems a,b] [--seconds N] [--delays 0,20]
//     [--loss 0,1,5,10] [--no-doc] [--cpu-prof DIR]
//
// Writes bench/results/vpn-<date>.json and (unless --no-doc) docs/BENCHMARKS.md. Root only.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addr, buildTopology, setLoss } from './lab.mjs';
import { cpuSeconds, echo, iperf, iperfUdp, peakRssMiB, ping, reasmReqds } from './measure.mjs';
import { kcptun, meshd, underlay, wireguardGo } from './systems.mjs';
import { renderDoc, renderSvg } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const cliPath = join(repo, 'dist', 'cli.js');

const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (f, d) => {
  const i = argv.indexOf(f);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : d;
};
const quick = flag('--quick');
const cfg = {
  quick,
  delaysMs: opt('--delays', '0,20').split(',').map(Number),
  lossPct: opt('--loss', quick ? '0,5' : '0,1,5,10').split(',').map(Number),
  seconds: Number(opt('--seconds', quick ? '3' : '4')),
  streams: [1, 4],
  idlePings: quick ? 20 : 30,
  pingIntervalS: 0.05,
  // The echo test (issue: 5 % loss at 40 ms base RTT), with its 0 % baseline.
  echo: { delayMs: 20, lossPct: quick ? [5] : [0, 5], rounds: quick ? 50 : 100 },
};

// --cpu-prof DIR: meshd peers run under node --cpu-prof; summarize with bench/vpn/profile.mjs DIR.
const cpuProf = opt('--cpu-prof', null);
if (cpuProf) mkdirSync(cpuProf, { recursive: true });
const all = [
  underlay,
  wireguardGo,
  kcptun,
  meshd(cliPath, 'kcp', 'normal', cpuProf),
  meshd(cliPath, 'kcp', 'fast', cpuProf),
  meshd(cliPath, 'kcp', 'fast2', cpuProf),
  meshd(cliPath, 'kcp', 'fast3', cpuProf),
  meshd(cliPath, 'datagram', null, cpuProf),
];
const only = opt('--systems', null);
const systems = only === null ? all : all.filter((s) => only.split(',').some((x) => s.name.includes(x)));

function say(msg) {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

function environment() {
  const git = (a) => sh('git', ['-C', repo, ...a]);
  return {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? '?'} x${cpus().length}, ${sh('uname', ['-sr'])}`,
    node: process.version,
    meshd: `${JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version} @ ${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--', 'src']) ? ' (src dirty)' : ''}`,
    // dist/ is shared with everyone building in this tree: record when it was built, not just HEAD.
    meshdDistBuilt: existsSync(cliPath) ? statSync(cliPath).mtime.toISOString() : null,
    wireguardGo: (/v[\d.]+/.exec(sh('wireguard-go', ['--version'])) ?? ['?'])[0],
    kcptun: sh('dpkg-query', ['-W', '-f=${Version}', 'kcptun']) || '?',
    iperf3: sh('iperf3', ['--version']).split('\n')[0],
    loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
}

function compileBridge() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-delay-'));
  const out = join(dir, 'delay-bridge');
  execFileSync('cc', ['-O2', '-Wall', '-o', out, join(repo, 'bench', 'delay', 'delay-bridge.c')], { stdio: 'inherit' });
  return { out, dir };
}

function preflight() {
  if (process.getuid?.() !== 0) throw new Error('run as root (network namespaces)');
  const missing = ['ip', 'nft', 'ethtool', 'iperf3', 'ping', 'cc', 'wg', 'wireguard-go', 'kcptun-client', 'kcptun-server', 'ss'].filter(
    (b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0,
  );
  if (missing.length) throw new Error(`missing: ${missing.join(' ')} (apt-get install iproute2 nftables ethtool iperf3 iputils-ping gcc wireguard-go wireguard-tools kcptun)`);
}

const sumCpu = (pids) => {
  let s = 0;
  for (const p of Object.values(pids)) s += cpuSeconds(p) ?? 0;
  return s;
};

/** One system at one delay: fresh topology, daemons up, every loss level, daemons down. */
async function measureSystem(sys, delayMs, bridgePath, results) {
  const topo = await buildTopology({ delayMs, bridgePath });
  const { lab, ns } = topo;
  let started = null;
  try {
    const t0 = Date.now();
    try {
      try {
        started = await sys.start(topo);
      } catch (err) {
        say(`${sys.name} @${delayMs}ms: start failed, retrying once: ${String(err.message).split('\n')[0]}`);
        started = await sys.start(topo);
      }
    } catch (err) {
      say(`${sys.name} @${delayMs}ms: did not start: ${String(err.message).split('\n')[0]}`);
      results.push({ system: sys.name, delayMs, lossPct: null, error: String(err.message).slice(0, 2000) });
      return;
    }
    const startMs = Date.now() - t0;
    for (const lossPct of cfg.lossPct) {
      setLoss(lab, ns.r, topo.lossIf, lossPct);
      const row = { system: sys.name, delayMs, lossPct, startMs };
      if (started.ping) row.pingIdle = await ping(ns.a, started.ping, { count: cfg.idlePings, intervalS: cfg.pingIntervalS });
      let cpu0 = sumCpu(started.pids);
      let bytes = 0;
      for (const streams of cfg.streams) {
        const loadPing = streams === 1 && started.ping ? ping(ns.a, started.ping, { deadlineS: cfg.seconds, intervalS: cfg.pingIntervalS }) : null;
        const r = await iperf(lab, ns.a, ns.b, started.iperf.host, started.iperf.port, { seconds: cfg.seconds, streams });
        row[`tcp${streams}`] = r;
        bytes += r.bytes ?? 0;
        if (loadPing) row.pingLoad = await loadPing;
      }
      const cpu = sumCpu(started.pids) - cpu0;
      row.cpuSeconds = Object.keys(started.pids).length ? cpu : null;
      row.cpuSecondsPerGB = Object.keys(started.pids).length && bytes > 0 ? cpu / (bytes / 1e9) : null;
      if (delayMs === cfg.echo.delayMs && cfg.echo.lossPct.includes(lossPct)) {
        row.echo = await echo(lab, ns.a, ns.b, started.echo.host, started.echo.port, { rounds: cfg.echo.rounds });
      }
      row.alive = Object.values(started.pids).every((p) => cpuSeconds(p) !== null);
      say(
        `${sys.name.padEnd(16)} delay ${delayMs} loss ${String(lossPct).padStart(2)}: ` +
          `1x ${fmt(row.tcp1?.mbps)} 4x ${fmt(row.tcp4?.mbps)} Mbit/s, ping idle ${fmt(row.pingIdle?.median)} load ${fmt(row.pingLoad?.median)}/${fmt(row.pingLoad?.p99)} ms` +
          (row.echo ? `, echo avg ${fmt(row.echo.avg)} max ${fmt(row.echo.max)} ms` : '') +
          (row.tcp1?.error ? ` [${row.tcp1.error}]` : ''),
      );
      results.push(row);
    }
    const rss = {};
    for (const [k, p] of Object.entries(started.pids)) rss[k] = peakRssMiB(p);
    results.push({ system: sys.name, delayMs, lossPct: 'summary', peakRssMiB: rss, reasmReqdsB: reasmReqds(lab, ns.b), startMs });
    if (!Object.values(started.pids).every((p) => cpuSeconds(p) !== null)) say(`${sys.name}: a daemon died\n${started.logs()}`);
  } finally {
    if (started) await started.stop();
    if (topo.bridge) {
      topo.bridge.child.kill('SIGTERM');
    }
    lab.dispose();
  }
}

/** Bridge counters (direction A->B) between two of its stats lines: frames/s, mean and max lateness. */
function bridgeWindow(stats, tFrom, tTo) {
  const w = stats.filter((x) => x.t >= tFrom && x.t <= tTo);
  if (w.length < 2) return null;
  const a = w[0].d0;
  const b = w[w.length - 1].d0;
  const dt = w[w.length - 1].t - w[0].t;
  const sent = b.sent - a.sent;
  return {
    framesPerSecond: (b.frames - a.frames) / dt,
    lateMeanUs: sent > 0 ? (b.lateSumUs - a.lateSumUs) / sent : null,
    lateMaxUs: Math.max(...w.slice(1).map((x) => x.d0.lateMaxUs)),
    drops: b.drops - a.drops,
  };
}

/**
 * How fast the delay bridge forwards with no tunnel: UDP (1400-byte datagrams) at rising rates
 * until more than 1 % is lost, then one TCP stream. "Sustained" is the highest rate with <= 1 % loss.
 */
async function calibrateBridge(delayMs, bridgePath) {
  const topo = await buildTopology({ delayMs, bridgePath });
  const bridge = topo.bridge;
  const bridgeT = () => bridge.last?.t ?? 0;
  try {
    const { lab, ns } = topo;
    const idle = await ping(ns.a, addr.b, { count: 20, intervalS: 0.05 });
    const steps = [];
    for (const rate of [25, 50, 100, 200, 400, 800]) {
      const t0 = bridgeT();
      const udp = await iperfUdp(lab, ns.a, ns.b, addr.b, { seconds: 2, rate: `${rate}M` });
      await waitBridgeLine(bridge);
      steps.push({ rateMbps: rate, ...udp, bridge: bridgeWindow(bridge.stats, t0, bridgeT()) });
      if (!(udp.lostPct <= 1)) break;
    }
    const ok = steps.filter((s) => s.lostPct <= 1);
    const t0 = bridgeT();
    const tcp = await iperf(lab, ns.a, ns.b, addr.b, 5201, { seconds: 3, streams: 1 });
    await waitBridgeLine(bridge);
    return { delayMs, pingIdle: idle, udpSteps: steps, sustained: ok[ok.length - 1] ?? null, tcp1Mbps: tcp.mbps, tcpBridge: bridgeWindow(bridge.stats, t0, bridgeT()) };
  } finally {
    bridge?.child.kill('SIGTERM');
    topo.lab.dispose();
  }
}

/** Waits (at most 2.5 s) for the bridge's next once-a-second stats line. */
async function waitBridgeLine(bridge) {
  const n = bridge.stats.length;
  for (let i = 0; i < 25 && bridge.stats.length === n; i++) await new Promise((r) => setTimeout(r, 100));
}

function fmt(x, d = 1) {
  return x === null || x === undefined ? '-' : Number(x).toFixed(d);
}

async function main() {
  preflight();
  if (systems.some((s) => s.name.startsWith('meshd')) && !existsSync(cliPath)) say('dist/cli.js missing: meshd rows will fail (run npm run build)');
  const env = environment();
  const { out: bridgePath, dir: bridgeDir } = compileBridge();
  const started = Date.now();
  const results = [];
  const calibration = [];
  const onSignal = () => {
    rmSync(bridgeDir, { recursive: true, force: true });
    process.exit(130); // the labs' 'exit' hooks delete namespaces and kill children
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    say(`systems: ${systems.map((s) => s.name).join(', ')}; delays ${cfg.delaysMs} ms; loss ${cfg.lossPct} %; ${cfg.seconds} s per iperf3 run`);
    for (const delayMs of cfg.delaysMs) {
      if (delayMs > 0) {
        const c = await calibrateBridge(delayMs, bridgePath);
        calibration.push(c);
        for (const st of c.udpSteps) say(`delay bridge ${delayMs} ms: UDP ${st.rateMbps} Mbit/s offered -> ${fmt(st.mbpsReceived)} delivered, ${fmt(st.lostPct)} % lost, ${fmt((st.bridge?.framesPerSecond ?? 0) / 1000)} kframes/s, late mean ${fmt(st.bridge?.lateMeanUs)} max ${fmt(st.bridge?.lateMaxUs)} us`);
        say(`delay bridge ${delayMs} ms: ping median ${fmt(c.pingIdle.median)} ms; sustained ${fmt(c.sustained?.mbpsReceived)} Mbit/s UDP; TCP ${fmt(c.tcp1Mbps)} Mbit/s (late mean ${fmt(c.tcpBridge?.lateMeanUs)} max ${fmt(c.tcpBridge?.lateMaxUs)} us)`);
      }
      for (const sys of systems) await measureSystem(sys, delayMs, bridgePath, results);
    }
  } finally {
    rmSync(bridgeDir, { recursive: true, force: true });
  }
  const elapsedS = (Date.now() - started) / 1000;
  const report = { env, cfg, elapsedS, calibration, results, loadavgEnd: readFileSync('/proc/loadavg', 'utf8').trim() };
  const resultsDir = join(repo, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = env.date.replace(/[:.]/g, '-');
  const jsonPath = join(resultsDir, `vpn-${stamp}.json`);
  writeFileSync(jsonPath, JSON.stringify(report, null, 1));
  writeFileSync(join(resultsDir, `vpn-${stamp}.svg`), renderSvg(report));
  say(`results: ${jsonPath} (${elapsedS.toFixed(0)} s)`);
  if (!flag('--no-doc')) {
    writeFileSync(join(repo, 'docs', 'BENCHMARKS.md'), renderDoc(report, systems.map((s) => s.name)));
    say('wrote docs/BENCHMARKS.md');
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
