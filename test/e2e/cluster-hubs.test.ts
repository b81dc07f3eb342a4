// Two real `meshd hub --cluster` processes sharing a 3-node NATS JetStream cluster (loopback, no
// namespaces, no root): the credentials come from --cluster-creds (a wrong one stops the hub with
// a reason), each hub's `meshd status --json` shows the other, and after one is killed with -9 the
// other stops listing it once the presence TTL (15 s) has passed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPresenceTtlMs } from '../../src/hub/nats-state.js';
import { cliPath, requireDist, say } from '../helpers/mesh-lab.js';
import { natsSkipReason, startNatsCluster, type NatsCluster } from '../helpers/nats.js';

const skip = natsSkipReason();

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface ClusterJson {
  hubId: string;
  connection: string;
  hubs: Array<{ hubId: string; members: number }>;
}

function status(stateDir: string): ClusterJson | undefined {
  const r = spawnSync(process.execPath, [cliPath, 'status', '--json', '--state-dir', stateDir], { encoding: 'utf8', timeout: 5_000 });
  if (r.status !== 0) return undefined;
  return (JSON.parse(r.stdout) as { cluster?: ClusterJson }).cluster;
}

async function until<T>(what: string, get: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(skip !== undefined)('meshd hub --cluster: real hub processes on a real NATS cluster', () => {
  let cluster: NatsCluster;
  const dir = mkdtempSync(join(tmpdir(), 'meshd-cluster-'));
  const token = randomBytes(16).toString('hex');
  const children: ChildProcess[] = [];
  const logs = new Map<string, string[]>();

  beforeAll(async () => {
    requireDist();
    cluster = await startNatsCluster(3, 20_000, { token });
  }, 30_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function hub(name: string, creds: string): Promise<{ child: ChildProcess; stateDir: string }> {
    const stateDir = join(dir, name);
    const credsFile = join(dir, `${name}.creds`);
    writeFileSync(credsFile, `${creds}\n`, { mode: 0o600 });
    const args = ['hub', '--listen', `127.0.0.1:${await freeUdpPort()}`, '--state-dir', stateDir, ...cluster.urls.flatMap((u) => ['--cluster', u]), '--cluster-creds', credsFile];
    const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, MESHD_SECRET: 'cluster test secret phrase, long enough 42' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    logs.set(name, lines);
    child.stdout!.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
    child.stderr!.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
    children.push(child);
    return { child, stateDir };
  }

  it('refuses to start with wrong credentials, joins with the right ones, and forgets a hub killed with -9 after the TTL', async () => {
    try {
      await body();
    } catch (e) {
      for (const [name, lines] of logs) console.log(`--- ${name} last lines:\n${lines.slice(-15).join('\n')}`);
      throw e;
    }
  }, 150_000);

  async function body(): Promise<void> {
    const bad = await hub('bad', 'not-the-token');
    const code = await new Promise<number | null>((r) => bad.child.on('exit', (c) => r(c)));
    say('cluster', `hub with a wrong token exited ${code}: ${logs.get('bad')!.slice(-1)[0]?.slice(0, 200)}`);
    expect(code).not.toBe(0);
    expect(logs.get('bad')!.join('\n')).toMatch(/refused the credentials/);

    // One after the other, each given time to start on a busy 2-core machine.
    const h1 = await hub('h1', token);
    await until('hub 1 answers status with a cluster section', () => status(h1.stateDir), 40_000);
    const h2 = await hub('h2', token);
    const s2 = await until('hub 2 answers status with a cluster section', () => status(h2.stateDir), 40_000);
    const s1 = await until('hub 1 sees hub 2', () => {
      const s = status(h1.stateDir);
      return s?.hubs.some((h) => h.hubId === s2.hubId) ? s : undefined;
    }, 20_000);
    expect(s1.connection).toBe('connected');
    await until('hub 2 sees hub 1', () => (status(h2.stateDir)?.hubs.some((h) => h.hubId === s1.hubId) ? true : undefined), 20_000);
    say('cluster', `hubs ${s1.hubId} and ${s2.hubId} see each other through NATS`);

    h2.child.kill('SIGKILL');
    const killed = Date.now();
    await until('hub 1 forgets hub 2', () => (status(h1.stateDir)?.hubs.some((h) => h.hubId === s2.hubId) ? undefined : true), defaultPresenceTtlMs + 10_000);
    const ms = Date.now() - killed;
    say('cluster', `hub 1 dropped the killed hub 2 after ${ms} ms (presence TTL ${defaultPresenceTtlMs} ms)`);
    expect(ms).toBeGreaterThan(defaultPresenceTtlMs - defaultPresenceTtlMs / 5 - 1_000);
  }
});
