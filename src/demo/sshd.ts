// An sshd inside peer b's namespace for `meshd demo`, so "ssh 10.9.0.3" from peer a can be tried:
// generated host and client keys in the demo's run dir, key-only root login, no PAM, no config
// file of the host's. Only started when sshd, ssh and ssh-keygen are installed. Used by run.ts.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DemoError } from './lab.js';
import { sshdPrivsepDir } from './leftovers.js';

export const sshdPath = '/usr/sbin/sshd';
const listenWaitMs = 10_000;

export interface DemoSshd {
  child: ChildProcess;
  /** The client key to give ssh -i. */
  clientKey: string;
  /** Whether /run/sshd was created for it (to remove at exit). */
  madePrivsepDir: boolean;
}

function keygen(path: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'meshd-demo', '-f', path], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new DemoError('DEMO_CMD', `ssh-keygen ${path}: ${(r.stderr ?? '').trim() || r.error?.message}`);
}

/** The ssh command line (argv) from namespace `fromNs` to root@address running `command` if given. */
export function sshArgv(fromNs: string, clientKey: string, address: string, command?: string): string[] {
  return [
    'ip', 'netns', 'exec', fromNs, 'ssh', '-i', clientKey,
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
    ...(command !== undefined ? ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5'] : []),
    `root@${address}`,
    ...(command !== undefined ? [command] : []),
  ];
}

/** sshd in the foreground with no config file: key login only, its host key, authorized_keys and pid
 * file in `dir` (host_ed25519, authorized_keys, sshd.pid). Also used by the e2e tests' sshd. */
export function sshdArgs(dir: string): string[] {
  return [
    '-D', '-e', '-f', '/dev/null',
    '-o', 'ListenAddress=0.0.0.0:22',
    '-o', `HostKey=${join(dir, 'host_ed25519')}`,
    '-o', `AuthorizedKeysFile=${join(dir, 'authorized_keys')}`,
    '-o', `PidFile=${join(dir, 'sshd.pid')}`,
    '-o', 'StrictModes=no',
    '-o', 'UsePAM=no',
    '-o', 'PermitRootLogin=prohibit-password',
    '-o', 'PasswordAuthentication=no',
    '-o', 'KbdInteractiveAuthentication=no',
  ];
}

/** Starts sshd -D in `ns`; resolves once it listens. `onSpawn` gets the pid before anything can fail. */
export async function startSshd(ns: string, dir: string, onSpawn: (pid: number) => void): Promise<DemoSshd> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  keygen(join(dir, 'host_ed25519'));
  keygen(join(dir, 'id_ed25519'));
  copyFileSync(join(dir, 'id_ed25519.pub'), join(dir, 'authorized_keys'));
  const madePrivsepDir = !existsSync(sshdPrivsepDir);
  if (madePrivsepDir) mkdirSync(sshdPrivsepDir, { mode: 0o755 });
  const args = sshdArgs(dir);
  const child = spawn('ip', ['netns', 'exec', ns, sshdPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  if (child.pid !== undefined) onSpawn(child.pid);
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DemoError('DEMO_TIMEOUT', `sshd did not listen within ${listenWaitMs / 1000} s: ${err.slice(-300)}`)), listenWaitMs);
    const onData = (b: Buffer): void => {
      err = (err + b.toString()).slice(-4000);
      if (/Server listening on 0\.0\.0\.0 port 22/.test(err)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new DemoError('DEMO_DAEMON', `sshd exited (${code}): ${err.slice(-300)}`));
    };
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new DemoError('DEMO_DAEMON', `sshd: ${e.message}`));
    });
  });
  // Keep draining its log (connections) so a full pipe never blocks it.
  child.stderr!.resume();
  return { child, clientKey: join(dir, 'id_ed25519'), madePrivsepDir };
}
