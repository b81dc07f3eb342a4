// CPU time per dgram send: node's default lookup (a nextTick per send) vs a synchronous literal
// lookup, with and without a closure per send. Sends 1400-byte datagrams to a bound socket that
// reads nothing (the kernel drops when its buffer is full; the sender's cost is what we measure).
//   node bench/dataplane/udp-send.mjs [N]
import { createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';
const N = Number(process.argv[2] ?? 100000);
const sink = createSocket('udp4');
await new Promise((r) => sink.bind(0, '127.0.0.1', r));
const port = sink.address().port;
const sync = (a, f, cb) => (isIPv4(a) ? cb(null, a, 4) : cb(new Error('literal only')));
async function run(name, opts, withClosure) {
  const s = createSocket({ type: 'udp4', ...opts });
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const buf = Buffer.alloc(1400);
  let errs = 0;
  const cb = (e) => { if (e) errs++; };
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    s.send(buf, port, '127.0.0.1', withClosure ? (e) => { if (e) errs++; } : cb);
    if ((i & 63) === 63) await new Promise((r) => setImmediate(r)); // let ticks/callbacks run, as the daemon does
  }
  await new Promise((r) => setImmediate(r));
  const d = process.cpuUsage(t0);
  console.log(`${name.padEnd(28)} ${((d.user + d.system) / N).toFixed(2)} us/send (user ${(d.user / N).toFixed(2)}, sys ${(d.system / N).toFixed(2)}) errs ${errs}`);
  s.close();
}
for (let r = 0; r < 2; r++) {
  await run('default lookup, closure', {}, true);
  await run('sync lookup, shared cb', { lookup: sync }, false);
}
sink.close();
