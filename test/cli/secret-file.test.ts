// Issue 16.1 and M8 against the built CLI: `meshd hub` with no secret anywhere creates one (base64
// of 32 random bytes, 0600 in a 0700 directory) at the default path, says where in one line, and
// starts; a loose secret file gets a warning line; `meshd gensecret` prints key material. The
// default path is moved with MESHD_SECRET_FILE here; test/e2e/secret-default.test.ts uses the real
// /etc/meshd/secret once, as root.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classifySecret } from '../../src/crypto/secret.js';
import { cliPath, requireDist } from '../helpers/mesh-lab.js';
import { waitForLine } from '../helpers/netns.js';

let dir = '';
let child: ChildProcess | undefined;

beforeAll(() => {
  requireDist();
  dir = mkdtempSync(join(tmpdir(), 'meshd-secret-'));
});
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  child = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function startHub(secretPath: string, state: string): { proc: ChildProcess; lines: string[] } {
  const env: NodeJS.ProcessEnv = { ...process.env, MESHD_SECRET_FILE: secretPath };
  delete env.MESHD_SECRET;
  const proc = spawn(process.execPath, [cliPath, 'hub', '--listen', '127.0.0.1:0', '--state-dir', state], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter((l) => l !== '')));
  child = proc;
  return { proc, lines };
}

function messages(lines: readonly string[]): Array<{ level: number; msg: string }> {
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string });
}

describe('the default network secret (real CLI)', () => {
  it('a hub with no secret anywhere creates one, logs one line saying where and that peers need it, and starts', async () => {
    const secretPath = join(dir, 'etc', 'meshd', 'secret');
    const h = startHub(secretPath, join(dir, 'state1'));
    await waitForLine(h.proc, /"msg":"hub started"/, 15_000);
    const created = messages(h.lines).filter((m) => /created the network secret/.test(m.msg));
    expect(created).toHaveLength(1);
    expect(created[0]!.msg).toContain(secretPath);
    expect(created[0]!.msg).toMatch(/every peer needs a copy/);
    expect(statSync(secretPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'etc', 'meshd')).mode & 0o777).toBe(0o700);
    const text = readFileSync(secretPath, 'utf8').trim();
    expect(Buffer.from(text, 'base64').byteLength).toBe(32);
    expect(classifySecret(text).kind).toBe('key');
  });

  it('a second start reads the same file (not replaced) and warns when it is readable by others', async () => {
    const secretPath = join(dir, 'etc', 'meshd', 'secret');
    const before = readFileSync(secretPath, 'utf8');
    chmodSync(secretPath, 0o644);
    const h = startHub(secretPath, join(dir, 'state2'));
    await waitForLine(h.proc, /"msg":"hub started"/, 15_000);
    expect(readFileSync(secretPath, 'utf8')).toBe(before);
    const msgs = messages(h.lines);
    expect(msgs.filter((m) => /created the network secret/.test(m.msg))).toEqual([]);
    const loose = msgs.filter((m) => /readable by group or others/.test(m.msg));
    expect(loose).toHaveLength(1);
    expect(loose[0]!.level).toBe(40); // pino warn
    chmodSync(secretPath, 0o600);
  });

  it('meshd gensecret prints base64 of 32 random bytes, different each time', () => {
    const a = spawnSync(process.execPath, [cliPath, 'gensecret'], { encoding: 'utf8' });
    const b = spawnSync(process.execPath, [cliPath, 'gensecret'], { encoding: 'utf8' });
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(classifySecret(a.stdout.trim()).kind).toBe('key');
    expect(a.stdout).not.toBe(b.stdout);
  });
});
