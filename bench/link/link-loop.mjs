// Micro-bench of the link's per-datagram JS cost (issue 18 "hot path"): for each tree given (a dist/
// directory), two Links joined by a synchronous socket pair (no kernel), one handshake, then rounds of
// N TRANSPORT datagrams a -> b, each through Link.send (as peer/node.ts calls it, with
// udpPath(endpoint) per send), the socket, Link.receive and the inner handler. Trees run in one
// process, rounds alternating, so a busy machine hits both alike; prints the median CPU us per
// datagram of each. Also NativeUdpSocket.send of small datagrams to a loopback sink (the per-send
// address lookup), when the UDP addon is built.
//   npm run build && AEAD=null node bench/link/link-loop.mjs [N=300000] dist [otherTree/dist ...]
// AEAD=null: a copy instead of ChaCha20-Poly1305, so the figure is the link's own JS (demux, Path,
// counters, session bookkeeping); AEAD=native (default): the addon, as the daemon runs.
import { resolve } from 'node:path';

const N = Number(process.argv[2] ?? 300000);
const dists = (process.argv.length > 3 ? process.argv.slice(3) : ['dist']).map((d) => resolve(d));
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const useNull = process.env.AEAD === 'null';
const nullAead = {
  aeadSeal(_key, out, pt) { out.set(pt, 16); out.fill(0, 16 + pt.byteLength, 32 + pt.byteLength); return true; },
  aeadOpen(_key, d, out) { const n = d.byteLength - 32; out.set(d.subarray(16, 16 + n)); return n; },
};
const clock = { now: () => performance.now(), setTimer: (ms, fn) => setTimeout(fn, ms), clearTimer: (h) => clearTimeout(h) };
const log = { isLevelEnabled: () => false, debug() {}, info() {}, warn() {}, error() {}, child() { return log; } };
const psk = new Uint8Array(32).fill(9);

async function setup(dist) {
  const { Link } = await import(`${dist}/link/link.js`);
  const { udpPath } = await import(`${dist}/link/path.js`);
  const { generateKeyPair } = await import(`${dist}/crypto/keys.js`);
  const native = await import(`${dist}/crypto/native.js`);
  const session = await import(`${dist}/crypto/session.js`);
  const { parseEndpoint } = await import(`${dist}/net/udp.js`);
  const un = await import(`${dist}/net/udp-native.js`);
  native.installNativeCrypto?.({ nodeCrypto: false }); // older trees: the process-wide switch
  if (useNull) session.setAeadBackend?.(nullAead);
  const base = native.runtimeCrypto?.({ nodeCrypto: false }); // newer trees: passed to each Link
  const crypto = base && useNull ? { ...base, aead: nullAead } : base;
  const sockets = new Map();
  const socket = (address, port) => {
    const local = { address, port };
    const s = {
      local,
      handler: undefined,
      send(data, to) {
        sockets.get(`${to.address}:${to.port}`)?.handler?.(data, local); // one Endpoint object per source, as udp-native's cache gives
      },
      onMessage(h) { this.handler = h; },
      close: async () => {},
    };
    sockets.set(`${address}:${port}`, s);
    return s;
  };
  const ka = generateKeyPair(), kb = generateKeyPair();
  const ua = socket('192.0.2.1', 1000), ub = socket('192.0.2.2', 2000);
  const mk = (udp, keyPair) => new Link({ udp, keyPair, psk, clock, wallClock: () => Date.now(), log, ...(crypto ? { crypto } : {}) });
  const a = mk(ua, ka), b = mk(ub, kb);
  let got = 0;
  b.onInner(() => got++);
  const pt = new Uint8Array(64).fill(0x45);
  a.send(kb.publicKey, pt, udpPath(ub.local));
  for (let i = 0; i < 50 && !a.hasSession(kb.publicKey); i++) await new Promise((r) => setTimeout(r, 10)); // the responder's DH slice
  if (!a.hasSession(kb.publicKey)) throw new Error(`${dist}: no session`);
  const loop = (n) => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) a.send(kb.publicKey, pt, udpPath(ub.local));
    const d = process.cpuUsage(t0);
    return (d.user + d.system) / n;
  };
  let udpLoop;
  if (un.nativeUdpUnavailable() === undefined) {
    const sink = un.openNativeUdp({ address: '127.0.0.1', port: 0 }, 1 << 20, 1 << 20);
    const s = un.openNativeUdp({ address: '127.0.0.1', port: 0 }, 1 << 20, 1 << 20);
    const to = parseEndpoint(`127.0.0.1:${sink.local.port}`); // as endpoints are made in each tree
    const small = new Uint8Array(32);
    udpLoop = async (n) => {
      const t0 = process.cpuUsage();
      for (let i = 0; i < n; i++) {
        s.send(small, to);
        if ((i & 1023) === 1023) await new Promise((r) => setImmediate(r));
      }
      const d = process.cpuUsage(t0);
      return (d.user + d.system) / n;
    };
  }
  return { dist, loop, udpLoop, got: () => got, close: async () => { await a.close(); await b.close(); } };
}

const trees = [];
for (const d of dists) trees.push(await setup(d));
for (const t of trees) t.loop(20000); // warm up
const link = trees.map(() => []), udp = trees.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, t] of trees.entries()) {
    link[i].push(t.loop(N));
    if (t.udpLoop) udp[i].push(await t.udpLoop(N));
  }
}
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
for (const [i, t] of trees.entries()) {
  console.log(JSON.stringify({ dist: t.dist, aead: useNull ? 'null' : 'native', rounds: ROUNDS, linkUsPerDatagram: +median(link[i]).toFixed(3), nativeUdpSendUs: udp[i].length ? +median(udp[i]).toFixed(3) : 'n/a', received: t.got() }));
  await t.close();
}
process.exit(0);
