// Wire compatibility with the reference: our Kcp on a node:dgram socket talks to a real
// skywind3000/kcp endpoint (ikcp.c compiled with our harness, test/arq/ref/harness.c) on
// 127.0.0.1, both ways, in message mode with fragments and in stream mode, with and without loss.
// ikcp.c comes from $MESHD_IKCP_DIR or node_modules/node-kcp/src/kcp (the npm package node-kcp
// ships it); without it, or without gcc, the tests are skipped and say why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kcp } from '../../src/arq/kcp.js';
import { ikcpDir, ikcpSkipReason } from './ref/ikcp.js';
import { Rng } from '../fakes/rng.js';

const skipReason = ikcpSkipReason;

const CONV = 0x4d455348;

/** Our message i: tag 0x01, then a pattern; lengths 1..4000 (up to 3 fragments at mtu 1400). */
function ours(i: number): Uint8Array {
  const m = new Uint8Array(((i * 611) % 4000) + 1);
  for (let k = 0; k < m.length; k++) m[k] = k === 0 ? 1 : (i * 7 + k) & 255;
  return m;
}
/** What the harness originates (see harness.c). */
function theirs(i: number): Uint8Array {
  const m = new Uint8Array(((i * 997) % 4000) + 1);
  for (let k = 0; k < m.length; k++) m[k] = k === 0 ? 2 : (i + k) & 255;
  return m;
}

interface Run {
  echoes: Uint8Array[];
  originated: Uint8Array[];
  stream: Uint8Array;
  harnessLog: string;
  ours: Kcp;
}

let dir = '';
let bin = '';

async function exchange(o: { loss: number; nodelay: [number, number, number, number]; count: number; stream: boolean }): Promise<Run> {
  const [nd, iv, rs, nc] = o.nodelay;
  const child: ChildProcessWithoutNullStreams = spawn(bin, [String(CONV), String(Math.round(o.loss * 100)), String(nd), String(iv), String(rs), String(nc), String(o.stream ? 0 : o.count), o.stream ? '1' : '0']);
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    child.on('exit', (c) => rej(new Error(`harness exited ${c}: ${log}`)));
  });
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const rng = new Rng(7);
  const k = new Kcp(CONV, (data, len) => {
    if (rng.chance(o.loss)) return;
    sock.send(Buffer.from(data.subarray(0, len)), port, '127.0.0.1');
  });
  k.setWndSize(128, 128);
  k.setNodelay(nd, iv, rs, nc);
  k.stream = o.stream ? 1 : 0;
  sock.on('message', (msg) => {
    const rc = k.input(msg, msg.length, performance.now());
    if (rc < 0) log += `our input rejected: ${rc}\n`;
  });
  const echoes: Uint8Array[] = [];
  const originated: Uint8Array[] = [];
  const streamParts: Uint8Array[] = [];
  let streamLen = 0;
  let sentBytes = 0;
  let next = 0;
  const buf = new Uint8Array(1 << 16);
  const done = () => (o.stream ? next === o.count && streamLen === sentBytes : echoes.length === o.count && originated.length === o.count);
  await new Promise<void>((res, rej) => {
    const deadline = performance.now() + 25_000;
    const timer = setInterval(() => {
      while (next < o.count && k.waitSnd() < 64) {
        const m = ours(next++);
        k.send(m);
        sentBytes += m.length;
      }
      k.update(performance.now());
      for (let n = k.recv(buf); n >= 0; n = k.recv(buf)) {
        const m = buf.slice(0, n);
        if (o.stream) {
          streamParts.push(m);
          streamLen += n;
        } else (m[0] === 1 ? echoes : originated).push(m);
      }
      if (done()) {
        clearInterval(timer);
        res();
      } else if (performance.now() > deadline) {
        clearInterval(timer);
        rej(new Error(`timeout: echoes ${echoes.length}, originated ${originated.length}, stream ${streamLen}/${sentBytes}; ${log}`));
      }
    }, 2);
  }).finally(() => sock.close());
  child.stdin.end();
  await new Promise((r) => child.on('exit', r));
  const stream = new Uint8Array(streamLen);
  let off = 0;
  for (const p of streamParts) {
    stream.set(p, off);
    off += p.length;
  }
  return { echoes, originated, stream, harnessLog: log, ours: k };
}

describe.skipIf(skipReason !== '')(`interop with the reference ikcp.c over UDP${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshd-ikcp-'));
    bin = join(dir, 'harness');
    execFileSync('gcc', ['-O2', '-o', bin, join(import.meta.dirname, 'ref/harness.c'), join(ikcpDir!, 'ikcp.c'), '-I', ikcpDir!]);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    // why, loss each way, (nodelay, interval, resend, nc), messages each way
    ['message mode, no loss, normal (0,10,0,1)', 0, [0, 10, 0, 1], 150],
    ['message mode, no loss, default (0,10,0,0): cwnd and slow start on both ends', 0, [0, 10, 0, 0], 150],
    ['message mode, 10 % loss each way, fast (1,10,2,1)', 0.1, [1, 10, 2, 1], 150],
    ['message mode, 20 % loss each way, fast (2,10,2,1)', 0.2, [2, 10, 2, 1], 150],
    // TCP-like default backs off hard under loss (100 ms min RTO, doubling): fewer messages.
    ['message mode, 10 % loss each way, default (0,10,0,0)', 0.1, [0, 10, 0, 0], 30],
  ] as const)('%s: our messages echo back intact and theirs arrive in order', async (_why, loss, nodelay, count) => {
    const r = await exchange({ loss, nodelay: [...nodelay], count, stream: false });
    expect(r.harnessLog).not.toMatch(/rejected/);
    expect(r.echoes.length).toBe(count);
    r.echoes.forEach((m, i) => expect(Buffer.compare(m, ours(i)), `echo ${i}`).toBe(0));
    expect(r.originated.length).toBe(count);
    r.originated.forEach((m, i) => expect(Buffer.compare(m, theirs(i)), `theirs ${i}`).toBe(0));
    expect(r.harnessLog).toMatch(new RegExp(`received=${count} echoed=${count} originated=${count}`));
    if (loss > 0) expect(r.ours.retransmits).toBeGreaterThan(0);
  });

  it('stream mode, 10 % loss: the echoed byte stream equals what we sent', async () => {
    const count = 150;
    const r = await exchange({ loss: 0.1, nodelay: [1, 10, 2, 1], count, stream: true });
    expect(r.harnessLog).not.toMatch(/rejected/);
    const want = new Uint8Array(r.stream.length);
    let off = 0;
    for (let i = 0; i < count; i++) {
      const m = ours(i);
      want.set(m, off);
      off += m.length;
    }
    expect(off).toBe(r.stream.length);
    expect(Buffer.compare(r.stream, want)).toBe(0);
  });
});
