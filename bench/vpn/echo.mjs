// TCP request-response latency for the VPN bench, like interactive ssh: one 32-byte request,
// wait for the 32-byte echo, repeat. `echo.mjs server PORT` | `echo.mjs client HOST PORT ROUNDS TIMEOUT_S`
// The client prints one JSON line {samples:[ms...], error?}; it stops at ROUNDS or TIMEOUT_S.
import net from 'node:net';

const [mode, ...rest] = process.argv.slice(2);
const requestBytes = 32;

if (mode === 'server') {
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => s.destroy());
  });
  server.listen(Number(rest[0]), '0.0.0.0');
} else if (mode === 'client') {
  const [host, port, rounds, timeoutS] = [rest[0], Number(rest[1]), Number(rest[2]), Number(rest[3])];
  const samples = [];
  const done = (error) => {
    process.stdout.write(JSON.stringify({ samples, error }) + '\n');
    process.exit(0);
  };
  const deadline = setTimeout(() => done(`timeout after ${samples.length} rounds`), timeoutS * 1000);
  deadline.unref();
  const sock = net.connect({ host, port }, () => {
    sock.setNoDelay(true);
    let got = 0;
    let t0 = 0;
    const req = Buffer.alloc(requestBytes, 0x61);
    const send = () => {
      got = 0;
      t0 = performance.now();
      sock.write(req);
    };
    sock.on('data', (d) => {
      got += d.length;
      if (got < requestBytes) return;
      samples.push(performance.now() - t0);
      if (samples.length >= rounds) {
        sock.destroy();
        done();
      } else send();
    });
    send();
  });
  sock.on('error', (e) => done(String(e)));
} else {
  console.error('usage: echo.mjs server PORT | client HOST PORT ROUNDS TIMEOUT_S');
  process.exit(2);
}
