// `meshd demo`: a hub and two peers behind two NAT routers in network namespaces on this machine
// (plan.ts), the real `meshd hub` and `meshd peer` processes, until the peers reach each other
// directly; then `meshd status`, `meshd ping` and ping/ssh over the overlay, and either exit
// (--check) or stay up until Ctrl-C printing what to try. Every exit path removes what it made;
// a killed run's leftovers are swept at the next start (leftovers.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetchStatus, requestPing } from '../ops/control-client.js';
import { defaultSocketPath } from '../ops/control-protocol.js';
import { formatPingReply, formatPingSummary, formatStatus } from '../ops/status-format.js';
import type { PeerStatusJson } from '../ops/status-types.js';
import { buildLab, deleteNamespaces, DemoError, missingTool } from './lab.js';
import { cmdline, readRecord, refuseIfRunning, removeSshdDirIfEmpty, sweep, writeRecord } from './leftovers.js';
import { daemonPlans, hostOf, isDemoProcess, namespaces, peers, runDirFor, tryLines, type DaemonPlan } from './plan.js';
import { sshArgv, startSshd, type DemoSshd } from './sshd.js';

export interface DemoOptions {
  /** Exit after the checks: 0 if a direct path was seen and pings were answered. */
  check: boolean;
  /** This CLI's script (dist/cli.js), run with process.execPath for the daemons. */
  cliPath: string;
  /** How a user invokes this CLI from a shell, for the printed commands ("meshd"). */
  meshdCommand: string;
}

/** Bounds on each wait (the whole run targets < 30 s; these only bite when something is wrong). */
const hubReadyMs = 15_000;
const registeredMs = 20_000;
const untilDirectPings = 20;
const pingTimeoutMs = 1000;
const stopGraceMs = 2500;
const pollMs = 100;

class Stopped extends DemoError {
  constructor(readonly signal: string) {
    super('DEMO_STOPPED', `interrupted by ${signal}`);
  }
}

function who(plan: DaemonPlan): string {
  return plan.label === 'hub' ? 'meshd hub' : `meshd peer ${plan.label}`;
}

interface Running {
  plan: DaemonPlan;
  child: ChildProcess;
  exit?: string;
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  if (process.getuid?.() !== 0) throw new DemoError('DEMO_NOT_ROOT', 'demo needs root (it creates network namespaces and TUN devices): run sudo meshd demo');
  const tool = missingTool(['ip', 'nft', 'ping']);
  if (tool !== undefined) throw new DemoError('DEMO_TOOL', `demo needs '${tool}' (Debian: apt-get install iproute2 nftables iputils-ping)`);
  if (!existsSync('/dev/net/tun')) throw new DemoError('DEMO_TOOL', 'demo needs /dev/net/tun');
  return new Demo(opts, runDirFor(existsSync('/run'), tmpdir())).run();
}

class Demo {
  private readonly t0 = Date.now();
  private readonly daemons: Running[] = [];
  private sshd: DemoSshd | undefined;
  private readonly children: number[] = [];
  private madeSshdDir = false;
  private stopSignal: string | undefined;
  /** Called on a stop signal and on any daemon's exit. */
  private readonly listeners = new Set<() => void>();
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    if (this.stopSignal !== undefined) return;
    this.stopSignal = sig;
    this.wake();
  };
  private readonly onExit = (): void => this.lastResortCleanup();

  constructor(
    private readonly opts: DemoOptions,
    private readonly runDir: string,
  ) {}

  private say(msg: string): void {
    process.stdout.write(`[${((Date.now() - this.t0) / 1000).toFixed(1).padStart(4)}s] ${msg}\n`);
  }

  async run(): Promise<number> {
    refuseIfRunning(this.runDir);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, this.onSignal);
    process.on('exit', this.onExit);
    try {
      const swept = await sweep(this.runDir);
      if (swept.processes + swept.namespaces.length + swept.links.length > 0) {
        this.say(`removed what an earlier demo left: ${swept.namespaces.length} namespaces, ${swept.links.length} links, ${swept.processes} processes`);
      }
      // Not recursive: the sweep removed it, so a directory here now was planted by someone else.
      try {
        mkdirSync(this.runDir, { mode: 0o700 });
      } catch (e) {
        throw new DemoError('DEMO_CMD', `cannot create ${this.runDir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      this.record();
      return await this.body();
    } catch (e) {
      if (e instanceof Stopped) {
        this.say(`${e.signal}: stopping`);
        if (!this.opts.check) return 0;
        throw new DemoError('DEMO_CHECK', `demo --check ${e.message}`);
      }
      if (this.daemons.length > 0) process.stderr.write(this.logTails());
      throw e;
    } finally {
      await this.teardown();
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, this.onSignal);
      process.off('exit', this.onExit);
    }
  }

  private async body(): Promise<number> {
    const [a, b] = peers as [(typeof peers)[0], (typeof peers)[0]];
    process.stdout.write(
      [
        'meshd demo: a hub and two peers, each peer behind its own NAT router, in network namespaces',
        `  hub     ${'mdemo-hub'.padEnd(9)} 203.0.113.2:7000 (the "VPS")`,
        ...peers.map((p) => `  peer ${p.name}  ${p.ns.padEnd(9)} ${hostOf(p.lan)} behind NAT ${hostOf(p.wan)}, overlay ${hostOf(p.overlay)}`),
        `  state, secrets and logs in ${this.runDir}`,
        '',
      ].join('\n'),
    );
    buildLab();
    this.say('namespaces, links and NAT routers up');

    const plans = daemonPlans(this.runDir);
    const secret = `${randomBytes(32).toString('base64')}\n`;
    const [hubPlan, ...peerPlans] = plans as [DaemonPlan, ...DaemonPlan[]];
    const hub = this.start(hubPlan, secret);
    await this.until('the hub answers on its control socket', hubReadyMs, async () => {
      await fetchStatus(defaultSocketPath(hub.plan.stateDir, 'hub'), 1000);
      return true;
    });
    this.say(`hub started (pid ${hub.child.pid})`);
    const [pa, pb] = peerPlans.map((p) => this.start(p, secret)) as [Running, Running];
    const sockA = defaultSocketPath(pa.plan.stateDir, 'peer');
    const sockB = defaultSocketPath(pb.plan.stateDir, 'peer');
    for (const [sock, other] of [[sockA, b.name], [sockB, a.name]] as const) {
      await this.until(`peer ${other === b.name ? a.name : b.name} registered and sees ${other}`, registeredMs, async () => {
        const st = (await fetchStatus(sock, 1000)) as PeerStatusJson;
        return st.hub.registered && st.peers.some((p) => p.name === other);
      });
    }
    this.say(`peers a (pid ${pa.child.pid}) and b (pid ${pb.child.pid}) registered; a pings b until a pong comes back directly:`);

    const direct = await this.ping(sockA, b.name, { count: untilDirectPings, untilDirect: true, timeoutMs: pingTimeoutMs });
    if (!direct.direct) throw new DemoError('DEMO_CHECK', `no direct path from a to b within ${untilDirectPings} pings (${direct.received} answered, all relayed)`);
    this.say('a reaches b directly: both NATs punched, the hub no longer carries their traffic');

    process.stdout.write(`\n$ ${this.opts.meshdCommand} status --state-dir ${pa.plan.stateDir}\n`);
    process.stdout.write(formatStatus(await fetchStatus(sockA)));
    process.stdout.write(`\n$ ${this.opts.meshdCommand} ping b --count 3 --state-dir ${pa.plan.stateDir}\n`);
    const pings = await this.ping(sockA, b.name, { count: 3, untilDirect: false, timeoutMs: 2000 });
    process.stdout.write(`\n$ ip netns exec ${a.ns} ping -c 3 ${hostOf(b.overlay)}\n`);
    const icmp = await this.command(['ip', 'netns', 'exec', a.ns, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', hostOf(b.overlay)], 15_000);
    process.stdout.write(icmp.out);
    const icmpReceived = Number(/(\d+) received/.exec(icmp.out)?.[1] ?? 0);

    let sshOk: boolean | undefined;
    if (missingTool(['sshd', 'ssh', 'ssh-keygen']) === undefined) {
      this.sshd = await startSshd(b.ns, join(this.runDir, 'ssh'), (pid) => {
        this.children.push(pid);
        this.record();
      });
      this.madeSshdDir = this.sshd.madePrivsepDir;
      this.record();
      process.stdout.write(`\n$ ip netns exec ${a.ns} ssh root@${hostOf(b.overlay)} ip -br addr show meshd0   # an sshd runs in ${b.ns}\n`);
      const r = await this.command(sshArgv(a.ns, this.sshd.clientKey, hostOf(b.overlay), 'ip -br addr show meshd0'), 20_000);
      process.stdout.write(r.out);
      sshOk = r.code === 0 && r.out.includes(hostOf(b.overlay));
    }

    const secs = ((Date.now() - this.t0) / 1000).toFixed(1);
    const problems = [
      pings.received < pings.sent ? `meshd ping answered ${pings.received}/${pings.sent}` : '',
      icmpReceived < 3 ? `ping answered ${icmpReceived}/3` : '',
      sshOk === false ? 'ssh over the overlay failed' : '',
    ].filter((s) => s !== '');
    if (this.opts.check) {
      if (problems.length > 0) throw new DemoError('DEMO_CHECK', `demo --check failed: ${problems.join('; ')}`);
      process.stdout.write(`\nmeshd demo --check: passed in ${secs} s: direct path a -> b, meshd ping ${pings.received}/${pings.sent}, ping ${icmpReceived}/3${sshOk ? ', ssh' : ''}\n`);
      return 0;
    }
    if (problems.length > 0) process.stdout.write(`\nnote: ${problems.join('; ')}\n`);
    process.stdout.write(
      [
        '',
        `Up after ${secs} s. Try, in another terminal:`,
        ...tryLines(this.opts.meshdCommand, this.runDir, this.sshd?.clientKey).map((l) => `  ${l}`),
        `Logs: ${this.runDir}/{hub,a,b}.log. Ctrl-C stops the demo and removes everything it made.`,
        '',
      ].join('\n'),
    );
    await this.untilStopped();
    return 0;
  }

  /** Writes the secret, spawns `meshd hub|peer` in its namespace, logging to a file. */
  private start(plan: DaemonPlan, secret: string): Running {
    mkdirSync(plan.stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(plan.secretFile, secret, { mode: 0o600 });
    const log = openSync(plan.logFile, 'a', 0o600);
    const env = { ...process.env };
    delete env['MESHD_SECRET'];
    let child: ChildProcess;
    try {
      child = spawn('ip', ['netns', 'exec', plan.ns, process.execPath, this.opts.cliPath, ...plan.args], { stdio: ['ignore', log, log], detached: true, env });
    } finally {
      closeSync(log);
    }
    const r: Running = { plan, child };
    child.on('exit', (code, signal) => {
      r.exit = `exit code ${code}${signal ? `, signal ${signal}` : ''}`;
      this.wake();
    });
    child.on('error', (e) => {
      r.exit = e.message;
      this.wake();
    });
    this.daemons.push(r);
    if (child.pid !== undefined) this.children.push(child.pid);
    this.record();
    return r;
  }

  private record(): void {
    writeRecord(this.runDir, { pid: process.pid, children: this.children, madeSshdDir: this.madeSshdDir });
  }

  /** Throws if a daemon has exited or a stop signal came. */
  private checkAlive(): void {
    if (this.stopSignal !== undefined) throw new Stopped(this.stopSignal);
    const dead = this.daemons.find((d) => d.exit !== undefined);
    if (dead) throw new DemoError('DEMO_DAEMON', `${who(dead.plan)} exited (${dead.exit}); its last log lines are above`);
  }

  private wake(): void {
    for (const fn of [...this.listeners]) fn();
  }

  /** p, unless a stop signal or a daemon's exit comes first (then that error). */
  private raceStop<T>(p: Promise<T>): Promise<T> {
    this.checkAlive();
    return new Promise<T>((resolve, reject) => {
      const fn = (): void => {
        try {
          this.checkAlive();
        } catch (e) {
          this.listeners.delete(fn);
          reject(e);
        }
      };
      this.listeners.add(fn);
      p.then(resolve, reject).finally(() => this.listeners.delete(fn));
    });
  }

  /** Polls `ok` (errors count as not yet) until true; bounded by timeoutMs. */
  private async until(what: string, timeoutMs: number, ok: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      this.checkAlive();
      try {
        if (await this.raceStop(ok())) return;
      } catch (e) {
        this.checkAlive();
        last = e instanceof Error ? e.message : String(e);
      }
      await this.raceStop(sleep(pollMs));
    }
    this.checkAlive();
    throw new DemoError('DEMO_TIMEOUT', `timed out after ${timeoutMs / 1000} s waiting until ${what}${last ? ` (last: ${last})` : ''}`);
  }

  /** meshd ping over a's control socket, each reply printed as `meshd ping` prints it. */
  private async ping(sock: string, target: string, o: { count: number; untilDirect: boolean; timeoutMs: number }) {
    const summary = await this.raceStop(requestPing(sock, target, o, (r) => process.stdout.write(`${formatPingReply(target, r)}\n`)));
    process.stdout.write(`${formatPingSummary(summary, o.untilDirect)}\n`);
    return summary;
  }

  /** Runs argv without blocking the loop (stdout+stderr together), SIGKILLed after timeoutMs. */
  private command(argv: readonly string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
    return this.raceStop(new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (e) => (out += `${e.message}\n`));
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    }));
  }

  /** Sleeps until a signal (returns) or a daemon's exit (throws). */
  private async untilStopped(): Promise<void> {
    await this.raceStop(new Promise<never>(() => {}));
  }

  /** The last lines of each daemon's log, for a failure report. */
  private logTails(): string {
    return this.daemons
      .map((d) => {
        let text = '';
        try {
          text = readFileSync(d.plan.logFile, 'utf8');
        } catch {
          // no log
        }
        const lines = text.trimEnd().split('\n').slice(-15).map((l) => `  ${l.slice(0, 400)}`);
        return `----- ${who(d.plan)} (${d.exit ?? 'running'}), last lines of ${d.plan.logFile}:\n${lines.join('\n')}\n`;
      })
      .join('');
  }

  /** SIGTERM the daemons (they say goodbye to the hub), then remove everything (sweep). */
  private async teardown(): Promise<void> {
    const running = [...this.daemons.map((d) => d.child), ...(this.sshd ? [this.sshd.child] : [])].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of running) {
      try {
        if (c.pid !== undefined) process.kill(c.pid, 'SIGTERM');
      } catch {
        // gone
      }
    }
    const deadline = Date.now() + stopGraceMs;
    while (running.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await sleep(50);
    const swept = await sweep(this.runDir);
    if (this.madeSshdDir) removeSshdDirIfEmpty();
    this.say(`removed ${swept.namespaces.length} namespaces and ${this.runDir}${swept.processes > 0 ? `; killed ${swept.processes} processes left running` : ''}`);
  }

  /** On a process.exit() that skipped teardown: kill what is recorded, drop namespaces (sync). */
  private lastResortCleanup(): void {
    for (const pid of readRecord(this.runDir)?.children ?? this.children) {
      if (!isDemoProcess(cmdline(pid) ?? '', this.runDir)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    deleteNamespaces(namespaces);
    rmSync(this.runDir, { recursive: true, force: true });
  }
}
