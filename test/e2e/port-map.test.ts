// Port mapping on a real gateway (issue 20): miniupnpd (Debian miniupnpd-nftables) in a router
// namespace, started by the test with its own config.
// 1. Detection: a client on the router's LAN asks which protocols answer (src/nat/port-map.ts).
// 2. Mapping: an EDM-random peer behind miniupnpd <-> an EDM-random peer goes direct through the
//    PCP mapping, status shows it, SIGTERM deletes it, and a SIGKILLed run's mapping is deleted by
//    the next start. miniupnpd 2.3.1 calls every documentation-range WAN address "reserved" and
//    disables port forwarding (getifaddr.c addr_is_reserved, miniupnpd.c), and refuses ext_ip= in
//    those ranges; with ext_perform_stun=yes it takes its external address from a STUN answer and
//    enables forwarding when the STUN test sees no filtering, whatever the address
//    (update_ext_ip_addr_from_stun only logs "reserved"). So a 40-line STUN responder on the
//    "internet" namespace (198.51.100.1:3478) stands in for a public STUN server (docs/NAT.md).
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeRoot, toolsMissing } from '../helpers/root.js';
import { Lab } from '../helpers/netns.js';
import { repoRoot, requireDist, runAsync, say, statusPeer, withMesh, type MeshLab } from '../helpers/mesh-lab.js';

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

/** A STUN Binding responder (RFC 5389 XOR-MAPPED-ADDRESS) for miniupnpd's ext_perform_stun. */
const stunScript = (address: string) => `
const d = require('node:dgram').createSocket('udp4');
d.on('message', (m, r) => {
  if (m.length < 20 || m.readUInt16BE(0) !== 1) return;
  const b = Buffer.alloc(32);
  b.writeUInt16BE(0x0101, 0); b.writeUInt16BE(12, 2); m.copy(b, 4, 4, 20);
  b.writeUInt16BE(0x0020, 20); b.writeUInt16BE(8, 22); b[25] = 1; b.writeUInt16BE(r.port ^ 0x2112, 26);
  r.address.split('.').forEach((o, i) => (b[28 + i] = Number(o) ^ [0x21, 0x12, 0xa4, 0x42][i]));
  d.send(b, r.port, r.address);
});
d.bind(3478, '${address}', () => console.log('stun listening'));
`;

/** The router's interface holding an address that starts with `prefix`. */
function ifaceWith(m: MeshLab, ns: string, prefix: string): string {
  const out = m.lab.exec(ns, ['ip', '-o', '-4', 'addr', 'show']).stdout;
  const line = out.split('\n').find((l) => l.includes(` ${prefix}`));
  if (!line) throw new Error(`no interface with ${prefix}* in ${ns}: ${out}`);
  return line.split(/\s+/)[1]!;
}

/** miniupnpd's DNAT rules (one per live mapping). */
function mappings(m: MeshLab, router: string): number {
  const out = m.lab.exec(router, ['nft', 'list', 'chain', 'inet', 'meshd_upnp', 'prerouting_miniupnpd'], { allowFail: true }).stdout;
  return (out.match(/dnat/g) ?? []).length;
}

const untilTrue = async (what: string, f: () => boolean, ms: number): Promise<void> => {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (f()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not within ${ms} ms: ${what}`);
};

describeRoot('port mapping through miniupnpd', () => {
  it('EDM-random behind miniupnpd <-> EDM-random: direct via the PCP mapping; deleted on SIGTERM, and after a SIGKILL by the next start', async () => {
    requireDist();
    const missing = toolsMissing(['miniupnpd']);
    if (missing !== undefined) throw new Error(`${missing} (.ci/run installs miniupnpd-nftables)`);
    await withMesh('natpm', { peers: [{ name: 'a', placement: 'symmetric', noStart: true }, { name: 'b', placement: 'symmetric' }] }, async (m) => {
      const a = m.peer('a');
      const b = m.peer('b');
      const r = a.router!;
      const wan = ifaceWith(m, r, '198.51.100.');
      const lan = ifaceWith(m, r, '192.0.2.');
      const inetAddr = '198.51.100.1';
      // The home router's firewall with UPnP: new WAN flows are dropped unless miniupnpd forwarded
      // them (its chains sit before the drop); the lab's prerouting drop would hit them before DNAT.
      m.lab.exec(r, ['nft', 'delete', 'table', 'inet', 'meshd_fw']);
      m.lab.exec(r, ['nft', '-f', '-'], {
        input: [
          'table inet meshd_upnp {',
          `  chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; iifname "${wan}" ct state new drop; }`,
          '  chain miniupnpd { }',
          `  chain input { type filter hook input priority 0; policy accept; iifname "${wan}" ct state new drop; }`,
          '  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }',
          '  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }',
          '  chain prerouting_miniupnpd { }',
          '  chain postrouting_miniupnpd { }',
          '}',
        ].join('\n'),
      });
      const stun = m.lab.spawn(m.inet, process.execPath, ['-e', stunScript(inetAddr)]);
      let stunLog = '';
      stun.stdout?.on('data', (x: Buffer) => (stunLog += x.toString()));
      await untilTrue('STUN responder up', () => stunLog.includes('stun listening'), 5_000);
      const conf = join(m.dir, 'miniupnpd.conf');
      writeFileSync(conf, [
        `ext_ifname=${wan}`, `listening_ip=${lan}`, 'enable_natpmp=yes', 'enable_upnp=yes', 'secure_mode=yes',
        'ext_perform_stun=yes', `ext_stun_host=${inetAddr}`, 'ext_stun_port=3478',
        'upnp_table_name=meshd_upnp', 'upnp_nat_table_name=meshd_upnp', 'upnp_forward_chain=miniupnpd',
        'upnp_nat_chain=prerouting_miniupnpd', 'upnp_nat_postrouting_chain=postrouting_miniupnpd',
        'uuid=3c8e5b7a-0000-4000-8000-000000000002', 'allow 1024-65535 192.0.2.0/24 1024-65535', 'deny 0-65535 0.0.0.0/0 0-65535', '',
      ].join('\n'));
      const upnpd = m.lab.spawn(r, 'miniupnpd', ['-d', '-f', conf, '-P', join(m.dir, 'miniupnpd.pid')]);
      let log = '';
      upnpd.stderr?.on('data', (x: Buffer) => (log += x.toString()));
      upnpd.stdout?.on('data', (x: Buffer) => (log += x.toString()));
      await untilTrue('miniupnpd listening', () => /Listening for NAT-PMP/.test(log), 10_000);
      say('natpm', `miniupnpd up; STUN: ${log.split('\n').filter((l) => /STUN|forwarding/i.test(l)).join(' | ')}`);

      a.daemon.start();
      const ca = await a.daemon.waitMsg('nat: classified', {}, { timeoutMs: 15_000 });
      await b.daemon.waitMsg('nat: classified', {}, { timeoutMs: 15_000 });
      const mapped = await a.daemon.waitMsg('port map: mapped', {}, { timeoutMs: 15_000 });
      say('natpm', `a classified ${JSON.stringify(ca)}; mapped ${JSON.stringify(mapped)}`);
      expect(ca).toMatchObject({ mapping: 'edm', allocation: 'random' });
      expect(mapped).toMatchObject({ protocol: 'pcp', lifetimeS: 7200 });
      expect(String(mapped.external)).toMatch(/^198\.51\.100\.2:\d+$/);
      expect(mappings(m, r)).toBe(1);
      const t0 = Date.now();
      void m.ping('b', a.overlay, 3, { waitS: 1 });
      await m.waitPath('b', 'a', 'direct', { timeoutMs: 20_000 });
      await m.waitPath('a', 'b', 'direct', { timeoutMs: 20_000 });
      const ms = Date.now() - t0;
      const sa = await m.status(a.daemon);
      const sb = await m.status(b.daemon);
      const entryB = statusPeer(sb, a.overlay, 'a');
      say('natpm', `direct both ways ${ms} ms after b's first ping; b -> a via ${entryB?.endpoint}; b's traversal ${JSON.stringify(entryB?.traversal)}; a: ${(sa as { portMapping?: string }).portMapping}`);
      expect(entryB?.endpoint).toBe(mapped.external);
      // b's traversal names the mapping, or none ran: b's PING on the mapped port drew a's triggered
      // check back (peer/peer-paths.ts) before the hub's PUNCH chose a technique.
      expect([undefined, 'portmap']).toContain((entryB?.traversal as { technique?: string } | undefined)?.technique);
      expect((sa as { portMapping?: string }).portMapping).toMatch(/^mapped 198\.51\.100\.2:\d+ via PCP, lease 7200 s, renews in \d+ s$/);
      const pings = await m.ping('b', a.overlay, 5);
      expect(pings.received, pings.out).toBe(5);
      console.log(`NAT_BENCH ${JSON.stringify({ technique: 'portmap', ms, probes: (entryB?.traversal as { probes?: number })?.probes ?? 0 })}`);
      if (process.env.MESHD_NAT_BENCH) return; // bench/nat-traversal.sh portmap: the trial is the time to direct

      say('natpm', 'SIGTERM: the mapping must go');
      await a.daemon.kill('SIGTERM', 10_000);
      expect(mappings(m, r)).toBe(0);

      say('natpm', 'restart, SIGKILL (a crash): the mapping stays; the next start deletes it first');
      let mark = a.daemon.mark;
      a.daemon.start();
      await a.daemon.waitMsg('port map: mapped', {}, { since: mark, timeoutMs: 20_000 });
      await a.daemon.kill('SIGKILL');
      expect(mappings(m, r)).toBe(1);
      mark = a.daemon.mark;
      a.daemon.start();
      await a.daemon.waitMsg('port map: deleting the mapping a previous run left', {}, { since: mark, timeoutMs: 10_000 });
      await a.daemon.waitMsg('port map: mapped', {}, { since: mark, timeoutMs: 20_000 });
      expect(mappings(m, r)).toBe(1);
      await a.daemon.kill('SIGTERM', 10_000);
      expect(mappings(m, r)).toBe(0);
    });
  }, 150_000);
});
