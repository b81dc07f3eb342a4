// Several hubs sharing one network through a 3-node NATS JetStream cluster, in namespaces, for
// test/e2e/cluster-mesh.test.ts (issue 24): real nats-server, `meshd hub --cluster` and
// `meshd peer` processes, each NATS node and each hub in its own namespace on the test internet,
// peers behind nftables NAT routers (mesh-lab.ts's Lab.nat). dispose() (also on exit) removes all.
//
//   internet (router)
//     +-- nats k   203.0.113.(66+16k)/28, k = 0..2 (client 4222, routes 6222, monitor 8222)
//     +-- hub 1    203.0.113.2/28        hub 2  198.51.100.130/29    (UDP 7000)
//     +-- router k WAN 198.51.100.(8k+2)/29, LAN 192.0.2.(16k+1)/28 -- peer k 192.0.2.(16k+2)/28
//   overlay: peer k = 10.9.0.(k+2)/24 on TUN mtun0.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab } from './netns.js';
import { cliPath, Daemon, pathEvent, runAsync, say, type Placement } from './mesh-lab.js';
import { natsServerBinary } from './nats.js';

export const hubPort = 7000;
export const natsClientPort = 4222;
export const natsMonitorPort = 8222;
/** Every NATS node sits in this prefix (what a cut drops). */
export const natsPrefix = '203.0.113.64/26';
const overlay24 = '10.9.0';
const hubPlan = [
  { address: '203.0.113.2', gateway: '203.0.113.1', len: 28 },
  { address: '198.51.100.130', gateway: '198.51.100.129', len: 29 },
];

export interface ClusterPeerSpec {
  name: string;
  placement: Exclude<Placement, 'public'>;
  /** Home hub, 1 or 2 (its first --hub). */
  hub: 1 | 2;
  /** The other hub as a second --hub (a standby to fail over to). The peer's router drops traffic to
   * it until the peer registered on `hub` (waitRegistered), so home is `hub` whatever the RTTs. */
  standby?: 1 | 2;
  /** With standby: both hubs reachable from the start (home: the first that answers fastest). */
  freeChoice?: boolean;
  /** The peer's router drops UDP to this hub for good (TCP passes): the peer reaches it over its
   * TCP/TLS leg (--hub-transport auto) while the other hub stays on UDP. */
  udpBlockedTo?: 1 | 2;
}

export interface ClusterPeer {
  spec: ClusterPeerSpec;
  ns: string;
  router: string;
  overlay: string;
  daemon: Daemon;
}

export interface NatsNodeInNs {
  name: string;
  ns: string;
  address: string;
  child: ChildProcess | undefined;
  log: string[];
}

export interface ClusterHub {
  index: 1 | 2;
  ns: string;
  address: string;
  daemon: Daemon;
}

export class ClusterLab {
  readonly lab = new Lab();
  readonly dir = join(tmpdir(), `meshd-e2e-${this.lab.prefix}`);
  readonly secretFile = join(this.dir, 'secret');
  readonly credsFile = join(this.dir, 'nats.creds');
  readonly token = randomBytes(16).toString('hex');
  readonly inet: string;
  readonly nats: NatsNodeInNs[] = [];
  readonly hubs: ClusterHub[] = [];
  /** Each hub's public key (from its "hub started" line), given to peers as --hub HOST:PORT@KEY. */
  readonly hubKeys = new Map<1 | 2, string>();
  private readonly peers = new Map<string, ClusterPeer>();
  private disposed = false;
  private readonly exitHook = (): void => this.dispose();

  constructor(readonly tag: string) {
    process.on('exit', this.exitHook);
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.secretFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    writeFileSync(this.credsFile, `${this.token}\n`, { mode: 0o600 });
    this.inet = this.lab.host('inet', { forward: true });
  }

  get natsUrls(): string[] {
    return this.nats.map((n) => `nats://${n.address}:${natsClientPort}`);
  }

  /** Three NATS nodes (or `nodes`: 1 for a lean test), one namespace each, as one JetStream cluster;
   * waits (bounded) until healthy. */
  async startNats(timeoutMs = 30_000, nodes = 3): Promise<void> {
    const bin = natsServerBinary();
    if (bin === undefined) throw new Error('nats-server not installed (.ci/run installs it)');
    for (let k = 0; k < nodes; k++) {
      const ns = this.lab.host(`nats${k + 1}`);
      const address = `203.0.113.${66 + 16 * k}`;
      this.lab.link(ns, this.inet, `${address}/28`, `203.0.113.${65 + 16 * k}/28`);
      this.lab.route(ns, 'default', `203.0.113.${65 + 16 * k}`);
      this.nats.push({ name: `n${k + 1}`, ns, address, child: undefined, log: [] });
    }
    for (const n of this.nats) this.startNatsNode(n, bin);
    const end = Date.now() + timeoutMs;
    for (const n of this.nats) {
      for (;;) {
        const r = await runAsync(n.ns, ['curl', '-sf', '-m', '2', `http://${n.address}:${natsMonitorPort}/healthz`], 5_000);
        if (r.code === 0) break;
        if (Date.now() > end) throw new Error(`nats node ${n.name} not healthy within ${timeoutMs} ms: ${r.stdout}${r.stderr}\n${n.log.slice(-10).join('\n')}`);
        await new Promise((res) => setTimeout(res, 250));
      }
    }
    say(this.tag, `NATS JetStream cluster up: ${this.natsUrls.join(' ')}`);
  }

  private startNatsNode(n: NatsNodeInNs, bin: string): void {
    const store = join(this.dir, `nats-${n.name}`);
    const routes = this.nats.filter((o) => o !== n).map((o) => `nats://${o.address}:6222`).join(',');
    const args = ['-n', n.name, '-a', n.address, '-p', String(natsClientPort), '-m', String(natsMonitorPort), '-js', '-sd', store, '--auth', this.token,
      ...(this.nats.length > 1 ? ['--cluster_name', `meshd-${this.lab.prefix}`, '--cluster', `nats://${n.address}:6222`, '--routes', routes] : [])];
    const child = this.lab.spawn(n.ns, bin, args);
    const keep = (b: Buffer): void => {
      n.log.push(...b.toString().split('\n').filter((l) => l !== ''));
      if (n.log.length > 60) n.log.splice(0, n.log.length - 60);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    n.child = child;
  }

  /** kill -9 of one NATS node, by PID. */
  killNats(n: NatsNodeInNs): void {
    const c = n.child;
    if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
    n.child = undefined;
  }

  /** Client connections each NATS node holds (its /connz), -1 when it does not answer. */
  async natsConnections(): Promise<number[]> {
    return Promise.all(this.nats.map(async (n) => {
      if (n.child === undefined) return -1;
      const r = await runAsync(n.ns, ['curl', '-sf', '-m', '2', `http://${n.address}:${natsMonitorPort}/connz`], 5_000);
      try {
        return Number((JSON.parse(r.stdout) as { num_connections?: number }).num_connections ?? -1);
      } catch {
        return -1;
      }
    }));
  }

  /** Starts hub `index` (1 or 2) on its public address with --cluster to every NATS node. */
  async startHub(index: 1 | 2): Promise<ClusterHub> {
    const plan = hubPlan[index - 1]!;
    const ns = this.lab.host(`hub${index}`);
    this.lab.link(ns, this.inet, `${plan.address}/${plan.len}`, `${plan.gateway}/${plan.len}`);
    this.lab.route(ns, 'default', plan.gateway);
    const stateDir = join(this.dir, `hub${index}`);
    mkdirSync(stateDir, { recursive: true });
    const args = ['hub', '--listen', `${plan.address}:${hubPort}`, '--network', `${overlay24}.0/24`, '--secret-file', this.secretFile, '--state-dir', stateDir,
      '--log-level', 'debug', ...this.natsUrls.flatMap((u) => ['--cluster', u]), '--cluster-creds', this.credsFile];
    const hub: ClusterHub = { index, ns, address: plan.address, daemon: new Daemon(`hub${index}`, ns, stateDir, args, this.lab) };
    this.hubs.push(hub);
    hub.daemon.start();
    await hub.daemon.waitMsg('nats: joined the shared network state', {}, { timeoutMs: 40_000 });
    const started = await hub.daemon.waitMsg('hub started', {}, { timeoutMs: 10_000 });
    this.hubKeys.set(index, String(started.publicKey));
    say(this.tag, `hub ${index} up at ${plan.address}:${hubPort} (pid ${hub.daemon.pid})`);
    return hub;
  }

  /** Starts a killed hub again: same flags, state dir and key; waits until it runs and shares state. */
  async restartHub(index: 1 | 2): Promise<void> {
    const d = this.hub(index).daemon;
    const since = d.mark;
    d.start();
    await d.waitMsg('nats: joined the shared network state', {}, { since, timeoutMs: 70_000 });
    await d.waitMsg('hub started', {}, { since, timeoutMs: 10_000 });
  }

  private hubArg(index: 1 | 2): string {
    const key = this.hubKeys.get(index);
    if (key === undefined) throw new Error(`hub ${index} has not started: no key to give peers`);
    return `${hubPlan[index - 1]!.address}:${hubPort}@${key}`;
  }

  hub(index: 1 | 2): ClusterHub {
    const h = this.hubs.find((x) => x.index === index);
    if (!h) throw new Error(`no hub ${index}`);
    return h;
  }

  /** Builds peer k behind its own NAT router and starts its daemon (homed on spec.hub); does not wait. */
  addPeer(spec: ClusterPeerSpec): ClusterPeer {
    const k = this.peers.size;
    const ns = this.lab.host(spec.name);
    const router = this.lab.host(`r${spec.name}`, { forward: true });
    const wan = this.lab.link(router, this.inet, `198.51.100.${8 * k + 2}/29`, `198.51.100.${8 * k + 1}/29`);
    this.lab.route(router, 'default', `198.51.100.${8 * k + 1}`);
    const lan = this.lab.link(ns, router, `192.0.2.${16 * k + 2}/28`, `192.0.2.${16 * k + 1}/28`);
    this.lab.route(ns, 'default', `192.0.2.${16 * k + 1}`);
    this.lab.nat(router, wan.a, lan.b, { symmetric: spec.placement === 'symmetric', dropUnsolicited: true });
    const overlay = `${overlay24}.${k + 2}`;
    const stateDir = join(this.dir, `peer-${spec.name}`);
    mkdirSync(stateDir, { recursive: true });
    if (spec.standby !== undefined && !spec.freeChoice) {
      const rules = ['table inet meshd_block {', `  chain block { type filter hook forward priority 0; policy accept; ip daddr ${hubPlan[spec.standby - 1]!.address} drop; }`, '}'].join('\n');
      this.lab.exec(router, ['nft', '-f', '-'], { input: rules });
    }
    if (spec.udpBlockedTo !== undefined) {
      const rules = ['table inet meshd_udpblock {', `  chain block { type filter hook forward priority 0; policy accept; ip daddr ${hubPlan[spec.udpBlockedTo - 1]!.address} meta l4proto udp drop; ip saddr ${hubPlan[spec.udpBlockedTo - 1]!.address} meta l4proto udp drop; }`, '}'].join('\n');
      this.lab.exec(router, ['nft', '-f', '-'], { input: rules });
    }
    const hubArgs = [spec.hub, ...(spec.standby !== undefined ? [spec.standby] : [])].flatMap((h) => ['--hub', this.hubArg(h)]);
    const args = ['peer', ...hubArgs, '--secret-file', this.secretFile, '--state-dir', stateDir,
      '--tun', 'mtun0', '--log-level', 'debug', '--local', `${overlay}/24`, '--name', spec.name];
    const p: ClusterPeer = { spec, ns, router, overlay, daemon: new Daemon(`peer ${spec.name}`, ns, stateDir, args, this.lab) };
    this.peers.set(spec.name, p);
    p.daemon.start();
    say(this.tag, `peer ${spec.name}: ${spec.placement} NAT, homed on hub ${spec.hub}, overlay ${overlay}`);
    return p;
  }

  /** Waits (bounded) for the peer's first registration; then lets it reach its standby hub too. */
  async waitRegistered(name: string, timeoutMs = 30_000): Promise<void> {
    const p = this.peer(name);
    await p.daemon.waitMsg('registered with hub', {}, { timeoutMs });
    if (p.spec.standby !== undefined && !p.spec.freeChoice) this.lab.exec(p.router, ['nft', 'delete', 'table', 'inet', 'meshd_block']);
  }

  peer(name: string): ClusterPeer {
    const p = this.peers.get(name);
    if (!p) throw new Error(`no peer ${name}`);
    return p;
  }

  /** Drops all traffic between hub `index` and the NATS nodes (both ways, silently, as a partition). */
  cutFromNats(index: 1 | 2): void {
    const rules = ['table inet meshd_cut {',
      `  chain out { type filter hook output priority 0; policy accept; ip daddr ${natsPrefix} drop; }`,
      `  chain in { type filter hook input priority 0; policy accept; ip saddr ${natsPrefix} drop; }`, '}'].join('\n');
    this.lab.exec(this.hub(index).ns, ['nft', '-f', '-'], { input: rules });
  }

  healFromNats(index: 1 | 2): void {
    this.lab.exec(this.hub(index).ns, ['nft', 'delete', 'table', 'inet', 'meshd_cut']);
  }

  /** ping from a peer to an overlay address; the replies received. */
  async ping(from: string, to: string, count: number, waitS = 1): Promise<{ received: number; out: string }> {
    const r = await runAsync(this.peer(from).ns, ['ping', '-n', '-q', '-c', String(count), '-i', '0.2', '-W', String(waitS), to], 5_000 + count * (0.2 + waitS) * 1000);
    const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    return { received: m ? Number(m[2]) : 0, out: (r.stdout + r.stderr).trim() };
  }

  /** Pings once at a time (bounded) until a reply; returns the ms it took or throws. */
  async waitPing(from: string, to: string, timeoutMs = 20_000): Promise<number> {
    const t0 = Date.now();
    let last = '';
    while (Date.now() - t0 < timeoutMs) {
      const r = await this.ping(from, to, 1, 1);
      if (r.received === 1) return Date.now() - t0;
      last = r.out;
    }
    throw new Error(`${from} could not ping ${to} within ${timeoutMs} ms; last: ${last}`);
  }

  /** Waits (bounded) until `from` logs a path change to peer `to` (to `path` if given). */
  waitPath(from: string, to: string, path: string | undefined, timeoutMs: number): Promise<Record<string, unknown>> {
    const overlay = this.peer(to).overlay;
    return this.peer(from).daemon.waitFor(`path ${path ?? '(any)'} to ${overlay}`, (o) => {
      const ev = pathEvent(o);
      return ev !== undefined && ev.peer === overlay && (path === undefined || ev.path === path);
    }, { timeoutMs });
  }

  /**
   * ping -i 0.1 for `seconds` from `from` to `to` in the background; resolves with the replies and
   * the longest run of missing replies in seconds.
   */
  pingTrace(from: string, to: string, seconds: number): Promise<{ sent: number; received: number; longestGapS: number }> {
    const count = Math.round(seconds * 10);
    return runAsync(this.peer(from).ns, ['ping', '-n', '-i', '0.1', '-W', '1', '-c', String(count), to], (seconds + 10) * 1000).then((r) => {
      const seqs = [...r.stdout.matchAll(/icmp_seq=(\d+)/g)].map((x) => Number(x[1]));
      let gap = 0;
      let prev = 0;
      for (const s of [...seqs, count + 1]) {
        gap = Math.max(gap, s - prev - 1);
        prev = s;
      }
      return { sent: count, received: new Set(seqs).size, longestGapS: gap / 10 };
    });
  }

  /** The latest path `from` logged for peer `to` (direct, lan, relay), or undefined. */
  lastPath(from: string, to: string): string | undefined {
    const overlay = this.peer(to).overlay;
    const recs = this.peer(from).daemon.seen((o) => pathEvent(o)?.peer === overlay);
    const last = recs[recs.length - 1]?.obj;
    return last === undefined ? undefined : pathEvent(last)?.path;
  }

  /** `meshd status --json` of a daemon, or undefined when it does not answer. */
  async status(d: Daemon): Promise<Record<string, unknown> | undefined> {
    const r = await runAsync(null, [process.execPath, cliPath, 'status', '--state-dir', d.stateDir, '--json'], 10_000);
    if (r.code !== 0) return undefined;
    try {
      return JSON.parse(r.stdout) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  /** Every process's last lines, for a failure report. */
  logs(): string {
    const ds = [...this.hubs.map((h) => h.daemon), ...[...this.peers.values()].map((p) => p.daemon)];
    return [...this.nats.map((n) => `----- nats ${n.name} (${n.child ? 'running' : 'killed'}) -----\n${n.log.slice(-15).join('\n')}`), ...ds.map((d) => d.tail())].join('\n');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    process.off('exit', this.exitHook);
    this.lab.dispose();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
