// What `meshd demo` records about itself (a JSON file in its run dir: its own pid and the pids of
// the processes it started) and the sweep at start that removes what a killed run left behind:
// those processes, every process inside an mdemo- namespace, the namespaces, stray mdemo links in
// the host namespace, and the run dir. Used by demo/run.ts.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cmd, deleteNamespaces, DemoError, namespacePids } from './lab.js';
import { demoLinks, demoNamespaces, isDemoProcess } from './plan.js';

export interface DemoRecord {
  /** The demo process itself. */
  pid: number;
  /** Daemons and sshd it started (checked against /proc/PID/cmdline before any kill). */
  children: number[];
  /** True if the demo created /run/sshd (sshd's privilege separation directory) and must remove it. */
  madeSshdDir: boolean;
}

/** Bound on waiting for killed processes to be gone. */
const killWaitMs = 3000;

export const sshdPrivsepDir = '/run/sshd';

function recordPath(runDir: string): string {
  return join(runDir, 'demo.json');
}

export function readRecord(runDir: string): DemoRecord | undefined {
  try {
    const o = JSON.parse(readFileSync(recordPath(runDir), 'utf8')) as Partial<DemoRecord>;
    return {
      pid: Number(o.pid),
      children: Array.isArray(o.children) ? o.children.map(Number).filter((n) => Number.isInteger(n) && n > 0) : [],
      madeSshdDir: o.madeSshdDir === true,
    };
  } catch {
    return undefined;
  }
}

/** Written atomically (tmp, fsync, rename) so a kill mid-write leaves the old record or the new. */
export function writeRecord(runDir: string, rec: DemoRecord): void {
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const tmp = `${recordPath(runDir)}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(rec)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, recordPath(runDir));
}

export function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Throws DEMO_BUSY if the recorded demo is still running (another terminal's demo). */
export function refuseIfRunning(runDir: string): void {
  const rec = readRecord(runDir);
  if (rec === undefined || rec.pid === process.pid || !alive(rec.pid)) return;
  const line = cmdline(rec.pid);
  if (line !== undefined && line.split('\0').includes('demo')) {
    throw new DemoError('DEMO_BUSY', `another meshd demo is running (pid ${rec.pid}); stop it (Ctrl-C there, or kill ${rec.pid}) and try again`);
  }
}

/** SIGKILLs the pids and waits (bounded) until they are gone. */
async function killAll(pids: readonly number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + killWaitMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(50);
}

export interface Swept {
  processes: number;
  namespaces: string[];
  links: string[];
}

/**
 * Removes everything of a previous run (or of this one, at exit): recorded processes that are still
 * ours, anything running inside a demo namespace, the namespaces, stray links, the run dir.
 */
export async function sweep(runDir: string): Promise<Swept> {
  const rec = readRecord(runDir);
  const nss = demoNamespaces(cmd(['ip', 'netns', 'list'], { allowFail: true }).stdout);
  const recorded = (rec?.children ?? []).filter((pid) => pid !== process.pid && isDemoProcess(cmdline(pid) ?? '', runDir));
  const inside = nss.flatMap(namespacePids).filter((pid) => pid !== process.pid);
  const pids = [...new Set([...recorded, ...inside])];
  await killAll(pids);
  deleteNamespaces(nss);
  const links = demoLinks(cmd(['ip', '-o', 'link', 'show'], { allowFail: true }).stdout);
  for (const l of links) cmd(['ip', 'link', 'del', l], { allowFail: true });
  if (rec?.madeSshdDir) removeSshdDirIfEmpty();
  if (existsSync(runDir)) rmSync(runDir, { recursive: true, force: true });
  return { processes: pids.length, namespaces: nss, links };
}

/** /run/sshd only if empty: a system sshd may have started meanwhile and now use it. */
export function removeSshdDirIfEmpty(): void {
  try {
    rmdirSync(sshdPrivsepDir);
  } catch {
    // not empty, or gone
  }
}
