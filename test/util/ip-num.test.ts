// ip-num is loaded only through src/util/ip-num.ts (require): an ESM import of its CommonJS index
// keeps ~17-20 MiB more resident in every peer and hub (issue 19 item 7). This fails on a direct import.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IPv4CidrRange, Validator } from '../../src/util/ip-num.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('ip-num', () => {
  it('is imported from src/util/ip-num.ts only', () => {
    const direct = sources('src').filter((f) => !f.endsWith(join('util', 'ip-num.ts')) && /from\s+['"]ip-num['"]|import\(\s*['"]ip-num['"]\s*\)/.test(readFileSync(f, 'utf8')));
    expect(direct).toEqual([]);
  });

  it('works through the require', () => {
    expect(IPv4CidrRange.fromCidr('10.9.0.0/24').getLast().toString()).toBe('10.9.0.255');
    expect(Validator.isValidIPv4String('10.9.0.1')[0]).toBe(true);
  });
});
