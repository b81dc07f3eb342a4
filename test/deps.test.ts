// The import-direction check (STYLE.md "The shape"): reads every import in src/ (static `import`/
// `export ... from` and dynamic `import('...')`) and fails on a forbidden edge, the way tailscale's
// negative dependency tests do.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'native' ? [] : walk(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

interface Edge {
  file: string;
  spec: string;
  target: string; // top-level dir under src/ for relative imports, or the module name
}

// `import x from '...'`, `export { y } from '...'`, and `import('...')` with a literal specifier
// (the composition root loads the daemons and the crypto addon lazily). Type-only
// `import('...').T` in a type position counts too: it is still a dependency on that file.
const staticImport = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm;
const dynamicImport = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The specifiers one file imports, static and dynamic. */
function importSpecs(text: string): string[] {
  return [...text.matchAll(staticImport), ...text.matchAll(dynamicImport)].map((m) => m[1]!);
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of walk(src)) {
    const text = readFileSync(file, 'utf8');
    for (const spec of importSpecs(text)) {
      let target = spec;
      if (spec.startsWith('.')) {
        const abs = resolve(dirname(file), spec);
        target = relative(src, abs).split('/')[0]!;
      }
      out.push({ file: relative(src, file), spec, target });
    }
  }
  return out;
}

const layer = (f: string) => f.split('/')[0]!;
// What each layer may import from src/ (besides itself).
const allowed: Record<string, string[]> = {
  util: [],
  wire: ['util'],
  arq: ['util'],
  fec: ['util'],
  crypto: ['util', 'wire'],
  config: ['util', 'net', 'crypto', 'publish'],
  publish: ['util', 'wire', 'arq', 'net'],
  net: ['util'],
  tun: ['util', 'wire'],
  ops: ['util', 'net'],
  link: ['util', 'wire', 'crypto', 'net', 'config'],
  // NAT classification, techniques and port mapping (docs/NAT.md), used by the peer and the CLI.
  nat: ['util', 'wire', 'crypto', 'net'],
  peer: ['util', 'wire', 'arq', 'crypto', 'net', 'tun', 'config', 'link', 'ops', 'publish', 'nat', 'fec'],
  hub: ['util', 'wire', 'arq', 'crypto', 'net', 'config', 'link', 'ops', 'publish'],
  // The demo runs the daemons as processes and talks to them like `meshd status` does.
  demo: ['util', 'ops'],
  'cli.ts': ['util', 'wire', 'arq', 'crypto', 'net', 'tun', 'peer', 'hub', 'config', 'link', 'ops', 'publish', 'demo', 'nat'],
};
const srcDirs = new Set(readdirSync(src));
// Edges named on their own, so a later widening of `allowed` cannot let them in unnoticed.
const forbidden: [from: string, to: string, why: string][] = [
  ['crypto', 'tun', 'crypto has its own addon (crypto/native.ts); the TUN addon is about the TUN'],
  ['link', 'arq', 'the link carries sealed datagrams; the KCP and its timer (arq/kcp-timer.ts) sit above it'],
  ['publish', 'link', 'published streams drive their KCP with arq/kcp-timer.ts, not the link'],
];
// Each addon is loaded by exactly one file (STYLE.md: one file touches each native surface).
const addonLoaders: Record<string, string> = {
  'meshd_tun.node': 'tun/linux.ts',
  'meshd_udp.node': 'net/udp-native.ts',
  'meshd_crypto.node': 'crypto/native.ts',
  'meshd_fec.node': 'fec/native.ts',
};

function srcFiles(): { file: string; text: string }[] {
  return walk(src).map((f) => ({ file: relative(src, f), text: readFileSync(f, 'utf8') }));
}

describe('import direction', () => {
  const all = edges();
  it('finds imports to check', () => {
    expect(all.length).toBeGreaterThan(5);
  });
  it('reads dynamic import() calls as edges', () => {
    const text = "import { a } from './a.js';\nconst { b } = await import('../tun/linux.js');\nconst t: import(\"./c.js\").C = x;";
    expect(importSpecs(text).sort()).toEqual(['../tun/linux.js', './a.js', './c.js']);
    expect(all.some((e) => e.file === 'cli.ts' && e.spec === './crypto/native.js')).toBe(true); // cli.ts loads it lazily
  });
  it.each(forbidden)('forbids %s -> %s (%s)', (from, to) => {
    const bad = all.filter((e) => layer(e.file) === from && e.target === to).map((e) => `${e.file} -> ${e.spec}`);
    expect(bad).toEqual([]);
    expect(allowed[from] ?? []).not.toContain(to);
  });
  it.each(Object.entries(addonLoaders))('has exactly one loader of %s (%s)', (addon, loader) => {
    const users = srcFiles().filter((f) => f.text.includes(`'${addon}'`)).map((f) => f.file);
    expect(users).toEqual([loader]);
  });
  it('keeps every src/ edge inside the allowed layers', () => {
    const bad = all
      .filter((e) => srcDirs.has(e.target) || e.spec.startsWith('.'))
      .filter((e) => e.target !== layer(e.file) && !(allowed[layer(e.file)] ?? []).includes(e.target))
      .map((e) => `${e.file} -> ${e.spec}`);
    expect(bad).toEqual([]);
  });
  it('has exactly one importer of node:dgram (net/udp-node.ts)', () => {
    const users = [...new Set(all.filter((e) => e.spec === 'node:dgram' || e.spec === 'dgram').map((e) => e.file))];
    expect(users.every((f) => f === 'net/udp-node.ts')).toBe(true);
  });
  it('keeps arq, crypto and wire free of I/O and timers', () => {
    const io = ['node:dgram', 'node:fs', 'node:net', 'node:child_process', 'pino', 'node:timers'];
    const bad = all.filter((e) => ['arq', 'crypto', 'wire'].includes(layer(e.file)) && io.includes(e.spec));
    expect(bad).toEqual([]);
    for (const file of walk(src).filter((f) => /\/(arq|crypto|wire)\//.test(f))) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/\bset(Timeout|Interval|Immediate)\(|Date\.now\(|performance\.now\(/);
    }
  });
  it('keeps fec pure: no I/O, no timers (fec/native.ts only loads its addon)', () => {
    const io = ['node:dgram', 'node:fs', 'node:net', 'node:child_process', 'pino', 'node:timers'];
    expect(all.filter((e) => layer(e.file) === 'fec' && io.includes(e.spec))).toEqual([]);
    for (const file of walk(src).filter((f) => layer(relative(src, f)) === 'fec' && f.endsWith('.ts'))) {
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/\bset(Timeout|Interval|Immediate)\(|Date\.now\(|performance\.now\(/);
    }
  });
  it('keeps hub/server.ts -> publish one-way: the server calls the publisher through the slice it declares', () => {
    const bad = all.filter((e) => e.file === 'hub/server.ts' && e.target === 'publish').map((e) => e.spec);
    expect(bad).toEqual([]);
    // ...and the publisher reaches members through hub/member-sender.ts, never the server.
    expect(all.filter((e) => layer(e.file) === 'publish' && e.target === 'hub')).toEqual([]);
  });
  it('has only hub/nats-*.ts (the NATS state, split by concept) import the NATS client: no other part of meshd talks to NATS', () => {
    const users = [...new Set(all.filter((e) => e.spec === 'nats' || e.spec.startsWith('nats/') || e.spec.startsWith('@nats-io/')).map((e) => e.file))];
    expect(users).toContain('hub/nats-state.ts');
    expect(users.filter((f) => !/^hub\/nats-[a-z-]+\.ts$/.test(f))).toEqual([]);
    // ...and it is loaded only when --cluster asks for it (a dynamic import in hub/run.ts), so one hub
    // alone never loads the client: its parts are imported by one another only.
    expect(all.filter((e) => e.spec.endsWith('/nats-state.js') && e.file !== 'hub/run.ts').map((e) => e.file)).toEqual([]);
    expect(all.filter((e) => /\/nats-[a-z-]+\.js$/.test(e.spec) && !/^hub\/nats-[a-z-]+\.ts$/.test(e.file) && e.file !== 'hub/run.ts').map((e) => e.file)).toEqual([]);
  });
  it('never lets peer and hub import each other', () => {
    const bad = all.filter((e) => (layer(e.file) === 'peer' && e.target === 'hub') || (layer(e.file) === 'hub' && e.target === 'peer'));
    expect(bad).toEqual([]);
  });
});
