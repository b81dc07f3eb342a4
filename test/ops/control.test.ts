// The control socket end to end inside one process: a real unix socket in a temp dir, a fake
// daemon handler, and the client functions `meshd status` and `meshd ping` use.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlServer, type ControlHandler, type ControlServer } from '../../src/ops/control-server.js';
import { ControlError, connectError, controlRequest, fetchStatus, requestPing } from '../../src/ops/control-client.js';
import { parseRequest, type PingReply } from '../../src/ops/control-protocol.js';
import { MeshdError } from '../../src/util/errors.js';

let dir: string;
let sock: string;
const servers: ControlServer[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshd-ops-'));
  sock = join(dir, 'peer.sock');
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function start(handler: ControlHandler, path = sock): Promise<ControlServer> {
  const s = await startControlServer(path, handler);
  servers.push(s);
  return s;
}

const fakeStatus = { role: 'peer', name: 'a', peers: [] };

const fakeHandler: ControlHandler = {
  status: () => fakeStatus,
  async ping(target, opts, onReply) {
    if (target === 'nobody') throw new MeshdError('PING_NO_PEER', 'no peer named nobody');
    for (let seq = 1; seq <= opts.count; seq++) {
      onReply({ seq, rttMs: seq, path: seq === opts.count ? 'direct' : 'relay', endpoint: '198.51.100.7:41641', name: 'b', address: '10.9.0.3' });
      if (opts.untilDirect && seq === opts.count) break;
    }
    return { target, name: 'b', address: '10.9.0.3', sent: opts.count, received: opts.count, direct: true };
  },
};

/** Writes raw bytes and collects answer lines until `n` arrive or the server closes. */
function raw(path: string, data: string, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    const lines: string[] = [];
    let buf = '';
    const t = setTimeout(() => reject(new Error(`timeout; got ${JSON.stringify(lines)}`)), 5000);
    c.setEncoding('utf8');
    c.on('connect', () => c.write(data));
    c.on('error', reject);
    c.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      if (lines.length >= n) {
        clearTimeout(t);
        c.destroy();
        resolve(lines);
      }
    });
    c.on('close', () => {
      clearTimeout(t);
      resolve(lines);
    });
  });
}

describe('control socket', () => {
  it('answers status with the handler object', async () => {
    await start(fakeHandler);
    expect(await fetchStatus(sock)).toEqual(fakeStatus);
  });

  it('streams ping replies, then the summary', async () => {
    await start(fakeHandler);
    const replies: PingReply[] = [];
    const summary = await requestPing(sock, 'b', { count: 3, untilDirect: false, timeoutMs: 1000 }, (r) => replies.push(r));
    expect(replies.map((r) => [r.seq, r.path])).toEqual([
      [1, 'relay'],
      [2, 'relay'],
      [3, 'direct'],
    ]);
    expect(summary).toEqual({ target: 'b', name: 'b', address: '10.9.0.3', sent: 3, received: 3, direct: true });
  });

  it('turns a handler error into an {"error"} the client reports as CONTROL_REMOTE', async () => {
    await start(fakeHandler);
    const err = await requestPing(sock, 'nobody', { count: 1, untilDirect: false, timeoutMs: 1000 }, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlError);
    expect((err as ControlError).code).toBe('CONTROL_REMOTE');
    expect((err as Error).message).toBe('ping: no peer named nobody');
  });

  it('says ping is unsupported by a daemon without ping (the hub)', async () => {
    await start({ status: () => ({ role: 'hub' }) });
    expect(await raw(sock, '{"cmd":"ping","target":"b"}\n', 1)).toEqual(['{"error":"ping: this daemon does not ping (ask a peer daemon, not the hub)"}']);
  });

  it('answers bad requests with errors and keeps the connection for the next line', async () => {
    await start(fakeHandler);
    const lines = await raw(sock, 'hello\n[1]\n{"cmd":"reboot"}\n{}\n{"cmd":"ping"}\n{"cmd":"ping","target":"b","count":0}\n{"cmd":"status"}\n', 7);
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { error: 'bad request: not JSON' },
      { error: 'bad request: not a JSON object' },
      { error: 'unknown cmd "reboot"' },
      { error: 'bad request: missing "cmd"' },
      { error: 'ping: "target" must be a peer name or overlay address' },
      { error: 'ping: "count" must be an integer 1..1000' },
      { status: fakeStatus },
    ]);
  });

  it('survives garbage: binary junk, an overlong line, a status that throws or cannot be encoded', async () => {
    let mode = 0;
    await start({
      status: () => {
        if (mode === 1) throw new Error('boom');
        if (mode === 2) return { n: 1n };
        return fakeStatus;
      },
    });
    expect(await raw(sock, '\x00\xff\x01\n', 1)).toEqual(['{"error":"bad request: not JSON"}']);
    expect(await raw(sock, 'x'.repeat(10_000), 1)).toEqual(['{"error":"bad request: longer than 4096 bytes"}']);
    mode = 1;
    expect(await raw(sock, '{"cmd":"status"}\n', 1)).toEqual(['{"error":"status: boom"}']);
    mode = 2;
    expect(JSON.parse((await raw(sock, '{"cmd":"status"}\n', 1))[0]!)).toHaveProperty('error');
    mode = 0;
    expect(await fetchStatus(sock)).toEqual(fakeStatus);
  });

  it('copes with a client that disconnects mid-ping, and aborts the ping', async () => {
    let aborted = false;
    let replied!: () => void;
    const firstReply = new Promise<void>((r) => (replied = r));
    await start({
      status: () => fakeStatus,
      async ping(target, _opts, onReply, signal) {
        onReply({ seq: 1, rttMs: 1, path: 'direct' });
        replied();
        await new Promise((r) => setTimeout(r, 200));
        aborted = signal.aborted;
        onReply({ seq: 2, rttMs: 1, path: 'direct' }); // to a closed socket: must not throw
        return { target, sent: 2, received: 2, direct: true };
      },
    });
    const c = createConnection(sock);
    c.on('connect', () => c.write('{"cmd":"ping","target":"b","count":2}\n'));
    await firstReply;
    c.destroy();
    await new Promise((r) => setTimeout(r, 300));
    expect(aborted).toBe(true);
    expect(await fetchStatus(sock)).toEqual(fakeStatus);
  });

  it('creates the socket with mode 0600 and its missing directory with 0700', async () => {
    const nested = join(dir, 'state', 'peer.sock');
    await start(fakeHandler, nested);
    expect(statSync(nested).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o700);
  });

  it('removes a stale socket nobody answers on, and unlinks its own on close', async () => {
    // A socket file left by a killed daemon: a child listens, then dies by SIGKILL without unlinking.
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`]);
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(sock)).toBe(true);
    const s = await start(fakeHandler);
    expect(await fetchStatus(sock)).toEqual(fakeStatus);
    await s.close();
    expect(existsSync(sock)).toBe(false);
  });

  it('refuses to start over a live daemon or a regular file', async () => {
    await start(fakeHandler);
    await expect(startControlServer(sock, fakeHandler)).rejects.toMatchObject({ code: 'CONTROL_IN_USE' });
    const file = join(dir, 'file.sock');
    writeFileSync(file, 'not a socket');
    await expect(startControlServer(file, fakeHandler)).rejects.toMatchObject({ code: 'CONTROL_NOT_SOCKET' });
    expect(existsSync(file)).toBe(true);
  });

  it('tells the user when no daemon runs there', async () => {
    const err = (await fetchStatus(join(dir, 'nope.sock')).catch((e: unknown) => e)) as ControlError;
    expect(err.code).toBe('CONTROL_NO_DAEMON');
    expect(err.message).toBe(`no meshd daemon at ${join(dir, 'nope.sock')}: is it running? (--state-dir)`);
  });

  it('says "needs root" on permission denied', async () => {
    if (process.getuid?.() === 0) return; // root may open any socket: nothing to see
    await start(fakeHandler);
    const { chmodSync } = await import('node:fs');
    chmodSync(sock, 0o000);
    const err = (await fetchStatus(sock).catch((e: unknown) => e)) as ControlError;
    expect(err.code).toBe('CONTROL_PERMISSION');
    expect(err.message).toMatch(/needs root/);
  });

  it.each([
    ['ENOENT', 'CONTROL_NO_DAEMON', 'no meshd daemon at /s: is it running? (--state-dir)'],
    ['ECONNREFUSED', 'CONTROL_NO_DAEMON', 'no meshd daemon at /s: is it running? (--state-dir)'],
    ['EACCES', 'CONTROL_PERMISSION', "permission denied on /s: needs root (or the daemon's user); try sudo"],
    ['EIO', 'CONTROL_IO', 'cannot talk to meshd at /s: EIO'],
  ])('maps connect error %s to %s (also covers running the suite as root)', (errno, code, message) => {
    const e = Object.assign(new Error(errno), { code: errno });
    expect(connectError('/s', e)).toMatchObject({ code, message });
  });

  it('times out on a daemon that never answers', async () => {
    const mute = createServer(() => undefined);
    await new Promise<void>((r) => mute.listen(sock, r));
    try {
      await expect(controlRequest(sock, { cmd: 'status' }, 200, () => true)).rejects.toMatchObject({ code: 'CONTROL_TIMEOUT' });
    } finally {
      mute.close();
    }
  });
});

describe('parseRequest', () => {
  it.each([
    ['defaults fill a bare ping', '{"cmd":"ping","target":"b"}', { cmd: 'ping', target: 'b', count: 4, untilDirect: false, timeoutMs: 2000 }],
    ['explicit fields pass', '{"cmd":"ping","target":"10.9.0.3","count":10,"untilDirect":true,"timeoutMs":500}', { cmd: 'ping', target: '10.9.0.3', count: 10, untilDirect: true, timeoutMs: 500 }],
    ['extra fields are ignored', '{"cmd":"status","x":1}', { cmd: 'status' }],
    ['fractional count refused', '{"cmd":"ping","target":"b","count":1.5}', { error: 'ping: "count" must be an integer 1..1000' }],
    ['untilDirect must be boolean', '{"cmd":"ping","target":"b","untilDirect":"yes"}', { error: 'ping: "untilDirect" must be true or false' }],
    ['timeout bounded', '{"cmd":"ping","target":"b","timeoutMs":600000}', { error: 'ping: "timeoutMs" must be 1..60000' }],
    ['empty target refused', '{"cmd":"ping","target":""}', { error: 'ping: "target" must be a peer name or overlay address' }],
    ['null is not an object', 'null', { error: 'bad request: not a JSON object' }],
    ['a bare invite', '{"cmd":"invite"}', { cmd: 'invite' }],
    ['an invite with every field', `{"cmd":"invite","name":"pc","ttlMs":3600000,"uses":2,"forKey":"${'A'.repeat(43)}=","address":"hub.example:7000"}`, { cmd: 'invite', name: 'pc', ttlMs: 3600000, uses: 2, forKey: `${'A'.repeat(43)}=`, address: 'hub.example:7000' }],
    ['an invite name with a space refused', '{"cmd":"invite","name":"a b"}', { error: 'invite: "name" must be 1-32 letters, digits, - or _' }],
    ['zero invite uses refused', '{"cmd":"invite","uses":0}', { error: 'invite: "uses" must be an integer 1..1000' }],
    ['an invite ttl over a year refused', '{"cmd":"invite","ttlMs":40000000000}', { error: 'invite: "ttlMs" must be 1 s to 365 days' }],
    ['an invite for a key that is not one refused', '{"cmd":"invite","forKey":"abc"}', { error: 'invite: "forKey" must be a base64 public key' }],
  ])('%s', (_why, line, want) => {
    expect(parseRequest(line)).toEqual(want);
  });
});
