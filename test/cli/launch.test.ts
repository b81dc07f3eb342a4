// The installed command runs dist/cli.js through its shebang (`env -S node FLAGS`, see src/cli.ts):
// the interpreter line must survive the build and its node flags must be ones this node accepts.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cliPath, requireDist } from '../helpers/mesh-lab.js';

describe('launch through the shebang', () => {
  it('keeps `#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node` with a young-generation cap, and that line starts the CLI', () => {
    requireDist();
    const first = readFileSync(cliPath, 'utf8').split('\n', 1)[0]!;
    const m = /^#!(\/usr\/bin\/env) -S ((?:\S+=\S* )*node(?: \S+)*)$/.exec(first);
    expect(m, first).not.toBeNull();
    const argv = m![2]!.split(' ');
    // Two malloc arenas, not one per worker thread (issue 19 item 7, session 12).
    expect(argv.slice(0, argv.indexOf('node'))).toEqual(['MALLOC_ARENA_MAX=2']);
    expect(argv).toContain('--max-semi-space-size=1');
    // Old-generation growth bounded to 1.5x the live heap (no hard cap; issue 19 item 7, session 8).
    expect(argv).toContain('--heap-growing-percent=50');
    expect(argv.some((a) => a.startsWith('--max-old-space-size'))).toBe(false);
    // Run it exactly as the kernel would: env -S splits the rest of the line.
    const r = spawnSync(m![1]!, ['-S', m![2]!, cliPath, '--version'], { encoding: 'utf8', timeout: 15_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
    // And the variable reaches the process that line starts.
    const env = spawnSync(m![1]!, ['-S', m![2]!.replace(/ node( |$)/, ' node -e process.stdout.write(String(process.env.MALLOC_ARENA_MAX)) ')], { encoding: 'utf8', timeout: 15_000 });
    expect(env.stdout).toBe('2');
  });
});
