// Publish benchmark on loopback: one visitor downloads N MB from a local TCP source (1) directly,
// (2) through meshd publish (hub + peer in this process, real UDP on 127.0.0.1, systemClock), and
// (3) through kcptun (client + server processes, same role: public TCP port -> KCP -> target) when
// /usr/bin/kcptun-{client,server} exist. Prints MB/s and time-to-first-byte per row. CONNS=N runs N
// concurrent downloads of MB each per row (aggregate MB/s; first byte is the slowest connection's).
// Build+run: see docs/PUBLISH.md "Benchmark".
import { spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { startHub } from '../../src/hub/hub.js';
import { openUdp } from '../../src/net/udp-node.js';
import { PeerNode } from '../../src/peer/node.js';
import { systemClock, systemWallClock } from '../../src/util/clock.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { pino } from 'pino';

const MB = Number(process.env.MB ?? 64);
const CONNS = Number(process.env.CONNS ?? 1);
const log = pino({ level: 'silent' });

async function source(): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 7);
  const srv = createServer((s) => {
    let left = MB * 1024 * 1024;
    const pump = (): void => {
      while (left > 0) {
        left -= chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
    s.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  srv.unref();
  return (srv.address() as AddressInfo).port;
}

async function download(port: number): Promise<{ mbps: number; ttfbMs: number }> {
  const t0 = performance.now();
  const all = await Promise.all(Array.from({ length: CONNS }, () => downloadOne(port)));
  const secs = (performance.now() - t0) / 1000;
  return { mbps: (MB * CONNS) / secs, ttfbMs: Math.max(...all.map((r) => r.ttfbMs)) };
}

function downloadOne(port: number): Promise<{ mbps: number; ttfbMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = 0;
    let n = 0;
    const s = connect({ host: '127.0.0.1', port });
    s.on('data', (d) => {
      if (!first) first = performance.now();
      n += d.length;
    });
    s.on('end', () => {
      const secs = (performance.now() - t0) / 1000;
      if (n !== MB * 1024 * 1024) reject(new Error(`got ${n} bytes`));
      else resolve({ mbps: MB / secs, ttfbMs: first - t0 });
    });
    s.on('error', reject);
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

async function main(): Promise<void> {
  // The links run on crypto/native.ts runtimeCrypto() as the daemons do: the addon unless MESHD_NODE_CRYPTO=1.
  const src = await source();
  const rows: Array<[string, { mbps: number; ttfbMs: number }]> = [];
  rows.push(['direct TCP', await download(src)]);

  const psk = derivePsk('benchmark secret 0123456789');
  const hubKeys = generateKeyPair();
  const hubUdp = await openUdp({ address: '127.0.0.1', port: 0 });
  const pub = await freePort();
  const hub = startHub({ listen: hubUdp.local, network: '10.9.0.0/24', psk, keyPair: hubKeys, clock: systemClock, wallClock: systemWallClock, log, udp: hubUdp, allowPublish: [{ lo: 1, hi: 65535 }], publishListenHost: '127.0.0.1' });
  const peer = new PeerNode({
    udp: await openUdp({ address: '127.0.0.1', port: 0 }), keyPair: generateKeyPair(), psk, clock: systemClock, wallClock: systemWallClock, log,
    hub: hubUdp.local, hubKey: hubKeys.publicKey, overlay: ipv4ToU32('10.9.0.2'), prefix: 24, publish: [{ name: 'bench', publicPort: pub, targetHost: '127.0.0.1', targetPort: src }],
  });
  await peer.start();
  for (let i = 0; i < 100 && peer.publishStatus()[0]?.state !== 'published'; i++) await new Promise((r) => setTimeout(r, 20));
  rows.push(['meshd publish (hub+peer, loopback UDP)', await download(pub)]);
  await peer.stop();
  await hub.close();

  if (existsSync('/usr/bin/kcptun-server') && existsSync('/usr/bin/kcptun-client')) {
    const kport = await freePort();
    const cport = await freePort();
    const common = ['--crypt', 'aes', '--key', 'bench', '--mode', 'fast', '--nocomp'];
    const server = spawn('/usr/bin/kcptun-server', ['-t', `127.0.0.1:${src}`, '-l', `127.0.0.1:${kport}`, ...common], { stdio: 'ignore' });
    const client = spawn('/usr/bin/kcptun-client', ['-r', `127.0.0.1:${kport}`, '-l', `127.0.0.1:${cport}`, ...common], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 800));
    try {
      rows.push(['kcptun (fast, aes, nocomp)', await download(cport)]);
    } finally {
      server.kill();
      client.kill();
    }
  }
  console.log(`| path (${CONNS} x ${MB} MB download, loopback) | MB/s | first byte ms |`);
  console.log('|---|---|---|');
  for (const [name, r] of rows) console.log(`| ${name} | ${r.mbps.toFixed(1)} | ${r.ttfbMs.toFixed(1)} |`);
  process.exit(0);
}

void main();
