// Real nats-server processes for the shared-state tests (hub/nats-state.ts): a JetStream cluster of
// N nodes on free loopback ports with temporary store directories, never the packaged service.
// With CI=true a missing binary is a failure (natsSkipReason throws); otherwise the tests skip
// with the reason. stop() kills every node (call it in afterAll) and removes the directories.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const candidates = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

export function natsServerBinary(): string | undefined {
  return candidates.find((p) => existsSync(p));
}

/** Why the NATS tests cannot run here, or undefined when they can. Under CI=true a missing binary
 * throws instead: CI installs nats-server (.ci/run), so its absence is a failure, not a skip. */
export function natsSkipReason(): string | undefined {
  if (natsServerBinary()) return undefined;
  const why = `nats-server not found (${candidates.join(', ')}): apt-get install nats-server`;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${why}`);
  console.warn(`skipping the NATS shared-state tests: ${why}`);
  return why;
}

/** The kernel's ephemeral port range (the source ports of outgoing connections). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo!, hi!];
  } catch {
    // not Linux: the IANA range
  }
  return [49152, 65535];
}

const handedOut = new Set<number>();

/** A loopback port free now, chosen below the ephemeral range. A port the kernel gives for `listen(0)`
 * is an ephemeral one, and any outgoing connection may take it as its source port before the node
 * binds it (a node's route to a node not yet listening, a hub reconnecting to a killed node while it
 * is down): "bind: address already in use" on a busy CI machine. Below the range only another
 * listener can take it, and that is checked here by binding. Bounded tries. */
async function freePort(): Promise<number> {
  const [lo] = ephemeralRange();
  const base = 10_000;
  for (let tries = 0; tries < 200; tries++) {
    const port = base + Math.floor(Math.random() * Math.max(1, lo - base));
    if (handedOut.has(port)) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port below ${lo} after 200 tries`);
}

export interface NatsNode {
  name: string;
  /** nats://127.0.0.1:port */
  url: string;
  process: ChildProcess | undefined;
  /** Its monitoring port (/healthz). */
  monitor: number;
  /** Its last log lines (for failure messages). */
  log: string[];
  /** kill -9 (the node is gone until restart() or the cluster is stopped). */
  kill(): void;
  /** Starts the node again on the same ports and store directory. */
  restart(): void;
}

export interface NatsCluster {
  nodes: NatsNode[];
  urls: string[];
  stop(): Promise<void>;
}

/** Starts `size` nodes as one JetStream cluster and waits (bounded) until every node reports
 * healthy with a JetStream meta leader. */
export async function startNatsCluster(size = 3, timeoutMs = 20_000, opts: { token?: string } = {}): Promise<NatsCluster> {
  const bin = natsServerBinary();
  if (!bin) throw new Error('nats-server not installed');
  const dir = mkdtempSync(join(tmpdir(), 'meshd-nats-'));
  const ports: Array<{ client: number; cluster: number; monitor: number }> = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
  const nodes: NatsNode[] = [];
  const cluster: NatsCluster = {
    nodes,
    urls: ports.map((p) => `nats://127.0.0.1:${p.client}`),
    async stop() {
      for (const n of nodes) n.kill();
      await new Promise((r) => setTimeout(r, 50));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    ports.forEach((p, i) => {
      const name = `n${i + 1}`;
      const routes = ports.filter((_, j) => j !== i).map((q) => `nats://127.0.0.1:${q.cluster}`).join(',');
      const args = ['-n', name, '-a', '127.0.0.1', '-p', String(p.client), '-m', String(p.monitor), '-js', '-sd', join(dir, name)];
      if (opts.token !== undefined) args.push('--auth', opts.token);
      if (size > 1) args.push('--cluster_name', 'meshd-test', '--cluster', `nats://127.0.0.1:${p.cluster}`, '--routes', routes);
      const node: NatsNode = {
        name,
        url: cluster.urls[i]!,
        monitor: p.monitor,
        process: undefined,
        log: [],
        kill() {
          if (this.process && this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
          this.process = undefined;
        },
        restart() {
          this.kill();
          const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
          const keep = (b: Buffer) => {
            node.log.push(...b.toString().split('\n').filter((l) => l !== ''));
            if (node.log.length > 50) node.log.splice(0, node.log.length - 50);
          };
          child.stdout.on('data', keep);
          child.stderr.on('data', keep);
          this.process = child;
        },
      };
      node.restart();
      nodes.push(node);
    });
    for (const n of nodes) await waitHealthy(n, timeoutMs);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

/** Waits (bounded) until the node answers /healthz with JetStream current. */
export async function waitHealthy(n: NatsNode, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${n.monitor}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats node ${n.name} not healthy within ${timeoutMs} ms:\n${n.log.slice(-10).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
