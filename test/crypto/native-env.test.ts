// The crypto addon keeps its OpenSSL contexts per env (aead.c, noise.c): worker threads sealing at
// the same time as the main thread each get their own, and a worker's exit (its env cleanup hook)
// leaves the main thread's working. Static process-wide contexts would be shared across threads.
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { nativeAead, nativeNoise } from '../../src/crypto/native.js';

const addonPath = resolve(import.meta.dirname, '..', '..', 'build', 'Release', 'meshd_crypto.node');
const rounds = 3000;

// Seals `rounds` datagrams with per-round keys and hashes them all: the same digest on every thread
// when each thread's contexts are its own.
const sealAll = `
  const a = require(${JSON.stringify(addonPath)});
  const { createHash } = require('node:crypto');
  const h = createHash('sha256');
  const key = new Uint8Array(32), pt = new Uint8Array(1400).map((_, i) => i & 255), out = new Uint8Array(16 + 1400 + 16);
  for (let r = 0; r < ${rounds}; r++) {
    key.fill(r & 255); out.fill(0); out[8] = r & 255; out[9] = r >> 8;
    if (!a.aeadSeal(key, out, pt)) throw new Error('seal failed');
    h.update(out);
    h.update(a.noiseHash(out.subarray(0, 64)));
  }
  return h.digest('hex');
`;

function inWorker(): Promise<string> {
  return new Promise((done, fail) => {
    const w = new Worker(`const { parentPort } = require('node:worker_threads'); parentPort.postMessage((() => {${sealAll}})());`, { eval: true });
    w.once('message', done);
    w.once('error', fail);
  });
}

describe.skipIf(nativeAead() === undefined || nativeNoise() === undefined)('crypto addon contexts per env', () => {
  it('gives the same bytes on the main thread and in concurrent workers, and survives their exit', async () => {
    const main = new Function('require', sealAll) as (r: NodeRequire) => string;
    const { createRequire } = await import('node:module');
    const req = createRequire(join(import.meta.dirname, 'x.js'));
    const expected = main(req);
    const workers = await Promise.all([inWorker(), inWorker(), inWorker()]);
    expect(workers).toEqual([expected, expected, expected]);
    expect(main(req)).toBe(expected); // the workers' env cleanup freed only their own contexts
    expect(createHash('sha256').update(expected).digest('hex')).toHaveLength(64);
  });
});
