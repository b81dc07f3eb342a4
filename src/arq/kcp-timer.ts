// Drives one KCP control block with one timer, rescheduled from check() (docs/ARQ.md "Use"; ikcp_check()
// instead of a fixed tick cut CPU from 60 % to 15 % with many sessions). Beside the KCP it drives; the
// timer is the injected Clock's, so arq still sets no timer of its own. Used by the data plane's
// per-peer channels and by published-service streams.
import type { Kcp } from './kcp.js';
import type { Clock, TimerHandle } from '../util/clock.js';

export interface KcpTimerOptions {
  /** Called after each update; return false to stop (e.g. the stream was reset). */
  onTick?: (now: number) => boolean;
}

export class KcpTimer {
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private stopped = false;

  constructor(
    private readonly kcp: Kcp,
    private readonly clock: Clock,
    private readonly opts: KcpTimerOptions = {},
  ) {}

  /**
   * Reschedules the timer for the time check() asks, or keeps an earlier one. With nothing in
   * flight and no window probe due it sleeps, and a timer set while something was in flight is
   * cancelled (issue 19 item 7: the ACK of an idle ping came back within a millisecond, and the
   * timer still woke the process an interval later to find nothing to do): the next send or input
   * calls schedule() again.
   */
  schedule(now: number): void {
    if (this.stopped) return;
    if (timerIdle(this.kcp.waitSnd(), this.kcp.probe)) {
      this.cancel();
      return;
    }
    // Never schedule for "now": the timer would fire in the same instant again (see tick()).
    const at = Math.max(this.kcp.check(now), now + 1);
    if (this.timer !== undefined && at >= this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimer(at - now, () => this.tick());
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  /** A timer is set (for tests and status). */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  private cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private tick(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.stopped) return;
    const now = this.clock.now();
    this.kcp.update(now);
    // update() only flushes on the interval grid; a retransmission due before the next grid point
    // is sent now instead of waiting up to one interval.
    if (this.kcp.check(now) <= now) this.kcp.flush(now);
    if (this.opts.onTick && !this.opts.onTick(now)) return;
    this.schedule(now);
  }
}

/** The KCP needs no timer: no segment queued or in flight (waitSnd) and no window probe owed. */
export function timerIdle(waitSnd: number, probe: number): boolean {
  return waitSnd === 0 && probe === 0;
}
