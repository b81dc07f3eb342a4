// `meshd status` and `meshd ping` parsed by commander and run against a control socket in a temp
// dir with a fake daemon: what the user sees and the exit code.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerInviteCommand, registerPingCommand, registerStatusCommand, type CommandIo } from '../../src/ops/commands.js';
import { startControlServer, type ControlHandler, type ControlServer } from '../../src/ops/control-server.js';
import { formatStatus } from '../../src/ops/status-format.js';
import { hubStatus, peerStatus } from './fixtures.js';

let dir: string;
const servers: ControlServer[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshd-cmd-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function daemon(role: 'peer' | 'hub', handler: ControlHandler): Promise<void> {
  servers.push(await startControlServer(join(dir, `${role}.sock`), handler));
}

const peerHandler: ControlHandler = {
  status: () => peerStatus,
  async ping(target, opts, onReply) {
    if (target === 'ghost') return { target, sent: opts.count, received: 0, direct: false };
    const relayOnly = target === 'far';
    let received = 0;
    for (let seq = 1; seq <= opts.count; seq++) {
      const direct = !relayOnly && seq >= 2;
      onReply({ seq, rttMs: direct ? 1.2 : 30.5, path: direct ? 'direct' : 'relay', endpoint: direct ? '198.51.100.7:41641' : '203.0.113.2:7000', name: 'b', address: '10.9.0.3' });
      received++;
      if (opts.untilDirect && direct) break;
    }
    return { target, name: 'b', address: '10.9.0.3', sent: received, received, direct: !relayOnly };
  },
};

interface Run {
  out: string;
  err: string;
  code: number;
}

async function run(...args: string[]): Promise<Run> {
  const r: Run = { out: '', err: '', code: 0 };
  const io: CommandIo = { out: (s) => void (r.out += s), err: (s) => void (r.err += s), setExitCode: (c) => void (r.code = c) };
  const program = new Command('meshd').exitOverride().configureOutput({ writeOut: (s) => void (r.out += s), writeErr: (s) => void (r.err += s) });
  registerStatusCommand(program, io);
  registerPingCommand(program, io);
  registerInviteCommand(program.command('hub').option('--state-dir <dir>'), io);
  try {
    await program.parseAsync(['node', 'meshd', ...args]);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    r.code = e.exitCode === 0 ? 0 : 2; // what src/cli.ts main() does with commander errors
  }
  return r;
}

describe('meshd status', () => {
  it('prints the table of the peer daemon in --state-dir', async () => {
    await daemon('peer', peerHandler);
    expect(await run('status', '--state-dir', dir)).toEqual({ out: formatStatus(peerStatus), err: '', code: 0 });
  });

  it('falls back to the hub socket when no peer runs there; --json prints the raw object', async () => {
    await daemon('hub', { status: () => hubStatus });
    const r = await run('status', '--state-dir', dir, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(hubStatus);
  });

  it('takes --socket over --state-dir', async () => {
    const path = join(dir, 'elsewhere', 'x.sock');
    servers.push(await startControlServer(path, { status: () => hubStatus }));
    expect((await run('status', '--socket', path)).out).toBe(formatStatus(hubStatus));
  });

  it('exits 1 with one line when no daemon runs', async () => {
    expect(await run('status', '--state-dir', dir)).toEqual({ out: '', err: `meshd: no meshd daemon at ${join(dir, 'peer.sock')}: is it running? (--state-dir)\n`, code: 1 });
  });

  it('exits 1 with one line on a status it cannot render', async () => {
    await daemon('peer', { status: () => ({ role: 'toaster' }) });
    expect(await run('status', '--state-dir', dir)).toEqual({ out: '', err: 'meshd: the daemon answered a status without a known role; try --json\n', code: 1 });
  });
});

describe('meshd ping', () => {
  it('prints one line per pong and a summary', async () => {
    await daemon('peer', peerHandler);
    expect(await run('ping', 'b', '--count', '3', '--state-dir', dir)).toEqual({
      out: [
        'pong from b (10.9.0.3) via 203.0.113.2:7000 (relay) in 31ms',
        'pong from b (10.9.0.3) via 198.51.100.7:41641 (direct) in 1.2ms',
        'pong from b (10.9.0.3) via 198.51.100.7:41641 (direct) in 1.2ms',
        '3 sent, 3 received, 0% loss',
        '',
      ].join('\n'),
      err: '',
      code: 0,
    });
  });

  it('--until-direct stops at the first direct pong', async () => {
    await daemon('peer', peerHandler);
    const r = await run('ping', 'b', '--until-direct', '--state-dir', dir);
    expect(r.out.trim().split('\n')).toHaveLength(3);
    expect(r.code).toBe(0);
  });

  it('--until-direct exits 1 when every pong was relayed', async () => {
    await daemon('peer', peerHandler);
    const r = await run('ping', 'far', '--until-direct', '--count', '2', '--state-dir', dir);
    expect(r.out.trim().split('\n').at(-1)).toBe('no direct path to b (10.9.0.3) yet: 2/2 replies, all relayed');
    expect(r.code).toBe(1);
  });

  it('exits 1 when nothing answers', async () => {
    await daemon('peer', peerHandler);
    expect(await run('ping', 'ghost', '--count', '2', '--timeout', '0.5', '--state-dir', dir)).toEqual({ out: 'no reply from ghost (2 sent)\n', err: '', code: 1 });
  });

  it('exits 1 with the daemon message on an error answer', async () => {
    await daemon('peer', { status: () => peerStatus, ping: () => Promise.reject(new Error('no peer named zed')) });
    expect(await run('ping', 'zed', '--state-dir', dir)).toEqual({ out: '', err: 'meshd: ping: no peer named zed\n', code: 1 });
  });

  it.each([
    [['ping', 'b', '--count', 'x'], /option '--count <n>' argument 'x' is invalid\. must be an integer 1\.\.1000/],
    [['ping', 'b', '--count', '0'], /--count/],
    [['ping', 'b', '--timeout', '-1'], /--timeout/],
    [['ping', 'b', '--timeout', '120'], /--timeout <s>' argument '120' is invalid\. must be seconds/],
    [['ping'], /missing required argument 'peer'/],
  ])('usage error %j exits 2 naming the problem in one line', async (args, message) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});

describe('meshd hub invite', () => {
  it('sends the options to the hub and prints the token alone on stdout, the details on stderr', async () => {
    let got: unknown;
    await daemon('hub', {
      status: () => hubStatus,
      invite: (req) => {
        got = req;
        return { token: 'meshd1-abc', id: '00'.repeat(8), name: 'pc', expires: '2026-12-05T00:00:00.000Z', uses: 2, forKey: null, addresses: [] };
      },
    });
    const r = await run('hub', '--state-dir', dir, 'invite', 'pc', '--ttl', '2h', '--uses', '2');
    expect(r.code, r.err).toBe(0);
    expect(got).toEqual({ cmd: 'invite', name: 'pc', ttlMs: 7_200_000, uses: 2 });
    expect(r.out).toBe('meshd1-abc\n');
    expect(r.err).toMatch(/2 uses, expires 2026-12-05T00:00:00.000Z; no hub address in the token: the peer needs --hub/);
  });

  it.each([
    ['a ttl without a unit', ['--ttl', '24']],
    ['zero uses', ['--uses', '0']],
  ])('refuses %s as a usage error', async (_why, args) => {
    const r = await run('hub', '--state-dir', dir, 'invite', ...args);
    expect(r.code).toBe(2);
  });

  it('exits 1 with the hub\'s message when it refuses', async () => {
    await daemon('hub', { status: () => hubStatus });
    const r = await run('hub', '--state-dir', dir, 'invite');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/only the hub issues invites/);
  });
});
