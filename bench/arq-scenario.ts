// Reruns the reference's published test.cpp scenario (KCP.md section 10) on virtual time for the
// default, normal and fast settings, several seeds each, next to the published figures.
// The published default figure (740/1507) predates the ikcp.c we test against: that ikcp.c's own
// test.cpp (node-kcp 1.0.13 copy, real time, 2026) printed default 5325/8957, normal 158/574,
// fast 140/373; test/arq/differential.test.ts shows our Kcp is byte-identical to it.
// Run:  npx tsc --outDir /tmp/meshd-bench --module nodenext --moduleResolution nodenext --target es2022 --types node --skipLibCheck bench/arq-scenario.ts && node /tmp/meshd-bench/bench/arq-scenario.js
import { runScenario, type ScenarioMode } from '../test/arq/scenario.js';

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
