// KcpTimer: one timer per KCP, set while something is in flight and cancelled once nothing is
// (issue 19 item 7: an idle ping's ACK came back within a millisecond and the timer still woke the
// process an interval later with nothing to do).
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/arq/constants.js';
import { Kcp } from '../../src/arq/kcp.js';
import { KcpTimer, timerIdle } from '../../src/arq/kcp-timer.js';
import { ManualClock } from '../fakes/manual-clock.js';

describe('timerIdle', () => {
  it.each([
    { why: 'nothing queued, in flight or probed: sleep', waitSnd: 0, probe: 0, idle: true },
    { why: 'a segment waits for its ACK: its resend is due some time', waitSnd: 1, probe: 0, idle: false },
    { why: 'a window probe is owed', waitSnd: 0, probe: 1, idle: false },
    { why: 'both', waitSnd: 3, probe: 2, idle: false },
  ])('$why', ({ waitSnd, probe, idle }) => {
    expect(timerIdle(waitSnd, probe)).toBe(idle);
  });
});

/** Two KCPs with the data plane's preset, wired by hand: what one outputs the test hands the other. */
function pair(clock: ManualClock) {
  const toB: Uint8Array[] = [];
  const toA: Uint8Array[] = [];
  const a = new Kcp(7, (d, n) => toB.push(d.slice(0, n)));
  const b = new Kcp(7, (d, n) => toA.push(d.slice(0, n)));
  for (const k of [a, b]) k.applyPreset(presets.fast2);
  return { a, b, toB, toA, timerA: new KcpTimer(a, clock), timerB: new KcpTimer(b, clock) };
}

describe('KcpTimer', () => {
  it('is cancelled when the ACK of the last segment in flight arrives, before its interval', () => {
    const clock = new ManualClock();
    const { a, b, toB, toA, timerA } = pair(clock);
    a.send(new Uint8Array(84));
    a.flush(clock.now());
    timerA.schedule(clock.now());
    expect(timerA.armed).toBe(true);
    clock.advance(0.3);
    for (const d of toB.splice(0)) b.input(d);
    b.flush(clock.now());
    clock.advance(0.3);
    for (const d of toA.splice(0)) a.input(d);
    a.flush(clock.now());
    timerA.schedule(clock.now());
    expect(a.waitSnd()).toBe(0);
    expect(clock.pending).toBe(0);
    expect(timerA.armed).toBe(false);
    // And it wakes nobody later: a whole second of nothing fires no timer and sends nothing.
    clock.advance(1_000);
    expect(toB).toEqual([]);
  });

  it('stays armed while a segment is unacked, and the resend goes out when it fires', () => {
    const clock = new ManualClock();
    const { a, toB, timerA } = pair(clock);
    a.send(new Uint8Array(84));
    a.flush(clock.now());
    timerA.schedule(clock.now());
    const first = toB.splice(0).length;
    expect(first).toBeGreaterThan(0);
    clock.advance(1_000);
    expect(toB.length).toBeGreaterThan(0);
    expect(timerA.armed).toBe(true);
  });

  it('stop() cancels it for good', () => {
    const clock = new ManualClock();
    const { a, timerA } = pair(clock);
    a.send(new Uint8Array(84));
    a.flush(clock.now());
    timerA.schedule(clock.now());
    timerA.stop();
    timerA.schedule(clock.now());
    expect(timerA.armed).toBe(false);
    expect(clock.pending).toBe(0);
  });
});
