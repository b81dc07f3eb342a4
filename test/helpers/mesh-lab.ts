// A meshd network in namespaces for the e2e tests (test/e2e/mesh*.test.ts, faults*.test.ts): an
// "internet" router, the hub on a public link, peers either public or each behind its own NAT
// router, real `node dist/cli.js` daemons as children, their last log lines kept for failure
// reports. Built by composition on Lab (netns.ts); dispose() (also on process exit) removes all.
//
//   internet (router)  v-- optional loss on every internet ingress (each underlay crossing: once)
//     +-- hub        203.0.113.2/24 (gateway 203.0.113.1)
//     +-- peer k public: 198.51.100.(8k+2)/29 (gateway .8k+1)
//     +-- router k  WAN 198.51.100.(8k+2)/29, masquerade (home: port-preserving, WAN drop of new
//           |       flows; or symmetric: random ports), LAN 192.0.2.(16k+1)/28
//           +-- peer k  192.0.2.(16k+2)/28
//   overlay: peer k = 10.9.0.(k+2)/24 (or opts.overlay24) on TUN mtun0 inside its namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Lab, pidAlive } from './netns.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// MESHD_E2E_CLI runs another build (e.g. main, for a before/after figure); default this tree's dist.
export const cliPath = process.env.MESHD_E2E_CLI ?? join(repoRoot, 'dist', 'cli.js');
export const hubAddress = '203.0.113.2';
export const hubPort = 7000;
export const overlayNetwork = '10.9.0.0/24';

/** How many log lines per daemon a failure report shows. */
const keptLines = 200;
/** Ceiling on each wait for a daemon log line unless the caller says otherwise. */
const defaultWaitMs = 15_000;

const verbose = process.env.MESHD_TEST_LOGS !== undefined;

/** Stage narration for the CI log. */
export function say(tag: string, msg: string): void {
  console.log(`[${tag} ${new Date().toISOString().slice(11, 23)}] ${msg}`);
}

/** Throws with a clear message when dist/ holds no runnable daemon (npm run build first). */
export function requireDist(): void {
  for (const f of ['cli.js', 'peer/run.js', 'hub/run.js']) {
    if (!existsSync(join(repoRoot, 'dist', f))) throw new Error(`dist/${f} is missing: run npm run build (the e2e tests run the built daemon)`);
  }
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs argv (inside ns unless ns is null) without blocking the event loop, so daemon output keeps
 * being drained; killed with SIGKILL after timeoutMs.
 */
export function runAsync(ns: string | null, argv: readonly string[], timeoutMs: number): Promise<ExecResult> {
  const full = ns === null ? [...argv] : ['ip', 'netns', 'exec', ns, ...argv];
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      stderr += String(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export interface LogRecord {
  seq: number;
  text: string;
  obj?: Record<string, unknown>;
}

/** Messages kept beyond the ring so a wait with an old `since` still finds them. */
const notableMsgs = new Set(['hub started', 'peer started', 'registered with hub', 'hub-client: registered', 'hub: registered', 'path changed', 'shutting down', 'stopped']);

/**
 * A path event in a peer's log line, or undefined. The contract is "path changed" {peer, path:
 * direct|lan|relay}; the daemon as of this writing logs "peer: direct path" {peer, kind: public|lan}
 * and "peer: direct path stopped answering; relaying" {peer}, so both are read.
 */
export function pathEvent(o: Record<string, unknown>): { peer: string; path: string } | undefined {
  const peer = typeof o.peer === 'string' ? o.peer : undefined;
  if (peer === undefined) return undefined;
  if (o.msg === 'path changed' && typeof o.path === 'string') return { peer, path: o.path };
  if (o.msg === 'peer: direct path') return { peer, path: o.kind === 'lan' ? 'lan' : 'direct' };
  if (o.msg === 'peer: direct path stopped answering; relaying') return { peer, path: 'relay' };
  return undefined;
}

/**
 * A (re-)registration line in a peer's log. The contract is "registered with hub" on every
 * registration; the daemon as of this writing logs that once at startup and "hub-client:
 * registered" on each registration (including after the hub came back), so both are read.
 */
export function isRegistration(o: Record<string, unknown>): boolean {
  return o.msg === 'registered with hub' || o.msg === 'hub-client: registered';
}

/** One meshd process (restartable) and its recent log lines. */
export class Daemon {
  private readonly ring: LogRecord[] = [];
  private readonly notable: LogRecord[] = [];
  private readonly waiters = new Set<(r: LogRecord | null) => void>();
  private seq = 0;
  child: ChildProcess | undefined;
  starts = 0;
  lastExit = '';

  constructor(
    readonly label: string,
    readonly ns: string,
    readonly stateDir: string,
    readonly args: readonly string[],
    private readonly lab: Lab,
    /** argv run before `node dist/cli.js ...` inside the namespace (e.g. unshare + bind mounts). */
    private readonly wrap: readonly string[] = [],
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sequence number of the next line; pass it as `since` to wait only for later lines. */
  get mark(): number {
    return this.seq;
  }

  start(): void {
    if (this.running) throw new Error(`${this.label} is already running (pid ${this.pid})`);
    this.starts++;
    this.push(`--- start #${this.starts}: ip netns exec ${this.ns} ${this.wrap.length ? '(private /etc/meshd, /var/lib/meshd) ' : ''}node dist/cli.js ${this.args.join(' ')}`);
    const argv = [...this.wrap, process.execPath, cliPath, ...this.args];
    const child = this.lab.spawn(this.ns, argv[0]!, argv.slice(1));
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (l) => this.push(l));
    createInterface({ input: child.stderr! }).on('line', (l) => this.push(`stderr: ${l}`));
    child.on('exit', (code, signal) => {
      this.lastExit = `exit code=${code} signal=${signal}`;
      this.push(`--- ${this.label} pid ${child.pid} ${this.lastExit}`);
      for (const w of [...this.waiters]) w(null);
    });
  }

  private push(text: string): void {
    const rec: LogRecord = { seq: this.seq++, text };
    if (text.startsWith('{')) {
      try {
        rec.obj = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // not JSON; kept as text
      }
    }
    if (verbose) console.log(`  ${this.label}| ${text}`);
    this.ring.push(rec);
    if (this.ring.length > keptLines) this.ring.shift();
    const msg = rec.obj?.msg;
    const level = rec.obj?.level;
    if ((typeof msg === 'string' && notableMsgs.has(msg)) || (rec.obj !== undefined && pathEvent(rec.obj) !== undefined) || (typeof level === 'number' && level >= 40) || text.startsWith('---')) {
      this.notable.push(rec);
      if (this.notable.length > 2000) this.notable.shift();
    }
    for (const w of [...this.waiters]) w(rec);
  }

  /** Log records (JSON objects) with seq >= since that satisfy pred, from the ring and notable lines. */
  seen(pred: (o: Record<string, unknown>) => boolean, since = 0): LogRecord[] {
    const bySeq = new Map<number, LogRecord>();
    for (const r of [...this.notable, ...this.ring]) if (r.seq >= since && r.obj !== undefined && pred(r.obj)) bySeq.set(r.seq, r);
    return [...bySeq.values()].sort((x, y) => x.seq - y.seq);
  }

  /** Waits (bounded) for a JSON log line with seq >= since matching pred; rejects on exit or timeout. */
  waitFor(what: string, pred: (o: Record<string, unknown>) => boolean, opts: { since?: number; timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
    const since = opts.since ?? 0;
    const timeoutMs = opts.timeoutMs ?? defaultWaitMs;
    const already = this.seen(pred, since)[0];
    if (already?.obj) return Promise.resolve(already.obj);
    if (!this.running) return Promise.reject(new Error(`${this.label} is not running (${this.lastExit}) while waiting for ${what}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`${this.label}: no ${what} within ${timeoutMs} ms`)), timeoutMs);
      const waiter = (r: LogRecord | null): void => {
        if (r === null) finish(new Error(`${this.label} exited (${this.lastExit}) while waiting for ${what}`));
        else if (r.seq >= since && r.obj !== undefined && pred(r.obj)) finish(undefined, r.obj);
      };
      const finish = (e: Error | undefined, o?: Record<string, unknown>): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        if (e) reject(e);
        else resolve(o!);
      };
      this.waiters.add(waiter);
    });
  }

  /** Waits for a log line whose msg is exactly `msg` (and whose other fields match `fields`). */
  waitMsg(msg: string, fields: Record<string, unknown> = {}, opts: { since?: number; timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
    const what = `"${msg}"${Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : ''}`;
    return this.waitFor(what, (o) => o.msg === msg && Object.entries(fields).every(([k, v]) => o[k] === v), opts);
  }

  /** Sends signal (SIGKILL by default) by PID and waits (bounded) for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 5000): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid!, signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label} (pid ${child.pid}) did not exit within ${timeoutMs} ms of ${signal}`)), timeoutMs);
    });
    try {
      await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last log lines, for a failure report. */
  tail(): string {
    const head = `----- ${this.label} (ns ${this.ns}, pid ${this.pid ?? '-'}, start #${this.starts}, ${this.running ? 'running' : this.lastExit || 'not started'}) last ${this.ring.length} lines -----`;
    return [head, ...this.ring.map((r) => r.text)].join('\n');
  }
}

export type Placement = 'public' | 'nat' | 'symmetric';

export interface PeerSpec {
  name: string;
  placement: Placement;
  /** Extra peer flags, e.g. ['--transport', 'datagram']; a --hub here replaces the lab hub's. */
  extraArgs?: string[];
  /** Start without --local (the hub assigns the address) or without --name (the host name is a hint). */
  omitLocal?: boolean;
  omitName?: boolean;
  /** Build the daemon but do not start it (the test starts it with daemon.start()). */
  noStart?: boolean;
}

export interface MeshOptions {
  peers: PeerSpec[];
  /** Random loss in percent on every internet ingress (each underlay crossing drops once). */
  lossPercent?: number;
  /** Pass the hub's public key with --hub-key instead of letting peers learn and pin it. */
  pinHubKey?: boolean;
  /** Extra hub flags. */
  hubArgs?: string[];
  /** The overlay's first three octets, a /24 (default "10.9.0": overlayNetwork); peer k gets .k+2. */
  overlay24?: string;
  /** Give no --secret-file: every daemon uses its default secret file (/etc/meshd/secret unless
   * MESHD_SECRET_FILE is set), which the hub creates when missing. */
  defaultSecret?: boolean;
}

export interface PeerNode {
  spec: PeerSpec;
  ns: string;
  overlay: string;
  underlay: string;
  daemon: Daemon;
  /** Set for NATed peers. */
  router?: string;
}

const stateRootRe = /^meshd-e2e-m(\d+)x[0-9a-f]{4}$/;

/** Removes state directories left by runs whose process is gone. */
function sweepStaleStateDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    const m = stateRootRe.exec(name);
    if (m !== null && !pidAlive(Number(m[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

export class MeshLab {
  readonly lab = new Lab();
  readonly dir: string;
  readonly secretFile: string;
  readonly inet: string;
  readonly hubNs: string;
  /** The hub's underlay interface (inside hubNs). */
  hubIf = '';
  hub!: Daemon;
  readonly peers = new Map<string, PeerNode>();
  hubKey = '';
  private disposed = false;
  private readonly exitHook = (): void => this.dispose();

  private constructor(readonly opts: MeshOptions) {
    process.on('exit', this.exitHook);
    sweepStaleStateDirs();
    this.dir = join(tmpdir(), `meshd-e2e-${this.lab.prefix}`);
    mkdirSync(this.dir, { recursive: true });
    this.secretFile = join(this.dir, 'secret');
    writeFileSync(this.secretFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    this.inet = this.lab.host('inet', { forward: true });
    this.hubNs = this.lab.host('hub');
  }

  /** Builds the topology, starts the hub and every peer, waits until each peer registered. */
  static async start(tag: string, opts: MeshOptions): Promise<MeshLab> {
    const m = new MeshLab(opts);
    try {
      m.build(tag);
      await m.startAll(tag);
      return m;
    } catch (e) {
      console.log(m.logs());
      m.dispose();
      throw e;
    }
  }

  private build(tag: string): void {
    const { lab, inet } = this;
    const loss = this.opts.lossPercent ?? 0;
    const hubLink = lab.link(this.hubNs, inet, `${hubAddress}/24`, '203.0.113.1/24');
    lab.route(this.hubNs, 'default', '203.0.113.1');
    this.hubIf = hubLink.a;
    const inetIfs = [hubLink.b];
    this.opts.peers.forEach((spec, k) => {
      if (k > 28) throw new Error('at most 29 peers fit the addressing plan');
      const ns = lab.host(spec.name);
      const wanPeer = `198.51.100.${8 * k + 2}`;
      const wanGw = `198.51.100.${8 * k + 1}`;
      let underlay = wanPeer;
      let router: string | undefined;
      if (spec.placement === 'public') {
        const l = lab.link(ns, inet, `${wanPeer}/29`, `${wanGw}/29`);
        lab.route(ns, 'default', wanGw);
        inetIfs.push(l.b);
      } else {
        router = lab.host(`r${spec.name}`, { forward: true });
        const wan = lab.link(router, inet, `${wanPeer}/29`, `${wanGw}/29`);
        lab.route(router, 'default', wanGw);
        inetIfs.push(wan.b);
        underlay = `192.0.2.${16 * k + 2}`;
        const lan = lab.link(ns, router, `${underlay}/28`, `192.0.2.${16 * k + 1}/28`);
        lab.route(ns, 'default', `192.0.2.${16 * k + 1}`);
        lab.nat(router, wan.a, lan.b, { symmetric: spec.placement === 'symmetric', dropUnsolicited: true });
      }
      const overlay = `${this.opts.overlay24 ?? '10.9.0'}.${k + 2}`;
      const stateDir = join(this.dir, `peer-${spec.name}`);
      mkdirSync(stateDir, { recursive: true });
      this.peers.set(spec.name, { spec, ns, overlay, underlay, router, daemon: undefined as unknown as Daemon });
      say(tag, `peer ${spec.name}: ${spec.placement}, underlay ${underlay}${router ? ` behind NAT WAN ${wanPeer}` : ''}, overlay ${overlay}`);
    });
    if (loss > 0) {
      for (const ifc of inetIfs) lab.loss(inet, ifc, loss, 'in');
      say(tag, `${loss} % random loss on every internet ingress (${inetIfs.length} links)`);
    }
  }

  private async startAll(tag: string): Promise<void> {
    const hubState = join(this.dir, 'hub');
    mkdirSync(hubState, { recursive: true });
    const secretArgs = this.opts.defaultSecret ? [] : ['--secret-file', this.secretFile];
    const hubArgs = ['hub', '--listen', `${hubAddress}:${hubPort}`, '--network', this.opts.overlay24 ? `${this.opts.overlay24}.0/24` : overlayNetwork, ...secretArgs, '--state-dir', hubState, '--log-level', 'debug', ...(this.opts.hubArgs ?? [])];
    this.hub = new Daemon('hub', this.hubNs, hubState, hubArgs, this.lab);
    this.hub.start();
    const started = await this.hub.waitMsg('hub started');
    this.hubKey = String(started.publicKey ?? '');
    say(tag, `hub up at ${hubAddress}:${hubPort} (pid ${this.hub.pid}, key ${this.hubKey.slice(0, 12)}...)`);
    for (const p of this.peers.values()) {
      // A spec naming its own --hub gets only that one (--hub repeats: each one adds a hub).
      const ownHub = (p.spec.extraArgs ?? []).includes('--hub');
      const args = ['peer', ...(ownHub ? [] : ['--hub', `${hubAddress}:${hubPort}`]), ...secretArgs, '--state-dir', join(this.dir, `peer-${p.spec.name}`), '--tun', 'mtun0', '--log-level', 'debug'];
      if (!p.spec.omitLocal) args.push('--local', `${p.overlay}/24`);
      if (!p.spec.omitName) args.push('--name', p.spec.name);
      if (this.opts.pinHubKey) args.push('--hub-key', this.hubKey);
      args.push(...(p.spec.extraArgs ?? []));
      p.daemon = new Daemon(`peer ${p.spec.name}`, p.ns, join(this.dir, `peer-${p.spec.name}`), args, this.lab);
      if (!p.spec.noStart) p.daemon.start();
    }
    for (const p of this.peers.values()) {
      if (p.spec.noStart) continue;
      await p.daemon.waitMsg('registered with hub');
      say(tag, `peer ${p.spec.name} registered (pid ${p.daemon.pid})`);
    }
  }

  peer(name: string): PeerNode {
    const p = this.peers.get(name);
    if (!p) throw new Error(`no peer ${name}`);
    return p;
  }

  /** Waits until `from` logs a path change to `to` with the given path (or any path if omitted). */
  waitPath(from: string, to: string, path?: string, opts: { since?: number; timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
    const overlay = this.peer(to).overlay;
    return this.peer(from).daemon.waitFor(`path ${path ?? '(any)'} to ${overlay}`, (o) => {
      const ev = pathEvent(o);
      return ev !== undefined && ev.peer === overlay && (path === undefined || ev.path === path);
    }, opts);
  }

  /** The latest path `from` logged for `to`, or undefined. */
  lastPath(from: string, to: string): string | undefined {
    const overlay = this.peer(to).overlay;
    const recs = this.peer(from).daemon.seen((o) => pathEvent(o)?.peer === overlay);
    const last = recs[recs.length - 1]?.obj;
    return last === undefined ? undefined : pathEvent(last)?.path;
  }

  /** ping -c count from peer `from` to an overlay address; returns the received count. */
  async ping(from: string, to: string, count: number, opts: { intervalS?: number; waitS?: number; size?: number } = {}): Promise<{ sent: number; received: number; out: string }> {
    const interval = opts.intervalS ?? 0.2;
    const wait = opts.waitS ?? 1;
    const size = opts.size !== undefined ? ['-s', String(opts.size)] : [];
    const r = await runAsync(this.peer(from).ns, ['ping', '-n', '-q', '-c', String(count), '-i', String(interval), '-W', String(wait), ...size, to], 5000 + count * (interval + wait) * 1000);
    const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    return { sent: m ? Number(m[1]) : 0, received: m ? Number(m[2]) : 0, out: (r.stdout + r.stderr).trim() };
  }

  /** Pings once a second (bounded) until one reply; returns ms until success or throws. */
  async waitPing(from: string, to: string, timeoutMs = 15_000): Promise<number> {
    const started = Date.now();
    let last = '';
    for (let i = 0; i < Math.ceil(timeoutMs / 1000) + 1 && Date.now() - started < timeoutMs; i++) {
      const r = await this.ping(from, to, 1, { waitS: 1 });
      if (r.received === 1) return Date.now() - started;
      last = r.out;
    }
    throw new Error(`${from} could not ping ${to} within ${timeoutMs} ms; last: ${last}`);
  }

  /** `meshd status --json` for a daemon (the control socket in its state dir). */
  async status(d: Daemon): Promise<StatusJson> {
    const r = await runAsync(null, [process.execPath, cliPath, 'status', '--state-dir', d.stateDir, '--json'], 10_000);
    if (r.code !== 0) throw new StatusUnavailable(`meshd status --state-dir ${d.stateDir} --json -> ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(0, 400)}`);
    try {
      return JSON.parse(r.stdout) as StatusJson;
    } catch {
      throw new StatusUnavailable(`meshd status printed no JSON: ${r.stdout.slice(0, 400)}`);
    }
  }

  /** rx+tx bytes counted by the kernel on the hub's underlay link: what any relaying costs. */
  async hubLinkBytes(): Promise<number> {
    const r = await runAsync(this.hubNs, ['cat', `/sys/class/net/${this.hubIf}/statistics/rx_bytes`, `/sys/class/net/${this.hubIf}/statistics/tx_bytes`], 5000);
    const [rx, tx] = r.stdout.trim().split('\n').map(Number);
    if (!Number.isFinite(rx) || !Number.isFinite(tx)) throw new Error(`cannot read ${this.hubIf} counters in ${this.hubNs}: ${r.stderr}`);
    return rx! + tx!;
  }

  /** Ip ReasmReqds in a namespace: nonzero means some tunnel datagram was fragmented on the underlay. */
  async reassemblyRequests(ns: string): Promise<number> {
    const r = await runAsync(ns, ['cat', '/proc/net/snmp'], 5000);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('Ip:'));
    const names = lines[0]?.split(/\s+/) ?? [];
    const values = lines[1]?.split(/\s+/) ?? [];
    const i = names.indexOf('ReasmReqds');
    if (i < 0) throw new Error(`no ReasmReqds in /proc/net/snmp of ${ns}`);
    return Number(values[i]);
  }

  async killHub(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.hub.kill(signal);
  }

  /** Starts the hub again with the same flags and state dir (same key); waits for "hub started". */
  async restartHub(): Promise<void> {
    const since = this.hub.mark;
    this.hub.start();
    await this.hub.waitMsg('hub started', {}, { since });
  }

  async killPeer(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.peer(name).daemon.kill(signal);
  }

  /** Starts a peer again with the same flags and state dir; waits for "registered with hub". */
  async restartPeer(name: string): Promise<void> {
    const d = this.peer(name).daemon;
    const since = d.mark;
    d.start();
    await d.waitMsg('registered with hub', {}, { since });
  }

  /** Every daemon's last log lines. */
  logs(): string {
    const ds = [this.hub, ...[...this.peers.values()].map((p) => p.daemon)].filter((d) => d !== undefined);
    return ds.map((d) => d.tail()).join('\n');
  }

  /** Kills the daemons (by PID, via Lab), deletes namespaces and state dirs; idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    process.off('exit', this.exitHook);
    this.lab.dispose();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class StatusUnavailable extends Error {
  readonly code = 'STATUS_UNAVAILABLE';
}

export interface StatusPeer {
  name?: string;
  overlay?: string;
  path?: string;
  endpoint?: string;
  txBytes?: number;
  rxBytes?: number;
  [k: string]: unknown;
}

export interface StatusJson {
  role?: 'hub' | 'peer';
  peers?: StatusPeer[];
  relay?: { packets?: number; bytes?: number };
  /** The daemon as of this writing: hub totals at top level and members instead of peers. */
  relayedBytes?: number;
  relayedPackets?: number;
  members?: StatusPeer[];
  [k: string]: unknown;
}

// The brief's contract is {relay: {packets, bytes}} and peers[].overlay; the daemon as of this
// writing sends relayedBytes/relayedPackets and peers[].address (members[] on the hub). Read both.

/** Bytes the hub relayed in total, or NaN if the status has no such figure. */
export function relayBytes(st: StatusJson): number {
  return Number(st.relay?.bytes ?? st.relayedBytes ?? NaN);
}

/** Packets the hub relayed in total, or NaN. */
export function relayPackets(st: StatusJson): number {
  return Number(st.relay?.packets ?? st.relayedPackets ?? NaN);
}

/** The entry for overlay address `overlay` (or name) in a peer's (or hub's) status. */
export function statusPeer(st: StatusJson, overlay: string, name?: string): StatusPeer | undefined {
  const list = [...(st.peers ?? []), ...(st.members ?? [])];
  return list.find((p) => p.overlay === overlay || String(p.address ?? '').split('/')[0] === overlay || (name !== undefined && p.name === name));
}

/**
 * Starts a mesh, runs body, prints every daemon's last lines if body throws, and always disposes.
 * For single-test scenarios; suites sharing a mesh use MeshLab.start in beforeAll instead.
 */
export async function withMesh<T>(tag: string, opts: MeshOptions, body: (m: MeshLab) => Promise<T>): Promise<T> {
  const m = await MeshLab.start(tag, opts);
  try {
    return await body(m);
  } catch (e) {
    say(tag, `FAILED: ${(e as Error).message}\n${m.logs()}`);
    throw e;
  } finally {
    m.dispose();
  }
}
