// PeerPaths, the path state of one remote peer (held by its RemotePeer record): hole punching and
// direct-path upkeep without I/O. node.ts asks which PINGs
// are due (punch rounds over every candidate at once, keepalives on the direct path), feeds PONGs
// back, and asks which path to send on. The first PONG on a direct candidate wins; a better kind
// (LAN) still replaces it; a direct path whose PING goes unanswered ~3 s falls back to relay.
import { udpPath, type Path } from '../link/path.js';
import { endpointKey, sameEndpoint, type Endpoint } from '../net/udp.js';
import {
  betterPath, directPingIntervalMs, directMaxSilenceMs, directPathDead, directRetryDelayMs, maxListedCandidates, maxPeerReflexiveCandidates, mayRestartPunch, pathRank,
  peerReflexiveTtlMs, punchScheduleMs, type PathKind,
} from './path.js';

export interface DirectCandidate {
  kind: Exclude<PathKind, 'relay'>;
  endpoint: Endpoint;
  /** Peer-reflexive (learned from a PING's source): when a PING last came from it. */
  seenMs?: number;
}

export interface DirectPath extends DirectCandidate {
  /** The link's form of `endpoint`, made once when the path is chosen (not per datagram sent). */
  readonly via: Path;
  rttMs: number;
  lastPongMs: number;
  lastPingMs: number;
}

export interface PingToSend {
  txid: bigint;
  endpoint: Endpoint;
}

interface Outstanding {
  endpoint: Endpoint;
  kind: DirectCandidate['kind'];
  sentMs: number;
}

/** Local tuning: forget unanswered pings after this long. */
const outstandingTtlMs = 10_000;
/** Local tuning: a PING from a peer while we have no direct path is answered with a PING of our own
 * to its source at once (ICE's "triggered check"), at most once a second per endpoint: without it a
 * side whose own punch round ended unanswered (loss) stays relayed until its next retry, 30-60 s,
 * while the other side already sends direct. */
export const triggeredCheckIntervalMs = 1_000;

export class PeerPaths {
  direct: DirectPath | undefined;
  candidates: DirectCandidate[] = [];
  lastDataMs = -Infinity;
  /** When relayed: time of the next direct attempt. */
  nextRetryMs: number;
  punchStartMs: number | undefined;
  /** Peer-reflexive candidates refused because the list was full. */
  reflexiveRefused = 0;
  private punchStep = 0;
  /** When the last punch round started (restarts are rate-limited: path.ts mayRestartPunch). */
  private lastPunchStartMs: number | undefined;
  /** A restart was asked for too soon after the last one: due() starts it when allowed. */
  private restartPending = false;
  private readonly outstanding = new Map<bigint, Outstanding>();
  /** Triggered checks due (endpoint key -> candidate) and when each endpoint last got one. */
  private readonly triggered = new Map<string, DirectCandidate>();
  private readonly lastTriggeredMs = new Map<string, number>();
  private txid: bigint;

  constructor(
    nowMs: number,
    private readonly random01: () => number,
  ) {
    this.nextRetryMs = nowMs + directRetryDelayMs(random01());
    this.txid = BigInt(Math.floor(random01() * 2 ** 32)) << 16n;
  }

  /**
   * Replaces the candidate list (capped) and starts a punch round over it; the next due() sends.
   * Within punchRestartMinMs of the last start, the round under way goes on with the new list, or
   * (none under way) the new round starts once the interval has passed.
   */
  startPunch(candidates: DirectCandidate[], nowMs: number): void {
    this.candidates = capped(dedupe(candidates));
    if (mayRestartPunch(this.lastPunchStartMs, nowMs)) this.beginRound(nowMs);
    else if (this.punchStartMs === undefined) this.restartPending = true;
  }

  /** Replaces the candidate list (capped) without starting a round (no session yet). */
  setCandidates(candidates: DirectCandidate[]): void {
    this.candidates = capped(dedupe(candidates));
  }

  private beginRound(nowMs: number): void {
    this.punchStartMs = nowMs;
    this.lastPunchStartMs = nowMs;
    this.punchStep = 0;
    this.restartPending = false;
  }

  get punching(): boolean {
    return this.punchStartMs !== undefined || this.restartPending;
  }

  /** A PING reached us from `from`: a peer-reflexive candidate (ICE's term) worth probing back;
   * at most maxPeerReflexiveCandidates of them, each dropped peerReflexiveTtlMs after its last PING. */
  sawPingFrom(from: Endpoint, kind: DirectCandidate['kind'], nowMs: number): void {
    if (this.direct && sameEndpoint(this.direct.endpoint, from)) return;
    const known = this.candidates.find((c) => sameEndpoint(c.endpoint, from));
    if (known) {
      if (known.seenMs !== undefined) known.seenMs = nowMs;
      this.trigger(known, nowMs);
      if (!this.punching && !this.direct) this.startPunch(this.candidates, nowMs);
      return;
    }
    this.expireReflexive(nowMs);
    if (this.candidates.filter((c) => c.seenMs !== undefined).length >= maxPeerReflexiveCandidates) {
      this.reflexiveRefused++;
      return;
    }
    const c: DirectCandidate = { kind, endpoint: from, seenMs: nowMs };
    this.candidates.push(c);
    this.trigger(c, nowMs);
    if (!this.punching) this.startPunch(this.candidates, nowMs);
  }

  /** Queues a triggered check of candidate `c` when it could improve the path (none, or a better
   * kind); bounded by the candidate list. */
  private trigger(c: DirectCandidate, nowMs: number): void {
    if (this.direct && pathRank[c.kind] <= pathRank[this.direct.kind]) return;
    const key = endpointKey(c.endpoint);
    const last = this.lastTriggeredMs.get(key);
    if (last !== undefined && nowMs - last < triggeredCheckIntervalMs) return;
    if (this.lastTriggeredMs.size >= maxListedCandidates + maxPeerReflexiveCandidates) this.lastTriggeredMs.clear();
    this.lastTriggeredMs.set(key, nowMs);
    this.triggered.set(key, c);
  }

  private expireReflexive(nowMs: number): void {
    if (this.candidates.some((c) => c.seenMs !== undefined && nowMs - c.seenMs >= peerReflexiveTtlMs)) {
      this.candidates = this.candidates.filter((c) => c.seenMs === undefined || nowMs - c.seenMs < peerReflexiveTtlMs);
    }
  }

  noteData(nowMs: number): void {
    this.lastDataMs = nowMs;
  }

  /** PINGs to send now. */
  due(nowMs: number): PingToSend[] {
    const out: PingToSend[] = [];
    for (const [id, o] of this.outstanding) if (nowMs - o.sentMs > outstandingTtlMs) this.outstanding.delete(id);
    const triggered = new Set(this.triggered.keys());
    for (const c of this.triggered.values()) out.push(this.ping(c, nowMs));
    this.triggered.clear();
    this.expireReflexive(nowMs);
    if (this.restartPending && mayRestartPunch(this.lastPunchStartMs, nowMs)) this.beginRound(nowMs);
    if (this.punchStartMs !== undefined) {
      const at = punchScheduleMs[this.punchStep];
      if (at === undefined) {
        this.punchStartMs = undefined;
        if (!this.direct) this.nextRetryMs = nowMs + directRetryDelayMs(this.random01());
      } else if (nowMs - this.punchStartMs >= at) {
        this.punchStep++;
        // Once direct, later rounds only chase a better kind (LAN when we have public).
        for (const c of this.candidates) {
          if (this.direct && pathRank[c.kind] <= pathRank[this.direct.kind]) continue;
          if (triggered.has(endpointKey(c.endpoint))) continue; // just probed by a triggered check
          out.push(this.ping(c, nowMs));
        }
      }
    }
    const d = this.direct;
    // While a PING on the direct path is unanswered, probe faster whatever the traffic: the path is
    // declared dead after directTimeoutMs of silence, so that takes about twelve PINGs lost in a row
    // (path.ts unansweredPingIntervalMs), not one lost idle PING nor three on a path losing 10 %.
    const interval = d ? directPingIntervalMs(this.unansweredOn(d.endpoint), this.lastDataMs, nowMs) : 0;
    if (d && nowMs - d.lastPingMs >= interval) {
      d.lastPingMs = nowMs;
      out.push(this.ping(d, nowMs));
    }
    return out;
  }

  private unansweredOn(endpoint: Endpoint): boolean {
    for (const o of this.outstanding.values()) if (sameEndpoint(o.endpoint, endpoint)) return true;
    return false;
  }

  /** A probe outside the candidate list (nat/traversal.ts: port prediction, birthday); its PONG
   * makes the path direct like a candidate's. */
  probe(endpoint: Endpoint, nowMs: number): PingToSend {
    return this.ping({ kind: 'direct', endpoint }, nowMs);
  }

  private ping(c: DirectCandidate, nowMs: number): PingToSend {
    const txid = ++this.txid;
    this.outstanding.set(txid, { endpoint: c.endpoint, kind: c.kind, sentMs: nowMs });
    return { txid, endpoint: c.endpoint };
  }

  /** A PONG arrived; returns what it did to the path. */
  onPong(txid: bigint, from: Endpoint, nowMs: number): 'upgraded' | 'refreshed' | 'ignored' | 'unknown' {
    const o = this.outstanding.get(txid);
    if (!o) return 'unknown';
    // The answer proves everything sent to that endpoint up to this ping arrived.
    for (const [id, x] of this.outstanding) if (sameEndpoint(x.endpoint, o.endpoint) && x.sentMs <= o.sentMs) this.outstanding.delete(id);
    const rttMs = nowMs - o.sentMs;
    const endpoint = sameEndpoint(from, o.endpoint) ? o.endpoint : from;
    if (this.direct && sameEndpoint(this.direct.endpoint, endpoint)) {
      this.direct.lastPongMs = nowMs;
      this.direct.rttMs = rttMs;
      return 'refreshed';
    }
    if (!betterPath(this.direct, { kind: o.kind, rttMs })) return 'ignored';
    this.direct = { kind: o.kind, endpoint, via: udpPath(endpoint), rttMs, lastPongMs: nowMs, lastPingMs: nowMs };
    return 'upgraded';
  }

  /** The direct path to send on, or undefined for relay. Drops a dead direct path (and schedules a retry). */
  current(nowMs: number): DirectPath | undefined {
    const d = this.direct;
    if (!d) return undefined;
    let oldest: number | undefined;
    for (const o of this.outstanding.values()) {
      if (sameEndpoint(o.endpoint, d.endpoint) && (oldest === undefined || o.sentMs < oldest)) oldest = o.sentMs;
    }
    if (directPathDead({ lastPongMs: d.lastPongMs, oldestUnansweredMs: oldest }, nowMs)) {
      this.direct = undefined;
      this.nextRetryMs = nowMs + directRetryDelayMs(this.random01());
      return undefined;
    }
    return d;
  }

  /**
   * The earliest time due(), current() or wantsRetry() may act (node.ts sleeps its path tick until
   * then, issue 19 item 7): now while punching or a triggered check waits; on a direct path its
   * next keepalive PING, or now while a PING on it is unanswered (its death is timed from it);
   * relayed, the next direct attempt. Bookkeeping that only forgets (expired PINGs and learned
   * candidates) waits for the next tick whenever it comes.
   */
  nextDueMs(nowMs: number): number {
    if (this.punching || this.triggered.size > 0) return nowMs;
    const d = this.direct;
    if (!d) return this.nextRetryMs;
    if (this.unansweredOn(d.endpoint)) return nowMs;
    return Math.min(d.lastPingMs + directPingIntervalMs(false, this.lastDataMs, nowMs), d.lastPongMs + directMaxSilenceMs);
  }

  /** Relayed, not punching, and the retry time has come. */
  wantsRetry(nowMs: number): boolean {
    return !this.direct && !this.punching && nowMs >= this.nextRetryMs;
  }

  /** Forget everything (the peer restarted or moved). */
  reset(nowMs: number): void {
    this.direct = undefined;
    this.outstanding.clear();
    this.triggered.clear();
    this.lastTriggeredMs.clear();
    this.punchStartMs = undefined;
    this.restartPending = false;
    this.nextRetryMs = nowMs + directRetryDelayMs(this.random01());
  }
}

/** At most maxListedCandidates from the map or a PUNCH, and maxPeerReflexiveCandidates learned ones. */
function capped(c: DirectCandidate[]): DirectCandidate[] {
  let listed = 0;
  let learned = 0;
  return c.filter((x) => (x.seenMs === undefined ? ++listed <= maxListedCandidates : ++learned <= maxPeerReflexiveCandidates));
}

function dedupe(c: DirectCandidate[]): DirectCandidate[] {
  const seen = new Map<string, DirectCandidate>();
  for (const x of c) if (!seen.has(endpointKey(x.endpoint))) seen.set(endpointKey(x.endpoint), x);
  return [...seen.values()];
}
