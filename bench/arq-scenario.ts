// Reruns the reference's published test.cpp scenario (docs/ARQ.md) on virtual time for the
// default, normal and fast settings, several seeds each, next to the published figures; then issue
// #8's long lossy path with and without rate control (docs/ARQ.md "Rate control").
// The published default figure (740/1507) predates the ikcp.c we test against: that ikcp.c's own
// test.cpp (node-kcp 1.0.13 copy, real time, 2026) printed default 5325/8957, normal 158/574,
// fast 140/373; test/arq/differential.test.ts shows our Kcp is byte-identical to it.
// Run:  npx tsc --outDir /tmp/meshd-bench --module nodenext --moduleResolution nodenext --target es2022 --types node --skipLibCheck bench/arq-scenario.ts && node /tmp/meshd-bench/bench/arq-scenario.js
import { runScenario, type ScenarioMode } from '../test/arq/scenario.js';
import { runBulk } from '../test/arq/bottleneck.js';
import type { Kcp } from '../src/arq/kcp.js';

const published: Record<ScenarioMode, [number, number]> = { default: [740, 1507], normal: [156, 571], fast: [138, 392] };
const seeds = [1, 2, 3, 4, 5];
console.log('mode     settings                          avg rtt (ms)  max rtt (ms)  published avg/max  tx1');
for (const mode of ['default', 'normal', 'fast'] as const) {
  const rs = seeds.map((s) => runScenario(mode, s));
  const avg = Math.round(rs.reduce((n, r) => n + r.avgRttMs, 0) / rs.length);
  const max = Math.max(...rs.map((r) => r.maxRttMs));
  const tx = Math.round(rs.reduce((n, r) => n + r.tx1, 0) / rs.length);
  const settings = { default: '(0,10,0,0)', normal: '(0,10,0,1)', fast: '(2,10,2,1) minrto 10, resend 1' }[mode];
  const perSeed = rs.map((r) => `${r.avgRttMs}/${r.maxRttMs}`).join(' ');
  console.log(`${mode.padEnd(8)} ${settings.padEnd(33)} ${String(avg).padStart(12)}  ${String(max).padStart(12)}  ${published[mode].join('/').padStart(17)}  ${tx}   per seed avg/max: ${perSeed}${rs.every((r) => r.inOrder && r.messages >= 1000) ? '' : '  INCOMPLETE'}`);
}

// Issue #8's long lossy path (test/arq/bottleneck.ts): 200 Mbit/s, 1 MB queue, 20 ms each way,
// random loss after the queue, a saturating sender at kcp-channel's queue limit; 6 s, the first
// second not counted. meshd's presets now (rate control, span 4096) against its old setup.

const setups: [string, (k: Kcp) => void][] = [
  ['ikcp nc=1 wnd 1024 (before)', (k) => { k.usePreset('fast3'); k.setRateControl(false); k.setWndSize(1024, 1024); }],
  ['ikcp nc=1 wnd 4096', (k) => { k.usePreset('fast3'); k.setRateControl(false); k.setWndSize(4096, 4096); }],
  ['rate control wnd 4096 (now)', (k) => { k.usePreset('fast3'); k.setWndSize(4096, 4096); }],
];
console.log('\nlong lossy path, fast3: goodput Mbit/s (share of 200) | queue drops | queue delay avg/p99 ms | timeout resends');
for (const loss of [0, 0.05, 0.1]) {
  for (const [name, setup] of setups) {
    const r = runBulk({ path: { rateBytesPerMs: 25_000, queueBytes: 1_000_000, delayMs: 20, loss, overheadBytes: 60 }, seed: 1, durationMs: 6000, warmupMs: 1000, backlogSegs: 2048, setup });
    const q = r.fwd.stats;
    console.log(`loss ${String(loss * 100).padStart(2)} %  ${name.padEnd(28)} ${r.goodputMbps.toFixed(1).padStart(6)} (${r.utilisation.toFixed(2)}) | ${String(q.queueDrops).padStart(6)} | ${(q.queueDelaySumMs / Math.max(q.sent, 1)).toFixed(1).padStart(5)} / ${String(r.fwd.queueDelayQuantileMs(0.99)).padStart(3)} | ${r.a.stats.retransTimeout}`);
  }
}
