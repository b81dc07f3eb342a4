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
   * flight and no window probe due it sleeps: the next send or input calls schedule() again.
   */
  schedule(now: number): void {
    if (this.stopped || (this.kcp.waitSnd() === 0 && this.kcp.probe === 0)) return;
    // Never schedule for "now": the timer would fire in the same instant again (see tick()).
    const at = Math.max(this.kcp.check(now), now + 1);
    if (this.timer !== undefined && at >= this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimer(at - now, () => this.tick());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
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
