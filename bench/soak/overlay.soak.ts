// Soak (issue 10): SOAK_S seconds (default 600) of one iperf3 TCP stream a -> b (two home NATs,
// direct path) and ping a -> c (c behind a symmetric NAT, relayed by the hub), with every session
// rekeying every SOAK_REKEY_MS (default 5000, via MESHD_TEST_REKEY_MS, read in src/crypto/constants.ts).
// Passes when the TCP stream lives to the end, ping loses < 1 %, each daemon's RSS grows < 10 % from
// the end of warm-up to the end, and rekeys really happened (last handshake never older than a few
// rekey intervals).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeRoot } from '../../test/helpers/root.js';
import { requireDist, runAsync, say, withMesh, type Daemon, type MeshLab } from '../../test/helpers/mesh-lab.js';
import { startIperfServer } from '../../test/helpers/iperf.js';

const seconds = Number(process.env.SOAK_S ?? 600);
const rekeyMs = Number(process.env.SOAK_REKEY_MS ?? 5000);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function lastHandshakes(m: MeshLab, d: Daemon): Promise<Record<string, number | null>> {
  try {
    const st = await m.status(d);
    return Object.fromEntries((st.peers ?? []).map((p) => [String(p.overlay ?? p.name), (p.lastHandshakeMsAgo as number | null) ?? null]));
  } catch {
    return {};
  }
}

describeRoot('soak', () => {
  it(`${seconds} s of iperf3 and ping across the overlay, rekey every ${rekeyMs} ms`, async () => {
    requireDist();
    process.env.MESHD_TEST_REKEY_MS = String(rekeyMs); // inherited by the daemons the lab spawns
    try {
      await withMesh('soak', { peers: [{ name: 'a', placement: 'nat' }, { name: 'b', placement: 'nat' }, { name: 'c', placement: 'symmetric' }] }, async (m) => {
        const [a, b, c] = ['a', 'b', 'c'].map((n) => m.peer(n));
        await m.waitPing('a', b!.overlay, 30_000);
        await m.waitPing('a', c!.overlay, 30_000);
        await m.waitPath('a', 'b', 'direct', { timeoutMs: 20_000 });
        const srv = await startIperfServer(m, 'b');
        // -b 20M: a steady stream that leaves CPU for the daemons' own work on 2 cores.
        const iperf = runAsync(a!.ns, ['iperf3', '-c', b!.overlay, '-p', String(srv.port), '-J', '-t', String(seconds), '-b', '20M', '--connect-timeout', '5000'], (seconds + 60) * 1000);
        const ping = runAsync(a!.ns, ['ping', '-n', '-q', '-i', '0.2', '-W', '2', '-c', String(seconds * 5), c!.overlay], (seconds + 60) * 1000);
        const daemons = [m.hub, a!.daemon, b!.daemon, c!.daemon];
        const warm = Math.min(30, seconds / 10);
        await new Promise((r) => setTimeout(r, warm * 1000));
        const rss0 = daemons.map((d) => rssMb(d.pid!));
        let maxHandshakeAgo = 0;
        const samples: string[] = [];
        const t0 = Date.now();
        for (let i = 0; Date.now() - t0 < (seconds - warm - 5) * 1000 && i < 10_000; i++) {
          await new Promise((r) => setTimeout(r, 10_000));
          const hs = await lastHandshakes(m, a!.daemon);
          for (const v of Object.values(hs)) if (v !== null) maxHandshakeAgo = Math.max(maxHandshakeAgo, v);
          if (i % 6 === 0) samples.push(`${Math.round((Date.now() - t0) / 1000) + warm}s rss ${daemons.map((d) => rssMb(d.pid!).toFixed(0)).join('/')} MB, a's last handshakes ${JSON.stringify(hs)}`);
        }
        const [ir, pr] = await Promise.all([iperf, ping]);
        const rss1 = daemons.map((d) => rssMb(d.pid!));
        let j: { end?: { sum_received?: { bytes?: number; seconds?: number } }; error?: string } = {};
        try {
          j = JSON.parse(ir.stdout) as typeof j;
        } catch {
          // reported below
        }
        const recv = Number(j.end?.sum_received?.bytes ?? 0);
        const secs = Number(j.end?.sum_received?.seconds ?? 0);
        const pm = /(\d+) packets transmitted, (\d+) received/.exec(pr.stdout);
        const lossPct = pm ? (100 * (Number(pm[1]) - Number(pm[2]))) / Number(pm[1]) : 100;
        for (const s of samples) say('soak', s);
        say('soak', `iperf3 a -> b: exit ${ir.code}, ${(recv / 1e6).toFixed(0)} MB in ${secs.toFixed(0)} s (${((recv * 8) / Math.max(secs, 1) / 1e6).toFixed(1)} Mbit/s)${j.error ? `, error ${j.error}` : ''}`);
        say('soak', `ping a -> c (relayed): ${pm?.[2]}/${pm?.[1]} (${lossPct.toFixed(2)} % loss)`);
        say('soak', `RSS hub/a/b/c from ${rss0.map((x) => x.toFixed(0)).join('/')} to ${rss1.map((x) => x.toFixed(0)).join('/')} MB; a's oldest session seen ${(maxHandshakeAgo / 1000).toFixed(1)} s`);
        for (const d of daemons) expect(d.running, `${d.label} still running`).toBe(true);
        for (const d of daemons) expect(d.starts, `${d.label} never restarted`).toBe(1);
        expect(ir.code, ir.stderr).toBe(0);
        expect(secs).toBeGreaterThan(seconds - 5);
        expect(lossPct).toBeLessThan(1);
        rss0.forEach((r, i) => expect(rss1[i]! / r, `${daemons[i]!.label} RSS growth`).toBeLessThan(1.1));
        expect(maxHandshakeAgo, 'sessions rekeyed').toBeLessThan(rekeyMs * 4 + 20_000);
      });
    } finally {
      delete process.env.MESHD_TEST_REKEY_MS;
    }
  });
});
