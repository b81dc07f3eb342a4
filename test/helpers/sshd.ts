// sshd inside a peer's namespace and an ssh client in another, for the e2e tests: a generated host
// key and client key in a private directory, key-only root login, no PAM. Used by test/e2e/mesh*.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { runAsync, type MeshLab } from './mesh-lab.js';

/** What sshd needs of a lab: its state dir, its namespaces, and a peer's namespace by name
 * (MeshLab, or test/helpers/cluster-lab.ts's ClusterLab). */
export type SshLab = Pick<MeshLab, 'dir' | 'lab'> & { peer(name: string): { ns: string } };
import { sshdArgs } from '../../src/demo/sshd.js';

export const sshdPath = '/usr/sbin/sshd';

export interface Sshd {
  child: ChildProcess;
  clientKey: string;
  /** sshd's stderr so far (connections and refusals), for failure reports. */
  log: () => string;
}

function keygen(path: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ssh-keygen ${path}: ${r.stderr}`);
}

/** Starts sshd (foreground, logging to stderr) in peer `name`'s namespace; waits until it listens.
 * `extraArgs` go after the defaults (e.g. `-o ListenAddress=[::]:22` for the IPv6 overlay). */
export async function startSshd(m: SshLab, name: string, extraArgs: readonly string[] = []): Promise<Sshd> {
  const dir = join(m.dir, `sshd-${name}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // sshd refuses to start without its privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  keygen(join(dir, 'host_ed25519'));
  keygen(join(dir, 'client_ed25519'));
  spawnSync('cp', [join(dir, 'client_ed25519.pub'), join(dir, 'authorized_keys')]);
  const args = [...sshdArgs(dir), ...extraArgs];
  let err = '';
  const child = m.lab.spawn(m.peer(name).ns, sshdPath, args);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd in ${name} did not listen within 10 s: ${err.slice(-500)}`)), 10_000);
    child.stderr!.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-4000);
      if (/Server listening on 0\.0\.0\.0 port 22/.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stdout!.resume();
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd in ${name} exited (${code}): ${err.slice(-500)}`));
    });
  });
  return { child, clientKey: join(dir, 'client_ed25519'), log: () => err };
}

/** ssh from peer `from` to root@`toOverlay` running `command`; bounded by timeoutMs. */
export async function ssh(m: SshLab, from: string, toOverlay: string, key: string, command: string, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const argv = [
    'ssh', '-F', '/dev/null',
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR',
    '-i', key, `root@${toOverlay}`, command,
  ];
  return runAsync(m.peer(from).ns, argv, timeoutMs);
}
