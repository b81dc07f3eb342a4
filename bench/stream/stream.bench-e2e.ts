// Stream transport figures (issue 21) for docs/STREAM.md, in the e2e lab (test/helpers/mesh-lab.ts):
// a behind a symmetric NAT (so a <-> b always goes through the hub relay), b behind a home NAT.
// Rows: a's hub leg on UDP vs TCP, with KCP and with datagram mode; a's uplink dropping 30 % of UDP
// (what auto picks, and goodput and echo on each leg pinned); 1,000 idle connections against the hub.
// Each row: ping a -> b (40 x 0.1 s: loss and avg rtt), iperf3 a -> b for SECONDS (default 5).
// Not CI. Run: npm run build && npx vitest run --config bench/stream/vitest.config.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { describeRoot } from '../../test/helpers/root.js';
import { repoRoot, requireDist, runAsync, say, withMesh, type MeshLab } from '../../test/helpers/mesh-lab.js';
import { iperfClient, startIperfServer } from '../../test/helpers/iperf.js';

const seconds = Number(process.env.SECONDS_PER_ROW ?? 5);
/** Each row this many times (the machine is shared: report the spread). */
const repeat = Number(process.env.REPEAT ?? 1);
const rows: string[] = [];

async function measure(m: MeshLab, label: string): Promise<void> {
  const b = m.peer('b').overlay;
  await m.waitPing('a', b, 30_000);
  const p = await m.ping('a', b, 40, { intervalS: 0.1 });
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(p.out)?.[1] ?? '-';
  const srv = await startIperfServer(m, 'b');
  const ip = await iperfClient(m, 'a', b, srv.port, { seconds, timeoutMs: 60_000 });
  const st = await m.status(m.peer('a').daemon).catch(() => ({}) as Record<string, unknown>);
  const t = (st as { hubTransport?: { leg: string; reason: string } }).hubTransport;
  const row = `| ${label} | ${t?.leg ?? '?'} | ${p.received}/${p.sent} | ${rtt} | ${ip.ok ? ip.mbitPerS.toFixed(1) : `failed (${ip.error.slice(0, 40)})`} | ${ip.retransmits} |`;
  rows.push(row);
  say('bench', row);
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const udpLoss = (m: MeshLab, pct: number): void => {
  const u = m.peer('a').underlay;
  m.lab.exec(m.peer('a').router!, ['nft', '-f', '-'], { input: `table inet bench_loss {\n chain block { type filter hook forward priority -10; policy accept;\n  ip saddr ${u} meta l4proto udp numgen random mod 100 < ${pct} drop\n }\n}` });
};

describeRoot('stream transport bench', () => {
  const peers = (aArgs: string[], bArgs: string[] = []) => [
    { name: 'a', placement: 'symmetric' as const, extraArgs: aArgs },
    { name: 'b', placement: 'nat' as const, extraArgs: bArgs },
  ];

  it('relayed a -> b: hub leg UDP vs TCP, KCP vs datagram', async () => {
    requireDist();
    for (const [label, a, both] of [
      ['UDP leg, KCP', ['--hub-transport', 'udp'], []],
      ['TCP leg, KCP', ['--hub-transport', 'tcp'], []],
      ['UDP leg, datagram', ['--hub-transport', 'udp'], ['--transport', 'datagram']],
      ['TCP leg, datagram', ['--hub-transport', 'tcp'], ['--transport', 'datagram']],
    ] as const) {
      for (let i = 0; i < repeat; i++) await withMesh('bench', { peers: peers([...a, ...both], [...both]) }, (m) => measure(m, label));
    }
  });

  it('a\'s uplink drops 30 % of UDP: what auto picks; each leg pinned', async () => {
    for (const [label, a] of [
      ['30 % UDP loss, auto', ['--hub-transport', 'auto']],
      ['30 % UDP loss, UDP pinned', ['--hub-transport', 'udp']],
      ['30 % UDP loss, TCP pinned', ['--hub-transport', 'tcp']],
    ] as const) {
      await withMesh('bench', { peers: peers([...a]).map((p) => ({ ...p, noStart: p.name === 'a' })) }, async (m) => {
        udpLoss(m, 30);
        const d = m.peer('a').daemon;
        d.start();
        await d.waitMsg('registered with hub', {}, { timeoutMs: 60_000 });
        if (label.endsWith('auto')) {
          const t0 = Date.now();
          const ev = await d.waitFor('a switch', (o) => typeof o.to === 'string' && typeof o.from === 'string', { timeoutMs: 120_000 }).catch(() => undefined);
          say('bench', `auto: ${ev ? `${String(ev.msg)} after ${Date.now() - t0} ms` : 'stayed on UDP for 120 s'}`);
        }
        await measure(m, label);
      });
    }
  });

  it('1,000 idle TCP connections, half-open TLS and garbage against the hub', async () => {
    await withMesh('bench', { peers: [{ name: 'a', placement: 'nat' }, { name: 'b', placement: 'nat' }, { name: 'x', placement: 'public', noStart: true }], hubArgs: ['--listen-tls', '443'] }, async (m) => {
      const before = rssMb(m.hub.pid!);
      const flood = runAsync(m.peer('x').ns, [process.execPath, join(repoRoot, 'test', 'helpers', 'stream-flood.mjs'), '203.0.113.2', '7000', '443', '1000', '15000'], 60_000);
      await new Promise((r) => setTimeout(r, 2000));
      const p = await m.ping('a', m.peer('b').overlay, 40, { intervalS: 0.1 });
      const f = await flood;
      const st = await m.status(m.hub);
      const row = `flood: ${f.stdout.trim()}; hub ${JSON.stringify((st as { stream?: unknown }).stream)}; ping a -> b during: ${p.received}/${p.sent}; hub RSS ${before.toFixed(0)} -> ${rssMb(m.hub.pid!).toFixed(0)} MB`;
      rows.push(row);
      say('bench', row);
    });
    console.log(['| row | a\'s hub leg | ping a -> b | avg rtt ms | iperf3 Mbit/s | TCP retransmits |', '|---|---|---|---|---|---|', ...rows].join('\n'));
  });
});
