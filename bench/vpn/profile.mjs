// Summarizes the meshd CPU profiles written by `node bench/vpn/run.mjs --cpu-prof DIR`: self time
// per function (top N) for each .cpuprofile in DIR, plus the share spent in (garbage collector)
// and (program)/(idle). Usage: node bench/vpn/profile.mjs DIR [N]
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const [dir, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 12);
for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile')).sort()) {
  const p = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  const self = new Map();
  let total = 0;
  for (const n of p.nodes) {
    const cf = n.callFrame;
    const where = cf.url ? `${basename(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + (n.hitCount ?? 0));
    total += n.hitCount ?? 0;
  }
  const idle = (self.get('(idle)') ?? 0) / total;
  const busy = total * (1 - idle);
  console.log(`\n${f}: ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s profiled, ${(100 * idle).toFixed(0)} % idle; self time as % of busy samples:`);
  const rows = [...self.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, v] of rows) console.log(`  ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}`);
}
