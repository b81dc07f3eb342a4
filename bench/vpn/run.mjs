#!/usr/bin/env node
// Side-by-side VPN bench (issues 8, 18, 19): the same namespaces (peer A, peer B, hub H, router R,
// and a delay bridge D on A's link when there is delay) for every system. Per cell (one-way delay,
// jitter, loss): iperf3 TCP 1 and 4 streams, ping idle and under load, daemon CPU s/GB, optional TCP
// echo; repeated --runs times with the systems in a rotating order, reported as median and range.
//
//   npm run build && node bench/vpn/run.mjs [--systems a,b] [--delays 20,100] [--jitter 0,10]
//     [--loss 0,1,5,10] [--runs 5] [--seconds 20] [--streams 1,4] [--echo] [--cc bbr|cubic]
//     [--meshd-a DIR --meshd-b DIR [--ab-mode "kcp fast2"]] [--calibrate] [--out NAME] [--cpu-prof DIR]
//     [--wmem-max BYTES|host] [--rmem-max BYTES|host] [--autogroup-nice N|keep]
//     [--relay [--relay-rate MBIT|uncapped]]   (meshd rows through the hub's relay; default 50 as the hub's)
//     [--warmup S]   (an unmeasured S-second transfer after each start: steady state without the first transfer)
//     [--idle-ping COUNT@INTERVAL_S]   (idle pings only, no iperf3: e.g. 40@0.2 over --delays 0; issue 19 item 7)
//     [--idle-warmup N]   (N warm-up pings 0.01 s apart before measuring, default 10 at 0.02 s)
//     [--family 6]   (dual-stack underlay: rows meshd kcp fast2 over v4/v4, v6 underlay, v6 underlay and
//                     overlay (iperf3 to B's overlay IPv6), and the kernel path of each family)
//
// Writes bench/results/vpn-<stamp>.json and .md (the tables; paste into docs/BENCHMARKS.md). Root only.
// See docs/BENCHMARKS.md for what a valid run is (emulator counters zero) and the campaign commands.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addr, buildTopology, setLoss } from './lab.mjs';
import { cpuNs, cpuSeconds, echo, iperf, iperfPort, iperfUdp, peakRssMiB, ping, rssMiB, smapsSummary, snmpCounters, udpCounters, udpRecvBuffers } from './measure.mjs';
import { kcptun, meshd, nebula, underlay, underlay6, wireguardGo } from './systems.mjs';
import { renderTables } from './report.mjs';
import { bridgeDelta, bridgeSnapshot } from './emulator.mjs';
import { relaySystems } from '../stream/relay-systems.mjs';
import { sampleSs, ssSummary, tcpExt, tcpExtDelta, tcpExtRecvKeys } from './inner-tcp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (f, d) => {
  const i = argv.indexOf(f);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : d;
};
const nums = (s) => String(s).split(',').filter((x) => x !== '').map(Number);
// Every option this script reads. --help prints the usage above and an unknown option is refused
// before anything starts: three runs of `run.mjs --help` in one session started full campaigns.
const valued = ['--ab-mode', '--autogroup-nice', '--cc', '--cpu-prof', '--delays', '--echo-rounds', '--family', '--idle-ping', '--idle-warmup', '--jitter', '--loss', '--meshd-a', '--meshd-b', '--out', '--relay-rate', '--rmem-max', '--runs', '--seconds', '--streams', '--systems', '--warmup', '--wmem-max'];
const bare = ['--calibrate', '--echo', '--quick', '--relay'];
if (flag('--help') || flag('-h')) {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  console.log(text.slice(1, text.findIndex((l) => l.startsWith('import '))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
for (let i = 0; i < argv.length; i++) {
  if (valued.includes(argv[i])) i++;
  else if (!bare.includes(argv[i])) {
    console.error(`run.mjs: unknown option ${argv[i]} (--help lists them)`);
    process.exit(2);
  }
}
const quick = flag('--quick');
// --idle-ping COUNT@INTERVAL_S: the idle ping of every system with no transfer (issue 19 item 7).
const idlePing = opt('--idle-ping', null)?.split('@').map(Number) ?? null;
// --idle-warmup N: N pings 0.01 s apart before anything is measured (default 10, 0.02 s apart), so a
// JIT-compiled daemon is measured as a session that has been used for a while would find it (V8
// tiers the data path up after some hundreds of packets; issue 19 item 7, session 6).
const idleWarmup = opt('--idle-warmup', null) === null ? null : Number(opt('--idle-warmup', null));
const cfg = {
  quick,
  delaysMs: nums(opt('--delays', quick ? '20' : '20,100')),
  jitterMs: nums(opt('--jitter', '0')),
  lossPct: nums(opt('--loss', quick ? '0,5' : '0,1,5,10')),
  runs: Number(opt('--runs', quick ? '1' : '5')),
  seconds: Number(opt('--seconds', quick ? '5' : '20')),
  streams: idlePing ? [] : nums(opt('--streams', '1,4')),
  idlePings: idlePing?.[0] ?? 20,
  pingIntervalS: idlePing?.[1] ?? 0.05,
  idleWarmup,
  echo: flag('--echo') ? { rounds: Number(opt('--echo-rounds', '100')) } : null,
  cc: opt('--cc', null),
  // --warmup S: one unmeasured single-stream transfer of S seconds on a clean path after each start,
  // so the measured ones leave out the daemons' first transfer (issue 19 item 6). Default 0: none.
  warmupS: Number(opt('--warmup', '0')),
};
// Slow start under loss takes seconds at 200 ms RTT: shorter runs measure the start, not the path.
if (!quick && cfg.delaysMs.some((d) => d >= 100) && cfg.seconds < 20) throw new Error('--seconds must be >= 20 with 100 ms of one-way delay (or --quick for a sanity run)');

const cpuProf = opt('--cpu-prof', null);
if (cpuProf) mkdirSync(cpuProf, { recursive: true });

// --relay: meshd rows go through the hub's relay (direct A-B UDP blocked) under --relay-rate.
const relayMode = flag('--relay') ? { rateMbit: opt('--relay-rate', '50') === 'uncapped' ? 100_000 : Number(opt('--relay-rate', '50')) } : null;
// --family 6: IPv6 beside IPv4 on every underlay link, and the v6 rows (issue 22).
const family6 = opt('--family', '4') === '6';

/** The systems of this run: the reference set, or two meshd trees side by side (--meshd-a/--meshd-b). */
function chooseSystems() {
  const dirA = opt('--meshd-a', null);
  const dirB = opt('--meshd-b', null);
  if ((dirA === null) !== (dirB === null)) throw new Error('--meshd-a and --meshd-b go together');
  const only = opt('--systems', null);
  // The bare kernel path is a row of every table (the limit of the path), whatever --systems says.
  const pick = (list) => (only === null ? list : list.filter((s) => s === underlay || only.split(',').some((x) => s.name.includes(x.trim()))));
  if (dirA !== null) {
    const [transport, mode] = opt('--ab-mode', 'kcp fast2').split(' ');
    const tree = (dir, tag) => ({ cli: join(resolve(dir), 'dist', 'cli.js'), tag, dir: resolve(dir) });
    return {
      ab: true,
      trees: [tree(dirA, 'A'), tree(dirB, 'B')],
      // wireguard-go joins an A/B run only when --systems names it (e.g. --systems wireguard,meshd).
      list: ((ab) => (only === null ? [underlay, ...ab] : pick([underlay, wireguardGo, ...ab])))([tree(dirA, 'A'), tree(dirB, 'B')].map((t) => meshd(t.cli, transport, mode ?? null, cpuProf, `meshd ${t.tag}`, relayMode))),
    };
  }
  const cli = join(repo, 'dist', 'cli.js');
  if (family6) {
    const m = (underlay, overlay) => meshd(cli, 'kcp', 'fast2', cpuProf, 'meshd', relayMode, { underlay, overlay });
    return { ab: false, trees: [{ cli, tag: '', dir: repo }], list: [underlay, underlay6, m(4, 4), m(6, 4), m(6, 6)] };
  }
  const all = [underlay, wireguardGo, kcptun, nebula, ...['normal', 'fast', 'fast2', 'fast3'].map((m) => meshd(cli, 'kcp', m, cpuProf, 'meshd', relayMode)), meshd(cli, 'datagram', null, cpuProf, 'meshd', relayMode), ...relaySystems(cli)];
  const def = [underlay, wireguardGo, meshd(cli, 'kcp', 'fast2', cpuProf, 'meshd', relayMode)];
  return { ab: false, trees: [{ cli, tag: '', dir: repo }], list: only === null ? def : pick(all) };
}
const chosen = chooseSystems();
const systems = chosen.list;

function say(msg) {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

function treeInfo(t) {
  const git = (a) => sh('git', ['-C', t.dir, ...a]);
  return {
    tag: t.tag,
    dir: t.dir,
    commit: `${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--', 'src']) ? ' (src dirty)' : ''}`,
    distBuilt: existsSync(t.cli) ? statSync(t.cli).mtime.toISOString() : null,
  };
}

function environment() {
  return {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? '?'} x${cpus().length}, ${sh('uname', ['-sr'])}`,
    node: process.version,
    meshd: chosen.trees.map(treeInfo),
    wireguardGo: (/v[\d.]+/.exec(sh('wireguard-go', ['--version'])) ?? ['?'])[0],
    kcptun: sh('dpkg-query', ['-W', '-f=${Version}', 'kcptun']) || '?',
    iperf3: sh('iperf3', ['--version']).split('\n')[0],
    hostTcpCc: sh('sysctl', ['-n', 'net.ipv4.tcp_congestion_control']),
    loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
    autogroup: autogroupSetting,
  };
}

function compileBridge() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-delay-'));
  const out = join(dir, 'delay-bridge');
  execFileSync('cc', ['-O2', '-Wall', '-o', out, join(repo, 'bench', 'delay', 'delay-bridge.c')], { stdio: 'inherit' });
  return { out, dir };
}

/**
 * With the kernel's autogroup scheduling on (sched_autogroup_enabled = 1), CPU is shared first
 * between sessions and only then by nice inside each: other sessions' `nice -n 19` builds and tests
 * still take an equal share each, and on 2 shared cores the daemons under test starve (meshd fell
 * from 55 to 2-4 Mbit/s at a load of 20). The bench raises its own session's weight (its children,
 * daemons and iperf3, inherit it); run it under `setsid` so it has a session of its own.
 * --autogroup-nice N (default -20; 'keep' leaves it). Returns the setting read back.
 */
function raiseAutogroup() {
  const want = opt('--autogroup-nice', '-20');
  try {
    if (want !== 'keep') writeFileSync('/proc/self/autogroup', want);
    return readFileSync('/proc/self/autogroup', 'utf8').trim();
  } catch (err) {
    return `unavailable (${err.code ?? err.message})`;
  }
}

function preflight() {
  if (process.getuid?.() !== 0) throw new Error('run as root (network namespaces)');
  const missing = ['ip', 'nft', 'ethtool', 'iperf3', 'ping', 'cc', 'chrt', 'wg', 'wireguard-go', 'kcptun-client', 'kcptun-server', 'nebula', 'nebula-cert', 'ss'].filter(
    (b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0,
  );
  if (missing.length) throw new Error(`missing: ${missing.join(' ')} (apt-get install iproute2 nftables ethtool iperf3 iputils-ping gcc util-linux wireguard-go wireguard-tools kcptun nebula)`);
  for (const t of chosen.trees) if (systems.some((s) => s.name.startsWith('meshd')) && !existsSync(t.cli)) throw new Error(`${t.cli} missing (npm run build in ${t.dir})`);
}

const sumCpu = (pids) => {
  let s = 0;
  for (const p of Object.values(pids)) s += cpuSeconds(p) ?? 0;
  return s;
};

/** Per-namespace settings every system gets: TCP congestion control and no cached metrics between runs. */
function tuneHosts(lab, ns) {
  for (const n of [ns.a, ns.b]) {
    // Each iperf3 connection starts fresh: no ssthresh/RTT cached from the previous run to the same host.
    lab.exec(n, ['sysctl', '-qw', 'net.ipv4.tcp_no_metrics_save=1']);
    // The sender's buffer: the kernel's default wmem max (4 MB, what users' hosts have) caps a flow
    // at 200 ms RTT, the more so the more it retransmits (SACKed data waits in it); --wmem-max BYTES
    // gives A and B a larger one (e.g. rmem's 32 MB), every system alike. Default: the host's.
    const wmemMax = opt('--wmem-max', 'host');
    if (wmemMax !== 'host') lab.exec(n, ['sysctl', '-qw', `net.ipv4.tcp_wmem=4096 16384 ${Number(wmemMax)}`]);
    // The receiver's buffer bounds what a flow keeps in flight, and so what a tunnel with an ARQ
    // holds unacknowledged (issue 19 item 7: a meshd sender's RSS follows it). These machines have
    // 32 MB; --rmem-max 6291456 gives Debian's default. Default: the host's.
    const rmemMax = opt('--rmem-max', 'host');
    if (rmemMax !== 'host') lab.exec(n, ['sysctl', '-qw', `net.ipv4.tcp_rmem=4096 131072 ${Number(rmemMax)}`]);
  }
  // --cc goes to iperf3 (-C, per socket): a namespace may not set a default outside the host's
  // tcp_allowed_congestion_control (here "reno bbr"), but root may pick any built-in one per socket.
  return cfg.cc ?? lab.sh(ns.a, 'sysctl -n net.ipv4.tcp_congestion_control').trim();
}

/** One system, one run, on a ready topology: daemons up, every loss level, daemons down. */
async function measureRun(sys, topo, cell, run, results) {
  const { lab, ns } = topo;
  let started = null;
  const base = { system: sys.name, delayMs: cell.delayMs, jitterMs: cell.jitterMs, run };
  try {
    const t0 = Date.now();
    try {
      try {
        started = await sys.start(topo);
      } catch (err) {
        say(`${sys.name}: start failed, retrying once: ${String(err.message).split('\n')[0]}`);
        started = await sys.start(topo);
      }
    } catch (err) {
      say(`${sys.name}: did not start: ${String(err.message).split('\n').slice(0, 3).join(' / ')}`);
      results.push({ ...base, lossPct: null, error: String(err.message).slice(0, 2000) });
      return;
    }
    const startMs = Date.now() - t0;
    // Warm-up, not measured: the first pings after start pay for first-packet work in the daemons.
    if (started.ping) await ping(ns.a, started.ping, idleWarmup === null ? { count: 10, intervalS: 0.02 } : { count: idleWarmup, intervalS: 0.01 });
    if (cfg.warmupS > 0 && started.iperf) {
      setLoss(lab, ns.r, started.lossIf ?? topo.lossIf, 0);
      const w = await iperf(lab, ns.a, ns.b, started.iperf.host, started.iperf.port, { seconds: cfg.warmupS, streams: 1, cc: cfg.cc });
      say(`${sys.name}: warm-up transfer (not measured) ${fmt(w.mbps)} Mbit/s`);
    }
    const loadRss = {};
    for (const lossPct of cfg.lossPct) {
      setLoss(lab, ns.r, started.lossIf ?? topo.lossIf, lossPct);
      const row = { ...base, lossPct, startMs };
      const emu0 = bridgeSnapshot(topo.bridge);
      const udp0 = { a: udpCounters(lab, ns.a), b: udpCounters(lab, ns.b) };
      const wall0 = Date.now();
      const hub0 = relayMode && started.hubStatus ? started.hubStatus() : null;
      const cpuNow = () => Object.fromEntries(Object.entries(started.pids).map(([k, p]) => [k, cpuNs(p)]));
      if (idlePing) {
        // --idle-ping: each daemon's CPU with no traffic at all over as long as the pings take (timers,
        // keepalives), so the per-ping figure below can be read net of it.
        const q0 = cpuNow();
        const quietS = cfg.idlePings * cfg.pingIntervalS;
        await new Promise((r) => setTimeout(r, quietS * 1000));
        const q1 = cpuNow();
        row.quietCpuMsPerS = Object.fromEntries(Object.keys(q0).map((k) => [k, q0[k] === null || q1[k] === null ? null : (q1[k] - q0[k]) / 1e6 / quietS]));
      }
      const idleCpu0 = cpuNow();
      if (started.ping) row.pingIdle = await ping(ns.a, started.ping, { count: cfg.idlePings, intervalS: cfg.pingIntervalS });
      // Each daemon's CPU per idle ping (µs; its threads' run time over the pings, keepalives included).
      if (row.pingIdle?.sent) row.idleCpuUsPerPing = Object.fromEntries(Object.entries(started.pids).map(([k, p]) => [k, idleCpu0[k] === null || cpuNs(p) === null ? null : (cpuNs(p) - idleCpu0[k]) / 1000 / row.pingIdle.sent]));
      const cpu0 = sumCpu(started.pids);
      // Per daemon (a, b, and h with --relay): whose CPU a relayed transfer costs.
      const cpuBy0 = Object.fromEntries(Object.entries(started.pids).map(([k, p]) => [k, cpuSeconds(p)]));
      let bytes = 0;
      for (const streams of cfg.streams) {
        const loadPing = streams === 1 && started.ping ? ping(ns.a, started.ping, { deadlineS: cfg.seconds, intervalS: cfg.pingIntervalS }) : null;
        // The inner flow's view (issue 19 item 4): its TcpExt counters, ss -ti samples, the tunnel's own counters.
        const inner0 = streams === 1 ? { ext: tcpExt(lab, ns.a), extB: tcpExt(lab, ns.b), peers: started.peerStatus?.() ?? null } : null;
        const stopSs = streams === 1 ? sampleSs(ns.a, started.iperf.port ?? iperfPort) : null;
        if (streams === 1 && started.peerStatus) row.peakSmaps = {};
        const stopRss = sampleRss(started.pids, loadRss, row.peakSmaps ?? null);
        // Where a loaded peer's memory is (issue 19 item 7): meshd's own breakdown halfway through.
        const mid = streams === 1 && started.peerStatus ? setTimeout(() => {
          row.memory = memoryOf(started.peerStatus());
          if (row.memory) row.smaps = { a: smapsSummary(started.pids.a), b: smapsSummary(started.pids.b) };
        }, (cfg.seconds * 1000) / 2) : null;
        const r = await iperf(lab, ns.a, ns.b, started.iperf.host, started.iperf.port, { seconds: cfg.seconds, streams, cc: cfg.cc, serverIntervals: relayMode !== null });
        row[`tcp${streams}`] = r;
        if (inner0) row.inner = { ext: tcpExtDelta(inner0.ext, tcpExt(lab, ns.a)), extB: tcpExtDelta(inner0.extB, tcpExt(lab, ns.b), tcpExtRecvKeys), ss: ssSummary(stopSs()), tunnel: tunnelDelta(inner0.peers, started.peerStatus?.() ?? null) };
        bytes += r.bytes ?? 0;
        if (loadPing) row.pingLoad = await loadPing;
        clearTimeout(mid);
        // RSS under load: the largest sampled during the run's transfers (every 0.5 s) and at their end.
        stopRss();
      }
      if (hub0) {
        // Counters over this loss level only (the hub's are cumulative).
        const h1 = started.hubStatus();
        row.hub = h1 && { ...h1, relayedBytes: h1.relayedBytes - hub0.relayedBytes, overBudget: h1.overBudget === null ? null : h1.overBudget - (hub0.overBudget ?? 0) };
      }
      const cpu = sumCpu(started.pids) - cpu0;
      row.cpuSecondsBy = Object.fromEntries(Object.entries(started.pids).map(([k, p]) => [k, cpuBy0[k] === null || cpuSeconds(p) === null ? null : cpuSeconds(p) - cpuBy0[k]]));
      row.cpuSeconds = Object.keys(started.pids).length ? cpu : null;
      row.cpuSecondsPerGB = Object.keys(started.pids).length && bytes > 0 ? cpu / (bytes / 1e9) : null;
      if (cfg.echo) row.echo = await echo(lab, ns.a, ns.b, started.echo.host, started.echo.port, { rounds: cfg.echo.rounds });
      // meshd: the copies of interactive messages each peer made (dup-stage.ts), to read an echo row by.
      if (cfg.echo && started.peerStatus) row.interactiveCopies = { a: started.peerStatus('a')?.interactiveCopies ?? null, b: started.peerStatus('b')?.interactiveCopies ?? null };
      if (row.interactiveCopies) say(`${sys.name} interactive copies ${JSON.stringify(row.interactiveCopies)}`);
      // meshd: inner TCP ACKs whose window each peer lowered to its path (tcp-window-clamp.ts; since the daemon started).
      if (started.peerStatus) {
        const wa = started.peerStatus('a')?.tcpWindowClamp;
        const wb = started.peerStatus('b')?.tcpWindowClamp;
        if (wa || wb) row.tcpWindowClamp = { a: wa ?? null, b: wb ?? null };
      }
      if (started.channelMode) row.channelMode = await started.channelMode();
      row.emulator = await bridgeDelta(topo.bridge, emu0, (Date.now() - wall0) / 1000);
      const udp1 = { a: udpCounters(lab, ns.a), b: udpCounters(lab, ns.b) };
      // Receive-buffer overruns of the UDP sockets (the tunnel's own, in A and B): loss that is not
      // the emulated loss and grows with load (a daemon that does not keep up on the shared cores).
      row.udpRcvbufErrors = { a: udp1.a.RcvbufErrors - udp0.a.RcvbufErrors, b: udp1.b.RcvbufErrors - udp0.b.RcvbufErrors };
      row.alive = Object.values(started.pids).every((p) => cpuSeconds(p) !== null);
      const e = row.emulator;
      say(
        `${sys.name.padEnd(16)} d${cell.delayMs}${cell.jitterMs ? `±${cell.jitterMs}` : ''} loss ${String(lossPct).padStart(2)} run ${run}: ` +
          cfg.streams.map((s) => `${s}x ${fmt(row[`tcp${s}`]?.mbps)}`).join(' ') +
          ` Mbit/s, ping idle ${fmt(row.pingIdle?.median, idlePing ? 3 : 1)} ms${relayMode && Object.keys(row.cpuSecondsBy).length ? ` (cpu s ${Object.entries(row.cpuSecondsBy).map(([k, v]) => `${k} ${fmt(v)}`).join(' ')})` : ''}${row.idleCpuUsPerPing ? ` (cpu µs/ping ${Object.entries(row.idleCpuUsPerPing).map(([k, v]) => `${k} ${fmt(v, 0)}`).join(' ')})` : ''}${row.quietCpuMsPerS ? ` (quiet cpu ms/s ${Object.entries(row.quietCpuMsPerS).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(' ')})` : ''}, CPU ${fmt(row.cpuSecondsPerGB)} s/GB, rcvbuf err ${row.udpRcvbufErrors.a}/${row.udpRcvbufErrors.b}` +
          (e ? `, emulator drops ${e.lost} late>1ms ${e.late1ms} cpu ${fmt(100 * e.cpuShare, 0)} %` : '') +
          (row.hub ? `, hub relayed ${fmt((row.hub.relayedBytes ?? 0) / 1e6, 0)} MB over_budget ${row.hub.overBudget} peak queue ${row.hub.relayQueue?.peakQueuedBytes ?? '-'} drops ${JSON.stringify(Object.fromEntries(Object.entries(row.hub.drops ?? {}).filter(([, v]) => v > 0)))}` : '') +
          (row.tcp1?.retransmits !== undefined ? `, retr ${row.tcp1.retransmits}` : '') +
          (relayMode && row.tcp1?.receiverIntervalsMbps?.length > 6 ? `, receiver Mbit/s per second: first 5 ${row.tcp1.receiverIntervalsMbps.slice(0, 5).map((x) => fmt(x)).join(' ')}, median from the 6th ${fmt(medianOf(row.tcp1.receiverIntervalsMbps.slice(5)))}` : '') +
          (row.inner ? `, inner ${innerLine(row.inner)}` : '') +
          (row.memory ? `, memory A ${memLine(row.memory.a)} B ${memLine(row.memory.b)}` : '') +
          (row.tcpWindowClamp ? `, window clamp A ${row.tcpWindowClamp.a?.clamped ?? '-'} B ${row.tcpWindowClamp.b?.clamped ?? '-'}` : '') +
          (row.echo ? `, echo avg ${fmt(row.echo.avg)} max ${fmt(row.echo.max)} ms` : '') +
          (row.tcp1?.error ? ` [${row.tcp1.error}]` : ''),
      );
      results.push(row);
    }
    const udpRcvbuf = { a: udpRecvBuffers(lab, ns.a), b: udpRecvBuffers(lab, ns.b) };
    const rss = {};
    for (const [k, p] of Object.entries(started.pids)) rss[k] = peakRssMiB(p);
    // Underlay fragments reassembled in B since the namespace was made: should stay 0 (NETLAB.md).
    results.push({ ...base, lossPct: 'summary', peakRssMiB: rss, loadRssMiB: loadRss, udpRcvbuf, startMs, reasmReqdsB: snmpCounters(lab, ns.b, 'Ip').ReasmReqds ?? null });
    if (!Object.values(started.pids).every((p) => cpuSeconds(p) !== null)) say(`${sys.name}: a daemon died\n${started.logs()}`);
  } finally {
    if (started) await started.stop();
  }
}

/**
 * How fast the delay bridge forwards with no tunnel: UDP (1400-byte datagrams) at rising rates
 * until more than 1 % is lost. "Sustained" is the highest rate with <= 1 % loss.
 */
async function calibrateBridge(topo) {
  const { lab, ns, bridge } = topo;
  const steps = [];
  for (const rate of [100, 200, 400, 800]) {
    const s0 = bridgeSnapshot(bridge);
    const rb0 = udpCounters(lab, ns.b).RcvbufErrors;
    const t0 = Date.now();
    const udp = await iperfUdp(lab, ns.a, ns.b, addr.b, { seconds: 2, rate: `${rate}M` });
    // Loss here is the emulator's (counted) or the iperf3 receiver's socket overrunning (RcvbufErrors).
    steps.push({ rateMbps: rate, ...udp, rcvbufErrorsB: udpCounters(lab, ns.b).RcvbufErrors - rb0, emulator: await bridgeDelta(bridge, s0, (Date.now() - t0) / 1000) });
    // Climb while the path itself keeps up: the emulator lost nothing and, apart from the iperf3
    // receiver's own overruns (a busy box), at most 1 % went missing.
    const st = steps[steps.length - 1];
    const pathLostPct = udp.packets > 0 ? (100 * ((udp.lostPct / 100) * udp.packets - st.rcvbufErrorsB)) / udp.packets : 100;
    if (!(pathLostPct <= 1) || (st.emulator?.lost ?? 0) > 0) break;
  }
  return steps;
}

/** Samples each daemon's VmRSS every 0.5 s into max (MiB by key) until the returned stop() (which samples once more). */
function sampleRss(pids, max, detail = null) {
  const one = () => {
    for (const [k, p] of Object.entries(pids)) {
      const v = rssMiB(p);
      if (v === null) continue;
      // detail: where the memory was at each peer's highest sample (smaps; issue 19 item 7).
      if (detail && k !== 'h' && v > (max[k] ?? 0)) detail[k] = { rssMiB: v, ...smapsSummary(p) };
      max[k] = Math.max(max[k] ?? 0, v);
    }
  };
  const t = setInterval(one, 500);
  return () => {
    clearInterval(t);
    one();
  };
}

/** meshd peers' own memory breakdown ({ a, b } of `status --json` memory), or null. */
function memoryOf(st) {
  return st?.a?.memory || st?.b?.memory ? { a: st.a?.memory ?? null, b: st.b?.memory ?? null } : null;
}

/** KCP retransmits of A (the sender) and FEC of both over one transfer, from two peerStatus() reads. */
function tunnelDelta(s0, s1) {
  if (!s0?.a || !s1?.a) return null;
  const kr = (s) => s?.peers?.[0]?.kcpRetransmits ?? 0;
  const fecOf = (s) => Object.values(s?.fec ?? {})[0] ?? null;
  const fa = fecOf(s1.a);
  const fb0 = fecOf(s0.b);
  const fb = fecOf(s1.b);
  const drops = (s) => s?.drops ?? {};
  const dropsA = Object.fromEntries(Object.entries(drops(s1.a)).map(([k, v]) => [k, v - (drops(s0.a)[k] ?? 0)]).filter(([, v]) => v > 0));
  // Issue 19: A's resends by cause and those proven needless, B's duplicate arrivals (absent from older builds).
  const rs = (s) => s?.peers?.[0]?.kcpResend;
  const resendA = rs(s1.a) ? Object.fromEntries(Object.entries(rs(s1.a)).map(([k, v]) => [k, v - (rs(s0.a)?.[k] ?? 0)])) : null;
  const dupInB = rs(s1.b) ? rs(s1.b).dupIn - (rs(s0.b)?.dupIn ?? 0) : null;
  // Issue 19 item 7: KCP segment buffers B allocated (pool misses), absent from older builds.
  const segAllocsB = rs(s1.b)?.segAllocs !== undefined ? rs(s1.b).segAllocs - (rs(s0.b)?.segAllocs ?? 0) : null;
  return {
    kcpResendA: resendA,
    kcpDupInB: dupInB,
    kcpSegAllocsB: segAllocsB,
    kcpRetransmitsA: kr(s1.a) - kr(s0.a),
    dropsA,
    fecA: fa ? { k: fa.k, m: fa.m, why: fa.why, parityFrames: fa.parityFrames - (fecOf(s0.a)?.parityFrames ?? 0), overheadBytes: fa.overheadBytes - (fecOf(s0.a)?.overheadBytes ?? 0) } : null,
    fecB: fb ? { repaired: fb.repaired - (fb0?.repaired ?? 0), unrecovered: fb.unrecovered - (fb0?.unrecovered ?? 0) } : null,
    rxPathB: rxPathDelta(s0.b?.rxPath, s1.b?.rxPath),
  };
}

/** B's receive path over one transfer (issue 19 session 7; absent from older builds): datagrams per
 * recvmmsg, kernel drops on the socket, its receive buffer at the end, TUN packets per write. */
function rxPathDelta(r0, r1) {
  if (!r0?.udp || !r1?.udp || r1.udp.receiveBatches === undefined) return null;
  const d = (k, o0, o1) => (o1?.[k] ?? 0) - (o0?.[k] ?? 0);
  const batches = d('receiveBatches', r0.udp, r1.udp);
  const writes = d('writes', r0.tun, r1.tun);
  return {
    datagrams: d('received', r0.udp, r1.udp),
    perRecvmmsg: batches > 0 ? d('received', r0.udp, r1.udp) / batches : null,
    overflows: d('receiveOverflows', r0.udp, r1.udp),
    rcvbufBytes: r1.udp.recvBufferBytes,
    tunPackets: d('written', r0.tun, r1.tun),
    tunPacketsPerWrite: writes > 0 ? d('written', r0.tun, r1.tun) / writes : null,
    tunSuperPackets: d('superPacketsOut', r0.tun, r1.tun),
  };
}

function innerLine(inner) {
  const e = inner.ext;
  const s = inner.ss;
  const t = inner.tunnel;
  return (
    `sackReorder ${e.TCPSACKReorder ?? '-'} dsack ${e.TCPDSACKRecv ?? '-'} undo ${(e.TCPDSACKUndo ?? 0) + (e.TCPLossUndo ?? 0)} rto ${e.TCPTimeouts ?? '-'} spuriousRto ${e.TCPSpuriousRTOs ?? '-'} tlp ${e.TCPLossProbes ?? '-'} lostRetr ${e.TCPLostRetransmit ?? '-'}` +
    (inner.extB ? `; B recv ofoQueue ${inner.extB.TCPOFOQueue ?? '-'} ofoDrop ${inner.extB.TCPOFODrop ?? '-'} ofoPruned ${inner.extB.OfoPruned ?? '-'} pruneCalled ${inner.extB.PruneCalled ?? '-'} rcvPruned ${inner.extB.RcvPruned ?? '-'} collapsed ${inner.extB.TCPRcvCollapsed ?? '-'} rcvQDrop ${inner.extB.TCPRcvQDrop ?? '-'}` : '') +
    (s ? `; ss rtt ${fmt(s.rttMs)} min ${fmt(s.minRttMs)} cwnd ${s.cwnd} unacked ${s.unacked} reord ${s.reorderingMax} pacing ${fmt(s.pacingMbit)} deliv ${fmt(s.deliveryMbit)} sndwnd ${fmt(s.sndWndKB, 0)}K notsent ${s.notsent} sndbufLim ${s.sndbufLimitedMs}ms rwndLim ${s.rwndLimitedMs}ms` : '') +
    (t ? `; A drops ${JSON.stringify(t.dropsA)} kcp retr ${t.kcpRetransmitsA}${t.kcpResendA ? ` (rto ${t.kcpResendA.timeout} fast ${t.kcpResendA.fast} rack ${t.kcpResendA.rack}; needless rto ${t.kcpResendA.spuriousTimeout} fast ${t.kcpResendA.spuriousFast} rack ${t.kcpResendA.spuriousRack}; dup in B ${t.kcpDupInB})${t.kcpResendA.limitIdleMs !== undefined ? ` A held ms: pacing ${t.kcpResendA.limitPacingMs} cwnd ${t.kcpResendA.limitCwndMs} span ${t.kcpResendA.limitSpanMs} idle ${t.kcpResendA.limitIdleMs}` : ''}` : ''}${t.fecA ? ` fec ${t.fecA.k}+${t.fecA.m} parity ${t.fecA.parityFrames} (${t.fecA.why})` : ''}${t.fecB ? ` repaired ${t.fecB.repaired} unrecovered ${t.fecB.unrecovered}` : ''}${t.rxPathB ? `; B rx: ${t.rxPathB.datagrams} datagrams, ${fmt(t.rxPathB.perRecvmmsg)} per recvmmsg, socket drops ${t.rxPathB.overflows}, rcvbuf ${fmt(t.rxPathB.rcvbufBytes / 1048576)} MiB, TUN ${t.rxPathB.tunPackets} packets, ${fmt(t.rxPathB.tunPacketsPerWrite)} per write (${t.rxPathB.tunSuperPackets} super-packets)` : ''}` : '')
  );
}

function memLine(m) {
  return m ? `rss ${m.rssMiB} heap ${m.heapUsedMiB}/${m.heapTotalMiB} ext ${m.externalMiB} ab ${m.arrayBuffersMiB} MiB` : '-';
}

function medianOf(xs) {
  const v = [...xs].sort((a, b) => a - b);
  return v.length === 0 ? null : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

function fmt(x, d = 1) {
  return x === null || x === undefined || Number.isNaN(x) ? '-' : Number(x).toFixed(d);
}

const rotate = (list, k) => list.map((_, i) => list[(i + k) % list.length]);

let autogroupSetting = null;

async function main() {
  preflight();
  autogroupSetting = raiseAutogroup();
  say(`scheduling: autogroup ${autogroupSetting}, sched_autogroup_enabled ${sh('cat', ['/proc/sys/kernel/sched_autogroup_enabled'])}`);
  const env = environment();
  const { out: bridgePath, dir: bridgeDir } = compileBridge();
  const started = Date.now();
  const results = [];
  const cells = [];
  const onSignal = () => {
    rmSync(bridgeDir, { recursive: true, force: true });
    process.exit(130); // the labs' 'exit' hooks delete namespaces and kill children
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    say(`systems: ${systems.map((s) => s.name).join(', ')}; delays ${cfg.delaysMs} ms, jitter ${cfg.jitterMs} ms; loss ${cfg.lossPct} %; ${cfg.runs} runs x ${cfg.seconds} s`);
    for (const delayMs of cfg.delaysMs) {
      for (const jitterMs of delayMs > 0 ? cfg.jitterMs : [0]) {
        const cell = { delayMs, jitterMs };
        const topo = await buildTopology({ delayMs, jitterMs, bridgePath, v6: family6 });
        try {
          cell.tcpCc = tuneHosts(topo.lab, topo.ns);
          // The inner TCP's buffers (min default max), the same for every system: at 200 ms RTT a 4 MB
          // wmem max caps a flow near 80-160 Mbit/s (ss -ti shows sndbuf_limited when it binds).
          cell.tcpMem = { rmem: topo.lab.sh(topo.ns.a, 'sysctl -n net.ipv4.tcp_rmem').trim().split(/\s+/).map(Number), wmem: topo.lab.sh(topo.ns.a, 'sysctl -n net.ipv4.tcp_wmem').trim().split(/\s+/).map(Number) };
          cell.pingUnderlay = await ping(topo.ns.a, addr.b, { count: 20, intervalS: 0.05 });
          if (topo.bridge && flag('--calibrate')) {
            cell.calibration = await calibrateBridge(topo);
            for (const st of cell.calibration) say(`emulator d${delayMs}: UDP ${st.rateMbps} Mbit/s offered -> ${fmt(st.mbpsReceived)} delivered, ${fmt(st.lostPct)} % lost (receiver overruns ${st.rcvbufErrorsB}), emulator drops ${st.emulator?.lost} cpu ${fmt(100 * (st.emulator?.cpuShare ?? 0), 0)} %`);
          }
          say(`cell d${delayMs} j${jitterMs}: TCP ${cell.tcpCc} (rmem ${cell.tcpMem.rmem.join(' ')}, wmem ${cell.tcpMem.wmem.join(' ')}), underlay ping ${fmt(cell.pingUnderlay.median)} ms`);
          for (let run = 0; run < cfg.runs; run++) {
            for (const sys of rotate(systems, run)) await measureRun(sys, topo, cell, run, results);
          }
        } finally {
          topo.bridge?.child.kill('SIGTERM');
          topo.lab.dispose();
        }
        cells.push(cell);
      }
    }
  } finally {
    rmSync(bridgeDir, { recursive: true, force: true });
  }
  const elapsedS = (Date.now() - started) / 1000;
  const report = { version: 2, env, cfg, ab: chosen.ab, systems: systems.map((s) => s.name), argv, elapsedS, cells, results, loadavgEnd: readFileSync('/proc/loadavg', 'utf8').trim() };
  const resultsDir = join(repo, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = opt('--out', `vpn-${env.date.replace(/[:.]/g, '-')}`);
  const jsonPath = join(resultsDir, `${stamp}.json`);
  writeFileSync(jsonPath, JSON.stringify(report, null, 1));
  writeFileSync(join(resultsDir, `${stamp}.md`), renderTables(report));
  say(`results: ${jsonPath} and .md (${elapsedS.toFixed(0)} s)`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
