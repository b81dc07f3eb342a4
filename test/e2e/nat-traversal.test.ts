// NAT traversal with real NATs (issue 20): real hub and peer daemons in namespaces behind nftables
// routers: `masquerade` (EIM, port-preserving) and `masquerade random,fully-random` (EDM, random
// ports), each with the WAN-side `ct state new` drop of a home router (test/helpers/netns.ts).
// (a) EIM <-> EDM-random goes direct by birthday within 15 s of both classifications;
// (b) EDM-random <-> EDM-random stays relayed and `meshd status` says why;
// (c) `meshd netcheck --json` behind each router reports the class the routers are.
import { expect, it } from 'vitest';
import { describeRoot } from '../helpers/root.js';
import { cliPath, hubAddress, hubPort, requireDist, runAsync, say, statusPeer, withMesh } from '../helpers/mesh-lab.js';

describeRoot('NAT traversal through real nftables NATs', () => {
  it('(a) EIM <-> EDM-random: direct by birthday within 15 s, and netcheck tells the two NATs apart', async () => {
    requireDist();
    await withMesh('natbd', { peers: [{ name: 'a', placement: 'nat' }, { name: 'b', placement: 'symmetric' }] }, async (m) => {
      const a = m.peer('a');
      const b = m.peer('b');
      // Classification runs right after registration; the hard side's PUNCH request follows it.
      const ca = await a.daemon.waitMsg('nat: classified', {}, { timeoutMs: 10_000 });
      const cb = await b.daemon.waitMsg('nat: classified', {}, { timeoutMs: 10_000 });
      say('natbd', `a classified ${JSON.stringify(ca)}; b classified ${JSON.stringify(cb)}`);
      expect(ca).toMatchObject({ mapping: 'eim' });
      expect(cb).toMatchObject({ mapping: 'edm', allocation: 'random' });
      const t0 = Date.now();
      // Traffic from a starts the session over the relay; the hub then sends both a PUNCH with the classes.
      void m.ping('a', b.overlay, 3, { waitS: 1 });
      await m.waitPath('a', 'b', 'direct', { timeoutMs: 15_000 });
      const ms = Date.now() - t0;
      const st = await m.status(a.daemon);
      const entry = statusPeer(st, b.overlay, 'b');
      say('natbd', `a -> b direct after ${ms} ms; a's traversal ${JSON.stringify(entry?.traversal)}`);
      expect(entry?.traversal).toMatchObject({ technique: 'birthday' });
      const pings = await m.ping('a', b.overlay, 5);
      expect(pings.received, pings.out).toBe(5);
      console.log(`NAT_BENCH ${JSON.stringify({ ms, probes: (entry?.traversal as { probes?: number })?.probes, timeToDirectMs: (entry?.traversal as { timeToDirectMs?: number })?.timeToDirectMs })}`);
      if (process.env.MESHD_NAT_BENCH) return; // bench/nat-traversal.sh: the trial is the time to direct
      // netcheck from fresh sockets in each peer's namespace (the daemon keeps running).
      for (const [p, want] of [[a, { mapping: 'eim', filtering: 'address-port' }], [b, { mapping: 'edm', allocation: 'random' }]] as const) {
        const r = await runAsync(p.ns, [process.execPath, cliPath, 'netcheck', '--json', '--hub', `${hubAddress}:${hubPort}`, '--secret-file', m.secretFile], 15_000);
        say('natbd', `netcheck in ${p.spec.name}: ${r.stdout.replace(/\s+/g, ' ')}`);
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({ udp: true, ...want });
      }
    });
  }, 90_000);

  it('(b) EDM-random <-> EDM-random: relayed, and status says why', async () => {
    requireDist();
    await withMesh('natrr', { peers: [{ name: 'a', placement: 'symmetric' }, { name: 'b', placement: 'symmetric' }] }, async (m) => {
      const a = m.peer('a');
      const b = m.peer('b');
      await a.daemon.waitMsg('nat: classified', {}, { timeoutMs: 10_000 });
      await b.daemon.waitMsg('nat: classified', {}, { timeoutMs: 10_000 });
      const pings = await m.ping('a', b.overlay, 3, { waitS: 2 });
      expect(pings.received, pings.out).toBeGreaterThan(0);
      let entry: Record<string, unknown> | undefined;
      for (let i = 0; i < 40; i++) {
        entry = statusPeer(await m.status(a.daemon), b.overlay, 'b');
        if (entry?.traversal) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      say('natrr', `a's status for b: ${JSON.stringify(entry)}`);
      expect(entry?.path).toBe('relay');
      expect(entry?.traversal).toMatchObject({ technique: 'relay', state: 'relayed' });
      expect(String((entry?.traversal as { reason?: string }).reason)).toMatch(/both sides random-port EDM/);
    });
  }, 60_000);
});
