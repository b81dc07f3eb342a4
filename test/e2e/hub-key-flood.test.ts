// Red-team finding H2 against a real hub in namespaces: a flood of HUB_KEY_REQ from one IP address
// rotating its source port (a captured request replayed; then fresh requests from an attacker that
// holds the secret). The hub answers a bounded number, never more bytes than it got, and a relayed
// ping between two members is still answered during the flood. Hub CPU is printed, not asserted
// (RELIABILITY.md "Red-team findings: H2, M1, M8" has before/after figures).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { buildHubKeyRequest } from '../../src/crypto/hub-key.js';
import { pskFromSecret } from '../../src/crypto/psk.js';
import { describeRoot } from '../helpers/root.js';
import { hubAddress, hubPort, repoRoot, requireDist, runAsync, say, withMesh, type MeshLab } from '../helpers/mesh-lab.js';

const flood = join(repoRoot, 'test', 'e2e', 'fixtures', 'hub-key-flood.mjs');

interface FloodResult {
  sent: number;
  sentBytes: number;
  answers: number;
  answerBytes: number;
  ports: number;
}

/** utime + stime of a process in clock ticks (100 a second on Linux). */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}

function hubDrops(m: MeshLab): Promise<Record<string, number>> {
  return m.status(m.hub).then((s) => (s as { drops?: Record<string, number> }).drops ?? {});
}

async function floodFrom(ns: string, args: string[], timeoutMs: number): Promise<FloodResult> {
  const r = await runAsync(ns, [process.execPath, flood, hubAddress, String(hubPort), ...args], timeoutMs);
  if (r.code !== 0) throw new Error(`flood exited ${r.code ?? r.signal}: ${r.stderr.slice(0, 800)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as FloodResult;
}

describeRoot('H2: HUB_KEY_REQ flood at a real hub (real daemons in namespaces)', () => {
  it('answers a replayed request once and fresh ones per IP; a relayed ping is still answered', async () => {
    requireDist();
    await withMesh('hkflood', { peers: [{ name: 'a', placement: 'symmetric' }, { name: 'b', placement: 'symmetric' }] }, async (m) => {
      const b = m.peer('b');
      await m.waitPing('a', b.overlay, 30_000);
      const base = await m.ping('a', b.overlay, 10, { intervalS: 0.1 });
      say('hkflood', `relayed ping a -> b before the flood: ${base.out.split('\n').pop()}`);

      const atk = m.lab.host('atk');
      m.lab.link(atk, m.inet, '198.51.100.242/29', '198.51.100.241/29');
      m.lab.route(atk, 'default', '198.51.100.241');
      const psk = pskFromSecret(readFileSync(m.secretFile, 'utf8').trim());
      const captured = Buffer.from(buildHubKeyRequest(psk, Date.now()).message).toString('hex');

      // 1. One captured request replayed 10,000 times a second for 8 s from 6,000 ports of one IP (more than the old limiter's 4,096-entry sweep threshold).
      const hubPid = m.hub.pid!;
      const t0 = cpuTicks(hubPid);
      const w0 = Date.now();
      const [res, ping] = await Promise.all([
        floodFrom(atk, ['10000', '8', '6000', 'replay', captured], 60_000),
        m.ping('a', b.overlay, 30, { intervalS: 0.2, waitS: 2 }),
      ]);
      const cpu = ((cpuTicks(hubPid) - t0) / 100 / ((Date.now() - w0) / 1000)) * 100;
      const drops = await hubDrops(m);
      say('hkflood', `replay flood: sent ${res.sent} (${res.sentBytes} B) from ${res.ports} ports; answers ${res.answers} (${res.answerBytes} B); hub CPU ${cpu.toFixed(0)} %; hub drops replayed ${drops.link_hub_key_replayed} rate_limited ${drops.link_rate_limited}`);
      say('hkflood', `relayed ping a -> b during the flood: ${ping.received}/${ping.sent}; ${ping.out.split('\n').pop()}`);
      expect(res.sent).toBeGreaterThan(40_000);
      expect(res.answers, 'a captured request is answered at most once').toBeLessThanOrEqual(1);
      expect(res.answerBytes).toBeLessThanOrEqual(64);
      expect(drops.link_hub_key_replayed ?? 0).toBeGreaterThan(res.sent / 2);
      expect(ping.received, 'relayed ping during the flood').toBeGreaterThanOrEqual(27);

      // 2. An attacker with the secret: fresh requests, 2,000 a second for 5 s from 256 ports.
      const fresh = await floodFrom(atk, ['2000', '5', '256', 'fresh', Buffer.from(psk).toString('hex'), join(repoRoot, 'dist')], 60_000);
      say('hkflood', `fresh flood: sent ${fresh.sent} (${fresh.sentBytes} B); answers ${fresh.answers} (${fresh.answerBytes} B)`);
      // Per IP: a burst of 4, then 2 a second (6 s with the tail).
      expect(fresh.answers).toBeLessThanOrEqual(4 + 2 * 7);
      expect(fresh.answerBytes).toBeLessThanOrEqual(fresh.sentBytes);
      const after = await m.ping('a', b.overlay, 5, { intervalS: 0.2 });
      expect(after.received).toBeGreaterThanOrEqual(4);
    });
  }, 180_000);
});
