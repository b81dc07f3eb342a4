// The namespaces, veth links, routes and NAT routers of `meshd demo` (plan.ts), made and removed
// with iproute2 and nft. Synchronous and bounded: each command has a timeout, a failure throws
// DemoError naming the command and its stderr. Used by demo/run.ts and demo/leftovers.ts.
import { spawnSync } from 'node:child_process';
import { MeshdError } from '../util/errors.js';
import { defaultRoutes, namespaces, natRules, peers, veths } from './plan.js';

/** Demo failures; `code` says which step: DEMO_NOT_ROOT, DEMO_TOOL, DEMO_CMD, DEMO_BUSY, DEMO_DAEMON, DEMO_TIMEOUT, DEMO_CHECK. */
export class DemoError extends MeshdError {}

/** Ceiling on any one ip/nft/sysctl call. */
const commandTimeoutMs = 10_000;

export interface CmdResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function cmd(argv: readonly string[], opts: { allowFail?: boolean; input?: string } = {}): CmdResult {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: commandTimeoutMs, input: opts.input ?? '' });
  const res = { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (!opts.allowFail && r.status !== 0) {
    const why = r.error?.message ?? (res.stderr.trim() || `exit ${r.status ?? r.signal}`);
    throw new DemoError('DEMO_CMD', `${argv.join(' ')}: ${why}`);
  }
  return res;
}

export function inNs(ns: string, argv: readonly string[], opts: { allowFail?: boolean; input?: string } = {}): CmdResult {
  return cmd(['ip', 'netns', 'exec', ns, ...argv], opts);
}

/** The first of these tools that is not installed, or undefined. */
export function missingTool(tools: readonly string[]): string | undefined {
  return tools.find((t) => spawnSync('sh', ['-c', 'command -v "$1" || test -x "/usr/sbin/$1"', 'sh', t], { timeout: commandTimeoutMs }).status !== 0);
}

/** Builds the whole topology; on a failure part-way the caller's teardown removes what exists. */
export function buildLab(): void {
  for (const ns of namespaces) {
    cmd(['ip', 'netns', 'add', ns]);
    inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
  }
  for (const v of veths) {
    cmd(['ip', 'link', 'add', v.ifA, 'netns', v.nsA, 'type', 'veth', 'peer', 'name', v.ifB, 'netns', v.nsB]);
    for (const [ns, dev, addr] of [[v.nsA, v.ifA, v.addrA], [v.nsB, v.ifB, v.addrB]] as const) {
      inNs(ns, ['ip', 'addr', 'add', addr, 'dev', dev]);
      inNs(ns, ['ip', 'link', 'set', dev, 'up']);
    }
  }
  for (const [ns, via] of defaultRoutes) inNs(ns, ['ip', 'route', 'replace', 'default', 'via', via]);
  for (const ns of [namespaces[0]!, ...peers.map((p) => p.router)]) inNs(ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  peers.forEach((p, k) => {
    const wan = veths.find((v) => v.nsA === p.router && v.nsB === namespaces[0]);
    const lan = veths.find((v) => v.nsA === p.ns && v.nsB === p.router);
    if (!wan || !lan) throw new DemoError('DEMO_CMD', `plan has no WAN/LAN link for router ${k}`);
    inNs(p.router, ['nft', '-f', '-'], { input: natRules(wan.ifA, lan.ifB) });
  });
}

/** Deletes the given namespaces (their links, TUN devices and nft tables go with them). */
export function deleteNamespaces(list: readonly string[]): void {
  for (const ns of [...list].reverse()) cmd(['ip', 'netns', 'del', ns], { allowFail: true });
}

/** Process ids inside a namespace (`ip netns pids`), empty if it does not exist. */
export function namespacePids(ns: string): number[] {
  const r = cmd(['ip', 'netns', 'pids', ns], { allowFail: true });
  return r.stdout
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}
