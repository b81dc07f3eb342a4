// What the measured (inner) TCP flow saw, for issue 19 item 4: the sender's TcpExt counters in A
// (/proc/net/netstat, per namespace: only the iperf3 flows use TCP there; every tunnel carries
// them over UDP) over one transfer, and `ss -ti` samples of the flow while it runs (RTT, window,
// reordering, pacing and delivery rate). Same for every system, so the rows compare.
import { spawnSync } from 'node:child_process';

/** The TcpExt counters that tell loss from reordering and spurious repairs. */
export const tcpExtKeys = [
  'TCPSACKReorder', 'TCPTSReorder', 'TCPRenoReorder', 'TCPDSACKRecv', 'TCPDSACKOfoRecv', 'TCPDSACKUndo', 'TCPLossUndo',
  'TCPSpuriousRTOs', 'TCPTimeouts', 'TCPLossProbes', 'TCPLostRetransmit', 'TCPFastRetrans', 'TCPSlowStartRetrans',
  'TCPSackRecovery', 'TCPRetransFail',
];

/** TcpExt of /proc/net/netstat in ns (name -> value). */
export function tcpExt(lab, ns) {
  const lines = lab.sh(ns, 'cat /proc/net/netstat', { allowFail: true }).split('\n').filter((l) => l.startsWith('TcpExt:'));
  const res = {};
  if (lines.length < 2) return res;
  const keys = lines[0].split(/\s+/);
  const vals = lines[1].split(/\s+/);
  keys.forEach((k, i) => i > 0 && (res[k] = Number(vals[i])));
  return res;
}

export function tcpExtDelta(a, b, keys = tcpExtKeys) {
  const out = {};
  for (const k of keys) if (k in b) out[k] = b[k] - (a[k] ?? 0);
  return out;
}

/** The receiver's (B's) TcpExt counters that show its out-of-order queue outgrowing its buffer
 * (issue 19, session 8): data held past a hole, collapsed (copied) or pruned (dropped) for room. */
export const tcpExtRecvKeys = ['TCPOFOQueue', 'TCPOFODrop', 'TCPOFOMerge', 'OfoPruned', 'PruneCalled', 'RcvPruned', 'TCPRcvCollapsed', 'TCPRcvQDrop', 'TCPZeroWindowDrop'];

const num = (re, s) => {
  const m = re.exec(s);
  return m ? Number(m[1]) : null;
};
const rate = (re, s) => {
  const m = re.exec(s);
  if (!m) return null;
  const mult = { '': 1e-6, K: 1e-3, M: 1, G: 1e3 }[m[2]] ?? null;
  return mult === null ? null : Number(m[1]) * mult;
};

/** One `ss -tin` record of the flow to port (the data connection: the one with the most bytes acked). */
export function parseSs(text, port) {
  const recs = text.split(/\n(?=\S)/).filter((r) => r.includes(`:${port}`));
  let best = null;
  for (const r of recs) {
    const s = {
      rttMs: num(/\brtt:([\d.]+)\//, r),
      minRttMs: num(/\bminrtt:([\d.]+)/, r),
      cwnd: num(/\bcwnd:(\d+)/, r),
      reordering: num(/\breordering:(\d+)/, r) ?? 3,
      unacked: num(/\bunacked:(\d+)/, r) ?? 0,
      retrans: num(/\bretrans:\d+\/(\d+)/, r) ?? 0,
      bytesAcked: num(/\bbytes_acked:(\d+)/, r) ?? 0,
      pacingMbit: rate(/\bpacing_rate ([\d.]+)([KMG]?)bps/, r),
      deliveryMbit: rate(/\bdelivery_rate ([\d.]+)([KMG]?)bps/, r),
      sndWndKB: (num(/\bsnd_wnd:(\d+)/, r) ?? 0) / 1024,
      notsent: num(/\bnotsent:(\d+)/, r) ?? 0,
      sndbufLimitedMs: num(/\bsndbuf_limited:(\d+)ms/, r),
      rwndLimitedMs: num(/\brwnd_limited:(\d+)ms/, r),
      busyMs: num(/\bbusy:(\d+)ms/, r),
    };
    if (!best || s.bytesAcked > best.bytesAcked) best = s;
  }
  return best;
}

/** Samples the flow every intervalMs until stop() (bounded by maxSamples); stop() resolves to the samples. */
export function sampleSs(ns, port, { intervalMs = 2000, maxSamples = 60 } = {}) {
  const samples = [];
  let stopped = false;
  let timer = null;
  const tick = () => {
    if (stopped || samples.length >= maxSamples) return;
    const r = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-tin', 'dport', `= :${port}`], { encoding: 'utf8', timeout: 3000 });
    const s = parseSs(r.stdout ?? '', port);
    if (s) samples.push({ t: Date.now(), ...s });
    timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, intervalMs);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    return samples;
  };
}

/** Medians of the samples (and the last one's limits, which are cumulative). */
export function ssSummary(samples) {
  if (samples.length === 0) return null;
  const med = (k) => {
    const v = samples.map((s) => s[k]).filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
    return v.length ? v[Math.floor(v.length / 2)] : null;
  };
  const last = samples[samples.length - 1];
  return {
    n: samples.length,
    rttMs: med('rttMs'),
    minRttMs: last.minRttMs,
    cwnd: med('cwnd'),
    unacked: med('unacked'),
    reorderingMax: Math.max(...samples.map((s) => s.reordering)),
    pacingMbit: med('pacingMbit'),
    deliveryMbit: med('deliveryMbit'),
    sndWndKB: med('sndWndKB'),
    notsent: med('notsent'),
    sndbufLimitedMs: last.sndbufLimitedMs,
    rwndLimitedMs: last.rwndLimitedMs,
    busyMs: last.busyMs,
  };
}
