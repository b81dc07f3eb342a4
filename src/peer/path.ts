// Path decisions for one remote peer, as pure functions (tailscale's betterAddr is the model):
// which path wins, when a direct path is dead, when to try direct again while relayed, how often
// to probe. Used by peer-paths.ts; tested with it.each tables in test/peer/path.test.ts.

/**
 * How data reaches one remote peer, the one vocabulary of the peer side (status, metrics, logs,
 * `meshd ping`): `lan` straight to one of its LAN endpoints, `direct` straight to its public
 * (reflexive) endpoint over the internet, `relay` through the hub. src/link/path.ts keeps its own
 * `udp | relay` on purpose: that is how one datagram travels (a lan and a direct path both travel
 * as `udp`), and the link neither knows nor needs which kind of endpoint it is.
 */
export type PathKind = 'lan' | 'direct' | 'relay';

export interface PathQuality {
  kind: PathKind;
  /** Round-trip time of the PING/PONG that confirmed it (ms); Infinity when unknown (relay). */
  rttMs: number;
}

/** LAN beats direct beats relay: LAN stays inside the house, direct skips the hub's leg. */
export const pathRank: Readonly<Record<PathKind, number>> = { lan: 3, direct: 2, relay: 1 };

/** Local tuning: a same-kind path must be at least this much faster to replace the current one,
 * so two similar paths do not flap on RTT noise. */
export const rttSwitchRatio = 0.8;

/** Is `candidate` better than `current`? */
export function betterPath(current: PathQuality | undefined, candidate: PathQuality): boolean {
  if (current === undefined) return true;
  const dr = pathRank[candidate.kind] - pathRank[current.kind];
  if (dr !== 0) return dr > 0;
  return candidate.rttMs < current.rttMs * rttSwitchRatio;
}

/** Local tuning: a direct path is dead once a PING on it went unanswered this long (fall back to relay). */
export const directTimeoutMs = 3_000;
/** Local tuning: even with no ping outstanding, do not trust a path silent for this long. */
export const directMaxSilenceMs = 30_000;

export interface DirectHealth {
  lastPongMs: number;
  /** Send time of the oldest PING on this path not yet answered, if any. */
  oldestUnansweredMs: number | undefined;
}

export function directPathDead(h: DirectHealth, nowMs: number): boolean {
  if (h.oldestUnansweredMs !== undefined && nowMs - h.oldestUnansweredMs >= directTimeoutMs) return true;
  return nowMs - h.lastPongMs >= directMaxSilenceMs;
}

/** Local tuning: probe a direct path every second while traffic flows (so a dead path is seen
 * within ~3 s), every 10 s when idle (keeps NAT mappings, which last 30 s or more, open). */
export const activePingIntervalMs = 1_000;
export const idlePingIntervalMs = 10_000;
/** Traffic within this window counts as active. */
export const activeWindowMs = 5_000;

/** Local tuning: while a PING on the direct path is unanswered, the next ones leave this often, so
 * the directTimeoutMs that declares it dead spans about 12 PINGs, not 3: on a path losing 10 % each
 * way a PING's round trip fails 19 % of the time, three in a row 0.7 % (a relay flap every ~2 minutes
 * of traffic, each costing interactive lanes their copies while the path settles), twelve ~2e-9.
 * A dead path is still seen in directTimeoutMs; a live one costs one extra PING in ~5 per second. */
export const unansweredPingIntervalMs = 250;

/** How long after the last PING on the direct path the next one is due. */
export function directPingIntervalMs(unanswered: boolean, lastDataMs: number, nowMs: number): number {
  return unanswered ? unansweredPingIntervalMs : pingIntervalMs(lastDataMs, nowMs);
}

export function pingIntervalMs(lastDataMs: number, nowMs: number): number {
  return nowMs - lastDataMs < activeWindowMs ? activePingIntervalMs : idlePingIntervalMs;
}

/** Local tuning: while relayed, try direct again after 30-60 s (jittered so peers do not sync up). */
export const directRetryMinMs = 30_000;
export const directRetryMaxMs = 60_000;

export function directRetryDelayMs(random01: number): number {
  return directRetryMinMs + Math.floor(random01 * (directRetryMaxMs - directRetryMinMs));
}

/** Punch schedule: offsets (ms from the start) at which every candidate is probed, ~5 s in all,
 * dense at first (NAT bindings on both sides open within the first round trips). */
export const punchScheduleMs: readonly number[] = [0, 200, 400, 800, 1_600, 2_400, 3_200, 4_000, 5_000];

/** Local tuning: a new punch round for one peer starts at most this often. Every map change, PUNCH
 * or PING from a new source used to restart probing of all candidates at once (M4); a restart asked
 * for sooner waits (the round under way probes the new list in its remaining steps). */
export const punchRestartMinMs = 5_000;

export function mayRestartPunch(lastStartMs: number | undefined, nowMs: number): boolean {
  return lastStartMs === undefined || nowMs - lastStartMs >= punchRestartMinMs;
}

/** Local tuning: candidates from the map or a PUNCH kept per peer (the wire carries at most 8 LAN
 * endpoints and the reflexive one; this bounds a list however it was built). */
export const maxListedCandidates = 9;
/** Local tuning: peer-reflexive candidates (sources of authenticated PINGs) kept per peer: an
 * address-dependent NAT shows one or two; a member spoofing sources grew the list to 301 (M4). */
export const maxPeerReflexiveCandidates = 4;
/** Local tuning: a peer-reflexive candidate not seen again for this long is dropped: a NAT mapping
 * that is not refreshed is gone by then anyway. */
export const peerReflexiveTtlMs = 30_000;
