// The version constant and package.json agree, so a release bump cannot leave `meshd --version` or
// `meshd status` behind.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { meshdVersion } from '../../src/util/version.js';
import { cliPath, requireDist } from '../helpers/mesh-lab.js';

const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };

describe('meshdVersion', () => {
  it('is package.json version', () => {
    expect(meshdVersion).toBe(pkg.version);
  });
  it('is what the built CLI prints for --version', () => {
    requireDist();
    const r = spawnSync(process.execPath, [cliPath, '--version'], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});
