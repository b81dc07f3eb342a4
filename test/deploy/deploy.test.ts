// What ships under deploy/: the example configs parse through the real parser (config/parse.ts) with
// a secret from the environment, the systemd units' ExecStart flags parse together with them, and
// `systemd-analyze verify` accepts both units without a warning (against a temp copy whose ExecStart
// runs this checkout's dist/cli.js, so the binary it checks for exists).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHubConfig, parsePeerConfig, type ParseContext, type RawOptions } from '../../src/config/parse.js';
import { options } from '../../src/config/schema.js';
import { cliPath, repoRoot } from '../helpers/mesh-lab.js';

const deploy = join(repoRoot, 'deploy');
const secret = 'deploy-example-secret-0123456789';
const ctx: ParseContext = {
  env: { MESHD_SECRET: secret },
  hostname: 'example-host',
  readText: (p) => {
    if (p === '/run/credentials/meshd/secret') return `${secret}\n`;
    throw Object.assign(new Error(`unexpected read of ${p}`), { code: 'ENOENT' });
  },
};

/** What the CLI does with a --config file: JSON object, "$comment" dropped. */
function configFile(name: string): RawOptions {
  const raw = JSON.parse(readFileSync(join(deploy, name), 'utf8')) as Record<string, unknown>;
  expect(typeof raw.$comment, `${name} explains itself in $comment`).toBe('string');
  delete raw.$comment;
  return raw;
}

/** The unit's ExecStart argv after "meshd". */
function execStartArgs(unit: string): string[] {
  const line = readFileSync(join(deploy, 'systemd', unit), 'utf8').split('\n').find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error(`${unit} has no ExecStart=`);
  const argv = line.slice('ExecStart='.length).split(/\s+/);
  const i = argv.indexOf('meshd');
  expect(i, `${unit} runs meshd`).toBeGreaterThanOrEqual(0);
  return argv.slice(i + 1);
}

/** Flags (kebab-case) -> config keys, as the CLI's commander options do; systemd specifiers filled in. */
function flagsToRaw(args: string[]): { role: string; raw: Record<string, unknown> } {
  const [role, ...rest] = args;
  const raw: Record<string, unknown> = {};
  for (let i = 0; i < rest.length; i += 2) {
    const opt = options.find((o) => o.flag === rest[i]);
    if (!opt) throw new Error(`ExecStart uses ${rest[i]}, which meshd ${role} does not know`);
    raw[opt.key] = rest[i + 1]!.replace('${STATE_DIRECTORY}', '/var/lib/meshd').replace('%d', '/run/credentials/meshd');
  }
  return { role: role!, raw };
}

describe('deploy/ example configs', () => {
  it('hub.json parses through parseHubConfig (secret from MESHD_SECRET)', () => {
    const c = parseHubConfig(configFile('hub.json'), ctx);
    expect(c).toMatchObject({ listen: { address: '0.0.0.0', port: 7000 }, network: { address: '10.9.0.0', prefixLength: 24 }, logLevel: 'info', secret });
  });

  it('peer.json parses through parsePeerConfig (secret from MESHD_SECRET)', () => {
    const c = parsePeerConfig(configFile('peer.json'), ctx);
    expect(c).toMatchObject({ hub: { host: 'vps.example.net', port: 7000 }, hubKey: 'PASTE+the+hub+key+printed+by+meshd+status+Q=', local: { address: '10.9.0.2', prefixLength: 24 }, name: 'laptop', tun: 'meshd0', mtu: 1358, transport: 'auto', kcpMode: 'fast2', secret });
  });

  it.each([
    ['meshd-hub.service', 'hub', 'hub.json'],
    ['meshd-peer.service', 'peer', 'peer.json'],
  ])('%s: ExecStart flags plus its --config parse (secret via the systemd credential)', (unit, role, file) => {
    const { role: r, raw } = flagsToRaw(execStartArgs(unit));
    expect(r).toBe(role);
    expect(raw.config).toBe(`/etc/meshd/${file}`);
    const flags = { ...raw };
    delete flags.config;
    const merged = { ...configFile(file), ...flags };
    const c = role === 'hub' ? parseHubConfig(merged, { ...ctx, env: {} }) : parsePeerConfig(merged, { ...ctx, env: {} });
    expect(c.secret).toBe(secret);
    expect(c.stateDir).toBe('/var/lib/meshd');
  });

  it('each unit reloads with SIGHUP', () => {
    for (const unit of ['meshd-hub.service', 'meshd-peer.service']) {
      expect(readFileSync(join(deploy, 'systemd', unit), 'utf8')).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    }
  });
});

const analyzeMissing = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status !== 0 ? 'systemd-analyze is not installed' : undefined;

describe('deploy/systemd units', () => {
  it.skipIf(analyzeMissing !== undefined)(`systemd-analyze verify accepts both units without a warning${analyzeMissing ? ` [skipped: ${analyzeMissing}]` : ''}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshd-units-'));
    try {
      const units: string[] = [];
      for (const unit of ['meshd-hub.service', 'meshd-peer.service']) {
        const text = readFileSync(join(deploy, 'systemd', unit), 'utf8');
        expect(text).toMatch(/^ExecStart=\/usr\/bin\/env meshd /m);
        const p = join(dir, unit);
        writeFileSync(p, text.replace(/^ExecStart=\/usr\/bin\/env meshd /m, `ExecStart=${process.execPath} ${cliPath} `));
        units.push(p);
      }
      const r = spawnSync('systemd-analyze', ['verify', ...units], { encoding: 'utf8', timeout: 60_000 });
      // verify exits 0 on unknown keys too (it only warns), so any output is a failure.
      expect({ status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, out: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The cheap systemd protections (issue 17): each unit keeps them. MemoryDenyWriteExecute is left
  // out on purpose (V8's JIT aborts under it; see the unit's comment).
  it.each([
    ['meshd-hub.service', ['DynamicUser=yes', 'CapabilityBoundingSet=', 'PrivateDevices=yes', 'PrivateUsers=yes']],
    ['meshd-peer.service', ['DynamicUser=yes', 'CapabilityBoundingSet=CAP_NET_ADMIN', 'AmbientCapabilities=CAP_NET_ADMIN', 'DevicePolicy=closed', 'DeviceAllow=/dev/net/tun rw']],
  ])('%s runs unprivileged with the cheap protections', (unit, own) => {
    const lines = readFileSync(join(deploy, 'systemd', unit), 'utf8').split('\n');
    const common = [
      'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'PrivateMounts=yes', 'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes', 'ProtectKernelLogs=yes', 'ProtectControlGroups=yes', 'ProtectClock=yes', 'ProtectHostname=yes',
      'ProtectProc=invisible', 'ProcSubset=pid', 'RestrictNamespaces=yes', 'RestrictRealtime=yes', 'RestrictSUIDSGID=yes', 'LockPersonality=yes',
      'SystemCallArchitectures=native', 'SystemCallFilter=@system-service', 'SystemCallErrorNumber=EPERM', 'UMask=0077', 'StateDirectory=meshd',
    ];
    for (const d of [...common, ...own]) expect(lines, `${unit} has ${d}`).toContain(d);
    expect(lines.some((l) => l.startsWith('User=') || l === 'MemoryDenyWriteExecute=yes')).toBe(false);
  });

  const offline = analyzeMissing ?? (spawnSync('systemd-analyze', ['security', '--offline=true', '--help'], { encoding: 'utf8' }).status !== 0 ? 'no --offline' : undefined);
  it.skipIf(offline !== undefined).each([
    ['meshd-hub.service', 1.5],
    ['meshd-peer.service', 2.0],
  ])(`systemd-analyze security --offline scores %s at most %d (was 3.6 hub, 4.7 peer)${offline ? ` [skipped: ${offline}]` : ''}`, (unit, max) => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', join(deploy, 'systemd', unit)], { encoding: 'utf8', timeout: 60_000 });
    const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(`${r.stdout}${r.stderr}`);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(max);
  });
});

// Several hubs with NATS beside each (README "Running under systemd"): the hub drop-in's ExecStart
// parses with hub.json plus the clusterAdvertise it tells the operator to add; nats-server accepts
// the example NATS config; systemd-analyze verify accepts the NATS unit.
describe('deploy/ several hubs with NATS beside each', () => {
  it('the meshd-hub drop-in: its ExecStart (after the reset) parses with hub.json and clusterAdvertise', () => {
    const text = readFileSync(join(deploy, 'systemd', 'meshd-hub.service.d', 'cluster.conf'), 'utf8');
    const starts = text.split('\n').filter((l) => l.startsWith('ExecStart='));
    expect(starts[0]).toBe('ExecStart=');
    expect(starts).toHaveLength(2);
    const argv = starts[1]!.slice('ExecStart='.length).split(/\s+/);
    const { role, raw } = flagsToRaw(argv.slice(argv.indexOf('meshd') + 1));
    expect(role).toBe('hub');
    delete raw.config;
    // Repeatable on the command line; one here.
    raw.cluster = [raw.cluster];
    const c = parseHubConfig({ ...configFile('hub.json'), clusterAdvertise: '203.0.113.1:7000', ...raw }, { ...ctx, env: {} });
    expect(c).toMatchObject({ cluster: ['nats://127.0.0.1:4222'], clusterCreds: '/run/credentials/meshd/nats.creds', clusterAdvertise: { address: '203.0.113.1', port: 7000 } });
    expect(text).toMatch(/^LoadCredential=nats\.creds:\/etc\/meshd\/nats\.creds$/m);
  });

  const natsMissing = spawnSync('sh', ['-c', 'command -v nats-server']).status !== 0 ? 'nats-server is not installed' : undefined;
  it.skipIf(natsMissing !== undefined && process.env.CI !== 'true')(`nats-server -t accepts deploy/nats/meshd-nats.conf${natsMissing ? ` [skipped: ${natsMissing}]` : ''}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshd-nats-conf-'));
    try {
      // Its store directory and the example route hosts made local (-t resolves nothing, writes nothing).
      const conf = readFileSync(join(deploy, 'nats', 'meshd-nats.conf'), 'utf8').replace('/var/lib/meshd-nats', join(dir, 'js')).replace('hub-b.example.net', '192.0.2.10').replace('hub-c.example.net', '192.0.2.11');
      writeFileSync(join(dir, 'n.conf'), conf);
      const r = spawnSync('nats-server', ['-c', join(dir, 'n.conf'), '-t'], { encoding: 'utf8', timeout: 30_000 });
      expect({ status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toMatchObject({ status: 0, out: expect.stringMatching(/is valid/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(analyzeMissing !== undefined)(`systemd-analyze verify accepts meshd-nats.service${analyzeMissing ? ` [skipped: ${analyzeMissing}]` : ''}`, () => {
    const r = spawnSync('systemd-analyze', ['verify', join(deploy, 'systemd', 'meshd-nats.service')], { encoding: 'utf8', timeout: 60_000 });
    const out = `${r.stdout}${r.stderr}`.trim();
    // nats-server missing is the only acceptable complaint (a machine without it installed).
    expect({ status: r.status, out: out.replace(/.*Command \/usr\/sbin\/nats-server is not executable.*\n?/g, '') }).toEqual({ status: 0, out: '' });
  });
});
