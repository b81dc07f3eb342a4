// The reference's published scenario (test.cpp) in short runs on virtual time: everything echoed
// back in order in all three settings, and the fast settings beat the TCP-like default on latency.
// bench/arq-scenario.ts runs the full 1000-message version and prints the table.
import { describe, expect, it } from 'vitest';
import { runScenario } from './scenario.js';

describe('test.cpp scenario (10 % loss, RTT 60-125 ms, wnd 128, a message every 20 ms)', () => {
  const runs = { default: runScenario('default', 1, 300), normal: runScenario('normal', 1, 300), fast: runScenario('fast', 1, 300) };

  it.each(Object.entries(runs))('%s: every message echoed back exactly once, in order', (_mode, r) => {
    expect(r.inOrder).toBe(true);
    expect(r.messages).toBeGreaterThanOrEqual(300);
  });

  it('fast and normal have lower average RTT than default; no RTT below the link minimum', () => {
    expect(runs.fast.avgRttMs).toBeLessThan(runs.default.avgRttMs);
    expect(runs.normal.avgRttMs).toBeLessThan(runs.default.avgRttMs);
    for (const r of Object.values(runs)) expect(r.avgRttMs).toBeGreaterThanOrEqual(60);
  });

  it('fast mode stays within twice the published average (138 ms) on virtual time', () => {
    expect(runs.fast.avgRttMs).toBeLessThan(2 * 138);
  });
});
