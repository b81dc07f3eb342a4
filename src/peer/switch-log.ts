// Rate limit for the "a pair's transport choice changed" log line (leg-channel.ts hooks): at most
// switchLogBurst lines per pair within switchLogWindowMs; changes past that are counted and the next
// line says how many went unlogged. Pure bookkeeping on an injected `now`.

/** Local tuning: a pair's choice follows its path and hub leg, which have their own dwell times
 * (seconds to a minute), so a real change comes alone or in twos (leg, then path); three lines per
 * 10 s per pair show those and keep a flapping path from filling the log. */
export const switchLogWindowMs = 10_000;
export const switchLogBurst = 3;

export class SwitchLog<K extends object> {
  /** Weak: a departed peer's record takes its entry with it. */
  private readonly last = new WeakMap<K, { times: number[]; skipped: number }>();

  /** A change for `key` at `now`: undefined = do not log; else the changes not logged since the last line. */
  note(key: K, now: number): number | undefined {
    let e = this.last.get(key);
    if (e === undefined) this.last.set(key, (e = { times: [], skipped: 0 }));
    while (e.times.length > 0 && now - e.times[0]! >= switchLogWindowMs) e.times.shift();
    if (e.times.length >= switchLogBurst) {
      e.skipped++;
      return undefined;
    }
    e.times.push(now);
    const skipped = e.skipped;
    e.skipped = 0;
    return skipped;
  }
}
