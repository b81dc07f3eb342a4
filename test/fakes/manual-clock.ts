// A Clock driven by the test: advance(ms) fires due timers in time order, deterministically.
import type { Clock, TimerHandle } from '../../src/util/clock.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

export class ManualClock implements Clock {
  private t: number;
  private nextId = 1;
  private timers = new Map<number, Timer>();

  constructor(start = 1_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /** Number of pending timers (to check nothing leaks). */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by ms in steps of stepMs, letting pending awaits (socket opens, answers
   * queued as microtasks or immediates) run before each step. */
  async drive(ms: number, stepMs = 50): Promise<void> {
    for (let t = 0; t < ms; t += stepMs) {
      await new Promise<void>((r) => setImmediate(r));
      this.advance(Math.min(stepMs, ms - t));
    }
  }

  /** Moves time forward by ms, firing every timer that falls due, earliest first. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const tm of this.timers.values()) {
        if (tm.at <= end && (next === undefined || tm.at < next.at || (tm.at === next.at && tm.id < next.id))) next = tm;
      }
      if (!next) break;
      this.timers.delete(next.id);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}
