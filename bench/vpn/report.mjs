// Renders a bench/vpn/run.mjs result (version 2: several runs per cell) as Markdown tables: per cell
// (one-way delay, jitter, loss) the median over runs with the range [min-max], ratios to the
// reference (wireguard-go, or meshd A in an A/B run), the no-tunnel row, and the emulator's own
// counters. run.mjs writes it next to the JSON; also runnable alone:
//   node bench/vpn/report.mjs bench/results/vpn-<stamp>.json > tables.md
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const f1 = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '-' : Number(x).toFixed(d));

export function median(xs) {
  const s = xs.filter((x) => x !== null && x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function range(xs) {
  const s = xs.filter((x) => x !== null && x !== undefined && !Number.isNaN(x));
  return s.length ? { min: Math.min(...s), max: Math.max(...s), n: s.length } : null;
}

function cellsOf(report) {
  const out = [];
  for (const c of report.cells) for (const l of report.cfg.lossPct) out.push({ delayMs: c.delayMs, jitterMs: c.jitterMs, lossPct: l });
  return out;
}

function rows(report, system, c) {
  return report.results.filter((r) => r.system === system && r.delayMs === c.delayMs && r.jitterMs === c.jitterMs && r.lossPct === c.lossPct);
}

function label(c) {
  const rtt = 2 * c.delayMs;
  return `${rtt} ms${c.jitterMs ? ` ±${c.jitterMs}` : ''}, ${c.lossPct} %`;
}

/** The row every ratio is against: meshd A in an A/B run, else wireguard-go when measured. */
function reference(report) {
  if (report.ab) return report.systems.find((s) => s.startsWith('meshd A')) ?? null;
  return report.systems.includes('wireguard-go') ? 'wireguard-go' : null;
}

function metricTable(report, pick, { digits = 1, ratio = true, missing = 'fail' } = {}) {
  const cells = cellsOf(report);
  const ref = ratio ? reference(report) : null;
  const lines = [`| system | ${cells.map(label).join(' | ')} |`, `|---|${cells.map(() => '---:').join('|')}|`];
  for (const s of report.systems) {
    const out = cells.map((c) => {
      const vals = rows(report, s, c).map(pick);
      const m = median(vals);
      if (m === null) return rows(report, s, c).length ? missing : '-';
      const r = range(vals);
      const refMed = ref && s !== ref ? median(rows(report, ref, c).map(pick)) : null;
      const spread = r.n > 1 ? ` [${f1(r.min, digits)}-${f1(r.max, digits)}]` : '';
      return `${f1(m, digits)}${spread}${refMed ? ` **${f1(m / refMed, 2)}x**` : ''}`;
    });
    lines.push(`| ${s} | ${out.join(' | ')} |`);
  }
  return lines.join('\n');
}

function emulatorTable(report) {
  const lines = [
    '| path | runs measured | runs with emulator loss > 0 | frames lost by the emulator (all runs) | frames late > 1 ms | worst lateness ms | emulator CPU median / max % of a core | by system: UDP rcvbuf overruns in B (median per run); frames late > 1 ms (all runs) |',
    '|---|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const cell of report.cells) {
    const rs = report.results.filter((r) => r.delayMs === cell.delayMs && r.jitterMs === cell.jitterMs && typeof r.lossPct === 'number');
    const emu = rs.map((r) => r.emulator).filter(Boolean);
    const overruns = report.systems
      .map((s) => {
        const mine = rs.filter((r) => r.system === s);
        return `${s}: ${f1(median(mine.map((r) => r.udpRcvbufErrors?.b)), 0)}; ${mine.reduce((a, r) => a + (r.emulator?.late1ms ?? 0), 0)}`;
      })
      .join(', ');
    const path = `${2 * cell.delayMs} ms RTT${cell.jitterMs ? ` ±${cell.jitterMs} ms` : ''}`;
    if (emu.length === 0) {
      lines.push(`| ${path} (no emulator) | ${rs.length} | - | - | - | - | - | ${overruns} |`);
      continue;
    }
    const sum = (k) => emu.reduce((a, e) => a + (e[k] ?? 0), 0);
    const shares = emu.map((e) => 100 * (e.cpuShare ?? 0));
    lines.push(
      `| ${path} | ${emu.length} | ${emu.filter((e) => e.lost > 0).length} | ${sum('lost')} (queue ${sum('drops')}, socket ${sum('sockDrops')}, oversized ${sum('trunc')}, send ${sum('sendErrors')}) of ${sum('frames')} | ${sum('late1ms')} | ${f1(Math.max(...emu.map((e) => e.lateMaxUs)) / 1000)} | ${f1(median(shares), 0)} / ${f1(Math.max(...shares), 0)} | ${overruns} |`,
    );
  }
  return lines.join('\n');
}

function resourceTable(report) {
  const lines = ['| system | path | start to ready, ms (median) | peak RSS MiB A / B / hub (max over runs) | RSS MiB under load A / B / hub (max sampled every 0.5 s during transfers, over runs) | Ip ReasmReqds in B (max; should be 0) | UDP receive buffers in B (process:bytes) |', '|---|---|---:|---|---|---:|---|'];
  for (const s of report.systems) {
    for (const cell of report.cells) {
      const sums = report.results.filter((r) => r.system === s && r.delayMs === cell.delayMs && r.jitterMs === cell.jitterMs && r.lossPct === 'summary');
      if (!sums.length) continue;
      const rss = ['a', 'b', 'h'].map((k) => {
        const v = sums.map((x) => x.peakRssMiB?.[k]).filter((x) => typeof x === 'number');
        return v.length ? f1(Math.max(...v)) : '-';
      });
      const loadRss = ['a', 'b', 'h'].map((k) => {
        const v = sums.map((x) => x.loadRssMiB?.[k]).filter((x) => typeof x === 'number');
        return v.length ? f1(Math.max(...v)) : '-';
      });
      const reasm = sums.map((x) => x.reasmReqdsB).filter((x) => typeof x === 'number');
      lines.push(`| ${s} | ${2 * cell.delayMs} ms RTT${cell.jitterMs ? ` ±${cell.jitterMs}` : ''} | ${f1(median(sums.map((x) => x.startMs)), 0)} | ${rss.join(' / ')} | ${loadRss.join(' / ')} | ${reasm.length ? Math.max(...reasm) : '-'} | ${[...new Set(sums.flatMap((x) => x.udpRcvbuf?.b ?? []))].join(', ') || '-'} |`);
    }
  }
  return lines.join('\n');
}

function startErrors(report) {
  const errs = report.results.filter((r) => r.lossPct === null);
  return errs.length ? errs.map((e) => `- ${e.system}, ${2 * e.delayMs} ms RTT, run ${e.run}: did not start: ${e.error.split('\n')[0].slice(0, 200)}`).join('\n') : '';
}

export function renderTables(report) {
  const e = report.env;
  const ref = reference(report);
  const trees = e.meshd.map((t) => `${t.tag ? `${t.tag} = ` : ''}${t.dir} @ ${t.commit}, dist/ built ${t.distBuilt}`).join('; ');
  const ratioNote = ref ? `Bold: median ratio to ${ref} in the same cell.` : '';
  const cc = [...new Set(report.cells.map((c) => c.tcpCc))].join(', ');
  const out = [
    `Run ${e.date}: \`node bench/vpn/run.mjs ${report.argv.join(' ')}\`, ${report.cfg.runs} runs x ${report.cfg.seconds} s per cell, systems in rotating order, ${f1(report.elapsedS / 60)} min.`,
    `Machine ${e.machine}, load ${e.loadavg.split(' ').slice(0, 3).join(' ')} at start and ${report.loadavgEnd.split(' ').slice(0, 3).join(' ')} at the end; TCP congestion control in A and B: ${cc}${e.autogroup ? `; bench session's autogroup: ${e.autogroup}` : ''}.`,
    `meshd ${trees}; wireguard-go ${e.wireguardGo}, kcptun ${e.kcptun}, ${e.iperf3}, Node ${e.node}.`,
    'Cells: median over runs [min-max]. ' + ratioNote,
    '',
    '**Emulator and receive-side counters** (a valid run has no emulator loss):',
    '',
    emulatorTable(report),
  ];
  for (const s of report.cfg.streams) {
    out.push('', `**iperf3 TCP, ${s} stream${s > 1 ? 's' : ''}, Mbit/s:**`, '', metricTable(report, (r) => r[`tcp${s}`]?.mbps));
  }
  // --idle-ping (no transfers): microseconds matter, and the mean shows the slow tail the median hides.
  const idleOnly = report.cfg.streams.length === 0;
  out.push('', '**Idle ping RTT, ms (median of each run, then median over runs):**', '', metricTable(report, (r) => r.pingIdle?.median, { digits: idleOnly ? 3 : 2, missing: 'n/a' }));
  if (idleOnly) {
    out.push('', '**Idle ping RTT, ms (mean of each run, then median over runs):**', '', metricTable(report, (r) => r.pingIdle?.avg, { digits: 3, missing: 'n/a' }));
    for (const [k, who] of [['a', 'A'], ['b', 'B'], ['h', 'the meshd hub']]) {
      out.push('', `**CPU ms per second with no traffic at all in ${who}'s daemon (timers, keepalives):**`, '', metricTable(report, (r) => r.quietCpuMsPerS?.[k], { digits: 2, ratio: false, missing: 'n/a' }));
    }
    for (const [k, who] of [['a', 'A (the pinging side)'], ['b', 'B (the echoing side)']]) {
      out.push('', `**CPU µs per idle ping in ${who}'s daemon (its threads' run time over the pings):**`, '', metricTable(report, (r) => r.idleCpuUsPerPing?.[k], { digits: 0, missing: 'n/a (kernel)' }));
    }
  }
  out.push('', '**Daemon CPU seconds per GB delivered (both peers and the meshd hub, over the iperf3 runs):**', '', metricTable(report, (r) => r.cpuSecondsPerGB, { missing: 'n/a (kernel)' }));
  if (report.cfg.echo) {
    out.push('', '**TCP echo, one 32-byte request per round trip: average ms:**', '', metricTable(report, (r) => r.echo?.avg));
    out.push('', '**TCP echo: worst ms:**', '', metricTable(report, (r) => r.echo?.max, { ratio: false }));
  }
  out.push('', '**Resources:**', '', resourceTable(report));
  const errs = startErrors(report);
  if (errs) out.push('', errs);
  return out.join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(renderTables(JSON.parse(readFileSync(process.argv[2], 'utf8'))));
}
