// Gives malloc's free pages back while the peer runs (issue 19 item 7). Buffers freed under load
// (opened datagrams, Buffer pool slabs, V8's dropped ArrayBuffers) leave glibc's heap at its
// high-water mark between the live chunks, and RSS with it. Every trimCheckMs the RSS is read; once
// it has grown trimGrowthBytes past the floor (the RSS after the last trim, or the lowest seen),
// malloc_trim(0) runs (net/udp-native.ts mallocTrim) and the RSS after it is the new floor. The
// first check trims whatever the growth: loading and compiling the daemon's modules leaves ~10 MB
// freed in malloc's arenas (V8's compiler threads' among them, which the main thread's later
// allocations never reuse), so an idle peer sat ~10 MB above what it holds. Built by
// peer/run.ts; the counters go to `meshd status --json` beside `memory`.
import type { Clock, TimerHandle } from '../util/clock.js';

/** Local tuning: how often the RSS is read (one /proc read; a trim is a few ms on a 50 MB heap). */
export const trimCheckMs = 2_000;
/** Local tuning: growth past the floor that is worth a trim (a few hundred 8 KB pool slabs). */
export const trimGrowthBytes = 4 * 1048576;

/** A trim is due once the RSS is trimGrowthBytes above the floor. */
export function trimDue(rssBytes: number, floorBytes: number): boolean {
  return rssBytes - floorBytes >= trimGrowthBytes;
}

export interface MemoryTrimmerOptions {
  readonly clock: Clock;
  /** The process's resident set in bytes (process.memoryUsage.rss). */
  readonly rss: () => number;
  /** malloc_trim(0): true when pages went back, undefined when there is no trim here. */
  readonly trim: () => boolean | undefined;
}

export interface MemoryTrimStats {
  checks: number;
  trims: number;
  /** RSS bytes the trims gave back, summed (RSS before minus after). */
  freedBytes: number;
}

export class MemoryTrimmer {
  readonly stats: MemoryTrimStats = { checks: 0, trims: 0, freedBytes: 0 };
  private floor: number;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly o: MemoryTrimmerOptions) {
    this.floor = o.rss();
    this.timer = o.clock.setTimer(trimCheckMs, () => this.tick());
  }

  /** One check: trims when due; returns whether it trimmed. */
  check(): boolean {
    this.stats.checks++;
    const rss = this.o.rss();
    if (rss < this.floor) this.floor = rss;
    // The first check trims whatever the growth: the start-up's leftovers.
    if (this.stats.checks > 1 && !trimDue(rss, this.floor)) return false;
    if (this.o.trim() === undefined) {
      this.stop(); // no malloc_trim in this build: stop asking
      return false;
    }
    const after = this.o.rss();
    this.stats.trims++;
    this.stats.freedBytes += Math.max(0, rss - after);
    this.floor = after;
    return true;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    this.timer = undefined;
    this.check();
    if (!this.stopped) this.timer = this.o.clock.setTimer(trimCheckMs, () => this.tick());
  }
}
