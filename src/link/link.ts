// The runtime shared by hub and peer (wireguard-go's device/ is the model): turns one UdpSocket into
// authenticated sessions keyed by the remote's static key. Handshakes (initiator with retransmit and
// give-up, responder behind mac1 and a per-source rate limit, and under load behind cookie replies
// and a per-IP limit), rekey, Keypairs rotation, demux of TRANSPORT by receiver index, roaming,
// HUB_KEY_REQ/RESP, drop counters. Nothing throws out of the socket handler.
// Lifecycle: new Link(opts) -> onInner/onSessionUp -> send/receive -> close().
import { randomBytes } from 'node:crypto';
import { COOKIE_LIFETIME_MS, CookieChecker, cookieReplyKey, initiationMac1, openCookieReply, writeMac2 } from '../crypto/cookie.js';
import { consumeResponse, createInitiation, HandshakeKeyNotAllowedError, HandshakeResponder, HandshakeStaleError, responseReceiverIndex, staticShared, type HandshakeIdentity, type PendingInitiation } from '../crypto/handshake.js';
import type { StaticKeyPair } from '../crypto/keys.js';
import { Keypairs } from '../crypto/keypairs.js';
import { TransportSession } from '../crypto/session.js';
import { buildHubKeyResponse, HUB_KEY_MAX_CLOCK_SKEW_MS, hubKeyRequestFresh, hubKeyRequestTimestamp, verifyHubKeyRequest } from '../crypto/hub-key.js';
import type { Endpoint, UdpSocket } from '../net/udp.js';
import type { Clock, TimerHandle, WallClock } from '../util/clock.js';
import { MeshdError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { cookieReplyReceiverIndex } from '../wire/cookie.js';
import { InnerKind } from '../wire/inner.js';
import { MessageType, messageTypeOf } from '../wire/outer.js';
import { transportReceiverIndex } from '../wire/transport.js';
import * as C from './constants.js';
import { HandshakeBacklog } from './handshake-backlog.js';
import { HubKeyGate } from './hub-key-gate.js';
import { keyId } from './key-id.js';
import { pathKey, udpPath, type Path } from './path.js';
import { KeyedRateLimiter, LoadGauge } from './rate-limit.js';

/** What the link knows about one remote node; `path` follows its latest authenticated packet. */
export interface RemoteNode {
  readonly publicKey: Uint8Array;
  /** Hex of the public key: the map key. */
  readonly id: string;
  path: Path | undefined;
  lastReceivedMs: number;
  /** Monotonic time the current session was made, or -Infinity. */
  sessionSinceMs: number;
  /** Where our last handshake message went, once the remote proved it received it there (its
   * first packet on the keys our response made, or its response to our initiation): an endpoint
   * the remote is known to receive at (the hub's anti-amplification guard trusts it). */
  provenPath?: Path;
}

export type DropReason =
  | 'malformed'
  | 'bad_mac1'
  | 'rate_limited'
  | 'handshake_failed'
  | 'not_allowed'
  | 'unknown_index'
  | 'auth_failed'
  | 'no_path'
  | 'queue_full'
  | 'gave_up'
  | 'hub_key'
  | 'handler_error'
  /** Under load: an initiation without a valid mac2, answered with a COOKIE_REPLY, no DH. */
  | 'cookie_sent'
  /** A COOKIE_REPLY for our pending initiation that does not authenticate, or a second one. */
  | 'bad_cookie'
  /** An initiation waiting for its DH replaced by a newer one from the same source (a retry). */
  | 'superseded'
  /** HUB_KEY_REQ whose timestamp is outside HUB_KEY_MAX_CLOCK_SKEW_MS of our wall clock. */
  | 'hub_key_stale'
  /** HUB_KEY_REQ already answered (a captured copy sent again). */
  | 'hub_key_replayed';

export interface LinkOptions {
  udp: UdpSocket;
  keyPair: StaticKeyPair;
  psk: Uint8Array;
  clock: Clock;
  wallClock: WallClock;
  log: Logger;
  /** Responder allow-list: the hub's --allow-keys-file, a peer's hub and map; absent = anyone with
   * the network secret. A refused initiator leaves no state (handshake.ts, `strangers` below). */
  allowedKeys?: (publicKey: Uint8Array) => boolean;
  /**
   * What a refused initiator is told: a plaintext sealed on a one-off session and sent after the
   * handshake response (the hub: REGISTER_REFUSED KEY_NOT_ALLOWED), then forgotten. Absent: no answer.
   */
  refusal?: (publicKey: Uint8Array) => Uint8Array | undefined;
  /**
   * Which remotes belong here (the hub: registered members; a peer: its hub and the keys in its
   * map). Others ("strangers": a key that handshook and never registered) are forgotten
   * strangerGraceMs after they appeared, and at most maxStrangers are kept (oldest forgotten first).
   * Absent: every remote is kept until forget().
   */
  retain?: (id: string) => boolean;
  /** Hub only: answer HUB_KEY_REQ with our static key. */
  answerHubKey?: boolean;
  /** Peer only: carries a datagram to `overlay` through the hub (RELAY_TO). */
  relay?: (overlay: number, datagram: Uint8Array) => void;
  /**
   * Peers: start a new handshake when a remote we send to has said nothing for this long
   * (constants.ts newHandshakeAfterSilenceMs). The hub leaves it unset: its members speak every
   * heartbeat, and it must not answer a quiet member with handshakes.
   */
  rehandshakeAfterSilenceMs?: number;
  /** Random u32 for session indices and rekey jitter (tests inject a seeded one). */
  randomU32?: () => number;
  /** Overrides the "under load" rule (constants.ts underLoadInitiationsPerSec/Burst); tests shrink it. */
  underLoad?: { initiationsPerSec: number; burst: number };
  /** Random bytes for the cookie secret and reply nonces (tests inject a seeded source). */
  randomBytes?: (n: number) => Uint8Array;
}

interface HandshakeState {
  startedMs: number;
  attempts: number;
  /** A rekey while the current session still works: no hurry, retried at REKEY_TIMEOUT. */
  rekey: boolean;
  path: Path;
  pending?: PendingInitiation;
  /** A cookie reply was taken for `pending` (one per initiation, as WireGuard). */
  cookieTaken?: boolean;
  timer?: TimerHandle;
}

interface Remote extends RemoteNode {
  keypairs: Keypairs;
  /** When we first sent on the current session after the remote last spoke (WireGuard's timer). */
  awaitingReplySinceMs?: number;
  handshake?: HandshakeState;
  queue: Uint8Array[];
  sendPath?: Path;
  /** The remote's latest cookie (it was under load): mac2 on our initiations until it expires. */
  cookie?: { value: Uint8Array; receivedMs: number };
  /** DH(our static, its static) for our initiations, made on the first one (handshake.ts). */
  staticShared?: Uint8Array;
  /** When we last sealed a packet for the remote (decides whether a rekey starts on time). */
  lastSentMs: number;
  /** Initiator: fires when the current session is due for its rekey (constants.ts rekeyInUseWithinMs). */
  rekeyTimer?: TimerHandle;
}

export type InnerHandler = (remote: RemoteNode, plaintext: Uint8Array, from: Path) => void;

const KEEPALIVE = Uint8Array.of(InnerKind.KEEPALIVE);

/** The source a cookie is bound to: IP and port (or relay overlay) as we saw them. Only this node
 * MACs it, so the form is local; text from pathKey needs no parsing on the flood path. */
function sourceBytes(p: Path): Uint8Array {
  return Buffer.from(pathKey(p), 'latin1');
}

/** Under load the limit is per IP address (or relay overlay), not per endpoint. */
function ipKey(p: Path): string {
  return p.kind === 'udp' ? p.endpoint.address : pathKey(p);
}

/** A stranger (link.ts `retain`) seen first at `sinceMs` is forgotten once this is true. */
export function strangerExpired(sinceMs: number, nowMs: number): boolean {
  return nowMs - sinceMs >= C.strangerGraceMs;
}

export class Link {
  readonly drops: Record<DropReason, number> = {
    malformed: 0, bad_mac1: 0, rate_limited: 0, handshake_failed: 0, not_allowed: 0, unknown_index: 0,
    auth_failed: 0, no_path: 0, queue_full: 0, gave_up: 0, hub_key: 0, handler_error: 0, cookie_sent: 0, bad_cookie: 0, superseded: 0,
    hub_key_stale: 0, hub_key_replayed: 0,
  };
  readonly stats = { sent: 0, received: 0, handshakesInitiated: 0, handshakesCompleted: 0, cookiesReceived: 0, refusalsSent: 0, strangersEvicted: 0 };
  private readonly remotes = new Map<string, Remote>();
  /** Remotes that did not belong when they appeared (opts.retain), oldest first, with that time. */
  private readonly strangers = new Map<string, number>();
  /** Callers pass the same key array on every send (the peer map's): resolving it without a hex
   * string per packet. Checked against `remotes` on use, so forget() needs no cleanup here. */
  private readonly byKeyObject = new WeakMap<Uint8Array, Remote>();
  private readonly byIndex = new Map<number, Remote>();
  private readonly pendingByIndex = new Map<number, Remote>();
  /** Responder: where the response that made each session went (a retried initiation makes two
   * sessions; the remote confirms the one whose response reached it first). */
  private readonly respondedTo = new WeakMap<TransportSession, Path>();
  /** Our static key pair and the network psk: both handshake roles use it. */
  private readonly identity: HandshakeIdentity;
  private readonly responder: HandshakeResponder;
  private readonly initLimiter = new KeyedRateLimiter(C.initiationsPerSec, C.initiationBurst, { maxKeys: C.initiationSourcesMax });
  /** Under load, initiations with a valid mac2 are limited per source IP instead. */
  private readonly ipLimiter = new KeyedRateLimiter(C.underLoadInitiationsPerIpPerSec, C.underLoadIpBurst, { maxKeys: C.initiationSourcesMax });
  private readonly load: LoadGauge;
  private readonly cookies: CookieChecker;
  /** Hub: HUB_KEY_REQ answered once each, per source IP and in total (hub-key-gate.ts). */
  private readonly hubKeyGate: HubKeyGate;
  /** Initiations past the cheap checks waiting for their DH (handshake-backlog.ts). */
  private readonly backlog: HandshakeBacklog;
  private innerHandler: InnerHandler | undefined;
  private upHandler: ((r: RemoteNode) => void) | undefined;
  private hubKeyHandler: ((datagram: Uint8Array, from: Endpoint) => boolean) | undefined;
  private housekeeping: TimerHandle;
  /** When each remote's stale handshake was last logged at warn (bounded; pruned by tick()). */
  private readonly staleWarnedMs = new Map<string, number>();
  /** The latest handshake refused as stale (for `meshd status`): who, from where, by how much. */
  lastStaleHandshake: { remote: string; from: string; skewMs: number; atMs: number } | undefined;
  private closed = false;
  private readonly randomU32: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: LinkOptions) {
    this.log = opts.log;
    this.randomU32 = opts.randomU32 ?? (() => randomBytes(4).readUInt32LE(0));
    this.identity = { keyPair: opts.keyPair, psk: opts.psk };
    this.responder = new HandshakeResponder(this.identity, opts.allowedKeys ? { allowedKeys: opts.allowedKeys } : {});
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
    this.cookies = new CookieChecker(opts.psk, opts.keyPair.publicKey, now, opts.randomBytes ? { random: opts.randomBytes } : {});
    opts.udp.onMessage((data, from) => this.receive(data, udpPath(from)));
    this.housekeeping = opts.clock.setTimer(C.housekeepingIntervalMs, () => this.tick());
    this.backlog = new HandshakeBacklog(opts.clock, C.handshakeBacklogLimit, C.handshakeSliceMs, (d, from) => this.answerInitiation(d, from), (err) => {
      this.drops.handler_error++;
      this.log.warn({ err }, 'link: handler error (bug)');
    });
  }

  /** Initiations waiting for their DH (constants.ts handshakeSliceMs). */
  get handshakeBacklog(): number {
    return this.backlog.size;
  }

  get publicKey(): Uint8Array {
    return this.opts.keyPair.publicKey;
  }

  /** True while initiations without a valid mac2 get cookie replies instead of the DH. */
  get underLoad(): boolean {
    return this.load.underLoad(this.opts.clock.now());
  }

  /** Every authenticated inner message except KEEPALIVE (the link swallows those). */
  onInner(handler: InnerHandler): void {
    this.innerHandler = handler;
  }

  /** A new session with `remote` is ready to send on (initiator: response received; responder:
   * first packet on the new keys). */
  onSessionUp(handler: (remote: RemoteNode) => void): void {
    this.upHandler = handler;
  }

  /** Peer only: HUB_KEY_RESP datagrams (hub-client verifies them against its nonce); the handler
   * returns false for one it did not use, which counts as a `hub_key` drop. */
  onHubKeyResponse(handler: (datagram: Uint8Array, from: Endpoint) => boolean): void {
    this.hubKeyHandler = handler;
  }

  /** Remotes held (each a few KB: sessions, handshake, queue), and how many of them are strangers. */
  get remoteCount(): number {
    return this.remotes.size;
  }

  get strangerCount(): number {
    return this.strangers.size;
  }

  remote(publicKey: Uint8Array): RemoteNode | undefined {
    return this.remotes.get(keyId(publicKey));
  }

  hasSession(publicKey: Uint8Array): boolean {
    const r = this.remotes.get(keyId(publicKey));
    return r?.keypairs.current !== undefined && !r.keypairs.current.expired(this.opts.clock.now());
  }

  /**
   * Seals `plaintext` for the remote and sends it on `to` (default: where the remote last spoke
   * from). Without a usable session the packet is queued and a handshake starts. False when dropped.
   */
  send(remoteKey: Uint8Array, plaintext: Uint8Array, to?: Path): boolean {
    if (this.closed) return false;
    const r = this.remoteFor(remoteKey);
    const path = to ?? r.path;
    if (!path) {
      this.drop('no_path', r);
      return false;
    }
    r.sendPath = path;
    const now = this.opts.clock.now();
    const cur = r.keypairs.current;
    if (cur !== undefined) {
      const d = cur.seal(plaintext, now);
      if (d !== undefined) {
        this.transmit(d, path);
        r.lastSentMs = now;
        if (cur.needsRekey(now) || this.unanswered(r, now)) this.startHandshake(r, path);
        return true;
      }
    }
    if (r.queue.length >= C.handshakeQueueLimit) {
      r.queue.shift();
      this.drop('queue_full', r);
    }
    r.queue.push(new Uint8Array(plaintext));
    // A responder waiting for confirmation needs no handshake of its own unless that one is stale.
    const next = r.keypairs.next;
    if (next === undefined || now - next.createdAtMs > C.handshakeMaxRetryMs) this.startHandshake(r, path);
    return true;
  }

  /**
   * WireGuard's "no reply" rule: true once we have been sending for rehandshakeAfterSilenceMs
   * without hearing anything authenticated back (then the measurement starts over).
   */
  private unanswered(r: Remote, now: number): boolean {
    const quietMs = this.opts.rehandshakeAfterSilenceMs;
    if (quietMs === undefined) return false;
    if (r.awaitingReplySinceMs === undefined) {
      r.awaitingReplySinceMs = now;
      return false;
    }
    if (now - r.awaitingReplySinceMs <= quietMs || now - r.sessionSinceMs <= quietMs) return false;
    r.awaitingReplySinceMs = undefined;
    return true;
  }

  /** Sends an outer datagram as is (HUB_KEY_REQ). */
  sendRaw(datagram: Uint8Array, to: Path): void {
    if (!this.closed) this.transmit(datagram, to);
  }

  /** Drops the sessions with a remote and starts over (hub restart suspected). */
  rehandshake(remoteKey: Uint8Array, to?: Path): void {
    const r = this.remoteFor(remoteKey);
    r.keypairs.clear();
    r.sessionSinceMs = -Infinity;
    const path = to ?? r.sendPath ?? r.path;
    if (path) {
      this.cancelHandshake(r);
      this.startHandshake(r, path);
    }
  }

  /** Forgets a remote entirely (removed from the network). */
  forget(remoteKey: Uint8Array): void {
    const id = keyId(remoteKey);
    const r = this.remotes.get(id);
    if (!r) return;
    this.cancelHandshake(r);
    this.cancelRekeyTimer(r);
    r.keypairs.clear();
    this.remotes.delete(id);
    this.strangers.delete(id);
    this.responder.forget(remoteKey);
  }

  /** Entry point for every datagram: the socket handler, and RELAY_FROM unwrapped by the peer. */
  receive(datagram: Uint8Array, from: Path): void {
    if (this.closed) return;
    try {
      this.stats.received++;
      switch (messageTypeOf(datagram)) {
        case MessageType.Transport:
          return this.receiveTransport(datagram, from);
        case MessageType.HandshakeInit:
          return this.receiveInitiation(datagram, from);
        case MessageType.HandshakeResp:
          return this.receiveResponse(datagram, from);
        case MessageType.CookieReply:
          return this.receiveCookieReply(datagram);
        case MessageType.HubKeyReq:
          return this.receiveHubKeyRequest(datagram, from);
        case MessageType.HubKeyResp:
          if (from.kind !== 'udp' || !this.hubKeyHandler?.(datagram, from.endpoint)) this.drop('hub_key');
          return;
        default:
          this.drop('malformed');
      }
    } catch (err) {
      this.drops.handler_error++;
      this.log.warn({ err }, 'link: handler error (bug)');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.opts.clock.clearTimer(this.housekeeping);
    for (const r of this.remotes.values()) {
      this.cancelHandshake(r);
      this.cancelRekeyTimer(r);
      r.keypairs.clear();
    }
    this.remotes.clear();
    this.backlog.close();
  }

  // ---- receive path ----

  private receiveTransport(d: Uint8Array, from: Path): void {
    const idx = transportReceiverIndex(d);
    const r = this.byIndex.get(idx);
    const s = r?.keypairs.openByIndex(idx);
    if (!r || !s) return this.drop('unknown_index');
    const now = this.opts.clock.now();
    const pt = s.open(d, now);
    if (pt === undefined) return this.drop('auth_failed', r);
    const confirmed = r.keypairs.received(s);
    if (confirmed) r.provenPath = this.respondedTo.get(s) ?? r.provenPath;
    r.path = from;
    r.lastReceivedMs = now;
    r.awaitingReplySinceMs = undefined;
    if (confirmed) this.sessionUp(r, s);
    if (s === r.keypairs.current && s.needsRekeyOnReceive(now) && !r.handshake) this.startHandshake(r, r.sendPath ?? from);
    if (pt.byteLength === 1 && pt[0] === InnerKind.KEEPALIVE) return;
    this.innerHandler?.(r, pt, from);
  }

  private receiveInitiation(d: Uint8Array, from: Path): void {
    // mac1 first: a sender without the network secret costs one HMAC, no DH.
    if (!this.responder.checkMac1(d)) return this.drop('bad_mac1');
    const now = this.opts.clock.now();
    const key = pathKey(from);
    if (this.backlog.size >= C.handshakeBacklogUnderLoad) this.load.hold(now);
    if (this.load.note(now)) {
      // Under load (WireGuard 5.4.7): the DH only for a sender that proved it receives at its source
      // address (mac2 from our cookie), and then per IP. A spoofed source never sees the cookie.
      const source = sourceBytes(from);
      if (!this.cookies.checkMac2(d, source, now)) {
        this.transmit(this.cookies.createReply(d, source, now), from);
        return this.drop('cookie_sent');
      }
      if (!this.ipLimiter.take(ipKey(from), now)) return this.drop('rate_limited');
    } else if (!this.initLimiter.take(key, now)) {
      return this.drop('rate_limited');
    }
    const queued = this.backlog.offer(key, d, from);
    if (queued !== 'queued') this.drop(queued === 'full' ? 'queue_full' : 'superseded');
  }

  /** The DH half of the responder: consume the initiation, answer it, keep the new session. */
  private answerInitiation(d: Uint8Array, from: Path): void {
    const now = this.opts.clock.now();
    let consumed;
    try {
      consumed = this.responder.consumeInitiation(d, this.opts.wallClock());
    } catch (err) {
      const code = err instanceof MeshdError ? err.code : 'unknown';
      if (err instanceof HandshakeStaleError) this.noteStale(err, from, now);
      else this.log.debug({ code, from: pathKey(from) }, 'link: initiation refused');
      if (err instanceof HandshakeKeyNotAllowedError) this.refuse(err, from, now);
      return this.drop(code === 'HANDSHAKE_KEY_NOT_ALLOWED' ? 'not_allowed' : 'handshake_failed');
    }
    const r = this.remoteFor(consumed.remoteStatic);
    const idx = this.newIndex();
    const { message, keys } = this.responder.createResponse(consumed, idx);
    const s = new TransportSession(keys, now);
    this.byIndex.set(idx, r);
    r.keypairs.onHandshakeComplete(s);
    this.respondedTo.set(s, from);
    r.path = from;
    r.lastReceivedMs = now;
    r.awaitingReplySinceMs = undefined;
    this.transmit(message, from);
  }

  /**
   * An initiator the allow-list refuses: the handshake response and one sealed message on a session
   * that is never stored (no index, no Remote), so the refused key costs no memory here. Two
   * datagrams of ~90 and ~70 bytes for its 148: no amplification, and the initiation rate limits
   * above apply as to any other.
   */
  private refuse(err: HandshakeKeyNotAllowedError, from: Path, now: number): void {
    const plaintext = this.opts.refusal?.(err.consumed.remoteStatic);
    if (plaintext === undefined) return;
    const { message, keys } = this.responder.createResponse(err.consumed, this.newIndex());
    const sealed = new TransportSession(keys, now).seal(plaintext, now);
    this.transmit(message, from);
    if (sealed !== undefined) this.transmit(sealed, from);
    this.stats.refusalsSent++;
  }

  /**
   * A handshake refused as stale: the remote's clock is more than HANDSHAKE_MAX_CLOCK_SKEW_MS from
   * ours (or an old initiation was replayed). Said at warn with the measured skew, at most once per
   * remote per staleWarnIntervalMs, and kept for `meshd status` (the initiator is never told).
   */
  private noteStale(err: HandshakeStaleError, from: Path, now: number): void {
    const id = keyId(err.remoteStatic);
    const remote = Buffer.from(err.remoteStatic).toString('base64');
    this.lastStaleHandshake = { remote, from: pathKey(from), skewMs: err.skewMs, atMs: now };
    const last = this.staleWarnedMs.get(id);
    if ((last !== undefined && now - last < C.staleWarnIntervalMs) || (last === undefined && this.staleWarnedMs.size >= C.staleWarnRemotesMax)) {
      this.log.debug({ remote: remote.slice(0, 8), skewS: Math.round(err.skewMs / 1000) }, 'link: stale handshake refused');
      return;
    }
    this.staleWarnedMs.set(id, now);
    const skewS = Math.round(err.skewMs / 1000);
    this.log.warn(
      { remote, from: pathKey(from), skewS },
      `link: handshake refused as stale: the remote's clock is ${Math.abs(skewS)} s ${skewS > 0 ? 'ahead of' : 'behind'} ours (more than ${C.maxClockSkewS} s); fix the clock (NTP), or this is a replayed old handshake`,
    );
  }

  private receiveResponse(d: Uint8Array, from: Path): void {
    const idx = responseReceiverIndex(d);
    const r = idx === undefined ? undefined : this.pendingByIndex.get(idx);
    const pending = r?.handshake?.pending;
    if (!r || !pending || pending.localIndex !== idx) return this.drop('unknown_index');
    let keys;
    try {
      keys = consumeResponse(pending, d);
    } catch (err) {
      this.log.debug({ code: err instanceof MeshdError ? err.code : 'unknown' }, 'link: response refused');
      return this.drop('handshake_failed', r);
    }
    const now = this.opts.clock.now();
    r.provenPath = r.handshake!.path;
    this.cancelHandshake(r);
    // Only the initiator rekeys on time; its jitter spreads peers that started together.
    const s = new TransportSession(keys, now, this.randomU32() % (C.rekeyAfterTimeJitterMs + 1));
    this.byIndex.set(s.localIndex, r);
    r.keypairs.onHandshakeComplete(s);
    r.path = from;
    r.lastReceivedMs = now;
    r.awaitingReplySinceMs = undefined;
    this.sessionUp(r, s);
    this.armRekeyTimer(r, s);
  }

  /**
   * A session we initiated is due for its rekey: if we have been sending to the remote (the hub
   * hears from every peer each heartbeat), start the handshake now rather than on the next send.
   * Otherwise a broadcast that makes every peer send at once (a map change: one ACK each) would
   * start the handshakes of every peer that fell due since its last send in the same second, a
   * wave the hub answers ahead of the ACKs. A remote we have not sent to for a while rekeys on
   * its next send, as in WireGuard.
   */
  private armRekeyTimer(r: Remote, s: TransportSession): void {
    this.cancelRekeyTimer(r);
    const dueMs = s.createdAtMs + s.rekeyAfterMs - this.opts.clock.now();
    r.rekeyTimer = this.opts.clock.setTimer(dueMs, () => {
      r.rekeyTimer = undefined;
      const now = this.opts.clock.now();
      if (this.closed || r.keypairs.current !== s || r.handshake || s.expired(now)) return;
      if (now - r.lastSentMs > C.rekeyInUseWithinMs) return;
      const path = r.sendPath ?? r.path;
      if (path) this.startHandshake(r, path);
    });
  }

  private cancelRekeyTimer(r: Remote): void {
    if (r.rekeyTimer === undefined) return;
    this.opts.clock.clearTimer(r.rekeyTimer);
    r.rekeyTimer = undefined;
  }

  /**
   * The remote was under load and asks for proof of our address: keep the cookie for the next
   * initiation. It does not resend now (the retry timer stays as it was), so cookie replies do not
   * turn into a storm of initiations.
   */
  private receiveCookieReply(d: Uint8Array): void {
    const idx = cookieReplyReceiverIndex(d);
    const r = idx === undefined ? undefined : this.pendingByIndex.get(idx);
    const hs = r?.handshake;
    if (!r || !hs?.pending || hs.pending.localIndex !== idx) return this.drop('unknown_index');
    if (hs.cookieTaken) return this.drop('bad_cookie', r);
    const cookie = openCookieReply(cookieReplyKey(this.opts.psk, r.publicKey), d, initiationMac1(hs.pending.message));
    if (cookie === undefined) return this.drop('bad_cookie', r);
    hs.cookieTaken = true;
    r.cookie = { value: cookie, receivedMs: this.opts.clock.now() };
    this.stats.cookiesReceived++;
    this.log.debug({ remote: r.id.slice(0, 8) }, 'link: cookie reply (remote under load)');
  }

  /**
   * HUB_KEY_REQ (hub only), cheapest check first: framing and the timestamp (a stale copy costs no
   * HMAC), the MAC (a wrong network secret gets no answer at all), then the gate: answered at most
   * once each, per source IP and in total. The answer is no larger than the request.
   */
  private receiveHubKeyRequest(d: Uint8Array, from: Path): void {
    if (!this.opts.answerHubKey || from.kind !== 'udp') return this.drop('hub_key');
    const ts = hubKeyRequestTimestamp(d);
    if (ts === undefined) return this.drop('malformed');
    if (!hubKeyRequestFresh(ts, this.opts.wallClock())) return this.drop('hub_key_stale');
    const nonce = verifyHubKeyRequest(this.opts.psk, d);
    if (!nonce) return this.drop('bad_mac1');
    const tag = Buffer.from(d.buffer, d.byteOffset + d.byteLength - 16, 16).toString('latin1');
    const verdict = this.hubKeyGate.admit(from.endpoint.address, tag, this.opts.clock.now());
    if (verdict === 'replayed') return this.drop('hub_key_replayed');
    if (verdict === 'rate_limited') return this.drop('rate_limited');
    this.transmit(buildHubKeyResponse(this.opts.psk, nonce, this.opts.keyPair.publicKey), from);
  }

  // ---- sessions and handshakes ----

  private sessionUp(r: Remote, s: TransportSession): void {
    this.stats.handshakesCompleted++;
    r.sessionSinceMs = s.createdAtMs;
    const now = this.opts.clock.now();
    const path = r.sendPath ?? r.path;
    const queued = r.queue;
    r.queue = [];
    if (path) {
      // The initiator's first packet confirms the session for the responder; send one even when
      // nothing is queued.
      if (queued.length === 0 && s.isInitiator) queued.push(KEEPALIVE);
      for (const pt of queued) {
        const d = s.seal(pt, now);
        if (d) this.transmit(d, path);
      }
    }
    this.upHandler?.(r);
  }

  private startHandshake(r: Remote, path: Path): void {
    if (r.handshake) {
      r.handshake.path = path;
      return;
    }
    const now = this.opts.clock.now();
    const cur = r.keypairs.current;
    r.handshake = { startedMs: now, attempts: 0, path, rekey: cur !== undefined && !cur.expired(now) };
    this.sendInitiation(r);
  }

  private sendInitiation(r: Remote): void {
    const hs = r.handshake;
    if (!hs || this.closed) return;
    const now = this.opts.clock.now();
    if (now - hs.startedMs >= C.handshakeGiveUpMs) {
      this.drops.gave_up += r.queue.length || 1;
      r.queue = [];
      this.cancelHandshake(r);
      this.log.debug({ remote: r.id.slice(0, 8) }, 'link: handshake gave up');
      return;
    }
    if (hs.pending) this.pendingByIndex.delete(hs.pending.localIndex);
    const idx = this.newIndex();
    try {
      r.staticShared ??= staticShared(this.identity, r.publicKey);
      const { message, pending } = createInitiation(this.identity, r.publicKey, idx, this.opts.wallClock(), { staticShared: r.staticShared });
      if (r.cookie !== undefined) {
        if (now - r.cookie.receivedMs < COOKIE_LIFETIME_MS) writeMac2(message, r.cookie.value);
        else r.cookie = undefined;
      }
      hs.pending = pending;
      hs.cookieTaken = false;
      this.pendingByIndex.set(idx, r);
      hs.attempts++;
      this.stats.handshakesInitiated++;
      this.transmit(message, hs.path);
    } catch (err) {
      this.log.debug({ err }, 'link: cannot build initiation');
      this.drops.handshake_failed++;
      this.cancelHandshake(r);
      return;
    }
    // A first handshake retries fast (registration and punching wait on it); a rekey of a working
    // session waits REKEY_TIMEOUT, as WireGuard does, so a hub that is behind is not answered with
    // a storm of initiations. Jitter keeps peers that started together from retrying together.
    const backoff = hs.rekey ? C.handshakeMaxRetryMs : Math.min(C.handshakeFirstRetryMs * 2 ** (hs.attempts - 1), C.handshakeMaxRetryMs);
    const delay = backoff + (this.randomU32() % (C.handshakeRetryJitterMs + 1));
    hs.timer = this.opts.clock.setTimer(delay, () => this.sendInitiation(r));
  }

  private cancelHandshake(r: Remote): void {
    const hs = r.handshake;
    if (!hs) return;
    if (hs.timer !== undefined) this.opts.clock.clearTimer(hs.timer);
    if (hs.pending) this.pendingByIndex.delete(hs.pending.localIndex);
    r.handshake = undefined;
  }

  private remoteFor(publicKey: Uint8Array): Remote {
    const cached = this.byKeyObject.get(publicKey);
    if (cached !== undefined && this.remotes.get(cached.id) === cached) return cached;
    const r = this.remoteForId(publicKey);
    this.byKeyObject.set(publicKey, r);
    return r;
  }

  private remoteForId(publicKey: Uint8Array): Remote {
    const id = keyId(publicKey);
    let r = this.remotes.get(id);
    if (!r) {
      const created: Remote = {
        publicKey: new Uint8Array(publicKey),
        id,
        path: undefined,
        lastReceivedMs: -Infinity,
        sessionSinceMs: -Infinity,
        lastSentMs: -Infinity,
        keypairs: new Keypairs((s) => {
          if (this.byIndex.get(s.localIndex) === created) this.byIndex.delete(s.localIndex);
        }),
        queue: [],
      };
      r = created;
      this.remotes.set(id, r);
      if (this.opts.retain && !this.opts.retain(id)) this.noteStranger(id);
    }
    return r;
  }

  /** A remote that does not belong (yet): remembered with its time, the oldest forgotten past the cap. */
  private noteStranger(id: string): void {
    this.strangers.set(id, this.opts.clock.now());
    if (this.strangers.size <= C.maxStrangers) return;
    for (const sid of this.strangers.keys()) {
      if (this.strangers.size <= C.maxStrangers) break;
      if (sid === id) continue;
      if (this.opts.retain?.(sid)) this.strangers.delete(sid); // it registered meanwhile
      else this.evictStranger(sid);
    }
  }

  private evictStranger(id: string): void {
    const r = this.remotes.get(id);
    this.strangers.delete(id);
    if (!r) return;
    this.stats.strangersEvicted++;
    this.log.debug({ remote: id.slice(0, 8) }, 'link: forgot a remote that never joined');
    this.forget(r.publicKey);
  }

  /** Housekeeping: strangers that joined are kept for good, the others go after strangerGraceMs. */
  private sweepStrangers(now: number): void {
    for (const [id, sinceMs] of this.strangers) {
      if (this.opts.retain?.(id)) this.strangers.delete(id);
      else if (strangerExpired(sinceMs, now)) this.evictStranger(id);
    }
  }

  private newIndex(): number {
    for (;;) {
      const i = this.randomU32() >>> 0;
      if (i !== 0 && !this.byIndex.has(i) && !this.pendingByIndex.has(i)) return i;
    }
  }

  private transmit(d: Uint8Array, to: Path): void {
    this.stats.sent++;
    if (to.kind === 'udp') this.opts.udp.send(d, to.endpoint);
    else if (this.opts.relay) this.opts.relay(to.overlay, d);
    else this.drops.no_path++;
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.opts.clock.now();
    for (const r of this.remotes.values()) r.keypairs.expire(now);
    this.sweepStrangers(now);
    for (const [id, ms] of this.staleWarnedMs) if (now - ms >= C.staleWarnIntervalMs) this.staleWarnedMs.delete(id);
    this.initLimiter.sweep(now);
    this.ipLimiter.sweep(now);
    this.hubKeyGate.sweep(now);
    this.housekeeping = this.opts.clock.setTimer(C.housekeepingIntervalMs, () => this.tick());
  }

  private drop(reason: DropReason, r?: Remote): void {
    this.drops[reason]++;
    if (this.log.isLevelEnabled('debug')) this.log.debug({ reason, remote: r?.id.slice(0, 8) }, 'link: drop');
  }
}
