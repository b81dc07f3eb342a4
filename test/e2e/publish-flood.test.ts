// M6 with real daemons in namespaces: one visitor IP opens 256 TCP connections to a published
// service whose target writes as fast as it can, and never reads. Hub and peer RSS are sampled
// before and during the hold; another visitor (another IP) must still be served. Asserts counts
// and bounds: at most --publish-max-conns-per-ip (16) connections stay open, RSS growth bounded.
// MESHD_E2E_MEASURE_ONLY=1 with MESHD_E2E_CLI=<old dist/cli.js> prints the old code's figures
// without asserting (the "before" column in RELIABILITY.md); never set under CI.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeRoot } from '../helpers/root.js';
import { hubAddress, requireDist, runAsync, say, withMesh, type Daemon } from '../helpers/mesh-lab.js';

const hosePort = 8080;
const echoPort = 8081;
const hoseTarget = 9080;
const echoTarget = 9081;
const floodConns = 256;
const holdMs = 20_000;
const measureOnly = process.env.MESHD_E2E_MEASURE_ONLY === '1' && process.env.CI !== 'true';

/** On the peer: a firehose (writes 64 KB chunks while the socket takes them) and an echo server. */
const targetsJs = `
const net = require('node:net'); const chunk = Buffer.alloc(65536, 120);
net.createServer((s) => { const pump = () => { while (!s.destroyed && s.write(chunk)); };
  s.on('drain', pump); s.on('error', () => {}); pump(); }).listen(${hoseTarget}, '127.0.0.1');
net.createServer({ allowHalfOpen: true }, (s) => { s.on('data', (d) => s.write(d)); s.on('end', () => s.end()); s.on('error', () => {}); })
  .listen(${echoTarget}, '127.0.0.1', () => console.log('listening'));`;

/** The attacker: N connections, paused (never read), held for HOLD ms; prints counts as JSON. */
const floodJs = `
const net = require('node:net'); let connected = 0, resets = 0, ended = 0; const socks = [];
for (let i = 0; i < ${floodConns}; i++) {
  const s = net.connect({ host: '${hubAddress}', port: ${hosePort}, allowHalfOpen: true });
  s.pause(); s.on('connect', () => connected++); s.on('end', () => ended++);
  s.on('error', (e) => { if (e.code === 'ECONNRESET') resets++; }); socks.push(s); }
setTimeout(() => { const open = socks.filter((s) => !s.destroyed && s.readyState === 'open').length;
  console.log(JSON.stringify({ connected, open, resets, ended })); for (const s of socks) s.destroy(); process.exit(0); }, ${holdMs});`;

/** A polite visitor: one echo round trip; prints the answer. */
const echoJs = `
const s = require('node:net').connect({ host: '${hubAddress}', port: ${echoPort}, allowHalfOpen: true }); const got = [];
s.on('data', (d) => got.push(d)); s.on('end', () => { console.log(Buffer.concat(got).toString()); process.exit(0); });
s.on('error', (e) => { console.log('error ' + e.code); process.exit(0); }); s.end('still served');
setTimeout(() => { console.log('timeout'); process.exit(0); }, 15000);`;

function rssMb(d: Daemon): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d.pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

describeRoot('M6: one visitor cannot hold a published service (real daemons)', () => {
  it(`${floodConns} unread connections from one IP: capped, others served, RSS bounded`, async () => {
    requireDist();
    await withMesh(
      'publish-flood',
      {
        peers: [
          { name: 'web', placement: 'nat', extraArgs: ['--publish', `hose=tcp:${hosePort}:127.0.0.1:${hoseTarget}`, '--publish', `echo=tcp:${echoPort}:127.0.0.1:${echoTarget}`] },
          { name: 'visitor', placement: 'public' },
          { name: 'polite', placement: 'public' },
        ],
        hubArgs: ['--allow-publish', '8000-8999'],
      },
      async (m) => {
        const t = m.lab.spawn(m.peer('web').ns, process.execPath, ['-e', targetsJs]);
        t.stderr?.on('data', (d: Buffer) => say('publish-flood', `targets: ${d.toString().trim()}`));
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('targets did not start listening within 10 s')), 10_000);
          t.stdout?.on('data', (d: Buffer) => {
            if (d.toString().includes('listening')) {
              clearTimeout(timer);
              resolve();
            }
          });
        });
        const web = m.peer('web').daemon;
        await web.waitMsg('service published on the hub', { service: 'hose' });
        await web.waitMsg('service published on the hub', { service: 'echo' });
        const before = { hub: rssMb(m.hub), peer: rssMb(web) };
        say('publish-flood', `RSS before: hub ${before.hub} MB, peer ${before.peer} MB`);

        const flooding = runAsync(m.peer('visitor').ns, [process.execPath, '-e', floodJs], holdMs + 20_000);
        const peak = { hub: before.hub, peer: before.peer };
        let maxOpen = 0;
        let hose: Record<string, unknown> = {};
        // Sample RSS and the hub's open connections every second while the flood holds (bounded).
        for (let i = 0; i < holdMs / 1000 - 4; i++) {
          await new Promise((r) => setTimeout(r, 1000));
          peak.hub = Math.max(peak.hub, rssMb(m.hub));
          peak.peer = Math.max(peak.peer, rssMb(web));
          const st = await m.status(m.hub);
          hose = (st.published as Array<Record<string, unknown>> | undefined)?.find((p) => p.name === 'hose') ?? {};
          maxOpen = Math.max(maxOpen, Number(hose.connections ?? 0));
        }
        const polite = await runAsync(m.peer('polite').ns, [process.execPath, '-e', echoJs], 20_000);
        const r = await flooding;
        const counts = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { connected: number; open: number; resets: number; ended: number };
        say('publish-flood', `flood (client view; a paused socket does not notice its RST): ${JSON.stringify(counts)}; polite visitor got "${polite.stdout.trim()}"`);
        say('publish-flood', `hub: at most ${maxOpen} open at once; hose service ${JSON.stringify(hose)}`);
        say('publish-flood', `RSS peak during the flood: hub ${peak.hub} MB (+${peak.hub - before.hub}), peer ${peak.peer} MB (+${peak.peer - before.peer})`);
        if (measureOnly) return;
        expect(polite.stdout.trim()).toBe('still served');
        expect(maxOpen).toBeLessThanOrEqual(16);
        const refusedBy = (hose.refusedBy ?? {}) as Record<string, number>;
        expect(Object.values(refusedBy).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(floodConns - 64);
        // Old code: hub +276 MB, peer +588 MB (issue 17). The budget is 64 MB on each side.
        expect(peak.hub - before.hub).toBeLessThan(120);
        expect(peak.peer - before.peer).toBeLessThan(120);
      },
    );
  }, 120_000);
});
