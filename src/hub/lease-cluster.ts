// Binding leases with several hubs (issue 24; `--binding-lease-days` on hubs sharing NATS): the pure
// decisions hub/nats-state.ts follows. A key's last-seen time is network-wide (its home hub writes it
// into the shared binding record, at most once per lease/touchFraction, so 20,000 members cost NATS
// little), and one hub at a time frees leases that ran out (the sweep key, taken by compare-and-set).
import { leaseExpired, type Binding } from './bindings.js';

/** Local tuning: a live member's shared last-seen time is rewritten once it is this fraction of the
 * lease old (30 days: every 3 days; a lease is then judged at most a tenth late, never early). */
export const leaseTouchFraction = 10;

/** Whether a member seen now needs its shared last-seen time rewritten (pure). */
export function touchDue(storedLastSeenMs: number, nowWallMs: number, leaseMs: number): boolean {
  return nowWallMs - storedLastSeenMs >= leaseMs / leaseTouchFraction;
}

/** Whether a binding may be freed by a sweep (pure): its lease ran out (pinned ones never do) and no
 * hub of the network serves it as a member now (a live member's home hub keeps it fresh; one whose
 * write failed is not punished for it). */
export function sweepable(b: Binding, inMap: boolean, nowWallMs: number, leaseMs: number): boolean {
  return !inMap && leaseExpired(b, nowWallMs, leaseMs);
}

/** How often a hub refreshes its members' last-seen times and looks for leases that ran out (pure):
 * hourly, or more often for a lease so short (tests) that an hour would overshoot it. */
export function leaseCheckIntervalMs(leaseMs: number, hourlyMs: number): number {
  return Math.max(1_000, Math.min(hourlyMs, Math.floor(leaseMs / leaseTouchFraction)));
}
