// Relayed meshd rows for bench/vpn/run.mjs (issue 21): a and b always meet through the hub relay
// (the router drops UDP between A and B, so punching fails); each row names a's and b's hub legs
// (--hub-transport udp|tcp) and both peers' --transport (kcp, datagram, or auto: the per-pair choice,
// peer/leg-channel-choice.ts). run.mjs puts the delay on A's link; the loss goes on A's link too,
// or with RELAY_LOSS_ON=b on B's (the router's interface toward B, both ways), so that it hits the
// UDP leg whichever end is on TCP. iperf3 and the echo run a -> b.
//   npm run build && node bench/vpn/run.mjs --systems 'a:udp b:tcp' --delays 20 --loss 0,5 --streams 1 --echo --runs 5
//   RELAY_LOSS_ON=b node bench/vpn/run.mjs --systems 'a:tcp b:udp,a:udp b:udp kcp' ...
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addr } from '../vpn/lab.mjs';
import { echoPort, iperfPort, runAsync } from '../vpn/measure.mjs';
import { meshdLaunch } from '../vpn/launch.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const overlayA = '10.9.0.2';
const overlayB = '10.9.0.3';

function track(child, label) {
  const lines = [];
  let buf = '';
  const onData = (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (lines.length > 100) lines.shift();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return { label, child, lines };
}

const alive = (t) => t.child.exitCode === null && t.child.signalCode === null;

async function killAll(tracked) {
  for (const t of tracked) if (alive(t) && t.child.pid !== undefined) t.child.kill('SIGTERM');
  for (let i = 0; i < 30 && tracked.some(alive); i++) await sleep(100);
  for (const t of tracked) if (alive(t)) t.child.kill('SIGKILL');
}

const logs = (tracked) => tracked.map((t) => `--- ${t.label}\n${t.lines.slice(-15).join('\n')}`).join('\n');

/** No UDP between A and B through the router: the pair can only meet through the hub relay. */
function blockDirect(lab, r, on) {
  lab.exec(r, ['nft', 'delete', 'table', 'inet', 'benchrelay'], { allowFail: true });
  if (!on) return;
  const rule = [
    'table inet benchrelay {',
    '  chain block { type filter hook forward priority -200; policy accept;',
    `    ip saddr ${addr.a} ip daddr ${addr.b} meta l4proto udp drop`,
    `    ip saddr ${addr.b} ip daddr ${addr.a} meta l4proto udp drop`,
    '  }',
    '}',
  ].join('\n');
  lab.exec(r, ['nft', '-f', '-'], { input: rule });
}

/** Bounded: tries one-second pings. */
async function pingUntil(ns, dst, tries) {
  for (let i = 0; i < tries; i++) {
    const r = await runAsync(ns, ['ping', '-n', '-c', '1', '-W', '1', dst], 3000);
    if (r.code === 0) return true;
  }
  return false;
}

/** b's status JSON through the CLI (bounded by runAsync's timeout). */
async function statusOf(ns, cliPath, stateDir) {
  const r = await runAsync(ns, [process.execPath, cliPath, 'status', '--json', '--state-dir', stateDir], 10_000);
  try {
    return JSON.parse(r.stdout);
  } catch {
    return null;
  }
}

/** R's interface toward B (the route the router takes to b's underlay address). */
function routerIfTowardB(lab, r) {
  const m = /dev (\S+)/.exec(lab.exec(r, ['ip', 'route', 'get', addr.b]).stdout);
  if (!m) throw new Error('no route to B in the router');
  return m[1];
}

/** aLeg, bLeg: each peer's --hub-transport (udp|tcp); transport: both peers' --transport. */
export function meshdRelay(cliPath, aLeg, bLeg, transport) {
  const name = `meshd relay a:${aLeg} b:${bLeg} ${transport}`;
  return {
    name,
    label: `meshd relayed, a's hub leg ${aLeg.toUpperCase()}, b's ${bLeg.toUpperCase()}, --transport ${transport}`,
    async start({ lab, ns }) {
      const dir = mkdtempSync(join(tmpdir(), 'bench-relay-'));
      const tracked = [];
      const stop = async () => {
        await killAll(tracked);
        blockDirect(lab, ns.r, false);
        rmSync(dir, { recursive: true, force: true });
      };
      try {
        blockDirect(lab, ns.r, true);
        const secret = join(dir, 'secret');
        writeFileSync(secret, 'bench-secret-0123456789abcdef\n', { mode: 0o600 });
        const launch = meshdLaunch(cliPath);
        const hub = track(lab.spawn(ns.h, launch.cmd, [...launch.pre, 'hub', '--listen', `${addr.h}:7000`, '--network', '10.9.0.0/24', '--secret-file', secret, '--state-dir', join(dir, 'hub'), '--log-level', 'info']), 'meshd hub');
        tracked.push(hub);
        for (let i = 0; i < 100 && !hub.lines.some((l) => l.includes('stream transport on TCP')); i++) await sleep(100);
        const peers = [
          { side: 'a', local: `${overlayA}/24`, leg: aLeg, tun: 'mra' },
          { side: 'b', local: `${overlayB}/24`, leg: bLeg, tun: 'mrb' },
        ];
        for (const p of peers) {
          const args = [...launch.pre, 'peer', '--hub', `${addr.h}:7000`, '--local', p.local, '--name', p.side, '--secret-file', secret, '--state-dir', join(dir, p.side), '--tun', p.tun, '--transport', transport, '--hub-transport', p.leg];
          tracked.push(track(lab.spawn(ns[p.side], launch.cmd, args), `meshd peer ${p.side}`));
        }
        if (!(await pingUntil(ns.a, overlayB, 40))) throw new Error(`${name}: no ping across\n${logs(tracked)}`);
        for (const [side, want] of [['a', aLeg], ['b', bLeg]]) {
          const leg = (await statusOf(ns[side], cliPath, join(dir, side)))?.hubTransport?.leg;
          if (leg !== want) throw new Error(`${name}: ${side}'s hub leg is ${leg}, not ${want}\n${logs(tracked)}`);
        }
        return {
          ...(process.env.RELAY_LOSS_ON === 'b' ? { lossIf: routerIfTowardB(lab, ns.r) } : {}),
          /** a's data-channel mode toward b and why (auto rows), for the run's log. */
          channelMode: async () => (await statusOf(ns.a, cliPath, join(dir, 'a')))?.peers?.[0]?.channelMode ?? null,
          iperf: { host: overlayB, port: iperfPort }, echo: { host: overlayB, port: echoPort }, ping: overlayB, pids: { a: tracked[1].child.pid, b: tracked[2].child.pid, h: hub.child.pid }, stop, logs: () => logs(tracked) };
      } catch (err) {
        await stop();
        throw err;
      }
    },
  };
}

export const relaySystems = (cliPath) => [
  ...['kcp', 'datagram'].map((t) => meshdRelay(cliPath, 'udp', 'udp', t)),
  ...['kcp', 'datagram', 'auto'].map((t) => meshdRelay(cliPath, 'udp', 'tcp', t)),
  ...['kcp', 'datagram', 'auto'].map((t) => meshdRelay(cliPath, 'tcp', 'udp', t)),
];
