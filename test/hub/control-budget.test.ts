import { describe, expect, it } from 'vitest';
import { MemberBuckets, pairKey, punchVerdict } from '../../src/hub/control-budget.js';
import { ReliableSender } from '../../src/link/reliable.js';
import { ManualClock } from '../fakes/manual-clock.js';

describe('punchVerdict', () => {
  it.each([
    ['a pair already being punched is not punched again, and costs no token', true, true, 'in_flight', 0],
    ['in flight wins even with the bucket empty', true, false, 'in_flight', 0],
    ['a new pair with a token is punched', false, true, 'punch', 1],
    ['a new pair without a token is refused', false, false, 'rate_limited', 1],
  ] as const)('%s', (_why, inFlight, token, verdict, takes) => {
    let taken = 0;
    expect(punchVerdict(inFlight, () => (taken++, token))).toBe(verdict);
    expect(taken).toBe(takes);
  });
});

describe('pairKey', () => {
  it('is the same for both orders and distinct per pair', () => {
    expect(pairKey('aa', 'bb')).toBe(pairKey('bb', 'aa'));
    expect(pairKey('aa', 'bb')).not.toBe(pairKey('aa', 'cc'));
  });
});

describe('MemberBuckets', () => {
  // rate 5/s, burst 20: [elapsed ms before the batch, requests in it, how many pass]
  it.each([
    ['a burst passes up to the burst size', [[0, 30, 20]]],
    ['then one per 200 ms', [[0, 20, 20], [200, 3, 1], [1_000, 10, 5]]],
    ['a long quiet spell refills to the burst, not beyond', [[0, 20, 20], [60_000, 40, 20]]],
    ['10,000 in one second: burst + rate', [[0, 5_000, 20], [1_000, 5_000, 5]]],
  ] as const)('%s', (_why, steps) => {
    const b = new MemberBuckets(5, 20);
    let now = 0;
    for (const [dt, n, pass] of steps) {
      now += dt;
      let ok = 0;
      for (let i = 0; i < n; i++) if (b.take('m', now)) ok++;
      expect(ok).toBe(pass);
    }
  });

  it('keeps one bucket per member and forgets a member that left', () => {
    const b = new MemberBuckets(5, 1);
    expect(b.take('x', 0)).toBe(true);
    expect(b.take('x', 0)).toBe(false);
    expect(b.take('y', 0)).toBe(true);
    expect(b.size).toBe(2);
    b.forget('x');
    expect(b.size).toBe(1);
    expect(b.take('x', 0)).toBe(true);
  });
});

describe('ReliableSender with a pending cap', () => {
  it('refuses past the cap without sending, and settles each tracked message exactly once', () => {
    const clock = new ManualClock();
    const r = new ReliableSender(clock, 1, 3);
    let sends = 0;
    let settled = 0;
    const ok = Array.from({ length: 5 }, () => r.track(r.nextSeq(), () => sends++, undefined, () => settled++));
    expect(ok).toEqual([true, true, true, false, false]);
    expect(r.inFlight).toBe(3);
    expect(sends).toBe(3);
    r.ack(1);
    expect(settled).toBe(1);
    clock.advance(60_000); // the other two give up
    expect(settled).toBe(3);
    expect(r.inFlight).toBe(0);
    expect(r.track(r.nextSeq(), () => sends++, undefined, () => settled++)).toBe(true);
    r.cancelAll();
    expect(settled).toBe(4);
  });
});
