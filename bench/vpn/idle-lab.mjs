#!/usr/bin/env node
// A held bench lab for looking inside one idle ping (issue 19 item 7, session 9): the bench
// topology over a 0-delay path with one system up (meshd kcp fast2 of --meshd DIR, or wireguard-go),
// its namespaces and daemon pids printed as one JSON line, held until SIGTERM/SIGINT, then torn down.
//
//   node bench/vpn/idle-lab.mjs [--system meshd|wireguard-go] [--meshd DIR] [--warmup N]
// Then perf/strace/tcpdump the printed pids and namespaces by hand. Root only; not a benchmark.
import { appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildTopology } from './lab.mjs';
import { ping } from './measure.mjs';
import { meshd, wireguardGo } from './systems.mjs';

const argv = process.argv.slice(2);
const opt = (f, d) => (argv.indexOf(f) >= 0 ? argv[argv.indexOf(f) + 1] : d);
const which = opt('--system', 'meshd');
const tree = resolve(opt('--meshd', '.'));
const sys = which === 'meshd' ? meshd(join(tree, 'dist', 'cli.js'), 'kcp', 'fast2') : wireguardGo;
const topo = await buildTopology({ delayMs: 0 });
// --log-dir DIR: each daemon's stdout and stderr also go to DIR/<pid>.log (e.g. with
// NODE_OPTIONS=--trace-deopt), which the bench keeps only in memory.
const logDir = opt('--log-dir', null);
// --node-flags "F ...": extra node flags for the daemons (those NODE_OPTIONS refuses, e.g. --trace-opt).
const nodeFlags = (opt('--node-flags', '') ?? '').split(' ').filter(Boolean);
if (logDir !== null) {
  const spawn0 = topo.lab.spawn.bind(topo.lab);
  topo.lab.spawn = (ns, cmd, args, o) => {
    const child = spawn0(ns, cmd, cmd === process.execPath ? [...nodeFlags, ...args] : args, o);
    const to = join(logDir, `${child.pid}.log`);
    child.stdout?.on('data', (d) => appendFileSync(to, d));
    child.stderr?.on('data', (d) => appendFileSync(to, d));
    return child;
  };
}
let started = null;
const stop = async () => {
  try {
    await started?.stop?.();
  } finally {
    topo.lab.dispose();
    process.exit(0);
  }
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
try {
  started = await sys.start(topo);
  await ping(topo.ns.a, started.ping, { count: Number(opt('--warmup', '1000')), intervalS: 0.01 });
  console.log(JSON.stringify({ ns: topo.ns, target: started.ping, pids: started.pids ?? null }));
} catch (err) {
  console.error(String(err?.stack ?? err));
  await stop();
}
setInterval(() => {}, 1 << 30);
