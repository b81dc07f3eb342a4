// Issue 17 M3 with real daemons in namespaces: a member holding the network secret (the fixture
// test/e2e/fixtures/punch-flood.mjs, built from dist/) floods the hub with 10,000 PUNCH_REQUESTs a
// second for 20 s and never ACKs. The hub's RSS stays bounded, the refusals are counted in its
// status, and a ping between two honest members still goes through. (Old code: 69 -> 576 MB in 30 s.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeRoot } from '../helpers/root.js';
import { repoRoot, requireDist, runAsync, say, withMesh, type MeshLab } from '../helpers/mesh-lab.js';

const fixture = join(repoRoot, 'test', 'e2e', 'fixtures', 'punch-flood.mjs');
const floodSeconds = 20;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function hubDrops(m: MeshLab): Promise<Record<string, number>> {
  return ((await m.status(m.hub)).drops ?? {}) as Record<string, number>;
}

describeRoot('member abuse (real daemons in namespaces)', () => {
  it('a member sending 10,000 PUNCH_REQUESTs/s for 20 s: hub RSS bounded, refusals counted, members still served', async () => {
    requireDist();
    await withMesh('m3flood', { peers: [{ name: 'a', placement: 'public' }, { name: 'b', placement: 'public' }], pinHubKey: true }, async (m) => {
      const a = m.peer('a');
      const b = m.peer('b');
      await m.waitPing('a', b.overlay, 20_000);
      const pid = m.hub.pid!;
      const before = rssMb(pid);
      say('m3flood', `hub RSS before ${before.toFixed(0)} MB; flooding from ${a.underlay} as 10.9.0.50 -> ${b.overlay}`);
      const flood = runAsync(a.ns, [process.execPath, fixture, '203.0.113.2:7000', m.hubKey, m.secretFile, a.underlay, '10.9.0.50', b.overlay, '10000', String(floodSeconds)], (floodSeconds + 30) * 1000);
      let peak = before;
      let done = false;
      void flood.finally(() => (done = true));
      for (let i = 0; i < floodSeconds + 25 && !done; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        peak = Math.max(peak, rssMb(pid));
      }
      const r = await flood;
      const lines = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; sent?: number });
      const summary = lines.find((l) => l.event === 'done');
      expect(summary, r.stdout + r.stderr).toBeDefined();
      const drops = await hubDrops(m);
      const refused = (drops.control_punch_rate_limited ?? 0) + (drops.control_punch_in_flight ?? 0);
      say('m3flood', `sent ${summary!.sent} PUNCH_REQUESTs in ${floodSeconds} s; hub RSS ${before.toFixed(0)} -> peak ${peak.toFixed(0)} MB; refused ${refused} (${JSON.stringify(drops)})`);
      expect(summary!.sent).toBeGreaterThan(floodSeconds * 5_000);
      expect(peak - before).toBeLessThan(100); // old code: 73 -> 389 MB in this test
      expect(refused).toBeGreaterThan(summary!.sent! * 0.5); // the rest lost on the way or still queued at the end
      await m.waitPing('a', b.overlay, 10_000);
    });
  }, 120_000);
});
