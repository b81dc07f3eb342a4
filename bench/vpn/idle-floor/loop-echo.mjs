// Runs loop-echo.node (see loop-echo.c): node loop-echo.mjs ADDON ADDR PORT MODE
// MODE 0: C only; 1: send, then a small JS function; 2: the JS function, then send.
import { createRequire } from 'node:module';

const [addon, addr, port, mode] = process.argv.slice(2);
let n = 0;
const seen = new Map();
const fn = () => {
  n++;
  seen.set(n & 63, (seen.get(n & 63) ?? 0) + 1);
};
createRequire(import.meta.url)(addon).start(addr, Number(port), Number(mode ?? 0), fn);
setInterval(() => {}, 1 << 30);
