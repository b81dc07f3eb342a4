// A hostile client against the hub's stream listeners (test/e2e/stream.test.ts, bench/stream):
// garbage frames, half-open TLS handshakes, then N idle TCP connections held for HOLD ms.
// Usage: node stream-flood.mjs HOST TCP_PORT TLS_PORT N HOLD_MS. Prints one JSON summary line.
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

const [host, tcpPort, tlsPort, n, holdMs] = process.argv.slice(2);
const N = Number(n);
const HOLD = Number(holdMs);
const out = { garbage: { closedByHub: 0, timedOut: 0 }, badFrames: { closedByHub: 0 }, halfOpenTls: { closedByHub: 0 }, idle: { opened: 0, closedByHub: 0, stillOpen: 0 } };

/** Opens a connection, writes `data`, resolves 'closed' when the hub closes it or 'open' after waitMs. */
function probe(port, data, waitMs) {
  return new Promise((resolve) => {
    const s = connect({ host, port: Number(port) });
    const t = setTimeout(() => {
      s.destroy();
      resolve('open');
    }, waitMs);
    s.on('connect', () => data && s.write(data));
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(t);
      resolve('closed');
    });
  });
}

// Garbage: a length above the maximum frame closes the stream at once.
for (let i = 0; i < 20; i++) {
  const r = await probe(tcpPort, Buffer.concat([Buffer.from([0xff, 0xff]), randomBytes(64)]), 3000);
  if (r === 'closed') out.garbage.closedByHub++;
  else out.garbage.timedOut++;
}
// Well-framed garbage: valid frames whose datagrams are noise (the link drops them), then a zero length.
for (let i = 0; i < 10; i++) {
  const frames = [];
  for (let k = 0; k < 20; k++) {
    const d = randomBytes(1 + Math.floor(Math.random() * 200));
    frames.push(Buffer.from([0, d.length]), d);
  }
  frames.push(Buffer.from([0, 0]));
  if ((await probe(tcpPort, Buffer.concat(frames), 3000)) === 'closed') out.badFrames.closedByHub++;
}
// Half-open TLS: a ClientHello header and nothing more, held in parallel.
const half = [];
for (let i = 0; i < 20; i++) half.push(probe(tlsPort, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), HOLD));
// Idle TCP connections that never speak.
const idle = [];
for (let i = 0; i < N; i++) {
  idle.push(
    new Promise((resolve) => {
      const s = connect({ host, port: Number(tcpPort) });
      const t = setTimeout(() => {
        out.idle.stillOpen++;
        s.destroy();
        resolve();
      }, HOLD);
      s.on('connect', () => out.idle.opened++);
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(t);
        out.idle.closedByHub++;
        resolve();
      });
    }),
  );
}
for (const r of await Promise.all(half)) if (r === 'closed') out.halfOpenTls.closedByHub++;
await Promise.all(idle);
console.log(JSON.stringify(out));
