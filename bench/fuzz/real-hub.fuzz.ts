// Real-process fuzz (issue 10): a real `meshd hub` and two real peers in namespaces (a and b each
// behind a symmetric NAT, so a <-> b is relayed by the hub), traffic captured on the hub's link with
// tcpdump, then FUZZ_N (default 1,000,000) random and mutated datagrams from those captures sent to
// the hub from an attacker namespace while ping crosses the overlay through the hub's relay.
// Checks: the hub is alive with the same pid, its members and map version are unchanged, its RSS
// stays flat, and ping keeps flowing (loss reported).
//   npm run build && FUZZ_N=1000000 npx vitest run --config bench/fuzz/vitest.config.ts
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeRoot } from '../../test/helpers/root.js';
import { hubAddress, hubPort, repoRoot, requireDist, runAsync, say, withMesh } from '../../test/helpers/mesh-lab.js';

const total = Number(process.env.FUZZ_N ?? 1_000_000);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
function cpuS(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

describeRoot('real-process fuzz of the hub', () => {
  it(`${total} mutated datagrams at a running hub while ping crosses its relay`, async () => {
    requireDist();
    // The hub at info level, as deployed: at debug it logs every drop, and a million log lines
    // through the pipe to this process would be measured as hub memory.
    await withMesh('fuzz', { peers: [{ name: 'a', placement: 'symmetric' }, { name: 'b', placement: 'symmetric' }], hubArgs: ['--log-level', 'info'] }, async (m) => {
      const a = m.peer('a');
      const b = m.peer('b');
      await m.waitPing('a', b.overlay, 30_000);
      // Capture real traffic on the hub's link: handshakes (restart b's session by restarting b),
      // control, heartbeats, relay, pings.
      const pcap = join(m.dir, 'hub.pcap');
      const dump = m.lab.spawn(m.hubNs, 'tcpdump', ['-i', m.hubIf, '-U', '-s', '0', '-w', pcap, 'udp', 'port', String(hubPort)]);
      await new Promise((r) => setTimeout(r, 1000));
      await m.killPeer('b', 'SIGKILL');
      await m.restartPeer('b');
      await m.waitPing('a', b.overlay, 30_000);
      await m.ping('a', b.overlay, 20, { intervalS: 0.05 });
      await new Promise((r) => setTimeout(r, 1000));
      dump.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 500));
      say('fuzz', `captured ${readFileSync(pcap).length} bytes of hub traffic`);

      const attacker = m.lab.host('attacker');
      m.lab.link(attacker, m.inet, '198.51.100.242/29', '198.51.100.241/29');
      m.lab.route(attacker, 'default', '198.51.100.241');
      const hubPid = m.hub.pid!;
      const before = await m.status(m.hub);
      const rss0 = rssMb(hubPid);
      const cpu0 = cpuS(hubPid);
      say('fuzz', `hub pid ${hubPid}: RSS ${rss0.toFixed(0)} MB, map version ${String(before.mapVersion)}, ${(before.members as unknown[]).length} members`);
      const ping = runAsync(a.ns, ['ping', '-n', '-q', '-i', '0.2', '-W', '1', '-w', '600', '-c', '100000', b.overlay], 620_000);
      const t0 = Date.now();
      // RSS every 5 s during the flood: a leak grows with the datagram count, a heap that settles does not.
      const rssCurve: number[] = [];
      const sampler = setInterval(() => rssCurve.push(rssMb(hubPid)), 5000);
      const flood = await runAsync(attacker, [process.execPath, join(repoRoot, 'bench', 'fuzz', 'flood.mjs'), pcap, hubAddress, String(hubPort), String(total), '540', '64', '7'], 600_000);
      const floodS = (Date.now() - t0) / 1000;
      clearInterval(sampler);
      const stats = JSON.parse(flood.stdout.trim().split('\n').pop() ?? '{}') as { sent?: number; perSec?: number; corpus?: number };
      const rss1 = rssMb(hubPid);
      const cpu = cpuS(hubPid) - cpu0;
      // Stop the ping now and read its totals.
      await runAsync(null, ['pkill', '-INT', '-f', `ping -n -q -i 0.2 -W 1 -w 600 -c 100000 ${b.overlay}`], 5000);
      const pr = await ping;
      const pm = /(\d+) packets transmitted, (\d+) received/.exec(pr.stdout);
      const after = await m.status(m.hub);
      say('fuzz', `flood: ${flood.stdout.trim()} ${flood.stderr.trim().slice(0, 300)}`);
      say('fuzz', `${stats.sent} datagrams from a corpus of ${stats.corpus} captured in ${floodS.toFixed(0)} s (${stats.perSec}/s); hub CPU ${cpu.toFixed(1)} s (${((100 * cpu) / floodS).toFixed(0)} % of a core); RSS ${rss0.toFixed(0)} -> ${rss1.toFixed(0)} MB`);
      say('fuzz', `ping a -> b across the hub relay during the flood: ${pm?.[2]}/${pm?.[1]} received`);
      say('fuzz', `hub RSS every 5 s during the flood (MB): ${rssCurve.map((x) => x.toFixed(0)).join(' ')}`);
      // Drops by reason, from the hub's own counters (`meshd status --json`: relay_* and link_*).
      const d0 = (before.drops ?? {}) as Record<string, number>;
      const d1 = (after.drops ?? {}) as Record<string, number>;
      const delta = Object.entries(d1).map(([k, v]) => [k, v - (d0[k] ?? 0)] as const).filter(([, v]) => v > 0);
      say('fuzz', `hub drops during the flood by reason: ${delta.map(([k, v]) => `${k} ${v}`).join(', ')} (total ${delta.reduce((a, [, v]) => a + v, 0)})`);
      rmSync(pcap, { force: true });
      expect(m.hub.running).toBe(true);
      expect(m.hub.pid).toBe(hubPid);
      expect(stats.sent).toBe(total);
      expect(after.mapVersion).toBe(before.mapVersion);
      const who = (st: typeof before) => (st.members as Array<{ publicKey: string; address: string; reflexive: string; registeredMsAgo: number }>).map((x) => `${x.publicKey} ${x.address} ${x.reflexive}`);
      expect(who(after)).toEqual(who(before));
      const reg = (st: typeof before) => (st.members as Array<{ registeredMsAgo: number }>).map((x) => x.registeredMsAgo);
      // No re-registration happened during the flood: every member's registration is older than it.
      for (const r of reg(after)) expect(r).toBeGreaterThan(floodS * 1000);
      // Flat memory: over the second half of the flood (half a million datagrams) RSS grows < 10 MB.
      const half = rssCurve[Math.floor(rssCurve.length / 2)] ?? rss0;
      expect(rss1 - half, 'hub RSS growth over the second half of the flood (MB)').toBeLessThan(10);
      expect(Number(pm?.[2] ?? 0), pr.stdout).toBeGreaterThan(0.9 * Number(pm?.[1] ?? 1));
    });
  });
});
