// TUN throughput through the addon, 1400-byte IPv4 packets, in a throwaway namespace. Run as root
// after a build:   npm run build && node bench/tun.mjs [seconds=5]
//   in:  a C UDP blaster (bench/udp-blast.c, compiled with cc into a temp dir) sends to an overlay
//        address routed into the TUN; the addon reads batches; we count packets per second.
//   out: JS writes prebuilt packets with writeBatch(64) as fast as it can; the kernel's rx_packets
//        counter of the device confirms what it took. Prints one JSON line per direction.
//   tcp: one kernel TCP stream (a node client in the namespace) into the TUN (MTU 1378, the meshd
//        default), acknowledged by a minimal responder in the worker (one cumulative ACK per batch),
//        with TUN offloads on and then off (MESHD_TUN_OFFLOAD=0): Mbit/s, packets per read(2) and
//        per batch, and CPU seconds per GB of the reader and of the sending process (its kernel
//        TCP work, including segmentation when offloads are off).
//   tcpout: the other way: a minimal TCP sender in the worker writes full-size segments into the
//        TUN towards a kernel socket in the same namespace, offloads on and off: Mbit/s, packets
//        per write(2) (GSO writes when consecutive segments coalesce) and the worker's CPU seconds
//        per GB, which include the kernel's receive work done inside write(2).
// Internal: `node bench/tun.mjs --worker in|out|tcp NAME SECONDS` is the process inside the
// namespace; `--sender SECONDS` is the TCP client.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const packetBytes = 1400;

if (process.argv[2] === '--worker') await worker(process.argv[3], process.argv[4], Number(process.argv[5]));
else if (process.argv[2] === '--sender') await sender(Number(process.argv[3]));
else await main(Number(process.argv[2] ?? 5));

/** The TCP client: writes to 10.9.0.2:9 (through the TUN) for `seconds`, then reports its CPU. */
async function sender(seconds) {
  const { connect } = await import('node:net');
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  const c = connect({ host: '10.9.0.2', port: 9 });
  c.on('error', () => {});
  await new Promise((resolve) => c.once('connect', resolve));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // bytesWritten counts what the kernel took; a timer ends it even if the receiver went away.
  const pump = () => {
    for (let i = 0; i < 64; i++) if (!c.write(chunk)) return void c.once('drain', pump);
    setImmediate(pump);
  };
  pump();
  setTimeout(() => {
    const cpu = process.cpuUsage(cpu0);
    const bytes = c.bytesWritten - c.writableLength;
    process.stdout.write(JSON.stringify({ event: 'sent', bytes, cpuS: (cpu.user + cpu.system) / 1e6, sysS: cpu.system / 1e6, ms: performance.now() - t0 }) + '\n');
    c.destroy();
    process.exit(0);
  }, seconds * 1000);
}

/** RFC 1071 sum of b[from..to) (big-endian words) added to acc. */
function sum16(b, from, to, acc) {
  for (let i = from; i < to; i += 2) acc += (b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
  return acc;
}
function csum(acc) {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return 0xffff - acc;
}

/**
 * Just enough of a TCP receiver at 10.9.0.2:9 for one in-order stream: answers the SYN (window
 * scale 7, so 64 KB x 128 = 8 MB of window) and acknowledges whatever arrived in order, once per
 * batch. Returns the packet builder state; `onSegment` per packet read, `flush` after a batch.
 */
function tcpResponder(tun) {
  const st = { rcvNxt: 0, acked: 0, client: null, payloadBytes: 0, segments: 0 };
  const iss = 1000;
  const reply = (flags, seq, ack, options) => {
    const thl = 20 + options.length;
    const p = new Uint8Array(20 + thl);
    p.set([0x45, 0, 0, p.length, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 9, 0, 2, ...st.client.addr], 0);
    const t = 20;
    p.set([0, 9, st.client.port >> 8, st.client.port & 255], t);
    new DataView(p.buffer).setUint32(t + 4, seq);
    new DataView(p.buffer).setUint32(t + 8, ack);
    p[t + 12] = (thl / 4) << 4;
    p[t + 13] = flags;
    p[t + 14] = 0xff;
    p[t + 15] = 0xff;
    p.set(options, t + 20);
    const ip = csum(sum16(p, 0, 20, 0));
    p[10] = ip >> 8;
    p[11] = ip & 255;
    const tc = csum(sum16(p, t, p.length, sum16(p, 12, 20, 0) + 6 + thl));
    p[t + 16] = tc >> 8;
    p[t + 17] = tc & 255;
    tun.write(p);
  };
  return {
    st,
    onSegment(p) {
      if (p[0] >> 4 !== 4 || p[9] !== 6 || p[16] !== 10 || p[19] !== 2) return;
      const ihl = (p[0] & 15) * 4;
      const flags = p[ihl + 13];
      const seq = new DataView(p.buffer, p.byteOffset).getUint32(ihl + 4);
      if (flags & 0x02) {
        st.client = { addr: [p[12], p[13], p[14], p[15]], port: (p[ihl] << 8) | p[ihl + 1] };
        st.rcvNxt = (seq + 1) >>> 0;
        reply(0x12, iss, st.rcvNxt, [2, 4, 1338 >> 8, 1338 & 255, 1, 3, 3, 7]); // MSS, NOP, WS 7
        st.acked = st.rcvNxt;
        return;
      }
      const len = p.length - ihl - (p[ihl + 12] >> 4) * 4;
      st.segments++;
      if (seq === st.rcvNxt && len > 0) {
        st.rcvNxt = (st.rcvNxt + len) >>> 0;
        st.payloadBytes += len;
      }
    },
    flush() {
      if (st.client === null || st.acked === st.rcvNxt) return;
      st.acked = st.rcvNxt;
      reply(0x10, iss + 1, st.rcvNxt, []);
    },
  };
}

/**
 * Just enough of a TCP sender from 10.9.0.2:40000 to a kernel socket at 10.9.0.1:9 for a bulk
 * stream: SYN with window scaling, full-size zero-filled segments (so the payload adds nothing to
 * the checksum) within the peer's window, go-back-N if no ACK moves for 200 ms.
 */
function tcpSender(tun) {
  const mss = 1338;
  const iss = 5000;
  const st = { sndUna: iss, sndNxt: iss, wnd: 0, wscale: 0, rcvNxt: 0, established: false, progressAt: 0, sentSegments: 0 };
  const data = new Uint8Array(40 + mss);
  const syn = new Uint8Array(48);
  let id = 0;
  const send = (p, len, flags, seq) => {
    const dv = new DataView(p.buffer);
    p.set([0x45, 0, len >> 8, len & 255, (id >> 8) & 255, id & 255, 0x40, 0, 64, 6, 0, 0, 10, 9, 0, 2, 10, 9, 0, 1], 0);
    id++;
    const thl = p === syn ? 28 : 20;
    p.set([40000 >> 8, 40000 & 255, 0, 9], 20);
    dv.setUint32(24, seq);
    dv.setUint32(28, st.rcvNxt);
    p[32] = (thl / 4) << 4;
    p[33] = flags;
    p[34] = 0xff;
    p[35] = 0xff;
    p[36] = p[37] = p[38] = p[39] = 0;
    const ip = csum(sum16(p, 0, 20, 0));
    p[10] = ip >> 8;
    p[11] = ip & 255;
    const tc = csum(sum16(p, 20, 20 + thl, sum16(p, 12, 20, 0) + 6 + len - 20)); // payload is zeros
    p[36] = tc >> 8;
    p[37] = tc & 255;
    tun.write(p.subarray(0, len));
  };
  const seqLt = (a, b) => ((a - b) | 0) < 0;
  return {
    st,
    start() {
      syn.set([2, 4, mss >> 8, mss & 255, 1, 3, 3, 7], 40);
      send(syn, 48, 0x02, iss);
      st.sndNxt = iss + 1;
    },
    onPacket(p) {
      if (p[0] >> 4 !== 4 || p[9] !== 6 || p[19] !== 2) return;
      const dv = new DataView(p.buffer, p.byteOffset);
      const flags = p[33];
      const ack = dv.getUint32(28);
      if ((flags & 0x12) === 0x12 && !st.established) {
        for (let o = 40; o < 20 + (p[32] >> 4) * 4; o += p[o] <= 1 ? 1 : p[o + 1]) if (p[o] === 3) st.wscale = p[o + 2];
        st.rcvNxt = (dv.getUint32(24) + 1) >>> 0;
        st.wnd = dv.getUint16(34); // never scaled in a SYN
        st.established = true;
        st.sndUna = ack;
        st.progressAt = performance.now();
        send(data, 40, 0x10, st.sndNxt);
        return;
      }
      if (!st.established) return;
      st.wnd = dv.getUint16(34) * 2 ** st.wscale;
      if (seqLt(st.sndUna, ack)) {
        st.sndUna = ack;
        st.progressAt = performance.now();
      }
    },
    pump() {
      if (!st.established) return;
      if (st.sndUna !== st.sndNxt && performance.now() - st.progressAt > 200) {
        st.sndNxt = st.sndUna; // go back N
        st.progressAt = performance.now();
      }
      const limit = Math.min(st.wnd, 4 << 20);
      for (let i = 0; i < 256 && ((st.sndNxt - st.sndUna) >>> 0) + mss <= limit; i++) {
        send(data, 40 + mss, 0x10, st.sndNxt);
        st.sndNxt = (st.sndNxt + mss) >>> 0;
        st.sentSegments++;
      }
    },
  };
}

/**
 * The TCP modes' measurement: from the first data (`bytesNow()` above 0) to `seconds` later, prints
 * 'done' with Mbit/s, bytes and seconds plus the mode's own fields, computed by `fields` from the
 * TUN stats and CPU over the window; `atStart` snapshots the mode's counters when the window opens.
 */
function measureWindow(tun, seconds, bytesNow, fields, finish, atStart = () => {}) {
  const waitStart = setInterval(() => {
    if (bytesNow() === 0) return;
    clearInterval(waitStart);
    atStart();
    const b0 = bytesNow();
    const s0 = tun.stats();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    setTimeout(() => {
      const secs = (performance.now() - t0) / 1000;
      const bytes = bytesNow() - b0;
      const w = { s0, s: tun.stats(), cpu: process.cpuUsage(cpu0), bytes };
      process.stdout.write(
        JSON.stringify({ event: 'done', offload: tun.offload, mbps: Math.round((bytes * 8) / secs / 1e4) / 100, ...fields(w), bytes, seconds: secs }) + '\n',
      );
      finish();
    }, seconds * 1000);
  }, 20);
}

async function worker(mode, name, seconds) {
  const { openTun } = await import('../dist/tun/linux.js');
  const { setIpv4Checksum } = await import('../dist/tun/ip-packet.js');
  const tun = openTun({ name, address: '10.9.0.1', prefixLength: 24, mtu: mode === 'tcp' ? 1378 : 1500, txQueueLen: 1000 });
  const rx = () => Number(readFileSync(`/sys/class/net/${name}/statistics/rx_packets`, 'utf8'));
  const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
  if (mode === 'tcpout') {
    const { createServer } = await import('node:net');
    let received = 0;
    const server = createServer((sock) => sock.on('data', (d) => (received += d.length)));
    await new Promise((resolve) => server.listen(9, '10.9.0.1', resolve));
    const c = tcpSender(tun);
    tun.onPackets((b) => {
      for (let i = 0; i < b.count; i++) {
        const off = i * b.slotSize;
        c.onPacket(b.data.subarray(off, off + b.lengths[i]));
      }
      c.pump(); // ACKs opened the window
    });
    const retry = setInterval(() => c.pump(), 10); // also the go-back-N clock
    print({ event: 'ready', offload: tun.offload });
    c.start();
    measureWindow(tun, seconds, () => received, (w) => ({
      packetsPerWrite: Math.round(((w.s.written - w.s0.written) / (w.s.writes - w.s0.writes)) * 10) / 10,
      gsoWrites: w.s.superPacketsOut - w.s0.superPacketsOut,
      writeErrors: w.s.writeErrors - w.s0.writeErrors,
      cpuSPerGB: Math.round((((w.cpu.user + w.cpu.system) / 1e6) / (w.bytes / 1e9)) * 100) / 100,
      sysSPerGB: Math.round(((w.cpu.system / 1e6) / (w.bytes / 1e9)) * 100) / 100,
    }), () => {
      clearInterval(retry);
      tun.close();
      server.close();
      process.exit(0);
    });
    return;
  }
  if (mode === 'tcp') {
    const r = tcpResponder(tun);
    let batches = 0;
    let packets = 0;
    tun.onPackets((b) => {
      batches++;
      packets += b.count;
      for (let i = 0; i < b.count; i++) {
        const off = i * b.slotSize;
        r.onSegment(b.data.subarray(off, off + b.lengths[i]));
      }
      r.flush();
    });
    print({ event: 'ready', offload: tun.offload });
    let p0 = 0;
    let n0 = 0;
    measureWindow(tun, seconds, () => r.st.payloadBytes, (w) => ({
      packetsPerRead: Math.round(((packets - p0) / (w.s.reads - w.s0.reads)) * 10) / 10,
      packetsPerBatch: Math.round(((packets - p0) / (batches - n0)) * 10) / 10,
      superPackets: w.s.superPackets - w.s0.superPackets,
      segmentsPerSuper: Math.round(((w.s.segments - w.s0.segments) / Math.max(1, w.s.superPackets - w.s0.superPackets)) * 10) / 10,
      readerCpuSPerGB: Math.round((((w.cpu.user + w.cpu.system) / 1e6) / (w.bytes / 1e9)) * 100) / 100,
    }), () => tun.close(), () => {
      p0 = packets;
      n0 = batches;
    });
    return;
  }
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

function runSender(ns, seconds) {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), '--sender', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const killer = setTimeout(() => p.kill('SIGKILL'), (seconds + 30) * 1000);
    createInterface({ input: p.stdout }).on('line', (line) => {
      const ev = JSON.parse(line);
      if (ev.event === 'sent') resolve(ev);
    });
    p.on('exit', (code) => {
      clearTimeout(killer);
      reject(new Error(`sender exited ${code}`));
    });
  });
}

function runWorker(ns, mode, seconds, onReady, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), '--worker', mode, 'mbench0', String(seconds)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
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
  results.tcp = {};
  for (const [label, env] of [['offload', {}], ['no_offload', { MESHD_TUN_OFFLOAD: '0' }]]) {
    let senderRun;
    const tcpRes = await runWorker(ns, 'tcp', seconds, () => {
      // The client runs a little longer than the measured window (which starts with its data).
      senderRun = runSender(ns, seconds + 2);
    }, env);
    const sent = await senderRun;
    delete tcpRes.event;
    results.tcp[label] = { ...tcpRes, senderCpuSPerGB: Math.round((sent.cpuS / (sent.bytes / 1e9)) * 100) / 100, senderSysS: sent.sysS };
  }
  results.tcpout = {};
  for (const [label, env] of [['offload', {}], ['no_offload', { MESHD_TUN_OFFLOAD: '0' }]]) {
    const r = await runWorker(ns, 'tcpout', seconds, undefined, env);
    delete r.event;
    results.tcpout[label] = r;
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  // Other work on the machine shows up directly in these numbers: the load average is printed too.
  const tcp = (k) => results.tcp[k];
  console.log(
    JSON.stringify({
      in_pps: results.in.pps,
      in_best_second: results.in.best,
      out_pps: results.out.pps,
      out_best_second: results.out.best,
      tcp_mbps_offload: tcp('offload').mbps,
      tcp_mbps_no_offload: tcp('no_offload').mbps,
      tcp_packets_per_read: [tcp('offload').packetsPerRead, tcp('no_offload').packetsPerRead],
      tcp_reader_cpu_s_per_gb: [tcp('offload').readerCpuSPerGB, tcp('no_offload').readerCpuSPerGB],
      tcp_sender_cpu_s_per_gb: [tcp('offload').senderCpuSPerGB, tcp('no_offload').senderCpuSPerGB],
      tcpout_mbps: [results.tcpout.offload.mbps, results.tcpout.no_offload.mbps],
      tcpout_packets_per_write: [results.tcpout.offload.packetsPerWrite, results.tcpout.no_offload.packetsPerWrite],
      tcpout_cpu_s_per_gb: [results.tcpout.offload.cpuSPerGB, results.tcpout.no_offload.cpuSPerGB],
      load,
    }),
  );
  console.log(JSON.stringify(results, null, 1));
  process.exit(0);
}
