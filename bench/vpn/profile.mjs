// Summarizes the meshd CPU profiles written by `node bench/vpn/run.mjs --cpu-prof DIR`: self time
// per function (top N) for each .cpuprofile in DIR, as a share of non-idle samples.
// Usage: node bench/vpn/profile.mjs DIR [N]; report.mjs --profile DIR puts the same text in the doc.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function profileSummary(dir, top = 12) {
  const out = [];
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
    out.push(`${f.replace(/-\d+\.cpuprofile$/, '')}: ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s profiled, ${(100 * idle).toFixed(0)} % idle; self time as % of busy samples:`);
    const rows = [...self.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [k, v] of rows) out.push(`  ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}`);
    out.push('');
  }
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(profileSummary(process.argv[2], Number(process.argv[3] ?? 12)));
}
