// TUN throughput through the addon, 1400-byte IPv4 packets, in a throwaway namespace. Run as root
// after a build:   npm run build && node bench/tun.mjs [seconds=5]
//   in:  a C UDP blaster (bench/udp-blast.c, compiled with cc into a temp dir) sends to an overlay
//        address routed into the TUN; the addon reads batches; we count packets per second.
//   out: JS writes prebuilt packets with writeBatch(64) as fast as it can; the kernel's rx_packets
//        counter of the device confirms what it took. Prints one JSON line per direction.
// Internal: `node bench/tun.mjs --worker in|out NAME SECONDS` is the process inside the namespace.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const packetBytes = 1400;

if (process.argv[2] === '--worker') await worker(process.argv[3], process.argv[4], Number(process.argv[5]));
else await main(Number(process.argv[2] ?? 5));

async function worker(mode, name, seconds) {
  const { openTun } = await import('../dist/tun/linux.js');
  const { setIpv4Checksum } = await import('../dist/tun/ip-packet.js');
  const tun = openTun({ name, address: '10.9.0.1', prefixLength: 24, mtu: 1500, txQueueLen: 1000 });
  const rx = () => Number(readFileSync(`/sys/class/net/${name}/statistics/rx_packets`, 'utf8'));
  const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
  if (mode === 'in') {
    let count = 0;
    let batches = 0;
    tun.onPackets((b) => {
      count += b.count;
      batches++;
    });
    print({ event: 'ready' });
    const t0 = performance.now();
    const samples = [];
    let last = 0;
    const timer = setInterval(() => {
      samples.push(count - last);
      last = count;
      if (samples.length >= seconds + 1) {
        clearInterval(timer);
        const s = samples.slice(1); // the first second includes the blaster's start
        print({ event: 'done', packets: count, batches, cpu: process.cpuUsage(), ms: Math.round(performance.now() - t0), ppsPerSecond: s, pps: Math.round(s.reduce((a, b) => a + b, 0) / s.length), best: Math.max(...s) });
        tun.close();
      }
    }, 1000);
    return;
  }
  // out: UDP 10.9.0.2:40000 -> 10.9.0.77:9, which the namespace (no forwarding) drops on input.
  const pkt = new Uint8Array(packetBytes);
  pkt.set([0x45, 0, packetBytes >> 8, packetBytes & 0xff, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 9, 0, 2, 10, 9, 0, 77]);
  pkt.set([0x9c, 0x40, 0, 9, (packetBytes - 20) >> 8, (packetBytes - 20) & 0xff, 0, 0], 20);
  setIpv4Checksum(pkt);
  const batch = new Array(64).fill(pkt);
  print({ event: 'ready' });
  const rx0 = rx();
  let accepted = 0;
  let attempts = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const perSecond = [];
  let mark = t0 + 1000;
  let rxMark = rx0;
  const slice = () => {
    if (performance.now() >= mark) {
      const r = rx();
      perSecond.push(r - rxMark);
      rxMark = r;
      mark += 1000;
    }
    const end = Math.min(deadline, performance.now() + 50);
    while (performance.now() < end) {
      accepted += tun.writeBatch(batch);
      attempts += batch.length;
    }
    if (performance.now() < deadline) {
      setImmediate(slice);
      return;
    }
    const secs = (performance.now() - t0) / 1000;
    const kernel = rx() - rx0;
    print({ event: 'done', accepted, attempts, kernelRx: kernel, seconds: secs, ppsPerSecond: perSecond, pps: Math.round(kernel / secs), best: Math.max(...perSecond) });
    tun.close();
  };
  setImmediate(slice);
}

function sh(args, opts = {}) {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout: 60_000, ...opts });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout;
}

function runWorker(ns, mode, seconds, onReady) {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), '--worker', mode, 'mbench0', String(seconds)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const killer = setTimeout(() => p.kill('SIGKILL'), (seconds + 30) * 1000);
    createInterface({ input: p.stdout }).on('line', (line) => {
      const ev = JSON.parse(line);
      if (ev.event === 'ready') onReady?.();
      if (ev.event === 'done') resolve(ev);
    });
    p.on('exit', (code) => {
      clearTimeout(killer);
      reject(new Error(`worker ${mode} exited ${code}`));
    });
  });
}

async function main(seconds) {
  if (!(seconds >= 1 && seconds <= 60)) throw new Error('seconds: 1..60');
  const ns = `mb${process.pid}x${Math.random().toString(16).slice(2, 6)}-bench`;
  const tmp = mkdtempSync(join(tmpdir(), 'meshd-bench-'));
  const cleanup = () => {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(tmp, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  const blast = join(tmp, 'udp-blast');
  sh(['cc', '-O2', '-o', blast, join(here, 'udp-blast.c')]);
  sh(['ip', 'netns', 'add', ns]);
  sh(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  const results = { cpus: (await import('node:os')).cpus().length, node: process.version, packetBytes };

  let blaster;
  const inRes = await runWorker(ns, 'in', seconds, () => {
    // 10.9.0.2 is routed into the TUN; payload + 28 bytes of headers = packetBytes.
    blaster = spawn('ip', ['netns', 'exec', ns, blast, '10.9.0.2', '9', String(packetBytes - 28), String(seconds + 1.5)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  });
  const blastOut = await new Promise((resolve) => {
    let out = '';
    blaster.stdout.on('data', (d) => (out += d));
    blaster.on('exit', () => resolve(out.trim()));
  });
  results.in = { ...inRes, blaster: JSON.parse(blastOut || '{}') };
  delete results.in.event;
  const outRes = await runWorker(ns, 'out', seconds);
  delete outRes.event;
  results.out = outRes;
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  // Other work on the machine shows up directly in these numbers: the load average is printed too.
  console.log(JSON.stringify({ in_pps: results.in.pps, in_best_second: results.in.best, out_pps: results.out.pps, out_best_second: results.out.best, load }));
  console.log(JSON.stringify(results, null, 1));
  process.exit(0);
}
