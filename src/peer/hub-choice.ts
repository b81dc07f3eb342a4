// Pure decisions of a peer with several hubs (peer/hub-set.ts runs them): which hub is home and
// which is standby (lowest RTT, with hysteresis so home does not flap), when home is lost, when a
// standby is stale, and the backoff before a failed hub is tried again. Tested by tables in
// test/peer/hub-choice.test.ts.

/** Local tuning: the home hub is PINGed this often (its answers prove it alive between heartbeats). */
export const homePingMs = 1_000;
/** Local tuning: home silent this long (no PONG, no control message) is lost: switch to the standby.
 * Three unanswered PINGs: a lost datagram or two is not a failover; kill -9 of a hub is noticed in
 * 3-4 s, so relayed traffic flows again within 5 s. */
export const homeDeadMs = 3_200;
/** Local tuning: the standby is PINGed this often (5 s: 16 B/s; its RTT keeps the choice honest). */
export const standbyPingMs = 5_000;
/** Local tuning: a standby unanswered this long gets a new handshake (the hub forgets a session
 * that never registered after 60 s, link/constants.ts strangerGraceMs). */
export const standbyRehandshakeMs = 11_000;
/** Local tuning: a standby (or a hub being tried) unanswered this long after a fresh handshake is
 * down: backoff, and another one is tried (the link retries the handshake meanwhile). */
export const standbyDeadMs = 6_000;
/** Local tuning: REGISTER unanswered this long by a home that answers PINGs (a hub cut from its
 * shared state leaves claims unanswered rather than risk them) while another hub answers: next hub.
 * Twice the shared state's KV timeout, so a slow claim is not a failure. */
export const registerDeadMs = 10_000;
/** Local tuning: at start, after the first hub answers, the others get this long to answer too
 * (the fastest becomes home). */
export const startWindowMs = 400;
/** Local tuning: a failed hub is tried again after 1 s, doubling to 60 s, plus up to 25 % at random. */
export const retryFirstMs = 1_000;
export const retryMaxMs = 60_000;
export const retryJitter = 0.25;
/** Local tuning (hysteresis): a working home is left for a faster hub only when its RTT is more than
 * this factor times the other's plus the margin: 30 ms against 20 ms stays; 150 ms against 40 ms moves. */
export const switchFactor = 2;
export const switchMarginMs = 20;

/** How long to wait before trying a failed hub again, after `failures` consecutive failures (pure);
 * `random` in [0, 1). */
export function retryDelayMs(failures: number, random: number): number {
  const base = Math.min(retryFirstMs * 2 ** Math.max(0, failures - 1), retryMaxMs);
  return Math.round(base * (1 + retryJitter * random));
}

/** One hub as the choice sees it. */
export interface HubCandidate {
  /** Its place in --hub order (ties go to the one listed first). */
  index: number;
  /** Answering now (a PONG within the liveness window). */
  up: boolean;
  /** Smoothed round-trip time; undefined before the first answer. */
  rttMs: number | undefined;
}

export type HomeReason = 'first' | 'home-lost' | 'much-faster' | 'stay';

/** Whether `other` is so much faster than the working home that moving is worth a re-registration. */
export function muchFaster(homeRttMs: number | undefined, otherRttMs: number | undefined): boolean {
  if (homeRttMs === undefined || otherRttMs === undefined) return false;
  return homeRttMs > switchFactor * otherRttMs + switchMarginMs;
}

function byRtt(a: HubCandidate, b: HubCandidate): number {
  const ra = a.rttMs ?? Infinity;
  const rb = b.rttMs ?? Infinity;
  return ra !== rb ? ra - rb : a.index - b.index;
}

/** The dwell before a much-faster move: now, and the hub seen much faster in a row since when
 * (what the last choice returned as `faster`). */
export interface HubDwell {
  nowMs: number;
  faster: { index: number; sinceMs: number } | undefined;
}

export interface HubChoice {
  home: number | undefined;
  standby: number | undefined;
  reason: HomeReason;
  /** With a dwell: the much-faster hub and since when, for the next choice (undefined: none). */
  faster?: { index: number; sinceMs: number } | undefined;
}

/**
 * Home and standby (pure). Home stays while it is up unless another up hub is much faster (with a
 * dwell: the same hub, much faster in a row for switchDwellMs; meanwhile it is standby); a lost or
 * absent home goes to the fastest up hub. Standby is the fastest up hub other than home.
 */
export function chooseHubs(cands: readonly HubCandidate[], home: number | undefined, dwell?: HubDwell): HubChoice {
  const c = chooseByRtt(cands, home);
  if (!dwell) return c;
  if (c.reason !== 'much-faster') return { ...c, faster: undefined };
  const faster = dwell.faster !== undefined && dwell.faster.index === c.home ? dwell.faster : { index: c.home!, sinceMs: dwell.nowMs };
  if (dwellDone(faster.sinceMs, dwell.nowMs)) return { ...c, faster };
  return { home, standby: c.home, reason: 'stay', faster };
}

function chooseByRtt(cands: readonly HubCandidate[], home: number | undefined): HubChoice {
  const up = cands.filter((c) => c.up).sort(byRtt);
  const current = home === undefined ? undefined : cands.find((c) => c.index === home);
  let next: HubCandidate | undefined;
  let reason: HomeReason;
  if (current?.up) {
    const best = up[0]!;
    if (best.index !== current.index && muchFaster(current.rttMs, best.rttMs)) {
      next = best;
      reason = 'much-faster';
    } else {
      next = current;
      reason = 'stay';
    }
  } else {
    next = up[0];
    reason = home === undefined ? 'first' : 'home-lost';
  }
  const standby = up.find((c) => c.index !== next?.index);
  return { home: next?.index, standby: standby?.index, reason };
}

/** Whether home is lost (pure): nothing heard from it for homeDeadMs, counted from when we started
 * asking (a fresh home is given the full window). */
export function homeLost(nowMs: number, lastHeardMs: number, sinceMs: number): boolean {
  return nowMs - Math.max(lastHeardMs, sinceMs) > homeDeadMs;
}

/** What the standby (or a hub being tried) needs now (pure), from when it last answered and when
 * its current handshake was started. */
export function standbyAction(nowMs: number, lastHeardMs: number, handshakeMs: number): 'ok' | 'rehandshake' | 'down' {
  if (handshakeMs > lastHeardMs && nowMs - handshakeMs > standbyDeadMs) return 'down';
  if (nowMs - lastHeardMs > standbyRehandshakeMs && nowMs - handshakeMs > standbyRehandshakeMs) return 'rehandshake';
  return 'ok';
}

/** Local tuning: the choice reads each hub's lowest RTT of its last 5 answers (home: 5 s, standby:
 * 25 s), not the smoothed one: a loaded host or a queue only adds delay, so a spike on home (the
 * cluster e2e saw 1 <-> 54 and 139 <-> 30 ms on a loaded machine) does not read as a slow hub. */
export const rttWindow = 5;
/** Local tuning: a much faster hub must stay much faster this long before home moves to it. */
export const switchDwellMs = 15_000;

/** The last rttWindow RTT samples with `sampleMs` added (pure). */
export function pushRtt(samples: readonly number[], sampleMs: number): number[] {
  return [...samples, sampleMs].slice(-rttWindow);
}

/** The RTT the choice reads: the lowest of the recent samples; undefined before any (pure). */
export function floorRtt(samples: readonly number[]): number | undefined {
  return samples.length === 0 ? undefined : Math.min(...samples);
}

/** Whether a much-faster move has waited out its dwell (pure): `sinceMs` is when the same hub was
 * first seen much faster in a row. */
export function dwellDone(sinceMs: number | undefined, nowMs: number): boolean {
  return sinceMs !== undefined && nowMs - sinceMs >= switchDwellMs;
}

/** An RTT sample folded into the smoothed figure (1/4 weight, as KCP's srtt). */
export function smoothRtt(prev: number | undefined, sampleMs: number): number {
  return prev === undefined ? sampleMs : prev + (sampleMs - prev) / 4;
}
