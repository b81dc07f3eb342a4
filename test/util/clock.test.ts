// deferOn: on the system clock a deferred callback runs on the next turn of the event loop (an
// unref'd setImmediate waited for the next I/O or timer instead); on a test clock it is a 0 ms timer
// that advance() runs.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deferOn } from '../../src/util/clock.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { repoRoot, requireDist } from '../helpers/mesh-lab.js';

describe('deferOn', () => {
  it('system clock: runs on the next turn of the loop, not when the next timer wakes it', () => {
    // A bare node process (vitest's own workers and pipes would wake the loop and hide the bug): from
    // inside a timer callback, with no I/O pending and a 1 s timer the only other thing ahead, the
    // deferred callback must run at once. An unref()'d setImmediate ran only when that timer woke
    // libuv's poll, 1 s later (a liveness check, not a measurement: the margin is 500 ms).
    requireDist();
    const clockJs = pathToFileURL(join(repoRoot, 'dist', 'util', 'clock.js')).href;
    const script = `import { deferOn, systemClock } from ${JSON.stringify(clockJs)};
      setTimeout(() => {
        const t0 = performance.now();
        let ranAfterMs = -1;
        setTimeout(() => console.log(JSON.stringify({ ranAfterMs })), 1000);
        deferOn(systemClock)(() => (ranAfterMs = performance.now() - t0));
      }, 0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(r.stderr).toBe('');
    const { ranAfterMs } = JSON.parse(r.stdout) as { ranAfterMs: number };
    expect(ranAfterMs).toBeGreaterThanOrEqual(0);
    expect(ranAfterMs).toBeLessThan(500);
  });

  it('test clock: a 0 ms timer, run by advance()', () => {
    const clock = new ManualClock();
    let ran = 0;
    deferOn(clock)(() => ran++);
    expect(ran).toBe(0);
    clock.advance(0);
    expect(ran).toBe(1);
  });
});
