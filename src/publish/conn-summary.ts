// Per-service connection counters and the periodic summary line that replaces one log line per
// visitor connection: opened, closed, refused by reason, errors and bytes since the last line.
// At most one line per service per interval, none when nothing happened. Used by hub-publisher.ts
// and service-manager.ts.

/** Local tuning: one summary line per service per minute at most. */
export const summaryIntervalMs = 60_000;

export type Tally = Record<string, number>;

export class ConnTally {
  opened = 0;
  closed = 0;
  errors = 0;
  refused: Tally = {};
  /** Closing reasons other than a clean close, by their first words (bounded: 8 kinds, then "other"). */
  reasons: Tally = {};

  refuse(why: string): void {
    this.refused[why] = (this.refused[why] ?? 0) + 1;
  }

  closeWith(reason: string | undefined): void {
    this.closed++;
    if (reason === undefined) return;
    this.errors++;
    const kind = reasonKind(reason);
    const key = kind in this.reasons || Object.keys(this.reasons).length < 8 ? kind : 'other';
    this.reasons[key] = (this.reasons[key] ?? 0) + 1;
  }

  get empty(): boolean {
    return this.opened === 0 && this.closed === 0 && Object.keys(this.refused).length === 0;
  }

  /** The fields for a summary line, and a fresh tally for the next interval. */
  take(): Record<string, number | Tally> {
    const f: Record<string, number | Tally> = { opened: this.opened, closed: this.closed, errors: this.errors };
    if (Object.keys(this.refused).length) f.refused = this.refused;
    if (Object.keys(this.reasons).length) f.reasons = this.reasons;
    this.opened = this.closed = this.errors = 0;
    this.refused = {};
    this.reasons = {};
    return f;
  }
}

/** "visitor 203.0.113.9:40000 closed the connection" -> "visitor closed the connection". */
export function reasonKind(reason: string): string {
  return reason
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '')
    .replace(/\d+/g, 'N')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 60);
}
