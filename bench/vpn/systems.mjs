// The systems under test for bench/vpn/run.mjs, each started the same way on the same topology
// (peer A -> peer B; the hub namespace H is used by meshd only). start(topo) resolves to
// { iperf: {host, port}, echo: {host, port}, ping: addr|null, pids: {a, b, h?}, logs() } and
// stop() ends only the children it started (by pid, through the lab).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addr, addr6, run } from './lab.mjs';
import { echoPort, iperfPort, runAsync } from './measure.mjs';
import { meshdLaunch } from './launch.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const overlayA = '10.9.0.2';
const overlayB = '10.9.0.3';
// --family 6 rows: the overlay IPv6 /64 and the peers' addresses in it (namespaces only).
const network6 = 'fd00:9::/64';
const overlay6A = 'fd00:9::a09:2'; // the IPv6 twins of 10.9.0.2 and 10.9.0.3 (the hub's rule)
const overlay6B = 'fd00:9::a09:3';

/** Keeps the last lines of a child's output and lets callers wait for a pattern (bounded). */
function track(child, label) {
  const lines = [];
  const waiters = new Set();
  let buf = '';
  const onData = (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      if (lines.length > 100) lines.shift();
      for (const w of waiters) w(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return {
    label,
    child,
    lines,
    waitFor(re, ms) {
      if (lines.some((l) => re.test(l))) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (ok) => {
          clearTimeout(timer);
          waiters.delete(w);
          child.off('exit', onExit);
          resolve(ok);
        };
        const w = (line) => re.test(line) && done(true);
        const onExit = () => done(false);
        const timer = setTimeout(() => done(false), ms);
        waiters.add(w);
        child.on('exit', onExit);
      });
    },
  };
}

function kill(t) {
  const c = t.child;
  if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) c.kill('SIGTERM');
}

async function killAll(tracked) {
  for (const t of tracked) kill(t);
  for (let i = 0; i < 30 && tracked.some((t) => t.child.exitCode === null && t.child.signalCode === null); i++) await sleep(100);
  for (const t of tracked) if (t.child.exitCode === null && t.child.signalCode === null) t.child.kill('SIGKILL');
}

function logs(tracked) {
  return tracked.map((t) => `--- ${t.label}\n${t.lines.slice(-15).join('\n')}`).join('\n');
}

/** Waits (bounded: 150 x 100 ms) until a UDP socket is bound to port in ns, or the daemon exits. */
async function udpListening(lab, ns, port, t) {
  for (let i = 0; i < 150; i++) {
    if (t.child.exitCode !== null || t.child.signalCode !== null) return false;
    if (lab.sh(ns, `ss -Hlun 'sport = :${port}'`, { allowFail: true }).trim() !== '') return true;
    await sleep(100);
  }
  return false;
}

/** Pings dst from ns until it answers: bounded to `tries` one-second attempts. */
async function pingUntil(ns, dst, tries) {
  for (let i = 0; i < tries; i++) {
    const r = await runAsync(ns, ['ping', '-n', '-c', '1', '-W', '1', dst], 3000);
    if (r.code === 0) return true;
  }
  return false;
}

export const underlay = {
  name: 'underlay',
  label: 'underlay (kernel, no tunnel)',
  async start() {
    return { iperf: { host: addr.b, port: iperfPort }, echo: { host: addr.b, port: echoPort }, ping: addr.b, pids: {}, stop: async () => {}, logs: () => '' };
  },
};

/** The kernel path over the IPv6 underlay (--family 6). */
export const underlay6 = {
  name: 'underlay v6',
  label: 'underlay v6 (kernel, no tunnel)',
  async start() {
    return { iperf: { host: addr6.b, port: iperfPort }, echo: { host: addr6.b, port: echoPort }, ping: addr6.b, pids: {}, stop: async () => {}, logs: () => '' };
  },
};

export const wireguardGo = {
  name: 'wireguard-go',
  label: 'wireguard-go',
  async start({ lab, ns }) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-wg-'));
    const tracked = [];
    const stop = async () => {
      await killAll(tracked);
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      const keys = {};
      for (const side of ['a', 'b']) {
        const priv = run(['wg', 'genkey']).stdout.trim();
        writeFileSync(join(dir, `${side}.key`), priv + '\n', { mode: 0o600 });
        keys[side] = { priv: join(dir, `${side}.key`), pub: run(['wg', 'pubkey'], { input: priv + '\n' }).stdout.trim() };
      }
      const env = { ...process.env, LOG_LEVEL: 'error', WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' };
      const sides = [
        { side: 'a', dev: 'wga', me: overlayA, other: 'b', endpoint: addr.b, allowed: overlayB },
        { side: 'b', dev: 'wgb', me: overlayB, other: 'a', endpoint: addr.a, allowed: overlayA },
      ];
      for (const s of sides) {
        // Unique device names: wireguard-go's control socket path (/var/run/wireguard/<dev>.sock) is shared by all namespaces.
        const t = track(lab.spawn(ns[s.side], 'wireguard-go', ['-f', s.dev], { env }), `wireguard-go ${s.side}`);
        tracked.push(t);
        let up = false;
        for (let i = 0; i < 50 && !up; i++) {
          up = lab.exec(ns[s.side], ['wg', 'show', s.dev], { allowFail: true }).status === 0;
          if (!up) await sleep(100);
        }
        if (!up) throw new Error(`wireguard-go ${s.side} did not come up\n${logs(tracked)}`);
        lab.exec(ns[s.side], ['wg', 'set', s.dev, 'private-key', keys[s.side].priv, 'listen-port', '51820', 'peer', keys[s.other].pub, 'endpoint', `${s.endpoint}:51820`, 'allowed-ips', `${s.allowed}/32`]);
        lab.exec(ns[s.side], ['ip', 'addr', 'add', `${s.me}/24`, 'dev', s.dev]);
        lab.exec(ns[s.side], ['ip', 'link', 'set', s.dev, 'mtu', '1420', 'up']);
      }
      if (!(await pingUntil(ns.a, overlayB, 15))) throw new Error(`wireguard-go: no ping across\n${logs(tracked)}`);
      return { iperf: { host: overlayB, port: iperfPort }, echo: { host: overlayB, port: echoPort }, ping: overlayB, pids: { a: tracked[0].child.pid, b: tracked[1].child.pid }, stop, logs: () => logs(tracked) };
    } catch (err) {
      await stop();
      throw err;
    }
  },
};

/** kcptun as a TCP port forward: client in A, server in B -> the iperf3 (and echo) server. */
export const kcptun = {
  name: 'kcptun',
  label: 'kcptun (fast, aes, FEC 10/3, nocomp)',
  async start({ lab, ns }) {
    const tracked = [];
    const stop = () => killAll(tracked);
    try {
      const common = ['--key', 'bench-secret', '--crypt', 'aes', '--mode', 'fast', '--nocomp', '--quiet'];
      const pairs = [
        { kcpPort: 29900, local: 12948, target: iperfPort },
        { kcpPort: 29901, local: 12949, target: echoPort },
      ];
      for (const p of pairs) {
        tracked.push(track(lab.spawn(ns.b, 'kcptun-server', ['-l', `${addr.b}:${p.kcpPort}`, '-t', `127.0.0.1:${p.target}`, ...common]), `kcptun-server ${p.kcpPort}`));
        tracked.push(track(lab.spawn(ns.a, 'kcptun-client', ['-l', `127.0.0.1:${p.local}`, '-r', `${addr.b}:${p.kcpPort}`, ...common]), `kcptun-client ${p.local}`));
      }
      for (const t of tracked) if (!(await t.waitFor(/listening on|version/i, 5000))) throw new Error(`${t.label} did not start\n${logs(tracked)}`);
      return { iperf: { host: '127.0.0.1', port: 12948 }, echo: { host: '127.0.0.1', port: 12949 }, ping: null, pids: { a: tracked[1].child.pid, b: tracked[0].child.pid }, stop, logs: () => logs(tracked) };
    } catch (err) {
      await stop();
      throw err;
    }
  },
};

/**
 * nebula 1.6 as installed: a CA and two host certificates made per start, A and B find each other
 * through static_host_map (no lighthouse), firewall open, its default MTU (1300) and socket buffers.
 */
export const nebula = {
  name: 'nebula',
  label: 'nebula',
  async start({ lab, ns }) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-nebula-'));
    const tracked = [];
    const stop = async () => {
      await killAll(tracked);
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      const f = (n) => join(dir, n);
      run(['nebula-cert', 'ca', '-name', 'bench', '-out-crt', f('ca.crt'), '-out-key', f('ca.key')]);
      const sides = [
        { side: 'a', dev: 'neba', me: overlayA, other: overlayB, endpoint: addr.b },
        { side: 'b', dev: 'nebb', me: overlayB, other: overlayA, endpoint: addr.a },
      ];
      for (const s of sides) {
        run(['nebula-cert', 'sign', '-ca-crt', f('ca.crt'), '-ca-key', f('ca.key'), '-name', s.side, '-ip', `${s.me}/24`, '-out-crt', f(`${s.side}.crt`), '-out-key', f(`${s.side}.key`)]);
        const any = [{ port: 'any', proto: 'any', host: 'any' }];
        // JSON is YAML: nebula reads this as its config file.
        const config = {
          pki: { ca: f('ca.crt'), cert: f(`${s.side}.crt`), key: f(`${s.side}.key`) },
          static_host_map: { [s.other]: [`${s.endpoint}:4242`] },
          lighthouse: { am_lighthouse: false, hosts: [] },
          listen: { host: '0.0.0.0', port: 4242 },
          punchy: { punch: false },
          tun: { disabled: false, dev: s.dev },
          logging: { level: 'error', format: 'text' },
          firewall: { outbound: any, inbound: any },
        };
        writeFileSync(f(`${s.side}.yml`), JSON.stringify(config));
        tracked.push(track(lab.spawn(ns[s.side], 'nebula', ['-config', f(`${s.side}.yml`)]), `nebula ${s.side}`));
      }
      if (!(await pingUntil(ns.a, overlayB, 20))) throw new Error(`nebula: no ping across\n${logs(tracked)}`);
      return { iperf: { host: overlayB, port: iperfPort }, echo: { host: overlayB, port: echoPort }, ping: overlayB, pids: { a: tracked[0].child.pid, b: tracked[1].child.pid }, stop, logs: () => logs(tracked) };
    } catch (err) {
      await stop();
      throw err;
    }
  },
};

/** Relay mode: A and B drop UDP to each other (nft table benchrelay), so every path but the hub's relay fails. */
function blockDirect(lab, ns) {
  for (const [n, other] of [[ns.a, addr.b], [ns.b, addr.a]]) {
    lab.exec(n, ['nft', 'delete', 'table', 'inet', 'benchrelay'], { allowFail: true });
    lab.exec(n, ['nft', '-f', '-'], { input: `table inet benchrelay {\n chain out {\n  type filter hook output priority 0; policy accept;\n  ip daddr ${other} meta l4proto udp drop\n }\n}\n` });
  }
}

/** --family 6 rows with a v6 underlay: A-B UDP over IPv4 dropped, so the direct path is the v6 one. */
function blockV4Direct(lab, ns) {
  for (const [n, other] of [[ns.a, addr.b], [ns.b, addr.a]]) {
    lab.exec(n, ['nft', 'delete', 'table', 'inet', 'benchfamily'], { allowFail: true });
    lab.exec(n, ['nft', '-f', '-'], { input: `table inet benchfamily {\n chain out {\n  type filter hook output priority 0; policy accept;\n  ip daddr ${other} meta l4proto udp drop\n }\n}\n` });
  }
}

function unblockV4Direct(lab, ns) {
  for (const n of [ns.a, ns.b]) lab.exec(n, ['nft', 'delete', 'table', 'inet', 'benchfamily'], { allowFail: true });
}

function unblockDirect(lab, ns) {
  for (const n of [ns.a, ns.b]) lab.exec(n, ['nft', 'delete', 'table', 'inet', 'benchrelay'], { allowFail: true });
}

/** meshd: hub in H, peers in A and B with TUN devices; transport and KCP mode per row. */
/** cpuProfDir: when set, peers run under `node --cpu-prof` (profiles written when they exit). */
/** label: the row's name prefix ('meshd', or 'meshd A'/'meshd B' for two trees side by side). */
/** relay: { rateMbit } to carry A-B through the hub's relay (direct UDP between A and B blocked,
 *  the hub run with --relay-rate rateMbit); null for the direct path. */
/** family: { underlay, overlay } (4 or 6, --family 6 topologies): the hub and the A-B path on
 *  2001:db8:: (IPv4 A-B UDP dropped), and/or iperf3 and ping to B's overlay IPv6 address. */
export function meshd(cliPath, transport, kcpMode, cpuProfDir = null, label = 'meshd', relay = null, family = { underlay: 4, overlay: 4 }) {
  const base0 = transport === 'kcp' ? `${label} kcp ${kcpMode}` : `${label} datagram`;
  const base = family.underlay === 6 || family.overlay === 6 ? `${base0} u${family.underlay}/o${family.overlay}` : base0;
  const name = relay ? `${base} relay ${relay.rateMbit >= 100_000 ? 'uncapped' : `${relay.rateMbit}M`}` : base;
  const u6 = family.underlay === 6;
  const hubAt = u6 ? `[${addr6.h}]:7000` : `${addr.h}:7000`;
  const target = family.overlay === 6 ? overlay6B : overlayB;
  return {
    name,
    label: name,
    async start({ lab, ns }) {
      const dir = mkdtempSync(join(tmpdir(), 'bench-meshd-'));
      const tracked = [];
      const stop = async () => {
        await killAll(tracked);
        if (relay) unblockDirect(lab, ns);
        if (u6) unblockV4Direct(lab, ns);
        rmSync(dir, { recursive: true, force: true });
      };
      try {
        if (relay) blockDirect(lab, ns);
        if (u6) blockV4Direct(lab, ns);
        const secret = join(dir, 'secret');
        writeFileSync(secret, 'bench-secret-0123456789abcdef\n', { mode: 0o600 });
        const hubLaunch = meshdLaunch(cliPath);
        const hub = track(lab.spawn(ns.h, hubLaunch.cmd, [...hubLaunch.pre, 'hub', '--listen', u6 ? '[::]:7000' : `${addr.h}:7000`, '--network', '10.9.0.0/24', ...(family.overlay === 6 ? ['--network6', network6] : []), '--secret-file', secret, '--state-dir', join(dir, 'hub'), '--log-level', 'info', ...(relay ? ['--relay-rate', String(relay.rateMbit)] : [])]), 'meshd hub');
        tracked.push(hub);
        // Readiness by what the hub does (its UDP port is bound), not by a log line: the two trees of
        // an A/B run may word their logs differently.
        if (!(await udpListening(lab, ns.h, 7000, hub))) throw new Error(`meshd hub did not start\n${logs(tracked)}`);
        const peers = [
          { side: 'a', local: `${overlayA}/24`, local6: `${overlay6A}/64`, name: 'a', tun: 'mta' },
          { side: 'b', local: `${overlayB}/24`, local6: `${overlay6B}/64`, name: 'b', tun: 'mtb' },
        ];
        for (const p of peers) {
          const prof = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `${name.replace(/ /g, '-')}-${p.name}-${Date.now()}.cpuprofile`] : [];
          const launch = meshdLaunch(cliPath, prof);
          const args = [...launch.pre, 'peer', '--hub', hubAt, ...(u6 ? ['--listen', '[::]:0'] : []), ...(family.overlay === 6 ? ['--local6', p.local6] : []), '--local', p.local, '--name', p.name, '--secret-file', secret, '--state-dir', join(dir, p.name), '--tun', p.tun, '--transport', transport];
          if (transport === 'kcp') args.push('--kcp-mode', kcpMode);
          // Extra peer flags for a whole run, e.g. MESHD_BENCH_PEER_ARGS="--fec off" (issue 19 A/B).
          args.push(...(process.env.MESHD_BENCH_PEER_ARGS ?? '').split(' ').filter(Boolean));
          tracked.push(track(lab.spawn(ns[p.side], launch.cmd, args), `meshd peer ${p.side}`));
        }
        if (!(await pingUntil(ns.a, target, 30))) throw new Error(`${name}: no ping across\n${logs(tracked)}`);
        // The first packets go through the hub's relay while the peers punch; measure the direct
        // path a user has after that (the start time below includes it).
        if (!relay) {
          const direct = await runAsync(ns.a, [process.execPath, cliPath, 'ping', 'b', '--until-direct', '--state-dir', join(dir, 'a')], 30000);
          if (direct.code !== 0) throw new Error(`${name}: no direct path\n${direct.stdout}${direct.stderr}\n${logs(tracked)}`);
          // A v6-underlay row must run on a v6 path: A's view of B's endpoint shows it ([addr]:port).
          if (u6) {
            const st = await runAsync(ns.a, [process.execPath, cliPath, 'status', '--state-dir', join(dir, 'a')], 10000);
            if (!st.stdout.includes(`[${addr6.b}]`)) throw new Error(`${name}: the direct path is not over IPv6\n${st.stdout}`);
          }
        }
        return {
          iperf: { host: target, port: iperfPort },
          echo: { host: target, port: echoPort },
          ping: target,
          pids: { a: tracked[1].child.pid, b: tracked[2].child.pid, h: hub.child.pid },
          // The hub's relay counters (drops by reason, shaping queue), for relay rows.
          hubStatus: () => {
            const r = lab.exec(ns.h, [process.execPath, cliPath, 'status', '--json', '--state-dir', join(dir, 'hub')], { allowFail: true });
            try {
              const j = JSON.parse(r.stdout);
              return { relayedBytes: j.relayedBytes, relayedPackets: j.relayedPackets, overBudget: j.drops?.relay_over_budget ?? null, relayQueue: j.relayQueue ?? null, drops: j.drops ?? {} };
            } catch {
              return null;
            }
          },
          // A peer's `status --json` ('a' or 'b'), or null; without a side, both as { a, b } (KCP
          // retransmits, FEC shape and repairs around a transfer, issue 19).
          peerStatus: (side) => {
            const one = (s) => {
              const r = lab.exec(ns[s], [process.execPath, cliPath, 'status', '--json', '--state-dir', join(dir, s)], { allowFail: true });
              try {
                return JSON.parse(r.stdout);
              } catch {
                return null;
              }
            };
            return side === undefined ? { a: one('a'), b: one('b') } : one(side);
          },
          stop,
          logs: () => logs(tracked),
        };
      } catch (err) {
        await stop();
        throw err;
      }
    },
  };
}
