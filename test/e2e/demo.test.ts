// `meshd demo` end to end (issue 16.4): the real command (node dist/cli.js demo) as root, as a
// newcomer would run it. --check must show a direct path between the two NATed peers, exit 0, and
// leave no namespace, link, process or run dir behind (listed before and after); a demo killed
// with SIGKILL leaves its daemons and namespaces, and the next run sweeps them before starting.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, expect, it } from 'vitest';
import { runDirFor } from '../../src/demo/plan.js';
import { cliPath, requireDist, runAsync, say } from '../helpers/mesh-lab.js';
import { waitForLine } from '../helpers/netns.js';
import { describeRoot } from '../helpers/root.js';

const tag = 'demo';
const runDir = runDirFor(existsSync('/run'), tmpdir());

interface Leftovers {
  namespaces: string[];
  links: string[];
  /** "pid args" of processes the demo started (or the demo itself). */
  processes: string[];
  runDir: boolean;
}

/** Everything with the demo's marks on this machine: mdemo namespaces and links, demo processes. */
function leftovers(): Leftovers {
  const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith('mdemo'));
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter((n) => n.startsWith('mdemo'));
  const processes: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const demo = args.includes(cliPath) && args.includes('demo');
    if (demo || args.some((a) => a.includes(runDir))) processes.push(`${pid} ${args.join(' ').slice(0, 120)}`);
  }
  return { namespaces, links, processes, runDir: existsSync(runDir) };
}

const nothing: Leftovers = { namespaces: [], links: [], processes: [], runDir: false };

function show(l: Leftovers): string {
  return `${l.namespaces.length} namespaces [${l.namespaces.join(' ')}], ${l.links.length} links, ${l.processes.length} processes, run dir ${l.runDir ? 'present' : 'absent'}`;
}

/** A failed test must not leave the demo's network behind for the next file. */
function forceClean(): void {
  const l = leftovers();
  for (const p of l.processes) spawnSync('kill', ['-9', p.split(' ')[0]!]);
  for (const ns of l.namespaces) spawnSync('ip', ['netns', 'del', ns]);
  spawnSync('rm', ['-rf', runDir]);
}

function expectDirect(out: string): void {
  // A pong over the direct path to b's NAT (not via the hub at 203.0.113.2) ...
  expect(out).toMatch(/pong from b \(10\.9\.0\.3\) via 198\.51\.100\.10:\d+ \(direct\)/);
  // ... and `meshd status` on a listing b with path direct.
  expect(out).toMatch(/^b\s+10\.9\.0\.3(?:\s+[0-9a-f:]+:[0-9a-f]+)?\s+\S+\s+direct\s+198\.51\.100\.10:\d+/m);
  expect(out).toMatch(/3 sent, 3 received, 0% loss/);
  expect(out).toMatch(/meshd demo --check: passed/);
}

describeRoot('meshd demo (the real command, as root)', () => {
  afterAll(() => forceClean());

  it('demo --check shows a direct path, exits 0 and leaves nothing behind', async () => {
    requireDist();
    const before = leftovers();
    say(tag, `before: ${show(before)}`);
    const r = await runAsync(null, [process.execPath, cliPath, 'demo', '--check'], 90_000);
    const out = r.stdout + r.stderr;
    say(tag, `demo --check exit ${r.code ?? r.signal} after ${r.ms} ms; output:\n${out}`);
    expect(r.code, out).toBe(0);
    expectDirect(r.stdout);
    const after = leftovers();
    say(tag, `after: ${show(after)}`);
    expect(after).toEqual(nothing);
  });

  it('Ctrl-C (SIGINT) on a running demo: exit 0 and nothing left behind', async () => {
    requireDist();
    const demo = spawn(process.execPath, [cliPath, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    demo.stdout.on('data', (d: Buffer) => (out += d.toString()));
    demo.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    try {
      await waitForLine(demo, /Ctrl-C stops the demo/, 60_000);
    } catch (e) {
      demo.kill('SIGKILL');
      throw new Error(`${(e as Error).message}\n${out}`);
    }
    expect(out).toMatch(/sudo ip netns exec mdemo-a ping 10\.9\.0\.3/);
    const up = leftovers();
    say(tag, `demo (pid ${demo.pid}) is up: ${show(up)}; SIGINT`);
    expect(up.namespaces.length).toBe(6);
    process.kill(demo.pid!, 'SIGINT');
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('no exit within 15 s'), 15_000))]);
    say(tag, `after SIGINT: exit ${code}; last output: ${out.trim().split('\n').slice(-2).join(' | ')}`);
    expect(code, out).toBe(0);
    expect(leftovers()).toEqual(nothing);
  });

  it('a demo killed with SIGKILL leaves its network; the next run sweeps it first and leaves nothing', async () => {
    requireDist();
    const demo = spawn(process.execPath, [cliPath, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    demo.stdout.on('data', (d: Buffer) => (out += d.toString()));
    demo.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitForLine(demo, /Ctrl-C stops the demo/, 60_000);
    } catch (e) {
      demo.kill('SIGKILL');
      throw new Error(`${(e as Error).message}\n${out}`);
    }
    say(tag, `demo (pid ${demo.pid}) is up; kill -9`);
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    process.kill(demo.pid!, 'SIGKILL');
    await exited;
    const left = leftovers();
    say(tag, `left by the killed demo: ${show(left)}\n  ${left.processes.join('\n  ')}`);
    // The kill really leaves something (else this test would prove nothing): the daemons and the
    // six namespaces outlive a SIGKILLed demo.
    expect(left.namespaces.length).toBe(6);
    expect(left.processes.filter((p) => / (hub|peer) /.test(p)).length).toBe(3);
    const oldPids = left.processes.map((p) => Number(p.split(' ')[0]));

    const r = await runAsync(null, [process.execPath, cliPath, 'demo', '--check'], 90_000);
    const out2 = r.stdout + r.stderr;
    say(tag, `next demo --check exit ${r.code ?? r.signal} after ${r.ms} ms; output:\n${out2}`);
    expect(r.code, out2).toBe(0);
    expect(out2).toMatch(/removed what an earlier demo left: 6 namespaces, 0 links, [3-9] processes/);
    expectDirect(r.stdout);
    const after = leftovers();
    say(tag, `after: ${show(after)}`);
    expect(after).toEqual(nothing);
    for (const pid of oldPids) expect(existsSync(`/proc/${pid}`), `old pid ${pid} gone`).toBe(false);
  });

  it('as a user without root: one line saying it needs root, exit non-zero, nothing made', () => {
    requireDist();
    const haveSetpriv = spawnSync('sh', ['-c', 'command -v setpriv && id nobody && getent group nogroup']).status === 0;
    if (!haveSetpriv) throw new Error('setpriv, user nobody or group nogroup missing (util-linux, base-passwd)');
    const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, cliPath, 'demo', '--check'], { encoding: 'utf8', timeout: 20_000 });
    say(tag, `as nobody: exit ${r.status}, stderr ${JSON.stringify(r.stderr)}`);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter((l) => l !== '')).toEqual([expect.stringMatching(/^meshd: demo needs root/)]);
    expect(leftovers()).toEqual(nothing);
  });
});
