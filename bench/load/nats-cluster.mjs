// A throwaway nats-server JetStream cluster for the load tools (bench/load/cluster-load.mjs): N nodes on
// free loopback ports, temporary store directories, waited on until each answers /healthz; stop()
// kills every node and removes the directories. The bench twin of test/helpers/nats.ts (which is
// TypeScript and lives with the tests); never the packaged service.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const candidates = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

export function natsServerBinary() {
  return candidates.find((p) => existsSync(p));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts `size` nodes as one JetStream cluster; resolves with { urls, pids(), stop() } once every
 * node is healthy (bounded by timeoutMs). */
export async function startNatsCluster(size = 3, timeoutMs = 30_000) {
  const bin = natsServerBinary();
  if (!bin) throw new Error(`nats-server not found (${candidates.join(', ')}): apt-get install nats-server`);
  const dir = mkdtempSync(join(tmpdir(), 'meshd-load-nats-'));
  const ports = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
  const procs = ports.map((p, i) => {
    const routes = ports.filter((_, j) => j !== i).map((q) => `nats://127.0.0.1:${q.cluster}`).join(',');
    const args = ['-n', `n${i + 1}`, '-a', '127.0.0.1', '-p', String(p.client), '-m', String(p.monitor), '-js', '-sd', join(dir, `n${i + 1}`)];
    if (size > 1) args.push('--cluster_name', 'meshd-load', '--cluster', `nats://127.0.0.1:${p.cluster}`, '--routes', routes);
    return spawn(bin, args, { stdio: 'ignore' });
  });
  const cluster = {
    urls: ports.map((p) => `nats://127.0.0.1:${p.client}`),
    pids: () => procs.map((c) => c.pid),
    /** Messages and bytes of the clients named like `prefix` (e.g. meshd-hub-), summed over the nodes (/connz). */
    async traffic(prefix) {
      const t = { inMsgs: 0, outMsgs: 0, inBytes: 0, outBytes: 0, connections: 0 };
      for (const p of ports) {
        const z = await fetch(`http://127.0.0.1:${p.monitor}/connz?limit=1024`).then((r) => r.json(), () => ({ connections: [] }));
        for (const c of z.connections ?? []) {
          if (!(c.name ?? '').startsWith(prefix)) continue;
          t.connections++;
          t.inMsgs += c.in_msgs; // from the client
          t.outMsgs += c.out_msgs; // to the client
          t.inBytes += c.in_bytes;
          t.outBytes += c.out_bytes;
        }
      }
      return t;
    },
    stop() {
      for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const deadline = Date.now() + timeoutMs;
    for (const p of ports) {
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${p.monitor}/healthz`).then((r) => r.ok, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`nats node on ${p.client} not healthy within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (e) {
    cluster.stop();
    throw e;
  }
  return cluster;
}
