// Micro-bench of the link's per-datagram JS cost (issue 18 "hot path"): two Links joined by a
// synchronous socket pair (no kernel), one handshake, then N TRANSPORT datagrams a -> b, each through
// Link.send (as peer/node.ts calls it, with udpPath(endpoint) per send), the socket, Link.receive and
// the inner handler. Prints CPU us per datagram. Also times NativeUdpSocket.send of small datagrams to
// a loopback sink (the per-send address lookup), when the UDP addon is built.
//   npm run build && node bench/link/link-loop.mjs [distDir=dist] [N=300000]
import { resolve } from 'node:path';
const dist = resolve(process.argv[2] ?? 'dist');
const N = Number(process.argv[3] ?? 300000);
const { Link } = await import(`${dist}/link/link.js`);
const { udpPath } = await import(`${dist}/link/path.js`);
const { generateKeyPair } = await import(`${dist}/crypto/keys.js`);
const native = await import(`${dist}/crypto/native.js`);
native.installNativeCrypto?.({ nodeCrypto: false }); // older trees: the process-wide switch
const crypto = native.runtimeCrypto?.({ nodeCrypto: false }); // newer trees: passed to each Link

const clock = { now: () => performance.now(), setTimer: (ms, fn) => setTimeout(fn, ms), clearTimer: (h) => clearTimeout(h) };
const log = { isLevelEnabled: () => false, debug() {}, info() {}, warn() {}, error() {}, child() { return log; } };
const psk = new Uint8Array(32).fill(9);
const sockets = new Map();
function socket(address, port) {
  const local = { address, port };
  const s = {
    local,
    handler: undefined,
    send(data, to) {
      const peer = sockets.get(`${to.address}:${to.port}`);
      peer?.handler?.(data, local); // the same Endpoint object per source, as udp-native's cache gives
    },
    onMessage(h) { this.handler = h; },
    close: async () => {},
  };
  sockets.set(`${address}:${port}`, s);
  return s;
}
const ka = generateKeyPair(), kb = generateKeyPair();
const ua = socket('192.0.2.1', 1000), ub = socket('192.0.2.2', 2000);
const mk = (udp, keyPair) => new Link({ udp, keyPair, psk, clock, wallClock: () => Date.now(), log, ...(crypto ? { crypto } : {}) });
const a = mk(ua, ka), b = mk(ub, kb);
let got = 0;
b.onInner(() => got++);
const pt = new Uint8Array(64).fill(0x45);
pt[0] = 0x45; // an inner kind the link passes up
a.send(kb.publicKey, pt, udpPath(ub.local));
// The responder answers from its backlog on a timer slice.
for (let i = 0; i < 50 && !a.hasSession(kb.publicKey); i++) await new Promise((r) => setTimeout(r, 10));
if (!a.hasSession(kb.publicKey)) throw new Error('no session');

function loop(n) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) a.send(kb.publicKey, pt, udpPath(ub.local));
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / n;
}
loop(20000);
const link = loop(N);

let udp = 'n/a';
const un = await import(`${dist}/net/udp-native.js`);
if (un.nativeUdpUnavailable() === undefined) {
  const sink = un.openNativeUdp({ address: '127.0.0.1', port: 0 }, 1 << 20, 1 << 20);
  const s = un.openNativeUdp({ address: '127.0.0.1', port: 0 }, 1 << 20, 1 << 20);
  const to = Object.freeze({ ...sink.local });
  const small = new Uint8Array(32);
  const M = N;
  const t0 = process.cpuUsage();
  for (let i = 0; i < M; i++) {
    s.send(small, to);
    if ((i & 1023) === 1023) await new Promise((r) => setImmediate(r));
  }
  const d = process.cpuUsage(t0);
  udp = ((d.user + d.system) / M).toFixed(3);
  await s.close();
  await sink.close();
}
console.log(JSON.stringify({ dist, linkUsPerDatagram: +link.toFixed(3), received: got, nativeUdpSendUs: udp === 'n/a' ? udp : +udp }));
await a.close();
await b.close();
process.exit(0);
