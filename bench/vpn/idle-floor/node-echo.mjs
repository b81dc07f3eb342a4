// A plain node:dgram UDP echo (issue 19 item 7, session 9): the cost of one node event-loop turn for
// one datagram, beside udp-pingpong.c's C echo. --spin keeps the loop from ever sleeping (a
// setImmediate chain), separating the wake-up from the turn's work.
//   node node-echo.mjs ADDR PORT [--spin]
import dgram from 'node:dgram';

const s = dgram.createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(Number(process.argv[3]), process.argv[2]);
if (process.argv.includes('--spin')) {
  const spin = () => setImmediate(spin);
  spin();
}
