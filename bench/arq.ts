// ARQ throughput: two Kcp endpoints joined by an in-memory link inside one process, carrying
// 1376-byte messages (one IP packet per message, one segment each, mtu 1400) as meshd does.
// Reports payload delivered per CPU-second at 0 % and 5 % loss, plus allocation indicators.
// Run:  npx tsc --outDir /tmp/meshd-bench --module nodenext --moduleResolution nodenext --target es2022 --types node --skipLibCheck bench/arq.ts && node /tmp/meshd-bench/bench/arq.js
import { PerformanceObserver } from 'node:perf_hooks';
import { Kcp } from '../src/arq/kcp.js';
import { Rng } from '../test/fakes/rng.js';

/** A one-way in-memory link: a ring of preallocated datagram buffers (no allocation per packet). */
class MemLink {
  private readonly bufs: Uint8Array[] = [];
  private readonly lens: number[] = [];
  private head = 0;
  private count = 0;
  dropped = 0;
  sent = 0;
  constructor(
    private readonly loss: number,
    private readonly rng: Rng,
    slots = 8192,
  ) {
    for (let i = 0; i < slots; i++) {
      this.bufs.push(new Uint8Array(1500));
      this.lens.push(0);
    }
  }
  readonly send = (data: Uint8Array, len: number): void => {
    this.sent++;
    if (this.loss > 0 && this.rng.next() < this.loss) return void this.dropped++;
    if (this.count === this.bufs.length) return void this.dropped++;
    const i = (this.head + this.count) % this.bufs.length;
    this.bufs[i]!.set(data.subarray(0, len));
    this.lens[i] = len;
    this.count++;
  };
  deliver(k: Kcp, now: number): void {
    while (this.count > 0) {
      k.input(this.bufs[this.head]!, this.lens[this.head]!, now);
      this.head = (this.head + 1) % this.bufs.length;
      this.count--;
    }
  }
}

interface Result {
  loss: number;
  payloadBytes: number;
  cpuSec: number;
  gbitPerCpuSec: number;
  msgsPerCpuSec: number;
  datagrams: number;
  retrans: number;
  segAllocs: number;
  gcCount: number;
  gcMs: number;
}

async function run(loss: number, totalBytes: number): Promise<Result> {
  const msgLen = 1376;
  const ab = new MemLink(loss, new Rng(1));
  const ba = new MemLink(loss, new Rng(2));
  const a = new Kcp(1, ab.send);
  const b = new Kcp(1, ba.send);
  for (const k of [a, b]) {
    k.usePreset('fast3');
    k.setWndSize(1024, 1024);
    k.setMtu(1400);
  }
  const msg = new Uint8Array(msgLen).fill(0x5a);
  const rbuf = new Uint8Array(2048);
  let delivered = 0;
  let now = 0;
  const gcs: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push(e.duration);
  });
  obs.observe({ entryTypes: ['gc'] });
  const cpu0 = process.cpuUsage();
  while (delivered < totalBytes) {
    now += 1;
    // The TUN reader keeps the send queue topped up, and flushes once per batch.
    while (a.waitSnd() < 2048) a.send(msg, msgLen);
    a.flush(now);
    ab.deliver(b, now);
    for (let n = b.recv(rbuf); n >= 0; n = b.recv(rbuf)) delivered += n;
    b.flush(now); // ACKs at once (ackNoDelay, as peer/kcp-channel does)
    ba.deliver(a, now);
    a.update(now);
    b.update(now);
  }
  const cpu = process.cpuUsage(cpu0);
  // GC entries arrive asynchronously: let them in before counting.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  for (const e of obs.takeRecords()) gcs.push(e.duration);
  obs.disconnect();
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  return {
    loss,
    payloadBytes: delivered,
    cpuSec,
    gbitPerCpuSec: (delivered * 8) / cpuSec / 1e9,
    msgsPerCpuSec: delivered / msgLen / cpuSec,
    datagrams: ab.sent + ba.sent,
    retrans: a.retransmits,
    segAllocs: a.stats.segAllocs + b.stats.segAllocs,
    gcCount: gcs.length,
    gcMs: gcs.reduce((x, y) => x + y, 0),
  };
}

const total = Number(process.argv[2] ?? 1_000_000_000);
await run(0, 50_000_000); // warm-up (JIT)
for (const loss of [0, 0.05]) {
  const r = await run(loss, total);
  console.log(
    `loss ${(loss * 100).toFixed(0).padStart(2)} %: ${r.gbitPerCpuSec.toFixed(2)} Gbit/s of payload per CPU-second ` +
      `(${Math.round(r.msgsPerCpuSec)} msgs/s, ${(r.payloadBytes / 1e6).toFixed(0)} MB in ${r.cpuSec.toFixed(2)} CPU s), ` +
      `${r.datagrams} datagrams, ${r.retrans} retransmits, ${r.segAllocs} segment allocations, ${r.gcCount} GCs (${r.gcMs.toFixed(0)} ms)`,
  );
}
