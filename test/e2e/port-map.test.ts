// Port-mapping protocols on a real gateway (issue 20): miniupnpd (Debian miniupnpd-nftables) in a
// router namespace, started by the test with its own config; a client on the router's LAN asks
// which protocols answer (src/nat/port-map.ts, what `meshd netcheck` prints). miniupnpd refuses to
// create mappings with an external address from the documentation ranges (the only ones these
// tests may use), so this proves detection, not a mapping (docs/NAT.md "Not done").
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeRoot, toolsMissing } from '../helpers/root.js';
import { Lab } from '../helpers/netns.js';
import { repoRoot, requireDist, runAsync, say } from '../helpers/mesh-lab.js';

const detectScript = `import(${JSON.stringify(join(repoRoot, 'dist', 'nat', 'port-map.js'))}).then(async (m) => {
  const { openUdpSocket } = await import(${JSON.stringify(join(repoRoot, 'dist', 'net', 'udp-open.js'))});
  const found = await m.detectPortMapping({ openSocket: () => openUdpSocket({ address: '0.0.0.0', port: 0 }, { impl: 'node' }) });
  console.log(JSON.stringify(found));
  process.exit(0);
});`;

describeRoot('port-mapping detection against miniupnpd', () => {
  it('finds UPnP-IGD, NAT-PMP and PCP on a miniupnpd gateway, and nothing on a plain router', async () => {
    requireDist();
    const missing = toolsMissing(['miniupnpd']);
    if (missing !== undefined) throw new Error(`${missing} (.ci/run installs miniupnpd-nftables)`);
    const lab = new Lab();
    const dir = mkdtempSync(join(tmpdir(), 'meshd-pm-'));
    try {
      const inet = lab.host('i');
      const r = lab.host('r', { forward: true });
      const c = lab.host('c');
      const wan = lab.link(r, inet, '198.51.100.2/24', '198.51.100.1/24');
      const lan = lab.link(c, r, '192.0.2.2/24', '192.0.2.1/24');
      lab.route(c, 'default', '192.0.2.1');
      lab.nat(r, wan.a, lan.b);
      const detect = async () => {
        const res = await runAsync(c, [process.execPath, '-e', detectScript], 20_000);
        expect(res.code, res.stderr).toBe(0);
        return JSON.parse(res.stdout.trim().split('\n').pop()!) as string[];
      };
      say('pm', 'plain router: no port-mapping protocol should answer');
      expect(await detect()).toEqual([]);
      const conf = join(dir, 'miniupnpd.conf');
      writeFileSync(conf, [
        `ext_ifname=${wan.a}`, `listening_ip=${lan.b}`, 'enable_natpmp=yes', 'enable_upnp=yes', 'secure_mode=yes',
        'uuid=3c8e5b7a-0000-4000-8000-000000000001', 'allow 1024-65535 192.0.2.0/24 1024-65535', 'deny 0-65535 0.0.0.0/0 0-65535', '',
      ].join('\n'));
      const d = lab.spawn(r, 'miniupnpd', ['-d', '-f', conf, '-P', join(dir, 'miniupnpd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      d.stderr?.on('data', (b: Buffer) => (log += b.toString()));
      d.stdout?.on('data', (b: Buffer) => (log += b.toString()));
      for (let i = 0; i < 50 && !/Listening for NAT-PMP/.test(log); i++) await new Promise((res) => setTimeout(res, 100));
      say('pm', `miniupnpd up: ${/Listening for NAT-PMP/.test(log)}`);
      const found = await detect();
      say('pm', `detected: ${JSON.stringify(found)}`);
      expect(found.sort()).toEqual(['natpmp', 'pcp', 'upnp']);
    } finally {
      lab.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
