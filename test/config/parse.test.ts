// The pure option parser: defaults, and every bad value refused with a ConfigError naming the option.
import { describe, expect, it } from 'vitest';
import { parseHubConfig, parsePeerConfig, type ParseContext } from '../../src/config/parse.js';
import { ConfigError } from '../../src/util/errors.js';
import { encodeInviteToken } from '../../src/wire/invite.js';

const secret = 'correct horse battery staple';
const ctx: ParseContext = {
  env: {},
  hostname: 'box-1',
  readText: (p) => {
    if (p === '/etc/meshd/secret') return `${secret}\n`;
    if (p === '/short') return 'short';
    throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  },
};
const peerBase = { hub: 'vps.example.net:7000', local: '10.9.0.2/24', secretFile: '/etc/meshd/secret' };

function refusal(fn: () => unknown): { option: string; message: string } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return { option: (e as ConfigError).option, message: (e as Error).message };
  }
  throw new Error('expected a ConfigError');
}

describe('parsePeerConfig', () => {
  it('fills the documented defaults', () => {
    const c = parsePeerConfig(peerBase, ctx);
    expect(c).toMatchObject({
      hub: { host: 'vps.example.net', port: 7000 },
      local: { address: '10.9.0.2', prefixLength: 24 },
      name: 'box-1',
      nameIsHint: true,
      tun: 'meshd0',
      mtu: 1358,
      transport: 'auto',
      kcpMode: 'fast2',
      listen: { address: '0.0.0.0', port: 0 },
      secret,
      keyFile: '/var/lib/meshd/peer.key',
      logLevel: 'info',
    });
  });

  it('without --local the hub assigns the address; --name given is not a hint', () => {
    const c = parsePeerConfig({ ...peerBase, local: undefined, name: 'web' }, ctx);
    expect(c.local).toBeUndefined();
    expect([c.name, c.nameIsHint]).toEqual(['web', false]);
  });

  it.each([
    ['[2001:db8::1]:7000', { host: '2001:db8::1', port: 7000 }],
    ['[2001:DB8:0:0::0001]:7000 (canonicalised)', { host: '2001:db8::1', port: 7000 }],
    ['192.0.2.1:7000', { host: '192.0.2.1', port: 7000 }],
  ])('takes --hub %s', (hub, want) => {
    expect(parsePeerConfig({ ...peerBase, hub: hub.split(' ')[0] }, ctx).hub).toEqual(want);
  });

  it.each([
    ['[::]:0', { address: '::', port: 0 }],
    ['[2001:db8::5]:51820', { address: '2001:db8::5', port: 51820 }],
    ['0.0.0.0:0', { address: '0.0.0.0', port: 0 }],
  ])('takes --listen %s', (listen, want) => {
    expect(parsePeerConfig({ ...peerBase, listen }, ctx).listen).toEqual(want);
  });

  it('takes the secret from MESHD_SECRET when no file is given', () => {
    const c = parsePeerConfig({ hub: 'a:1', local: '10.9.0.2/24' }, { ...ctx, env: { MESHD_SECRET: secret } });
    expect(c.secret).toBe(secret);
  });

  it.each([
    ['no hub', { hub: undefined }, '--hub'],
    ['hub without port', { hub: 'vps' }, '--hub'],
    ['hub port out of range', { hub: 'vps:70000' }, '--hub'],
    ['an IPv6 hub without brackets', { hub: '2001:db8::1:7000' }, '--hub'],
    ['a bracketed hub that is no IPv6 address', { hub: '[2001:db8::g]:7000' }, '--hub'],
    ['an IPv6 listen address without brackets', { listen: ':::0' }, '--listen'],
    ['overlay without prefix', { local: '10.9.0.2' }, '--local'],
    ['overlay is the network address', { local: '10.9.0.0/24' }, '--local'],
    ['overlay is the broadcast address', { local: '10.9.0.255/24' }, '--local'],
    ['overlay not an address', { local: '10.9.0.300/24' }, '--local'],
    ['unreadable secret file', { secretFile: '/missing' }, '--secret-file'],
    ['secret too short', { secretFile: '/short' }, '--secret-file'],
    ['mtu too small', { mtu: 100 }, '--mtu'],
    ['mtu not a number', { mtu: 'big' }, '--mtu'],
    ['unknown kcp mode', { kcpMode: 'turbo' }, '--kcp-mode'],
    ['unknown transport', { transport: 'tcp' }, '--transport'],
    ['bad name', { name: 'has space' }, '--name'],
    ['tun name too long', { tun: 'a-very-long-tun-name' }, '--tun'],
    ['tun name that reads as a flag', { tun: '--help' }, '--tun'],
    ['bad listen', { listen: 'localhost' }, '--listen'],
    ['bad log level', { logLevel: 'loud' }, '--log-level'],
    ['metrics without a port', { metrics: '127.0.0.1' }, '--metrics'],
    ['hub-only option', { network: '10.9.0.0/24' }, 'network'],
    ['unknown key', { colour: 'blue' }, 'colour'],
    ['malformed hub key', { hubKey: 'abc' }, '--hub-key'],
  ])('refuses %s', (_why, patch, option) => {
    const raw: Record<string, unknown> = { ...peerBase, ...patch };
    for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
    expect(refusal(() => parsePeerConfig(raw, ctx)).option).toBe(option);
  });
});

describe('parseHubConfig', () => {
  it('fills the documented defaults', () => {
    const c = parseHubConfig({ secretFile: '/etc/meshd/secret' }, ctx);
    expect(c).toMatchObject({ listen: { address: '0.0.0.0', port: 7000 }, network: { address: '10.9.0.0', prefixLength: 24 }, keyFile: '/var/lib/meshd/hub.key' });
  });

  it.each([
    ['network with host bits', { network: '10.9.0.1/24' }, '--network'],
    ['network prefix too long', { network: '10.9.0.0/31' }, '--network'],
    ['peer-only option', { local: '10.9.0.2/24' }, 'local'],
    ['listen port out of range', { listen: '0.0.0.0:99999' }, '--listen'],
    ['listen IPv6 port out of range', { listen: '[::]:99999' }, '--listen'],
    ['relay rate not a number', { relayRate: 'fast' }, '--relay-rate'],
  ])('refuses %s', (_why, patch, option) => {
    expect(refusal(() => parseHubConfig({ secretFile: '/etc/meshd/secret', ...patch }, ctx)).option).toBe(option);
  });

  it('listens on both families with --listen [::]:7000', () => {
    expect(parseHubConfig({ secretFile: '/etc/meshd/secret', listen: '[::]:7000' }, ctx)).toMatchObject({ listen: { address: '::', port: 7000 }, listenTcp: 7000 });
  });

  it('reads the --publish-* visitor and member limits', () => {
    const c = parseHubConfig(
      { secretFile: '/etc/meshd/secret', publishMaxConnsPerIp: '4', publishAcceptRate: 2, publishIdleTimeout: '0', publishBufferMb: '16', publishMaxServices: '3' },
      ctx,
    );
    expect(c).toMatchObject({ publishMaxConnsPerIp: 4, publishAcceptRate: 2, publishIdleTimeoutSec: 0, publishBufferMb: 16, publishMaxServices: 3 });
    expect(parsePeerConfig({ ...peerBase, publishBufferMb: 8 }, ctx).publishBufferMb).toBe(8);
  });

  it.each([
    ['per-IP cap 0', { publishMaxConnsPerIp: '0' }, '--publish-max-conns-per-ip'],
    ['accept rate not a number', { publishAcceptRate: 'lots' }, '--publish-accept-rate'],
    ['negative idle timeout', { publishIdleTimeout: '-1' }, '--publish-idle-timeout'],
    ['fractional buffer', { publishBufferMb: '1.5' }, '--publish-buffer-mb'],
    ['zero services', { publishMaxServices: '0' }, '--publish-max-services'],
  ])('refuses %s', (_why, patch, option) => {
    expect(refusal(() => parseHubConfig({ secretFile: '/etc/meshd/secret', ...patch }, ctx)).option).toBe(option);
  });
});

describe('stream transport options (issue 21)', () => {
  it.each([
    ['TCP on the UDP port by default, no TLS', {}, { listenTcp: 7000, listenTls: undefined }],
    ['TCP follows --listen', { listen: '0.0.0.0:7100' }, { listenTcp: 7100, listenTls: undefined }],
    ['TCP off', { listenTcp: 'off' }, { listenTcp: undefined, listenTls: undefined }],
    ['TCP elsewhere and TLS on 443', { listenTcp: '8443', listenTls: 443 }, { listenTcp: 8443, listenTls: 443 }],
  ])('hub: %s', (_why, patch, want) => {
    const c = parseHubConfig({ secretFile: '/etc/meshd/secret', ...patch }, ctx);
    expect({ listenTcp: c.listenTcp, listenTls: c.listenTls }).toEqual(want);
  });

  it('peer: auto and TLS port 443 by default; --hub-transport and --hub-tls-port read', () => {
    expect(parsePeerConfig(peerBase, ctx)).toMatchObject({ hubTransport: 'auto', hubTlsPort: 443 });
    expect(parsePeerConfig({ ...peerBase, hubTransport: 'tls', hubTlsPort: '8443' }, ctx)).toMatchObject({ hubTransport: 'tls', hubTlsPort: 8443 });
  });

  it.each([
    ['hub: --listen-tcp not a port', () => parseHubConfig({ secretFile: '/etc/meshd/secret', listenTcp: 'yes' }, ctx), '--listen-tcp'],
    ['hub: --listen-tls out of range', () => parseHubConfig({ secretFile: '/etc/meshd/secret', listenTls: '70000' }, ctx), '--listen-tls'],
    ['peer: unknown --hub-transport', () => parsePeerConfig({ ...peerBase, hubTransport: 'quic' }, ctx), '--hub-transport'],
    ['peer: --hub-tls-port 0', () => parsePeerConfig({ ...peerBase, hubTlsPort: 0 }, ctx), '--hub-tls-port'],
  ])('refuses %s', (_why, fn, option) => {
    expect(refusal(fn).option).toBe(option);
  });
});

describe('--cluster and --cluster-creds (hubs sharing state through NATS)', () => {
  it('reads repeated seeds and the credentials file; no --cluster is a hub alone', () => {
    const c = parseHubConfig({ secretFile: '/etc/meshd/secret', cluster: ['nats://192.0.2.5:4222', 'tls://nats-b.example:4222'], clusterCreds: '/etc/meshd/nats.creds' }, ctx);
    expect(c).toMatchObject({ cluster: ['nats://192.0.2.5:4222', 'tls://nats-b.example:4222'], clusterCreds: '/etc/meshd/nats.creds' });
    expect(parseHubConfig({ secretFile: '/etc/meshd/secret', cluster: 'nats://192.0.2.5:4222' }, ctx).cluster).toEqual(['nats://192.0.2.5:4222']);
    expect(parseHubConfig({ secretFile: '/etc/meshd/secret' }, ctx).cluster).toEqual([]);
  });

  it('reads --cluster-advertise, the UDP address other hubs send relayed data to (IPv4 or IPv6)', () => {
    const base = { secretFile: '/etc/meshd/secret', cluster: 'nats://192.0.2.5:4222' };
    expect(parseHubConfig({ ...base, clusterAdvertise: '203.0.113.5:7000' }, ctx).clusterAdvertise).toEqual({ address: '203.0.113.5', port: 7000 });
    expect(parseHubConfig({ ...base, clusterAdvertise: '[2001:db8::5]:7000' }, ctx).clusterAdvertise).toEqual({ address: '2001:db8::5', port: 7000 });
    expect(parseHubConfig(base, ctx).clusterAdvertise).toBeUndefined();
  });

  it.each([
    ['credentials in the URL (they belong in the creds file)', { cluster: 'nats://user:pw@192.0.2.5:4222' }, '--cluster'],
    ['no port', { cluster: 'nats://192.0.2.5' }, '--cluster'],
    ['another scheme', { cluster: 'http://192.0.2.5:4222' }, '--cluster'],
    ['creds without servers', { clusterCreds: '/etc/meshd/nats.creds' }, '--cluster-creds'],
    ['an advertised address without servers', { clusterAdvertise: '203.0.113.5:7000' }, '--cluster-advertise'],
    ['a wildcard advertised address (other hubs cannot send there)', { cluster: 'nats://192.0.2.5:4222', clusterAdvertise: '0.0.0.0:7000' }, '--cluster-advertise'],
    ['an advertised address without a port', { cluster: 'nats://192.0.2.5:4222', clusterAdvertise: '203.0.113.5' }, '--cluster-advertise'],
  ])('refuses %s', (_why, patch, option) => {
    expect(refusal(() => parseHubConfig({ secretFile: '/etc/meshd/secret', ...patch }, ctx)).option).toBe(option);
  });
});

describe('the network secret: default file, creation at the hub, modes, weak secrets (issue 16.1, M8)', () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  function world(files: Record<string, string>, modes: Record<string, number> = {}, env: Record<string, string> = {}) {
    const notices: Array<[string, string]> = [];
    const created: string[] = [];
    const c: ParseContext = {
      env,
      hostname: 'box-1',
      readText: (p) => {
        if (p in files) return files[p]!;
        throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      },
      fileMode: (p) => modes[p] ?? (p in files ? 0o100600 : undefined),
      createSecret: (p) => {
        created.push(p);
        files[p] = `${key}\n`;
        return key;
      },
      notice: (level, msg) => void notices.push([level, msg]),
    };
    return { c, notices, created };
  }
  const peerRaw = { hub: 'vps.example.net:7000', local: '10.9.0.2/24' };

  it('without --secret-file or MESHD_SECRET both roles read /etc/meshd/secret', () => {
    const w = world({ '/etc/meshd/secret': `${key}\n` });
    expect(parsePeerConfig(peerRaw, w.c).secret).toBe(key);
    expect(parseHubConfig({}, w.c).secret).toBe(key);
    expect(w.created).toEqual([]);
    expect(w.notices).toEqual([]);
  });

  it('MESHD_SECRET_FILE moves the default path', () => {
    const w = world({ '/tmp/x/secret': `${key}\n` }, {}, { MESHD_SECRET_FILE: '/tmp/x/secret' });
    expect(parsePeerConfig(peerRaw, w.c).secret).toBe(key);
  });

  it('a hub with no secret anywhere creates the default file and says so in one line', () => {
    const w = world({}, {}, { MESHD_SECRET_FILE: '/tmp/y/secret' });
    expect(parseHubConfig({}, w.c).secret).toBe(key);
    expect(w.created).toEqual(['/tmp/y/secret']);
    expect(w.notices).toHaveLength(1);
    expect(w.notices[0]![1]).toMatch(/created the network secret \/tmp\/y\/secret; every peer needs a copy/);
  });

  it('a peer with no secret anywhere refuses to start, naming the path and how to get it', () => {
    const w = world({});
    const r = refusal(() => parsePeerConfig(peerRaw, w.c));
    expect(r.option).toBe('--secret-file');
    expect(r.message).toMatch(/no network secret: \/etc\/meshd\/secret does not exist; copy it from the hub \(scp HUB:\/etc\/meshd\/secret \/etc\/meshd\/secret\)/);
    expect(w.created).toEqual([]);
  });

  it.each([
    ['group-readable', 0o100640, true],
    ['world-readable', 0o100604, true],
    ['0600', 0o100600, false],
    ['0400 (a systemd credential)', 0o100400, false],
  ])('a secret file that is %s: warning %s', (_why, mode, warned) => {
    const w = world({ '/etc/meshd/secret': key }, { '/etc/meshd/secret': mode });
    parsePeerConfig(peerRaw, w.c);
    parsePeerConfig({ ...peerRaw, secretFile: '/etc/meshd/secret' }, w.c);
    expect(w.notices.map((n) => n[0])).toEqual(warned ? ['warn', 'warn'] : []);
    if (warned) expect(w.notices[0]![1]).toMatch(/readable by group or others .*chmod 600 \/etc\/meshd\/secret/);
  });

  it.each([
    ['16 characters (summer2024summer, found in 0.09 s by the red team)', 'summer2024summer'],
    ['one kind of character only', 'abcdefghijklmnopqrstuvwxyz'],
    ['digits only', '12345678901234567890123'],
    ['the old minimum of 16 bytes', 'sixteen-bytes-ok'],
  ])('refuses a weak secret: %s', (_why, text) => {
    const w = world({ '/s': `${text}\n` });
    const r = refusal(() => parsePeerConfig({ ...peerRaw, secretFile: '/s' }, w.c));
    expect(r.option).toBe('--secret-file');
    expect(r.message).toMatch(/meshd gensecret/);
    expect(refusal(() => parseHubConfig({}, { ...w.c, env: { MESHD_SECRET: text } })).option).toBe('MESHD_SECRET');
  });

  it('a --metrics address other than loopback starts with a warning line', () => {
    const w = world({ '/etc/meshd/secret': key });
    parsePeerConfig({ ...peerRaw, metrics: '127.0.0.1:9101' }, w.c);
    expect(w.notices).toEqual([]);
    parsePeerConfig({ ...peerRaw, metrics: '0.0.0.0:9101' }, w.c);
    expect(w.notices).toHaveLength(1);
    expect(w.notices[0]).toEqual(['warn', expect.stringMatching(/^--metrics 0\.0\.0\.0:9101 is not a loopback address/)]);
  });
});

describe('--join (invites, issue 25)', () => {
  const token = encodeInviteToken({ networkId: new Uint8Array(8), hubKey: new Uint8Array(32).fill(1), inviteId: new Uint8Array(8).fill(2), secret: new Uint8Array(32).fill(3), addresses: ['203.0.113.1:7000'] });
  const noSecret: ParseContext = { env: {}, hostname: 'box-1', readText: () => { throw Object.assign(new Error('nope'), { code: 'ENOENT' }); } };

  it('needs no secret file and takes the hub from the token; --hub still wins', () => {
    expect(parsePeerConfig({ join: token }, noSecret)).toMatchObject({ secret: '', join: token, hub: { host: '203.0.113.1', port: 7000 } });
    expect(parsePeerConfig({ join: token, hub: 'vps.example.net:7001' }, noSecret).hub).toEqual({ host: 'vps.example.net', port: 7001 });
    // A default secret file that happens to exist is not used with --join: the hub sends the psk.
    expect(parsePeerConfig({ join: token }, ctx).secret).toBe('');
  });

  it('a peer that joined before starts without the token or a secret, on the saved hub', () => {
    const joined: ParseContext = { ...noSecret, readText: (p) => (p === '/var/lib/meshd/joined.json' ? '{"hub": ["203.0.113.9:7000"]}' : noSecret.readText(p)) };
    expect(parsePeerConfig({}, joined)).toMatchObject({ secret: '', hub: { host: '203.0.113.9', port: 7000 } });
  });

  it.each([
    ['truncated', token.slice(0, -3), /TOKEN_CHECKSUM|TOKEN_TRUNCATED/],
    ['not a token', 'hello', /TOKEN_PREFIX/],
  ])('refuses a %s token naming --join', (_why, t, re) => {
    const r = refusal(() => parsePeerConfig({ join: t }, noSecret));
    expect(r.option).toBe('--join');
    expect(r.message).toMatch(re);
  });
});
