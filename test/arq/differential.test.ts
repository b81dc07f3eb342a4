// Differential test against the reference: a simulated session drives our Kcp while every call is
// recorded as a script; the reference ikcp.c (test/arq/ref/replay.c) replays the script and must
// emit the same datagrams byte for byte and reach the same state after every call. Compiled with
// IKCP_FASTACK_CONSERVE to match our default. Skipped, with the reason, without ikcp.c or gcc.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kcp } from '../../src/arq/kcp.js';
import { ikcpDir, ikcpSkipReason } from './ref/ikcp.js';
import { toHex } from '../../src/util/bytes.js';
import { LinkSim } from '../fakes/link-sim.js';
import { Rng } from '../fakes/rng.js';

const skipReason = ikcpSkipReason;

function stateLine(k: Kcp): string {
  return (
    `state una=${k.sndUna} nxt=${k.sndNxt} rcv_nxt=${k.rcvNxt} cwnd=${k.cwnd} ssthresh=${k.ssthresh} incr=${k.incr} ` +
    `srtt=${k.rxSrtt} rttval=${k.rxRttval} rto=${k.rxRto} rmt_wnd=${k.rmtWnd} probe_wait=${k.probeWait} ` +
    `nsnd_buf=${k.nsndBuf} nsnd_que=${k.nsndQue} nrcv_buf=${k.nrcvBuf} nrcv_que=${k.nrcvQue} state=${k.state} xmit=${k.xmit}`
  );
}

type Mode = [nodelay: number, interval: number, resend: number, nc: number];

/** Runs our A against our B over a lossy link; returns A's script and A's transcript. */
function record(mode: Mode, stream: boolean, loss: number, seed: number, steps: number, conserve: boolean): { script: string[]; transcript: string[] } {
  const script: string[] = [];
  const transcript: string[] = [];
  const link = new LinkSim({ loss, duplicate: 0.02, delayMs: 15, jitterMs: 20 }, seed);
  const rng = new Rng(seed + 1);
  let now = 5000;
  const conv = 0x0badf00d;
  const a = new Kcp(conv, (d, n) => {
    transcript.push(`out ${toHex(d.subarray(0, n))}`);
    link.ab.send(now, d, n);
  });
  const b = new Kcp(conv, (d, n) => link.ba.send(now, d, n));
  const [nd, iv, rs, nc] = mode;
  script.push(`create ${conv} ${nd} ${iv} ${rs} ${nc} 64 128 1400 ${stream ? 1 : 0}`);
  for (const k of [a, b]) {
    k.setWndSize(64, 128);
    k.setNodelay(nd, iv, rs, nc);
    k.stream = stream ? 1 : 0;
  }
  // Must match how the replay binary was compiled (with or without IKCP_FASTACK_CONSERVE).
  a.fastackConserve = conserve;
  const buf = new Uint8Array(1 << 20);
  for (let i = 0; i < steps; i++) {
    now += 1;
    if (rng.chance(0.05) && a.waitSnd() < 300) {
      const m = rng.bytes(rng.int(4000));
      script.push(`send ${toHex(m)}`);
      transcript.push(`send ${a.send(m) < 0 ? -1 : 0}`, stateLine(a));
    }
    script.push(`update ${now}`);
    a.update(now);
    transcript.push(stateLine(a));
    b.update(now);
    link.ab.deliver(now, (d) => b.input(d));
    link.ba.deliver(now, (d) => {
      script.push(`input ${toHex(d)}`);
      transcript.push(`input ${a.input(d)}`, stateLine(a));
    });
    if (rng.chance(0.3)) {
      script.push('recv');
      const n = a.recv(buf);
      transcript.push(n >= 0 ? `msg ${toHex(buf.subarray(0, n))}` : `recv ${n}`);
    }
    // B echoes what it receives, so A both sends and receives data.
    for (let n = b.recv(buf); n >= 0; n = b.recv(buf)) b.send(buf.subarray(0, n));
  }
  return { script, transcript };
}

let dir = '';
let bin = '';
let binPlain = '';

describe.skipIf(skipReason !== '')(`byte-exact against the reference ikcp.c${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshd-ikcp-'));
    bin = join(dir, 'replay');
    binPlain = join(dir, 'replay-plain');
    const sources = [join(import.meta.dirname, 'ref/replay.c'), join(ikcpDir!, 'ikcp.c'), '-I', ikcpDir!];
    execFileSync('gcc', ['-O2', '-DIKCP_FASTACK_CONSERVE', '-o', bin, ...sources]);
    execFileSync('gcc', ['-O2', '-o', binPlain, ...sources]);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['default (0,10,0,0), message mode, 10 % loss', [0, 10, 0, 0], false, 0.1, true],
    ['normal (0,10,0,1), message mode, 20 % loss', [0, 10, 0, 1], false, 0.2, true],
    ['fast (1,10,2,1), message mode, 20 % loss', [1, 10, 2, 1], false, 0.2, true],
    ['fast (2,10,2,1), stream mode, 10 % loss', [2, 10, 2, 1], true, 0.1, true],
    ['kcptun fast (0,30,2,1), message mode, 30 % loss', [0, 30, 2, 1], false, 0.3, true],
    ['fast (1,10,2,1) without FASTACK_CONSERVE on both sides, 20 % loss', [1, 10, 2, 1], false, 0.2, false],
  ] as const)('%s: same datagrams and state after every call', (_why, mode, stream, loss, conserve) => {
    const { script, transcript } = record([...mode], stream, loss, 17, 20_000, conserve);
    const out = execFileSync(conserve ? bin : binPlain, { input: script.join('\n') + '\n', maxBuffer: 1 << 30 }).toString().trimEnd().split('\n');
    expect(transcript.filter((l) => l.startsWith('out ')).length).toBeGreaterThan(100);
    for (let i = 0; i < Math.max(out.length, transcript.length); i++) {
      if (out[i] !== transcript[i]) {
        expect(transcript.slice(Math.max(0, i - 3), i + 2), `first difference at line ${i}`).toEqual(out.slice(Math.max(0, i - 3), i + 2));
      }
    }
  });
});
