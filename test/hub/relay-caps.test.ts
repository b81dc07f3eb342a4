// The relay's per-target and total budgets (issue 17 M2): several senders cannot aim more than a
// target's budget at one member (whose endpoint a member can forge), nor the hub relay without end.
import { describe, expect, it } from 'vitest';
import type { Member } from '../../src/hub/registry.js';
import { Relay, relayPerTargetFactor, relayTotalFactor } from '../../src/hub/relay.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';

const member = (n: number): Member => ({
  publicKey: new Uint8Array(32).fill(n), id: `m${n}`, overlay: ipv4ToU32(`10.9.0.${n}`), name: `m${n}`, bootId: 1n,
  reflexive: { address: '198.51.100.1', port: 1000 + n }, lan: [], registeredMs: 0, lastHeartbeatMs: 0, relayedBytes: 0,
});

describe('relay budgets per target and in total', () => {
  // Per sender 1,000 B/s burst 2,000; so per target 2x, total 32x. [senders, target count, bytes each, forwarded]
  it.each([
    ['one sender within its budget reaches the target', 1, 1, 2_000, 2_000],
    ['two senders fill one target budget exactly', 2, 1, 2_000, 4_000],
    ['five senders to one target: only the target budget passes', 5, 1, 2_000, 2_000 * relayPerTargetFactor],
    ['forty senders to forty targets: only the total budget passes', 40, 40, 2_000, 2_000 * relayTotalFactor],
  ] as const)('%s', (_why, senders, targets, bytes, forwarded) => {
    const r = new Relay(1_000, 2_000);
    const ts = Array.from({ length: targets }, (_, i) => member(100 + i));
    for (let i = 0; i < senders; i++) r.decide(member(i + 1), ts[i % targets], bytes, 0);
    expect(r.relayedBytes).toBe(forwarded);
  });

  it('counts each refusal by reason', () => {
    const r = new Relay(1_000, 2_000);
    const t = member(100);
    for (let i = 1; i <= 3; i++) r.decide(member(i), t, 2_000, 0);
    expect(r.drops.target_over_budget).toBe(1);
    for (let i = 0; i < 40; i++) r.decide(member(10 + i), member(200 + i), 2_000, 0);
    expect(r.drops.total_over_budget).toBeGreaterThan(0);
  });
});
