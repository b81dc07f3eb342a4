// The receiver's duplicate filter for inner kind 6 (dup-stage.ts): each doubled message carries a
// per-pair sequence number; the first copy to arrive passes, the other is dropped. A sliding bitmap
// of dupWindow sequence numbers behind the highest seen (like the replay window, crypto/replay.ts):
// memory is fixed, and a copy older than the window is dropped as well (it is far too late for an
// interactive flow to want it). Pure.

/** Sequence numbers remembered behind the highest (local tuning: both copies of a message arrive
 * within one relay detour, a few hundred ms at most at interactive rates). */
export const dupWindow = 1024;

export class DupWindow {
  private readonly seen = new Uint8Array(dupWindow);
  private highest = -1;

  /** True the first time `seq` (0 .. 2^32-1, increasing per message sent) is offered. */
  accept(seq: number): boolean {
    if (this.highest < 0) {
      this.highest = seq;
      this.seen[seq % dupWindow] = 1;
      return true;
    }
    const ahead = (seq - this.highest) | 0; // u32 serial distance
    if (ahead > 0) {
      const clear = Math.min(ahead, dupWindow);
      for (let i = 1; i <= clear; i++) this.seen[(this.highest + i) % dupWindow >>> 0] = 0;
      this.highest = seq >>> 0;
      this.seen[seq % dupWindow] = 1;
      return true;
    }
    if (-ahead >= dupWindow) return false;
    const slot = seq % dupWindow;
    if (this.seen[slot] === 1) return false;
    this.seen[slot] = 1;
    return true;
  }
}
