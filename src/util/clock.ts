// Time as an injected dependency. Decision code takes `now` (monotonic ms); code that schedules
// takes a Clock, so tests drive a ManualClock (test/fakes/manual-clock.ts) instead of real time.

export type TimerHandle = unknown;

export interface Clock {
  /** Monotonic milliseconds (fractional allowed). Only differences are meaningful. */
  now(): number;
  /** Calls fn once after ms. The handle is only for clearTimer. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Cancels a timer; a no-op on a fired or cleared one. */
  clearTimer(handle: TimerHandle): void;
}

/** Wall-clock milliseconds since the epoch, for handshake timestamps only. */
export type WallClock = () => number;

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    // Daemons stay alive through their sockets and TUN, never through a pending timer.
    t.unref();
    return t;
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

export const systemWallClock: WallClock = () => Date.now();

/**
 * Runs a callback after the I/O already waiting has been read: setImmediate on the system clock (a
 * 0 ms setTimeout waits at least 1 ms, idle time in a loop that sends in slices), a 0 ms timer on
 * any other clock so a test's advance() drives it. Not cancellable: callers keep their own flag.
 * Never unref()'d: with only unref'd immediates pending, libuv's poll blocks until the next I/O or
 * timer before running them (a 1,000-peer hub sent a change's deltas 0.5-2.4 s late that way).
 */
export function deferOn(clock: Clock): (fn: () => void) => void {
  return clock === systemClock ? (fn) => void setImmediate(fn) : (fn) => void clock.setTimer(0, fn);
}
