// Their handshakes (link.ts), cheapest check first: mac1, the per-source rate limit, under load the
// cookie (mac2) and a per-IP limit, then the DH backlog answered in slices; refusals for keys the
// allow-list does not know, stale-clock warnings; and HUB_KEY_REQ behind its gate (hub only).
// Shares the Remote records and the transmit of the Link (remote.ts LinkContext).
import { CookieChecker } from '../crypto/cookie.js';
import { HandshakeKeyNotAllowedError, HandshakeResponder, HandshakeStaleError, type HandshakeIdentity } from '../crypto/handshake.js';
import { buildHubKeyResponse, HUB_KEY_MAX_CLOCK_SKEW_MS, hubKeyRequestFresh, hubKeyRequestTimestamp, verifyHubKeyRequest } from '../crypto/hub-key.js';
import { TransportSession } from '../crypto/session.js';
import { MeshdError } from '../util/errors.js';
import * as C from './constants.js';
import { HandshakeBacklog } from './handshake-backlog.js';
import { HubKeyGate } from './hub-key-gate.js';
import { keyId } from './key-id.js';
import { pathKey, type Path } from './path.js';
import { KeyedRateLimiter, LoadGauge } from './rate-limit.js';
import type { LinkContext } from './remote.js';

/** The source a cookie is bound to: IP and port (or relay overlay) as we saw them. Only this node
 * MACs it, so the form is local; text from pathKey needs no parsing on the flood path. */
function sourceBytes(p: Path): Uint8Array {
  return Buffer.from(pathKey(p), 'latin1');
}

/** Under load the limit is per IP address (or relay overlay), not per endpoint. */
function ipKey(p: Path): string {
  return p.kind === 'udp' ? p.endpoint.address : pathKey(p);
}

export class Responder {
  /** The crypto half (handshake.ts): mac1, consume, respond, replay memory per initiator key. */
  private readonly handshake: HandshakeResponder;
  private readonly initLimiter = new KeyedRateLimiter(C.initiationsPerSec, C.initiationBurst, { maxKeys: C.initiationSourcesMax });
  /** Under load, initiations with a valid mac2 are limited per source IP instead. */
  private readonly ipLimiter = new KeyedRateLimiter(C.underLoadInitiationsPerIpPerSec, C.underLoadIpBurst, { maxKeys: C.initiationSourcesMax });
  private readonly load: LoadGauge;
  private readonly cookies: CookieChecker;
  /** Hub: HUB_KEY_REQ answered once each, per source IP and in total (hub-key-gate.ts). */
  private readonly hubKeyGate: HubKeyGate;
  /** Initiations past the cheap checks waiting for their DH (handshake-backlog.ts). */
  readonly backlog: HandshakeBacklog;
  /** Where the response that made each session went (a retried initiation makes two sessions; the
   * remote confirms the one whose response reached it first). */
  private readonly respondedTo = new WeakMap<TransportSession, Path>();
  /** When each remote's stale handshake was last logged at warn (bounded; pruned by sweep()). */
  private readonly staleWarnedMs = new Map<string, number>();
  /** The latest handshake refused as stale (for `meshd status`): who, from where, by how much. */
  lastStale: { remote: string; from: string; skewMs: number; atMs: number } | undefined;

  constructor(
    private readonly link: LinkContext,
    identity: HandshakeIdentity,
  ) {
    const opts = link.opts;
    this.handshake = new HandshakeResponder(identity, opts.allowedKeys ? { allowedKeys: opts.allowedKeys } : {});
    const now = opts.clock.now();
    const load = opts.underLoad ?? { initiationsPerSec: C.underLoadInitiationsPerSec, burst: C.underLoadBurst };
    this.load = new LoadGauge(load.initiationsPerSec, load.burst, C.underLoadHoldMs, now);
    this.hubKeyGate = new HubKeyGate(
      {
        perIpPerSec: C.hubKeyRequestsPerSec,
        perIpBurst: C.hubKeyRequestBurst,
        totalPerSec: C.hubKeyAnswersPerSec,
        totalBurst: C.hubKeyAnswerBurst,
        maxSources: C.hubKeySourcesMax,
        rememberMs: 2 * HUB_KEY_MAX_CLOCK_SKEW_MS,
        replayCapacity: C.hubKeyReplayCapacity,
      },
      now,
    );
    this.cookies = new CookieChecker(opts.psk, opts.keyPair.publicKey, now, { noise: link.crypto.noise, ...(opts.randomBytes ? { random: opts.randomBytes } : {}) });
    this.backlog = new HandshakeBacklog(opts.clock, C.handshakeBacklogLimit, C.handshakeSliceMs, (d, from) => this.answerInitiation(d, from), (err) => {
      link.drops.handler_error++;
      link.log.warn({ err }, 'link: handler error (bug)');
    });
  }

  /** True while initiations without a valid mac2 get cookie replies instead of the DH. */
  underLoad(now: number): boolean {
    return this.load.underLoad(now);
  }

  /** The path our response for `s` went on, once the remote confirmed `s`. */
  respondedPath(s: TransportSession): Path | undefined {
    return this.respondedTo.get(s);
  }

  /** Forgets what the crypto responder keeps about a remote (its latest initiation timestamp). */
  forget(remoteKey: Uint8Array): void {
    this.handshake.forget(remoteKey);
  }

  /** Housekeeping: limiters, the hub-key gate and the stale-warning memory drop what has aged out. */
  sweep(now: number): void {
    for (const [id, ms] of this.staleWarnedMs) if (now - ms >= C.staleWarnIntervalMs) this.staleWarnedMs.delete(id);
    this.initLimiter.sweep(now);
    this.ipLimiter.sweep(now);
    this.hubKeyGate.sweep(now);
  }

  close(): void {
    this.backlog.close();
  }

  /** HANDSHAKE_INIT: the cheap checks, then into the DH backlog. */
  receiveInitiation(d: Uint8Array, from: Path): void {
    const link = this.link;
    // mac1 first: a sender without the network secret costs one HMAC, no DH.
    if (!this.handshake.checkMac1(d)) return link.drop('bad_mac1');
    const now = link.opts.clock.now();
    const key = pathKey(from);
    if (this.backlog.size >= C.handshakeBacklogUnderLoad) this.load.hold(now);
    if (this.load.note(now)) {
      // Under load (WireGuard 5.4.7): the DH only for a sender that proved it receives at its source
      // address (mac2 from our cookie), and then per IP. A spoofed source never sees the cookie.
      const source = sourceBytes(from);
      if (!this.cookies.checkMac2(d, source, now)) {
        link.transmit(this.cookies.createReply(d, source, now), from);
        return link.drop('cookie_sent');
      }
      if (!this.ipLimiter.take(ipKey(from), now)) return link.drop('rate_limited');
    } else if (!this.initLimiter.take(key, now)) {
      return link.drop('rate_limited');
    }
    const queued = this.backlog.offer(key, d, from);
    if (queued === 'superseded') return link.drop('superseded');
    if (queued === 'full') {
      // Refused without a word, the initiator would retry on its own schedule (every 5 s per peer
      // for a rekey) however long the backlog stays full; a cookie reply (64 bytes for its 148,
      // one seal, no DH) says "loaded" and the initiator backs off (handshake-retry.ts).
      link.transmit(this.cookies.createReply(d, sourceBytes(from), now), from);
      return link.drop('backlog_full');
    }
  }

  /**
   * HUB_KEY_REQ (hub only), cheapest check first: framing and the timestamp (a stale copy costs no
   * HMAC), the MAC (a wrong network secret gets no answer at all), then the gate: answered at most
   * once each, per source IP and in total. The answer is no larger than the request.
   */
  receiveHubKeyRequest(d: Uint8Array, from: Path): void {
    const link = this.link;
    const opts = link.opts;
    if (!opts.answerHubKey || from.kind !== 'udp') return link.drop('hub_key');
    const ts = hubKeyRequestTimestamp(d);
    if (ts === undefined) return link.drop('malformed');
    if (!hubKeyRequestFresh(ts, opts.wallClock())) return link.drop('hub_key_stale');
    const nonce = verifyHubKeyRequest(opts.psk, d);
    if (!nonce) return link.drop('bad_mac1');
    const tag = Buffer.from(d.buffer, d.byteOffset + d.byteLength - 16, 16).toString('latin1');
    const verdict = this.hubKeyGate.admit(from.endpoint.address, tag, opts.clock.now());
    if (verdict === 'replayed') return link.drop('hub_key_replayed');
    if (verdict === 'rate_limited') return link.drop('rate_limited');
    link.transmit(buildHubKeyResponse(opts.psk, nonce, opts.keyPair.publicKey), from);
  }

  /** The DH half: consume the initiation, answer it, keep the new session (confirmed by the
   * remote's first packet on it, link.ts receiveTransport). */
  private answerInitiation(d: Uint8Array, from: Path): void {
    const link = this.link;
    const now = link.opts.clock.now();
    let consumed;
    try {
      consumed = this.handshake.consumeInitiation(d, link.opts.wallClock());
    } catch (err) {
      const code = err instanceof MeshdError ? err.code : 'unknown';
      if (err instanceof HandshakeStaleError) this.noteStale(err, from, now);
      else link.log.debug({ code, from: pathKey(from) }, 'link: initiation refused');
      if (err instanceof HandshakeKeyNotAllowedError) this.refuse(err, from, now);
      return link.drop(code === 'HANDSHAKE_KEY_NOT_ALLOWED' ? 'not_allowed' : 'handshake_failed');
    }
    const r = link.table.obtain(consumed.remoteStatic);
    const idx = link.table.newIndex();
    const { message, keys } = this.handshake.createResponse(consumed, idx);
    const s = new TransportSession(keys, now, 0, link.crypto.aead);
    link.table.byIndex.set(idx, r);
    r.keypairs.onHandshakeComplete(s);
    this.respondedTo.set(s, from);
    r.path = from;
    r.lastReceivedMs = now;
    r.awaitingReplySinceMs = undefined;
    link.transmit(message, from);
  }

  /**
   * An initiator the allow-list refuses: the handshake response and one sealed message on a session
   * that is never stored (no index, no Remote), so the refused key costs no memory here. Two
   * datagrams of ~90 and ~70 bytes for its 148: no amplification, and the initiation rate limits
   * above apply as to any other.
   */
  private refuse(err: HandshakeKeyNotAllowedError, from: Path, now: number): void {
    const link = this.link;
    const plaintext = link.opts.refusal?.(err.consumed.remoteStatic);
    if (plaintext === undefined) return;
    const { message, keys } = this.handshake.createResponse(err.consumed, link.table.newIndex());
    const sealed = new TransportSession(keys, now, 0, link.crypto.aead).seal(plaintext, now);
    link.transmit(message, from);
    if (sealed !== undefined) link.transmit(sealed, from);
    link.stats.refusalsSent++;
  }

  /**
   * A handshake refused as stale: the remote's clock is more than HANDSHAKE_MAX_CLOCK_SKEW_MS from
   * ours (or an old initiation was replayed). Said at warn with the measured skew, at most once per
   * remote per staleWarnIntervalMs, and kept for `meshd status` (the initiator is never told).
   */
  private noteStale(err: HandshakeStaleError, from: Path, now: number): void {
    const log = this.link.log;
    const id = keyId(err.remoteStatic);
    const remote = Buffer.from(err.remoteStatic).toString('base64');
    this.lastStale = { remote, from: pathKey(from), skewMs: err.skewMs, atMs: now };
    const last = this.staleWarnedMs.get(id);
    if ((last !== undefined && now - last < C.staleWarnIntervalMs) || (last === undefined && this.staleWarnedMs.size >= C.staleWarnRemotesMax)) {
      log.debug({ remote: remote.slice(0, 8), skewS: Math.round(err.skewMs / 1000) }, 'link: stale handshake refused');
      return;
    }
    this.staleWarnedMs.set(id, now);
    const skewS = Math.round(err.skewMs / 1000);
    log.warn(
      { remote, from: pathKey(from), skewS },
      `link: handshake refused as stale: the remote's clock is ${Math.abs(skewS)} s ${skewS > 0 ? 'ahead of' : 'behind'} ours (more than ${C.maxClockSkewS} s); fix the clock (NTP), or this is a replayed old handshake`,
    );
  }
}
