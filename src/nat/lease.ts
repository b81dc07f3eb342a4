// When to request, renew or give up a port mapping (pure; nat/port-mapper.ts schedules on it, the
// table in test/nat/lease.test.ts pins it). Renewal follows RFC 6887 11.2.1 / RFC 6886 3.3: at half
// the lifetime, and after each failed renewal at half of what is left, until the lease ends.

/** Local tuning: the lifetime asked for (2 h, miniupnpd's and most routers' comfortable range). */
export const requestedLifetimeS = 7_200;
/** Local tuning: below this much time left a retry is pointless: the lease is let go at its end. */
export const minRetryMs = 2_000;
/** Local tuning: no gateway, or it refused: ask again after 1, 2, 4... minutes, at most 30. */
export function requestBackoffMs(failures: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, failures - 1), 1_800_000);
}

export interface LeaseState {
  /** The current mapping, if any: when it was granted (monotonic ms) and for how long. */
  lease?: { grantedMs: number; lifetimeS: number };
  /** Consecutive failed requests (no lease) or renewals (with a lease). */
  failures: number;
  /** When the last failed try was (monotonic ms). */
  lastFailureMs?: number;
}

export type LeaseStep =
  | { action: 'request' | 'renew'; atMs: number }
  /** The lease ran out without a successful renewal: withdraw the endpoint, start again. */
  | { action: 'expired'; atMs: number };

export function nextLeaseStep(s: LeaseState): LeaseStep {
  if (!s.lease) {
    if (s.failures === 0 || s.lastFailureMs === undefined) return { action: 'request', atMs: -Infinity };
    return { action: 'request', atMs: s.lastFailureMs + requestBackoffMs(s.failures) };
  }
  const lifetimeMs = s.lease.lifetimeS * 1000;
  const expiresMs = s.lease.grantedMs + lifetimeMs;
  // f failures: renew when lifetime / 2^(f+1) is left (half, then a quarter, then an eighth...).
  const renewMs = expiresMs - lifetimeMs / 2 ** (s.failures + 1);
  if (expiresMs - renewMs < minRetryMs) return { action: 'expired', atMs: expiresMs };
  return { action: 'renew', atMs: renewMs };
}
