// Every way to start meshd wrongly, run against the built CLI (dist/cli.js) as a user would: each must
// print exactly one line, starting with "meshd:" and naming the option at fault, exit non-zero
// (1 for a bad value or environment, 2 for a usage error commander catches), never a stack trace.
// As root each run sits in a fresh network namespace (unshare -n), so a regression that gets as far
// as opening a TUN device or a socket touches nothing outside it.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, requireDist } from '../helpers/mesh-lab.js';

const isRoot = process.getuid?.() === 0;
const haveUnshare = spawnSync('sh', ['-c', 'command -v unshare']).status === 0;
const secret = 'bad-usage-secret-0123456789';

let dir = '';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `meshd args` (isolated in its own net namespace when root); env replaces MESHD_SECRET handling. */
function meshd(args: string[], opts: { env?: Record<string, string | undefined>; input?: string; asNobody?: boolean } = {}): Run {
  const env: Record<string, string | undefined> = { ...process.env, MESHD_SECRET: secret, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  let argv = [process.execPath, cliPath, ...args];
  if (opts.asNobody) argv = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--inh-caps=-all', ...argv];
  if (isRoot && haveUnshare) argv = ['unshare', '-n', ...argv];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: env as NodeJS.ProcessEnv, input: opts.input ?? '', timeout: 15_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The one-line, named, non-zero, no-stack-trace contract. */
function expectOneLine(r: Run, code: number, pattern: RegExp): void {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(r.stderr, 'no stack trace').not.toMatch(/\n\s+at /);
  expect(lines, `stderr: ${r.stderr}`).toHaveLength(1);
  expect(lines[0]).toMatch(/^meshd: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.code).toBe(code);
}

const hub = '203.0.113.2:7000';
const local = '10.9.0.2/24';

beforeAll(() => {
  requireDist();
  dir = mkdtempSync(join(tmpdir(), 'meshd-cli-'));
  chmodSync(dir, 0o755); // `nobody` must reach its state dir below
  mkdirSync(join(dir, 'keydir'));
  writeFileSync(join(dir, 'garbage.key'), 'not a key\n', { mode: 0o600 });
  writeFileSync(join(dir, 'open.key'), 'aGVsbG8=\n', { mode: 0o644 });
  chmodSync(join(dir, 'open.key'), 0o644);
  writeFileSync(join(dir, 'bad.json'), '{"listen": "0.0.0.0:7000",\n');
  writeFileSync(join(dir, 'array.json'), '[1, 2]\n');
  writeFileSync(join(dir, 'unknown-key.json'), '{"listen": "127.0.0.1:0", "relayEverything": true}\n');
  writeFileSync(join(dir, 'hub-key-for-peer.json'), '{"hub": "203.0.113.2:7000", "local": "10.9.0.2/24", "network": "10.9.0.0/24"}\n');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('meshd bad usage: one "meshd:" line naming the option, non-zero exit, no stack trace', () => {
  const sd = (): string[] => ['--state-dir', join(dir, 'state')];

  // [why, args, exit code, what the line must name]
  it.each<[string, () => string[], number, RegExp]>([
    ['peer without --hub', () => ['peer', '--local', local, ...sd()], 1, /^meshd: --hub: is required/],
    ['--name that is not a name', () => ['peer', '--hub', hub, '--name', 'a b', ...sd()], 1, /^meshd: --name: must be 1-32 letters/],
    ['--local without a prefix', () => ['peer', '--hub', hub, '--local', '10.9.0.2', ...sd()], 1, /^meshd: --local: .*got "10\.9\.0\.2"/],
    ['--local on the network address', () => ['peer', '--hub', hub, '--local', '10.9.0.0/24', ...sd()], 1, /^meshd: --local: .*network or broadcast/],
    ['--hub without a port', () => ['peer', '--hub', '203.0.113.2', '--local', local, ...sd()], 1, /^meshd: --hub: must be host:port/],
    ['unknown --kcp-mode', () => ['peer', '--hub', hub, '--local', local, '--kcp-mode', 'turbo', ...sd()], 1, /^meshd: --kcp-mode: must be one of normal, fast, fast2, fast3 \(got "turbo"\)/],
    ['unknown --transport', () => ['peer', '--hub', hub, '--local', local, '--transport', 'tcp', ...sd()], 1, /^meshd: --transport: must be one of auto, kcp, datagram/],
    ['--mtu out of range', () => ['peer', '--hub', hub, '--local', local, '--mtu', '9000', ...sd()], 1, /^meshd: --mtu: must be an integer from 576 to 1420/],
    ['unknown --log-level', () => ['hub', '--listen', '127.0.0.1:0', '--log-level', 'loud', ...sd()], 1, /^meshd: --log-level: must be one of/],
    ['--metrics without a port', () => ['hub', '--listen', '127.0.0.1:0', '--metrics', 'localhost', ...sd()], 1, /^meshd: --metrics: must be ip:port/],
    ['key file that cannot be read (a directory)', () => ['peer', '--hub', hub, '--local', local, '--key-file', join(dir, 'keydir'), ...sd()], 1, /^meshd: --key-file: cannot read .*EISDIR/],
    ['key file holding no key', () => ['hub', '--listen', '127.0.0.1:0', '--key-file', join(dir, 'garbage.key'), ...sd()], 1, /^meshd: --key-file: .*does not hold a base64 X25519 private key/],
    ['key file readable by others', () => ['hub', '--listen', '127.0.0.1:0', '--key-file', join(dir, 'open.key'), ...sd()], 1, /^meshd: --key-file: .*readable by group or others \(chmod 600/],
    ['--config that does not exist', () => ['hub', '--config', join(dir, 'missing.json'), ...sd()], 1, /^meshd: --config: cannot read .*ENOENT/],
    ['--config that is not JSON', () => ['hub', '--config', join(dir, 'bad.json'), ...sd()], 1, /^meshd: --config: .*is not valid JSON/],
    ['--config holding an array', () => ['hub', '--config', join(dir, 'array.json'), ...sd()], 1, /^meshd: --config: .*must hold a JSON object/],
    ['unknown config key', () => ['hub', '--config', join(dir, 'unknown-key.json'), ...sd()], 1, /^meshd: relayEverything: unknown option for meshd hub/],
    ['a hub-only key in a peer config', () => ['peer', '--config', join(dir, 'hub-key-for-peer.json'), ...sd()], 1, /^meshd: network: unknown option for meshd peer/],
    ['--secret-file that does not exist', () => ['hub', '--listen', '127.0.0.1:0', '--secret-file', join(dir, 'no-secret'), ...sd()], 1, /^meshd: --secret-file: cannot read .*ENOENT/],
    ['unknown command', () => ['frobnicate'], 2, /^meshd: unknown command 'frobnicate'/],
    ['unknown flag of a subcommand', () => ['peer', '--bogus'], 2, /^meshd: unknown option '--bogus'/],
    ['flag without its value', () => ['peer', '--hub'], 2, /^meshd: option '--hub <host:port\[@key\]>' argument missing/],
    ['ping without a target', () => ['ping'], 2, /^meshd: missing required argument 'peer'/],
    ['ping --count 0', () => ['ping', 'b', '--count', '0'], 2, /^meshd: option '--count <n>' argument '0' is invalid/],
    ['status with no daemon running', () => ['status', ...sd()], 1, /^meshd: no meshd daemon at .*peer\.sock/],
    ['ping with no daemon running', () => ['ping', 'b', ...sd()], 1, /^meshd: no meshd daemon at .*peer\.sock/],
  ])('%s', (_why, args, code, pattern) => {
    expectOneLine(meshd(args()), code, pattern);
  });

  it('missing secret: a peer with no --secret-file, no MESHD_SECRET and no default file names the path and how to get it', () => {
    const path = join(dir, 'etc-meshd', 'secret');
    expectOneLine(
      meshd(['peer', '--hub', hub, '--local', local, ...sd()], { env: { MESHD_SECRET: undefined, MESHD_SECRET_FILE: path } }),
      1,
      new RegExp(`^meshd: --secret-file: no network secret: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} does not exist; copy it from the hub \\(scp HUB:/etc/meshd/secret `),
    );
  });

  it('an unknown MESHD_UDP names the switch', () => {
    expectOneLine(meshd(['hub', '--listen', '127.0.0.1:0', ...sd()], { env: { MESHD_UDP: 'dgram' } }), 1, /^meshd: MESHD_UDP: must be native or node \(got "dgram"\)$/);
  });

  it.each([
    ['a short passphrase', 'short', /^meshd: MESHD_SECRET: the network secret is a passphrase of 5 characters .*meshd gensecret/],
    ['16 bytes (the old minimum)', 'summer2024summer', /^meshd: MESHD_SECRET: the network secret is a passphrase of 16 characters/],
    ['one kind of character', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaa', /^meshd: MESHD_SECRET: the network secret is a passphrase made of one kind of character only/],
  ])('a weak secret (%s) names where it came from and the way out', (_why, weak, pattern) => {
    expectOneLine(meshd(['hub', '--listen', '127.0.0.1:0', ...sd()], { env: { MESHD_SECRET: weak } }), 1, pattern);
  });

  it('pubkey with no key or a non-key on stdin', () => {
    expectOneLine(meshd(['pubkey'], { input: '' }), 1, /^meshd: pubkey: give a private key on stdin/);
    expectOneLine(meshd(['pubkey'], { input: 'hello\n' }), 1, /^meshd: pubkey: stdin does not hold a base64 X25519 private key/);
  });

  const nobodyMissing = !isRoot
    ? 'needs root to drop to nobody'
    : spawnSync('sh', ['-c', 'command -v setpriv && id nobody && getent group nogroup']).status !== 0
      ? 'setpriv, user nobody or group nogroup missing'
      : undefined;
  // Either step can be the one refused, both rightly: opening /dev/net/tun when the node is mode
  // 0600 (some distributions), else creating the device (TUNSETIFF) when it is 0666.
  const tunPermission = /^meshd: (opening \/dev\/net\/tun|creating a TUN device) needs CAP_NET_ADMIN/;
  it.skipIf(nobodyMissing !== undefined)(`peer as a user without CAP_NET_ADMIN (TUN_PERMISSION)${nobodyMissing ? ` [skipped: ${nobodyMissing}]` : ''}`, () => {
    const state = join(dir, 'nobody-state');
    mkdirSync(state, { recursive: true });
    const ids = spawnSync('sh', ['-c', 'id -u nobody; getent group nogroup | cut -d: -f3'], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number);
    chownSync(state, ids[0]!, ids[1]!);
    expectOneLine(meshd(['peer', '--hub', hub, '--local', local, '--tun', 'mbad0', '--state-dir', state], { asNobody: true }), 1, tunPermission);
    expect(existsSync(join(state, 'peer.sock'))).toBe(false);
  });
});
