// Rough cost of the hub-to-hub leg of a cross-hub relay (issue 24 item 3): a 3-node nats-server
// cluster on loopback, two connections on different nodes (hub 1, hub 2), ping-pong of datagram-
// sized messages on core subjects as hub/nats-state.ts sends signals. Prints the one-way latency
// (half the round trip) percentiles and a burst's throughput. Not a test; run by hand:
//   node bench/load/cluster-signal.mjs [rounds=2000] [bytes=1200]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';

const rounds = Number(process.argv[2] ?? 2000);
const bytes = Number(process.argv[3] ?? 1200);
const free = () => new Promise((res) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const dir = mkdtempSync(join(tmpdir(), 'meshd-bench-nats-'));
const ports = [];
for (let i = 0; i < 3; i++) ports.push({ client: await free(), cluster: await free() });
const procs = ports.map((p, i) => spawn('nats-server', ['-n', `n${i}`, '-a', '127.0.0.1', '-p', String(p.client), '-js', '-sd', join(dir, `n${i}`),
  '--cluster_name', 'bench', '--cluster', `nats://127.0.0.1:${p.cluster}`, '--routes', ports.filter((_, j) => j !== i).map((q) => `nats://127.0.0.1:${q.cluster}`).join(',')], { stdio: 'ignore' }));
try {
  await new Promise((r) => setTimeout(r, 1500));
  const hub1 = await connect({ servers: `nats://127.0.0.1:${ports[0].client}`, ignoreClusterUpdates: true });
  const hub2 = await connect({ servers: `nats://127.0.0.1:${ports[1].client}`, ignoreClusterUpdates: true });
  hub2.subscribe('bench.hub.2', { callback: (_e, m) => hub2.publish('bench.hub.1', m.data) });
  let resolve;
  hub1.subscribe('bench.hub.1', { callback: () => resolve() });
  await hub1.flush(); await hub2.flush();
  await new Promise((r) => setTimeout(r, 300));
  const payload = new Uint8Array(bytes);
  const oneWay = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((r) => { resolve = r; hub1.publish('bench.hub.2', payload); });
    oneWay.push(Number(process.hrtime.bigint() - t0) / 2e6);
  }
  oneWay.sort((a, b) => a - b);
  const pct = (p) => oneWay[Math.min(oneWay.length - 1, Math.floor(oneWay.length * p))].toFixed(3);
  console.log(`one-way hub->hub over NATS (one route hop), ${bytes} B, ${rounds} rounds: p50 ${pct(0.5)} ms, p90 ${pct(0.9)} ms, p99 ${pct(0.99)} ms`);
  // Throughput: a burst one way, counted at the other end.
  let got = 0;
  const n = 50_000;
  hub2.subscribe('bench.burst', { callback: () => got++ });
  await hub2.flush();
  const t0 = Date.now();
  for (let i = 0; i < n; i++) hub1.publish('bench.burst', payload);
  await hub1.flush();
  while (got < n && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 5));
  const s = (Date.now() - t0) / 1000;
  console.log(`burst hub->hub: ${got}/${n} messages of ${bytes} B in ${s.toFixed(2)} s = ${(got / s).toFixed(0)} msg/s, ${((got * bytes * 8) / s / 1e6).toFixed(0)} Mbit/s`);
  await hub1.close(); await hub2.close();
} finally {
  for (const p of procs) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
