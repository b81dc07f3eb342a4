// Renders a bench/vpn/run.mjs result into docs/BENCHMARKS.md (Markdown tables, ratios against
// wireguard-go from the same run) and an SVG bar chart (no dependency). Also runnable alone:
//   node bench/vpn/report.mjs bench/results/vpn-<stamp>.json [previous.json]   (rewrites docs/BENCHMARKS.md;
//   with a previous run, the at-a-glance table shows its ratios too, as a noise check;
//   --profile DIR adds the meshd CPU profile summary of bench/vpn/profile.mjs)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { profileSummary } from './profile.mjs';

const ref = 'wireguard-go';
const f1 = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '-' : Number(x).toFixed(d));

function cellsOf(report) {
  return report.results.filter((r) => typeof r.lossPct === 'number');
}

function conditions(report) {
  const out = [];
  for (const d of report.cfg.delaysMs) for (const l of report.cfg.lossPct) out.push({ delayMs: d, lossPct: l });
  return out;
}

function find(report, system, delayMs, lossPct) {
  return cellsOf(report).find((r) => r.system === system && r.delayMs === delayMs && r.lossPct === lossPct);
}

function startError(report, system, delayMs) {
  return report.results.find((r) => r.system === system && r.delayMs === delayMs && r.lossPct === null)?.error ?? null;
}

function ratio(x, y) {
  return x === null || x === undefined || !y ? null : x / y;
}

function condLabel(c) {
  return `${c.lossPct} %${c.delayMs ? ` +${c.delayMs}ms` : ''}`;
}

function throughputTable(report, systems, key) {
  const conds = conditions(report);
  const lines = [`| system | ${conds.map(condLabel).join(' | ')} |`, `|---|${conds.map(() => '---:').join('|')}|`];
  for (const s of systems) {
    const cells = conds.map((c) => {
      const r = find(report, s, c.delayMs, c.lossPct);
      if (!r) return startError(report, s, c.delayMs) ? 'not measured' : '-';
      const v = r[key]?.mbps;
      if (v === null || v === undefined) return `fail`;
      const w = find(report, ref, c.delayMs, c.lossPct)?.[key]?.mbps;
      const q = s === ref ? null : ratio(v, w);
      return `${f1(v)}${q !== null ? ` (${f1(q, 2)}x)` : ''}`;
    });
    lines.push(`| ${s} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function latencyTable(report, systems) {
  const lines = [
    '| system | loss | delay | ping idle med / p99 / max | ping under load med / p99 / max | ping lost idle / load | CPU s per GB | TCP retransmits 1x |',
    '|---|---:|---:|---|---|---|---:|---:|',
  ];
  for (const c of conditions(report)) {
    for (const s of systems) {
      const r = find(report, s, c.delayMs, c.lossPct);
      if (!r) continue;
      const pi = r.pingIdle;
      const pl = r.pingLoad;
      const trip = (p) => (p ? `${f1(p.median)} / ${f1(p.p99)} / ${f1(p.max)}` : 'n/a');
      const lost = pi || pl ? `${f1(pi?.lossPct, 0)} % / ${f1(pl?.lossPct, 0)} %` : 'n/a';
      lines.push(`| ${s} | ${c.lossPct} % | ${c.delayMs} ms | ${trip(pi)} | ${trip(pl)} | ${lost} | ${f1(r.cpuSecondsPerGB)} | ${r.tcp1?.retransmits ?? '-'} |`);
    }
  }
  return lines.join('\n');
}

function echoTable(report, systems) {
  const rows = cellsOf(report).filter((r) => r.echo);
  if (!rows.length) return '_no echo test in this run_';
  const lines = ['| system | loss | delay (one-way) | round trips | avg ms | median ms | p99 ms | worst ms | avg vs wireguard-go |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const l of report.cfg.echo.lossPct) {
    for (const s of systems) {
      const r = find(report, s, report.cfg.echo.delayMs, l);
      if (!r?.echo) continue;
      const e = r.echo;
      const w = find(report, ref, report.cfg.echo.delayMs, l)?.echo?.avg;
      lines.push(`| ${s} | ${l} % | ${report.cfg.echo.delayMs} ms | ${e.n ?? 0}${e.error ? ` (${e.error})` : ''} | ${f1(e.avg)} | ${f1(e.median)} | ${f1(e.p99)} | ${f1(e.max)} | ${s === ref ? '' : f1(ratio(e.avg, w), 2) + 'x'} |`);
    }
  }
  return lines.join('\n');
}

/** Geometric mean of a system's ratios to wireguard-go over every condition both measured. */
function geoRatio(report, system, pick) {
  const logs = [];
  for (const c of conditions(report)) {
    const v = pick(find(report, system, c.delayMs, c.lossPct));
    const w = pick(find(report, ref, c.delayMs, c.lossPct));
    if (v > 0 && w > 0) logs.push(Math.log(v / w));
  }
  return logs.length ? { ratio: Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length), n: logs.length } : null;
}

function summaryTable(report, systems, prev) {
  const lines = [
    `| system | 1 stream vs wireguard-go (geo. mean) | 4 streams vs wireguard-go | loaded ping median vs wireguard-go | echo avg vs wireguard-go (5 % loss, 20 ms) | conditions |${prev ? ' 1 / 4 streams in the previous run |' : ''}`,
    `|---|---:|---:|---:|---:|---:|${prev ? '---:|' : ''}`,
  ];
  for (const s of systems.filter((x) => x !== ref)) {
    const t1 = geoRatio(report, s, (r) => r?.tcp1?.mbps);
    const t4 = geoRatio(report, s, (r) => r?.tcp4?.mbps);
    const pl = geoRatio(report, s, (r) => r?.pingLoad?.median);
    const e = find(report, s, report.cfg.echo.delayMs, 5)?.echo?.avg;
    const we = find(report, ref, report.cfg.echo.delayMs, 5)?.echo?.avg;
    if (!t1 && !t4) {
      lines.push(`| ${s} | not measured | | | | |`);
      continue;
    }
    const p1 = prev ? geoRatio(prev, s, (r) => r?.tcp1?.mbps) : null;
    const p4 = prev ? geoRatio(prev, s, (r) => r?.tcp4?.mbps) : null;
    const prevCell = prev ? ` ${f1(p1?.ratio, 2)}x / ${f1(p4?.ratio, 2)}x |` : '';
    lines.push(`| ${s} | ${f1(t1?.ratio, 2)}x | ${f1(t4?.ratio, 2)}x | ${pl ? f1(pl.ratio, 2) + 'x' : 'n/a'} | ${e && we ? f1(e / we, 2) + 'x' : '-'} | ${t1?.n ?? 0} |${prevCell}`);
  }
  return lines.join('\n');
}

function resourceTable(report, systems) {
  const lines = ['| system | delay | start to direct path (ms) | peak RSS MiB (A / B / hub) | ReasmReqds in B | CPU s per GB at 0 % loss |', '|---|---:|---:|---|---:|---:|'];
  for (const s of systems) {
    for (const d of report.cfg.delaysMs) {
      const sum = report.results.find((r) => r.system === s && r.delayMs === d && r.lossPct === 'summary');
      const err = startError(report, s, d);
      if (!sum) {
        if (err) lines.push(`| ${s} | ${d} ms | not measured: ${err.split('\n')[0].slice(0, 120).replace(/\|/g, '/')} | | | |`);
        continue;
      }
      const rss = sum.peakRssMiB;
      const rssText = Object.keys(rss).length ? ['a', 'b', 'h'].map((k) => (k in rss ? f1(rss[k]) : '-')).join(' / ') : 'n/a (kernel)';
      lines.push(`| ${s} | ${d} ms | ${sum.startMs} | ${rssText} | ${sum.reasmReqdsB ?? '-'} | ${f1(find(report, s, d, 0)?.cpuSecondsPerGB)} |`);
    }
  }
  return lines.join('\n');
}

const palette = ['#555555', '#1f77b4', '#ff7f0e', '#2ca02c', '#98df8a', '#d62728', '#9467bd', '#8c564b', '#e377c2'];

/** Grouped bars: single-stream Mbit/s per condition, one bar per system, log scale. */
export function renderSvg(report, systems = [...new Set(cellsOf(report).map((r) => r.system))]) {
  const conds = conditions(report);
  const W = 960;
  const H = 420;
  const left = 60;
  const top = 40;
  const bottom = 90;
  const plotH = H - top - bottom;
  const groupW = (W - left - 20) / conds.length;
  const barW = Math.max(2, (groupW - 10) / Math.max(1, systems.length));
  const vals = cellsOf(report).map((r) => r.tcp1?.mbps).filter((v) => v > 0);
  const maxV = Math.max(10, ...vals);
  const minV = 0.1;
  const y = (v) => top + plotH - (plotH * Math.log10(Math.max(v, minV) / minV)) / Math.log10(maxV / minV);
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  out.push(`<text x="${left}" y="18" font-size="14">iperf3 TCP, 1 stream, Mbit/s (log scale) by loss and one-way delay; ${esc(report.env.date.slice(0, 10))}</text>`);
  for (let e = Math.floor(Math.log10(minV)); e <= Math.ceil(Math.log10(maxV)); e++) {
    const v = 10 ** e;
    if (v < minV || v > maxV * 1.0001) continue;
    out.push(`<line x1="${left}" x2="${W - 20}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v >= 1 ? v : v.toFixed(1)}</text>`);
  }
  conds.forEach((c, gi) => {
    const gx = left + gi * groupW + 5;
    systems.forEach((s, si) => {
      const v = find(report, s, c.delayMs, c.lossPct)?.tcp1?.mbps;
      if (!(v > 0)) return;
      const x = gx + si * barW;
      out.push(`<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${palette[si % palette.length]}"><title>${esc(s)} ${esc(condLabel(c))}: ${f1(v)} Mbit/s</title></rect>`);
    });
    out.push(`<text x="${(gx + (groupW - 10) / 2).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle">${esc(condLabel(c))}</text>`);
  });
  systems.forEach((s, si) => {
    const lx = left + (si % 4) * 215;
    const ly = H - 48 + Math.floor(si / 4) * 18;
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${palette[si % palette.length]}"/><text x="${lx + 16}" y="${ly}">${esc(s)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

export function renderDoc(report, systems, prev = null, profileDir = null) {
  const e = report.env;
  const cal = report.calibration
    .map((c) => {
      const steps = c.udpSteps
        .map((st) => `| ${st.rateMbps} | ${f1(st.mbpsReceived)} | ${f1(st.lostPct)} | ${f1((st.bridge?.framesPerSecond ?? 0) / 1000)} | ${f1(st.bridge?.lateMeanUs)} | ${f1(st.bridge?.lateMaxUs)} |`)
        .join('\n');
      return (
        `${c.delayMs} ms each way. Idle ping through it: ${f1(c.pingIdle?.median)} ms median, ${f1(c.pingIdle?.max)} ms max (target ${2 * c.delayMs} ms). ` +
        (c.sustained
          ? `**Sustained: ${f1(c.sustained.mbpsReceived)} Mbit/s** of 1400-byte UDP with at most 1 % loss (${f1((c.sustained.bridge?.framesPerSecond ?? 0) / 1000)} kframes/s one way); `
          : `**Sustained: no UDP step stayed within 1 % loss** (the machine was busy); `) +
        `one TCP stream through it: ${f1(c.tcp1Mbps)} Mbit/s (frames late by ${f1(c.tcpBridge?.lateMeanUs)} us mean, ${f1(c.tcpBridge?.lateMaxUs)} us max).\n\n` +
        `| UDP offered Mbit/s | delivered Mbit/s | lost % | bridge kframes/s | late mean us | late max us |\n|---:|---:|---:|---:|---:|---:|\n${steps}\n\n` +
        'The bridge shares the 2 cores with iperf3, the daemons and other work on the machine; when it is CPU-starved frames ' +
        'leave late and its 1 MB receive queue drops, like a congested router. Delayed rows therefore compare systems with each other; ' +
        'a delayed row above the sustained rate is limited by the emulator, not by the system.'
      );
    })
    .join('\n\n');
  const notMeasured = systems.filter((s) => report.cfg.delaysMs.every((d) => startError(report, s, d)));
  return `# Benchmarks

Generated by \`node bench/vpn/run.mjs${report.cfg.quick ? ' --quick' : ''}\` (after \`npm run build\`, as root); do not edit by hand.
Raw results: \`bench/results/vpn-*.json\` (not committed). The whole matrix took ${f1(report.elapsedS / 60)} minutes.

- Date: ${e.date}
- Machine: ${e.machine}; load average at start: ${e.loadavg}${report.loadavgEnd ? `, at the end: ${report.loadavgEnd}` : ''}. Other engineers' tests share these 2 cores, so
  absolute numbers are noisy; compare rows of the same run (ratios are against wireguard-go in this run).
- Versions: meshd ${e.meshd}${e.meshdDistBuilt ? ` (dist/ built ${e.meshdDistBuilt})` : ''}, Node ${e.node}, wireguard-go ${e.wireguardGo}, kcptun ${e.kcptun}, ${e.iperf3}.

## Method

Every system runs on the same namespaces, rebuilt for each system and delay setting:

    A 192.0.2.2 --[D: delay bridge, only for delay runs]-- R (router) -- B 198.51.100.2
                                                            \\-- H 203.0.113.2 (meshd hub)

- Traffic goes A -> B: iperf3 TCP for ${report.cfg.seconds} s, 1 stream and 4 streams (\`-P 4\`), to a one-off server in B.
- Loss: nftables \`numgen random mod 100 < N drop\` on R's link to A, both directions (each packet
  A<->B crosses it once). Offloads (TSO/GSO/GRO, TX checksum) are off on every veth.
- Delay: the kernel has no netem, so \`bench/delay/delay-bridge.c\` (compiled with cc at run time) bridges
  A's link to R with two AF_PACKET sockets and holds every frame ${report.cfg.delaysMs.filter((d) => d).join('/')} ms each way.
- Ping: ${report.cfg.idlePings} pings at ${report.cfg.pingIntervalS * 1000} ms intervals idle, and pings at the same interval during the
  single-stream iperf3 run (under load). Median / p99 / max over the replies that came back.
- CPU seconds per GB: user+system time of the daemons (both peers, and the meshd hub) over both iperf3
  runs, divided by the bytes delivered. Kernel softirq work is not counted (wireguard-go and meshd both
  use TUN; the underlay row has no daemon). Peak RSS: VmHWM of each daemon at the end.
- Systems: the underlay (no tunnel: the limit of this path), wireguard-go (userspace WireGuard, MTU 1420;
  the Debian build, v0.0.20220316, predates wireguard-go's own TUN and UDP offloads of 2023, so it does
  one system call per packet each way),
  kcptun as a TCP port forward (client in A, server in B forwarding to iperf3; its defaults: mode fast,
  aes, Reed-Solomon FEC 10 data + 3 parity; compression off; ping does not apply; its default windows,
  sndwnd 128 and rcvwnd 512 segments of at most 1350 bytes, cap one session near 128 x 1350 bytes per
  round trip, so its rows measure kcptun as installed, not tuned), meshd peers with
  \`--transport kcp --kcp-mode normal|fast|fast2|fast3\` and \`--transport datagram\`, as shipped: TUN offloads
  on (super-packets split on read, GRO on write; \`MESHD_TUN_OFFLOAD=0\` turns them off), the batched
  native UDP socket (recvmmsg/sendmmsg with UDP GSO/GRO; \`MESHD_UDP=node\` for node:dgram), one KCP lane
  per flow with unordered delivery, and the rate controller in every KCP mode. meshd rows are measured
  once \`meshd ping --until-direct\` reports the direct path.
${notMeasured.length ? `- **Not measured in this run:** ${notMeasured.join(', ')} (the daemon did not start or carry a ping; see the resource table).\n` : ''}
## Delay emulator

${cal || '_no delay runs_'}

## At a glance: ratio to wireguard-go (above 1 is better for throughput, below 1 better for latency)

${summaryTable(report, systems, prev)}
${prev ? `\nThe last column repeats the same ratios from the previous full run (${prev.env.date}, load average ${prev.env.loadavg.split(' ').slice(0, 3).join(' ')}) as a check on run-to-run noise on this shared machine. Caution: dist/ is rebuilt by everyone working in this tree, so the two runs may also have measured different meshd builds (compare the meshd lines of the two JSON files).\n` : ''}

## Throughput, 1 TCP stream (Mbit/s; ratio to wireguard-go)

${throughputTable(report, systems, 'tcp1')}

The chart at the end of this file plots this table (log scale).

## Throughput, 4 TCP streams (Mbit/s; ratio to wireguard-go)

${throughputTable(report, systems, 'tcp4')}

## TCP request-response (32-byte echo, one request per round trip, like interactive ssh)

${echoTable(report, systems)}

## Latency (ms), CPU and retransmits per condition

${latencyTable(report, systems)}

## Resources

${resourceTable(report, systems)}

${
  profileDir
    ? `## CPU profile of meshd peers

\`node bench/vpn/run.mjs --systems "kcp fast2,datagram" --delays 0 --loss 0 --seconds 5 --cpu-prof DIR\` (peers under
\`node --cpu-prof\`; A sends, B receives; a separate short run on the dist/ of the time, not part of the matrix), summarized by
\`node bench/vpn/profile.mjs DIR\`. Self time shows where the data path spends: on the sender, \`doSend\` is libuv's one
sendto per datagram; on the receiver, \`write linux.js\` is one TUN write() per packet; \`sealInto\`/\`open\` are the AEAD.

\`\`\`
${profileSummary(profileDir, 8)}\`\`\`

`
    : ''
}## Chart

<a name="chart"></a>
${renderSvg(report, systems)}
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const pi = args.indexOf('--profile');
  const profileDir = pi >= 0 ? args.splice(pi, 2)[1] : null;
  const report = JSON.parse(readFileSync(args[0], 'utf8'));
  const prev = args[1] ? JSON.parse(readFileSync(args[1], 'utf8')) : null;
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const systems = [...new Set(report.results.map((r) => r.system))];
  writeFileSync(join(repo, 'docs', 'BENCHMARKS.md'), renderDoc(report, systems, prev, profileDir));
  console.log('wrote docs/BENCHMARKS.md');
}
