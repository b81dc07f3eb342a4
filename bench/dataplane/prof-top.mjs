// Summarises a .cpuprofile: self time per function (top N) and inclusive time for a few frames.
//   node bench/dataplane/prof-top.mjs FILE [N]
import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const n = Number(process.argv[3] ?? 25);
const byId = new Map(p.nodes.map((x) => [x.id, x]));
const self = new Map();
const dt = p.timeDeltas;
const counts = new Map();
for (let i = 0; i < p.samples.length; i++) counts.set(p.samples[i], (counts.get(p.samples[i]) ?? 0) + (dt[i] ?? 0));
let total = 0;
for (const [id, us] of counts) {
  const f = byId.get(id).callFrame;
  const k = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
  self.set(k, (self.get(k) ?? 0) + us);
  total += us;
}
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
console.log(`total ${(total / 1e3).toFixed(0)} ms, idle ${(idle / 1e3).toFixed(0)} ms`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${((v / (total - idle)) * 100).toFixed(1).padStart(5)}%  ${k}`);
