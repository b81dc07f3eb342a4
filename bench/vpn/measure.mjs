// Measurements for the VPN bench (bench/vpn/run.mjs): iperf3 TCP, ping RTT, the TCP echo
// round-trip test, and per-process CPU time and peak RSS from /proc. Every child is bounded.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const iperfPort = 5201;
export const echoPort = 7777;
const clkTck = 100; // Linux USER_HZ on every supported arch

/** Runs argv inside ns (or on the host if ns is null); SIGKILL after timeoutMs. */
export function runAsync(ns, argv, timeoutMs) {
  const full = ns === null ? argv : ['ip', 'netns', 'exec', ns, ...argv];
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => (stderr += String(e)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Kills a one-off server and waits (at most 3 s) until it is gone, so the next test's
 * "is it listening" check cannot see the old listener that is about to close.
 */
async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await Promise.race([gone, sleep(3000)]);
}

/** Polls until a TCP listener on port exists in ns (bounded: 50 x 100 ms). */
export async function waitListening(lab, ns, port) {
  for (let i = 0; i < 50; i++) {
    const out = lab.sh(ns, `ss -Hltn 'sport = :${port}'`, { allowFail: true });
    if (out.trim() !== '') return true;
    await sleep(100);
  }
  return false;
}

export function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

export function summarize(samples, sent) {
  const s = [...samples].sort((x, y) => x - y);
  return {
    n: s.length,
    sent,
    lossPct: sent > 0 ? Math.round((1000 * (sent - s.length)) / sent) / 10 : null,
    median: quantile(s, 0.5),
    p99: quantile(s, 0.99),
    max: s.length ? s[s.length - 1] : null,
    avg: s.length ? s.reduce((a, b) => a + b, 0) / s.length : null,
  };
}

/** ping -i intervalS for count packets (or for deadlineS); RTT samples in ms. */
export async function ping(ns, target, { count, intervalS = 0.05, deadlineS }) {
  const args = ['ping', '-n', '-i', String(intervalS), '-W', '2'];
  if (deadlineS !== undefined) args.push('-w', String(deadlineS));
  else args.push('-c', String(count));
  args.push(target);
  const limitMs = 1000 * (deadlineS ?? count * intervalS) + 5000;
  const r = await runAsync(ns, args, limitMs);
  const samples = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const tx = /(\d+) packets transmitted/.exec(r.stdout);
  return summarize(samples, tx ? Number(tx[1]) : samples.length);
}

/**
 * One iperf3 TCP test from ns A to host:port (a fresh one-off server in nsB on iperfPort).
 * Returns { mbps, bytes, retransmits, error }.
 */
export async function iperf(lab, nsA, nsB, host, port, { seconds, streams, cc = null, serverIntervals = false }) {
  // -J on the server too when its per-second rates are asked for (the client then gets them as JSON).
  const server = lab.spawn(nsB, 'iperf3', ['-s', '-1', '-p', String(iperfPort), ...(serverIntervals ? ['-J'] : [])]);
  try {
    if (!(await waitListening(lab, nsB, iperfPort))) return { mbps: null, error: 'iperf3 server did not listen' };
    const args = ['iperf3', '-c', host, '-p', String(port), '-t', String(seconds), '-P', String(streams), '-J', '--connect-timeout', '5000'];
    if (cc !== null) args.push('-C', cc);
    // The receiver's per-second rates too (goodput as B got it: the sender's include its socket buffer filling).
    if (serverIntervals) args.push('--get-server-output');
    const r = await runAsync(nsA, args, (seconds + 20) * 1000);
    let j;
    try {
      j = JSON.parse(r.stdout);
    } catch {
      return { mbps: null, error: `iperf3 no JSON (code ${r.code} ${r.signal ?? ''}): ${r.stderr.slice(0, 200)}` };
    }
    if (j.error && !j.end?.sum_received) return { mbps: null, error: j.error };
    const recv = j.end.sum_received;
    return {
      mbps: recv.bits_per_second / 1e6,
      bytes: recv.bytes,
      seconds: recv.seconds,
      retransmits: j.end.sum_sent?.retransmits ?? null,
      cc: j.end.sender_tcp_congestion ?? null,
      error: j.error ?? null,
      // Per second as the sender saw it (the relay's start against its steady state, issue 19 item 6).
      intervalsMbps: Array.isArray(j.intervals) ? j.intervals.map((i) => (i.sum?.bits_per_second ?? 0) / 1e6) : null,
      receiverIntervalsMbps: Array.isArray(j.server_output_json?.intervals) ? j.server_output_json.intervals.map((i) => (i.sum?.bits_per_second ?? 0) / 1e6) : null,
    };
  } finally {
    await stopServer(server);
  }
}

/** UDP flood through the underlay (for the delay bridge's sustained rate). */
export async function iperfUdp(lab, nsA, nsB, host, { seconds, rate = '0', len = 1400 }) {
  const server = lab.spawn(nsB, 'iperf3', ['-s', '-1', '-p', String(iperfPort)]);
  try {
    if (!(await waitListening(lab, nsB, iperfPort))) return { error: 'iperf3 server did not listen' };
    const r = await runAsync(nsA, ['iperf3', '-c', host, '-p', String(iperfPort), '-u', '-b', rate, '-l', String(len), '-t', String(seconds), '-J'], (seconds + 20) * 1000);
    const j = JSON.parse(r.stdout);
    const s = j.end.sum;
    return { mbpsReceived: (s.bits_per_second * (100 - s.lost_percent)) / 100 / 1e6, lostPct: s.lost_percent, packets: s.packets };
  } catch (err) {
    return { error: String(err) };
  } finally {
    await stopServer(server);
  }
}

/** The TCP echo test: `rounds` 32-byte request/response round trips, one at a time. */
export async function echo(lab, nsA, nsB, host, port, { rounds, serverPort = echoPort, timeoutS = 60 }) {
  const server = lab.spawn(nsB, process.execPath, [join(here, 'echo.mjs'), 'server', String(serverPort)]);
  try {
    if (!(await waitListening(lab, nsB, serverPort))) return { error: 'echo server did not listen' };
    const r = await runAsync(nsA, [process.execPath, join(here, 'echo.mjs'), 'client', host, String(port), String(rounds), String(timeoutS)], (timeoutS + 10) * 1000);
    try {
      const j = JSON.parse(r.stdout.trim().split('\n').pop());
      return { ...summarize(j.samples, rounds), error: j.error ?? null };
    } catch {
      return { error: `echo client: ${r.stderr.slice(0, 200)}` };
    }
  } finally {
    await stopServer(server);
  }
}

/** utime+stime in seconds of a pid (null if gone). */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / clkTck;
  } catch {
    return null;
  }
}

/** CPU time in ns a process's threads have run (summed over /proc/PID/task/TID/schedstat; null if gone):
 *  fine-grained enough for the cost of one idle ping in each daemon, whatever else the box runs. */
export function cpuNs(pid) {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
    return ns;
  } catch {
    return null;
  }
}

/** Peak RSS (VmHWM) in MiB of a pid (null if gone). */
export function peakRssMiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** RSS now (VmRSS) in MiB of a pid (null if gone): read right after the load, beside the peak, which
 *  also holds start-up transients (scrypt of a passphrase secret takes 32 MiB for ~0.1 s). */
export function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Where a process's resident memory is (from /proc/PID/smaps, MiB): the brk heap (malloc), anonymous
 *  mappings (V8's heap spaces, malloc's mmapped chunks and thread arenas) by size, file-backed (code). */
export function smapsSummary(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return null;
  }
  const out = { heap: 0, anon: 0, file: 0, stack: 0, anonCount: 0, anonTop: [] };
  let name = '';
  let size = 0;
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      name = head[1];
      const r = /^([0-9a-f]+)-([0-9a-f]+)/.exec(line);
      size = (parseInt(r[2], 16) - parseInt(r[1], 16)) / 1048576;
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (!m) continue;
    const rss = Number(m[1]) / 1024;
    if (name === '[heap]') out.heap += rss;
    else if (name.startsWith('[stack')) out.stack += rss;
    else if (name === '' || name.startsWith('[anon')) {
      out.anon += rss;
      out.anonCount++;
      if (rss >= 1) out.anonTop.push([Math.round(size * 10) / 10, Math.round(rss * 10) / 10]);
    } else out.file += rss;
  }
  out.anonTop.sort((x, y) => y[1] - x[1]);
  out.anonTop = out.anonTop.slice(0, 12);
  for (const k of ['heap', 'anon', 'file', 'stack']) out[k] = Math.round(out[k] * 10) / 10;
  return out;
}

/** One protocol's counters of /proc/net/snmp in ns (per namespace), e.g. Udp RcvbufErrors, Ip ReasmReqds. */
export function snmpCounters(lab, ns, proto) {
  const out = lab.sh(ns, 'cat /proc/net/snmp', { allowFail: true }).split('\n').filter((l) => l.startsWith(`${proto}:`));
  const res = {};
  if (out.length < 2) return res;
  const keys = out[0].split(/\s+/);
  const vals = out[1].split(/\s+/);
  keys.forEach((k, i) => i > 0 && (res[k] = Number(vals[i])));
  return res;
}

export const udpCounters = (lab, ns) => snmpCounters(lab, ns, 'Udp');

/** Receive buffer (bytes, skmem rb) of each UDP socket a process holds in ns, as "name:rb" strings. */
export function udpRecvBuffers(lab, ns) {
  const out = lab.sh(ns, 'ss -Huamnp', { allowFail: true });
  const found = new Set();
  for (const m of out.matchAll(/users:\(\("([^"]+)"[^\n]*\n?\s*skmem:\(r\d+,rb(\d+)/g)) found.add(`${m[1]}:${m[2]}`);
  return [...found];
}
