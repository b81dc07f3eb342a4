// A peer with several hubs (`--hub A --hub B`, issue 24): keeps a session with two of them, home
// (hub-client.ts registers there; map, PUNCH, RELAY_TO, publish and routes follow it) and standby
// (handshaken and PINGed every 5 s, so a switch costs one REGISTER round trip), PINGs home every
// second and re-registers on the standby when home stops answering; failed hubs are tried again with
// backoff. Decisions are hub-choice.ts's, the per-hub record and status line hub-entry.ts's, and
// HOME_MOVED to an old home home-moved.ts's. node.ts builds it only when more than one hub is given:
// one --hub sends exactly what it always did. (About 400 lines: one state machine over the hubs,
// roles, PINGs, keys; every decision in it is a pure function of hub-choice.ts.)
import { buildHubKeyRequest, verifyHubKeyResponse } from '../crypto/hub-key.js';
import { keyId } from '../link/key-id.js';
import type { Link, RemoteNode } from '../link/link.js';
import type { Path } from '../link/path.js';
import { endpointKey, sameEndpoint, type Endpoint } from '../net/udp.js';
import { bytesEqual } from '../util/bytes.js';
import type { Clock, TimerHandle, WallClock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { encodeInner, InnerKind, type InnerMessage } from '../wire/inner.js';
import { decodeHubList } from '../wire/hub-list.js';
import { RefusalReason } from '../wire/control.js';
import { DecodeError } from '../util/errors.js';
import {
  chooseHubs, floorRtt, homeLost, pushRtt, homePingMs, registerDeadMs, retryDelayMs, smoothRtt, standbyAction, standbyPingMs, startWindowMs, type HomeReason,
} from './hub-choice.js';
import type { HubClient } from './hub-client.js';
import { HubKeyMismatchError } from './hub-key-ask.js';
import { hubStatus, newHubEntry, type HubEntry, type HubSetStatus } from './hub-entry.js';
import { HomeMoved } from './home-moved.js';

/** Local tuning: the hub set's one timer. */
const tickMs = 250;
/** Local tuning: a hub being tried gets PINGs this often until it answers. */
const tryPingMs = 1_000;
/** Local tuning: a hub tried without answer this long is asked HUB_KEY_REQ (is it the key we pinned?). */
const keyCheckAfterMs = 1_500;
/** Local tuning: HUB_KEY_REQ to the first hub while its key is being learned (trust on first use). */
const keyAskMs = 2_000;

export type { HubRole, HubSetStatus } from './hub-entry.js';

export interface HubSpec {
  endpoint: Endpoint;
  /** Pinned (--hub host:port@KEY, --hub-key, hubs.pub) or absent: learned by TOFU (first hub only). */
  key?: Uint8Array;
}

export interface HubSetOptions {
  hubs: readonly HubSpec[];
  link: Link;
  client: HubClient;
  psk: Uint8Array;
  clock: Clock;
  wallClock?: WallClock;
  log: Logger;
  random?: () => number;
  /** The first hub's key was learned on first use: pin it. */
  onKeyLearned?: (hub: Endpoint, key: Uint8Array) => void;
  /** Home moved to another hub (before its REGISTER goes): state versioned per hub starts over. */
  onHomeChanged?: (hub: Endpoint) => void;
  /** The rest of what a hub other than home sends (its streams to our published services:
   * peer/standby-services.ts); absent = dropped. */
  fromOther?: (r: RemoteNode, inner: InnerMessage) => void;
}

export class HubSet {
  /** Home switches by reason (status, metrics, tests). */
  readonly switches: Record<Exclude<HomeReason, 'stay'>, number> = { first: 0, 'home-lost': 0, 'much-faster': 0 };
  /** The hub seen much faster than home in a row, since when (the dwell before moving to it). */
  private faster: { index: number; sinceMs: number } | undefined;
  private readonly hubs: HubEntry[];
  private home: HubEntry | undefined;
  private firstAnswerMs: number | undefined;
  /** Since when home has been left without REGISTER_OK (undefined while registered or refused). */
  private registeringSinceMs: number | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;
  /** Keys the home hub vouches for (HUB_LIST): a listed hub without a key may prove one of them. */
  private vouched: Uint8Array[] = [];
  private txid = BigInt(Math.floor(Math.random() * 2 ** 32)) << 16n;
  /** HOME_MOVED to the old home after a much-faster move (home-moved.ts). */
  private readonly homeMoved: HomeMoved;

  constructor(private readonly o: HubSetOptions) {
    this.hubs = o.hubs.map((h, index) => newHubEntry(h, index));
    this.homeMoved = new HomeMoved(o.link);
  }

  /** HOME_MOVED sent and ACKed (status, tests). */
  get movedCounts(): { sent: number; acked: number } {
    return this.homeMoved.counts;
  }

  start(): void {
    const now = this.o.clock.now();
    for (const h of this.hubs) {
      if (h.key) this.tryHub(h, now);
      else if (h.index === 0) h.role = 'learning-key';
      else {
        h.role = 'no-key';
        h.why = 'no key for this hub: give it as --hub host:port@KEY';
        this.o.log.warn({ hub: endpointKey(h.endpoint) }, `hub-set: ${h.why}; not using it`);
      }
    }
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
  }

  /** The home hub, once chosen. */
  get homeHub(): Endpoint | undefined {
    return this.home?.endpoint;
  }

  /** Whether `publicKey` is one of our hubs' (handshakes from it are allowed, its session kept). */
  isHub(publicKey: Uint8Array): boolean {
    return this.hubs.some((h) => h.key !== undefined && bytesEqual(h.key, publicKey));
  }

  isHubId(id: string): boolean {
    return this.hubs.some((h) => h.key !== undefined && keyId(h.key) === id);
  }

  status(): HubSetStatus[] {
    const now = this.o.clock.now();
    return this.hubs.map((h) => hubStatus(h, now));
  }

  /**
   * Every authenticated inner message from a hub (node.ts calls it first). Marks the hub heard;
   * consumes our PONGs, and everything from a hub that is not home except a relayed datagram (an
   * old home may still relay to us for a while) and its endpoint challenge. False: node.ts goes on.
   */
  heard(r: RemoteNode, inner: InnerMessage, from: Path): boolean {
    const h = this.hubs.find((x) => x.key !== undefined && bytesEqual(x.key, r.publicKey));
    if (!h) return false;
    const now = this.o.clock.now();
    h.lastHeardMs = now;
    if (this.firstAnswerMs === undefined) this.firstAnswerMs = now;
    if (inner.kind === InnerKind.PONG) {
      const p = h.pings.get(inner.txid);
      if (p) {
        h.pings.delete(inner.txid);
        if (p.timed) {
          h.rttMs = smoothRtt(h.rttMs, now - p.sentMs);
          h.rttSamples = pushRtt(h.rttSamples, now - p.sentMs);
        }
        // The first answer waited for the handshake: ask again at once for an RTT of the hub's own.
        else if (h.rttMs === undefined) this.ping(h, now);
        this.answered(h, now);
        return true;
      }
    }
    if (h === this.home) return false;
    if (inner.kind === InnerKind.CONTROL && this.homeMoved.isOldHome(h) && this.homeMoved.ack(inner.body)) return true;
    if (inner.kind === InnerKind.RELAY_FROM) {
      this.o.link.receive(inner.datagram, { kind: 'relay', overlay: inner.overlay });
    } else if (inner.kind === InnerKind.PING) {
      const observed = from.kind === 'udp' ? from.endpoint : { address: '0.0.0.0', port: 0 };
      this.o.link.send(r.publicKey, encodeInner({ kind: InnerKind.PONG, txid: inner.txid, observed }), from);
    } else this.o.fromOther?.(r, inner);
    return true;
  }

  /** A HUB_KEY_RESP hub-client did not ask for: the first hub's key (TOFU), or a hub whose
   * handshakes go unanswered telling us its key (a mismatch refuses it). */
  onHubKeyResponse(d: Uint8Array, from: Endpoint): boolean {
    const h = this.hubs.find((x) => x.keyNonce !== undefined && sameEndpoint(x.endpoint, from));
    if (!h) return false;
    const key = verifyHubKeyResponse(this.o.psk, d, h.keyNonce!);
    if (!key) return false;
    h.keyNonce = undefined;
    const now = this.o.clock.now();
    if (!h.key) {
      const vouched = this.vouched.some((k) => bytesEqual(k, key));
      if (h.index !== 0 && !vouched) {
        h.role = 'no-key';
        h.why = `its key ${Buffer.from(key).toString('base64')} is not in the home hub's list: give it as --hub host:port@KEY`;
        this.o.log.warn({ hub: endpointKey(h.endpoint), answered: Buffer.from(key).toString('base64') }, 'hub-set: a hub without a configured key answered with a key the home hub does not vouch for; not using it');
        return true;
      }
      h.key = new Uint8Array(key);
      h.why = undefined;
      this.o.log.info({ hub: endpointKey(h.endpoint), hubKey: Buffer.from(key).toString('base64'), how: h.index === 0 ? 'first use' : 'vouched by the home hub' }, `hub-set: learned a hub key (${h.index === 0 ? 'trust on first use' : 'vouched by the home hub'}; pinned)`);
      this.o.onKeyLearned?.(h.endpoint, h.key);
      this.tryHub(h, now);
    } else if (!bytesEqual(h.key, key)) {
      const err = new HubKeyMismatchError();
      h.role = 'refused';
      h.why = `${err.code}: it answers with ${Buffer.from(key).toString('base64')}, pinned ${Buffer.from(h.key).toString('base64')}`;
      this.o.log.error({ hub: endpointKey(h.endpoint), code: err.code, answered: Buffer.from(key).toString('base64'), pinned: Buffer.from(h.key).toString('base64') }, 'hub-set: this hub\'s key is not the pinned one; refusing it, using the others');
      // No more handshakes toward it: they cannot succeed.
      this.o.link.forget(h.key);
      if (h === this.home) this.leaveHome(h, now, 'its key is not the pinned one');
    }
    return true;
  }

  /**
   * HUB_LIST from home (wire/hub-list.ts): the keys of the hubs of its network. A hub of our list
   * without a key is asked for it (HUB_KEY_REQ) and trusted if it answers with one of these.
   * False when malformed (dropped, counted by node.ts).
   */
  onHubList(body: Uint8Array, ack: (seq: number) => void): boolean {
    let keys: Uint8Array[];
    try {
      const m = decodeHubList(body);
      ack(m.seq);
      keys = m.keys;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return false;
    }
    this.vouched = keys;
    // Only a key none of our hubs holds yet can be the key of a hub we lack one for.
    if (keys.every((k) => this.hubs.some((h) => h.key !== undefined && bytesEqual(h.key, k)))) return true;
    for (const h of this.hubs) {
      if (h.key || h.index === 0 || (h.role !== 'no-key' && h.role !== 'learning-key')) continue;
      h.role = 'learning-key';
      h.why = 'asking its key (to check against the home hub\'s list)';
    }
    return true;
  }

  // ---- internals ----

  private tick(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    for (const h of this.hubs) this.upkeep(h, now);
    this.choose(now);
    this.homeMoved.tell(now, this.o.client.state === 'registered', this.home);
    this.timer = this.o.clock.setTimer(tickMs, () => this.tick());
  }

  private upkeep(h: HubEntry, now: number): void {
    switch (h.role) {
      case 'learning-key':
        if (now - h.keyAskedMs >= keyAskMs) this.askKey(h, now);
        return;
      case 'home': {
        if (now - h.lastPingMs >= homePingMs) this.ping(h, now);
        if (homeLost(now, h.lastHeardMs, h.homeSinceMs)) return this.leaveHome(h, now, 'home stopped answering');
        // A hub that answers PINGs but never our REGISTER, or refuses it only because it cannot confirm
        // the claim (UNAVAILABLE: cut from its shared state), is left for one that may; any other
        // refusal is an answer, the same on every hub of the network.
        const client = this.o.client;
        const pending = client.state === 'registering' || (client.state === 'refused' && client.lastRefusal?.reason === RefusalReason.UNAVAILABLE);
        this.registeringSinceMs = pending ? (this.registeringSinceMs ?? now) : undefined;
        const other = this.hubs.some((x) => x !== h && (x.role === 'standby' || x.role === 'idle') && this.isUp(x, now));
        if (this.registeringSinceMs !== undefined && now - this.registeringSinceMs > registerDeadMs && other) this.leaveHome(h, now, client.state === 'refused' ? 'REGISTER refused: UNAVAILABLE' : 'no answer to REGISTER');
        return;
      }
      case 'standby':
      case 'trying': {
        if (now - h.lastPingMs >= (h.role === 'standby' ? standbyPingMs : tryPingMs)) this.ping(h, now);
        if (h.role === 'trying' && h.lastHeardMs < h.handshakeMs && now - h.handshakeMs > keyCheckAfterMs && h.keyNonce === undefined && now - h.keyAskedMs > 4 * keyCheckAfterMs) this.askKey(h, now);
        const act = standbyAction(now, h.lastHeardMs, h.handshakeMs);
        if (act === 'rehandshake') {
          h.handshakeMs = now;
          this.o.link.rehandshake(h.key!, h.path);
        } else if (act === 'down') this.markDown(h, now, 'no answer');
        return;
      }
      case 'down':
        // Tried again after its backoff, while there is no standby (a hub coming back may become it).
        if (now >= h.nextTryMs && !this.hubs.some((x) => x.role === 'standby')) this.tryHub(h, now);
        return;
      default:
        return;
    }
  }

  /** Picks home (at start, after a loss) and standby, and moves home to a much faster hub. */
  private choose(now: number): void {
    // A silent home is upkeep's to leave (homeLost: it is marked down, not kept as standby).
    if (this.home && !this.isUp(this.home, now)) return;
    const live = this.hubs.filter((h) => h.role === 'home' || h.role === 'standby' || h.role === 'trying' || h.role === 'idle');
    const cands = live.map((h) => ({ index: h.index, up: this.isUp(h, now), rttMs: floorRtt(h.rttSamples) }));
    if (!this.home) {
      if (this.firstAnswerMs === undefined) return;
      // At start the others get startWindowMs to answer (and be timed) too, unless every one has.
      const waiting = live.some((h) => (h.role === 'trying' && !this.isUp(h, now)) || (this.isUp(h, now) && h.rttMs === undefined));
      if (waiting && now - this.firstAnswerMs < startWindowMs && this.switches.first === 0) return;
    }
    // A much faster hub must stay so for switchDwellMs (the same one, in a row) before home moves.
    const c = chooseHubs(cands, this.home?.index, { nowMs: now, faster: this.faster });
    this.faster = c.faster;
    if (c.home !== undefined && c.home !== this.home?.index) {
      const next = this.hubs[c.home]!;
      const old = this.home;
      if (old) old.role = 'standby';
      const reason = c.reason === 'much-faster' ? 'much-faster' : this.switches.first > 0 ? 'home-lost' : 'first';
      this.setHome(next, now, reason, old && reason === 'much-faster' ? `${endpointKey(old.endpoint)} rtt ${Math.round(old.rttMs ?? 0)} ms, ${endpointKey(next.endpoint)} rtt ${Math.round(next.rttMs ?? 0)} ms` : undefined);
    }
    for (const h of live) {
      if (h === this.home) continue;
      if (h.index === c.standby) h.role = 'standby';
      else if (h.role === 'standby' || (h.role === 'trying' && this.isUp(h, now))) h.role = 'idle';
    }
    // No standby: try the hubs not in use (idle ones need a new handshake by now).
    if (!this.hubs.some((h) => h.role === 'standby')) {
      for (const h of this.hubs) if (h.role === 'idle' && !this.isUp(h, now)) this.tryHub(h, now);
    }
  }

  /** Answering now: heard within a few PING intervals, and a hub being tried again since it was. */
  private isUp(h: HubEntry, now: number): boolean {
    if (h.role === 'trying' && h.lastHeardMs < h.handshakeMs) return false;
    if (h.role === 'home') return !homeLost(now, h.lastHeardMs, h.homeSinceMs);
    return now - h.lastHeardMs <= standbyPingMs * 2 + 1_000;
  }

  private setHome(h: HubEntry, now: number, reason: Exclude<HomeReason, 'stay'>, detail?: string): void {
    const from = this.home;
    this.registeringSinceMs = undefined;
    this.home = h;
    h.role = 'home';
    h.homeSinceMs = now;
    h.why = undefined;
    this.switches[reason]++;
    // A session quiet for longer than a standby PING interval may be one the hub forgot: handshake anew.
    const fresh = now - h.lastHeardMs > standbyPingMs + 1_000;
    const fields = { from: from ? endpointKey(from.endpoint) : null, to: endpointKey(h.endpoint), reason, rttMs: h.rttMs === undefined ? null : Math.round(h.rttMs), ...(detail ? { detail } : {}) };
    if (reason === 'first') this.o.log.info(fields, `hub-set: home hub ${endpointKey(h.endpoint)}`);
    else this.o.log.warn(fields, `hub-set: home hub switch ${fields.from ?? 'none'} -> ${fields.to} (${reason === 'home-lost' ? 'home stopped answering' : 'much faster'})`);
    if (from) this.o.onHomeChanged?.(h.endpoint);
    // A voluntary move: the old home still answers, so it is told (once we are registered here)
    // rather than left to hold us as its member until our heartbeats expire there.
    this.homeMoved.switched(from, reason);
    this.o.client.retarget(h.endpoint, h.key!, fresh);
  }

  private leaveHome(h: HubEntry, now: number, why: string): void {
    this.o.log.warn({ hub: endpointKey(h.endpoint), why, lastHeardMsAgo: Number.isFinite(h.lastHeardMs) ? Math.round(now - h.lastHeardMs) : null }, `hub-set: home hub lost (${why})`);
    this.home = undefined;
    if (h.role !== 'refused') this.markDown(h, now, why);
    const c = chooseHubs(this.hubs.filter((x) => x.role === 'standby' || x.role === 'idle' || x.role === 'trying').map((x) => ({ index: x.index, up: this.isUp(x, now), rttMs: floorRtt(x.rttSamples) })), undefined);
    if (c.home !== undefined) {
      this.home = h; // for the log line's "from"
      this.setHome(this.hubs[c.home]!, now, 'home-lost');
    } else {
      // Nobody answering: every other hub is tried; the first to answer becomes home.
      for (const x of this.hubs) if (x !== h && (x.role === 'idle' || x.role === 'standby' || (x.role === 'down' && now >= x.nextTryMs))) this.tryHub(x, now);
    }
  }

  private markDown(h: HubEntry, now: number, why: string): void {
    h.failures++;
    h.role = 'down';
    h.why = why;
    h.pings.clear();
    // Its handshake retries stop until it is tried again (tryHub starts a fresh one).
    if (h.key) this.o.link.forget(h.key);
    h.nextTryMs = now + retryDelayMs(h.failures, (this.o.random ?? Math.random)());
    this.o.log.info({ hub: endpointKey(h.endpoint), why, failures: h.failures, retryInMs: h.nextTryMs - now }, 'hub-set: hub down; tried again later');
  }

  /** Starts (or restarts) a session with `h` and PINGs it; its answer makes it standby or home. */
  private tryHub(h: HubEntry, now: number): void {
    if (!h.key) return;
    h.role = 'trying';
    h.handshakeMs = now;
    h.pings.clear();
    if (!this.o.link.hasSession(h.key) || now - h.lastHeardMs > standbyPingMs) this.o.link.rehandshake(h.key, h.path);
    this.ping(h, now);
  }

  private answered(h: HubEntry, now: number): void {
    if (h.role === 'trying' || h.role === 'down') {
      if (h.failures > 0) this.o.log.info({ hub: endpointKey(h.endpoint), rttMs: h.rttMs === undefined ? null : Math.round(h.rttMs) }, 'hub-set: hub answers again');
      h.failures = 0;
      h.why = undefined;
      h.role = 'idle';
      this.choose(now);
    }
  }

  private ping(h: HubEntry, now: number): void {
    if (!h.key) return;
    const txid = ++this.txid;
    // A PING sent before the session is up waits for the handshake: its RTT is not the hub's.
    h.pings.set(txid, { sentMs: now, timed: this.o.link.hasSession(h.key) });
    if (h.pings.size > 8) h.pings.delete(h.pings.keys().next().value!);
    h.lastPingMs = now;
    this.o.link.send(h.key, encodeInner({ kind: InnerKind.PING, txid, flags: 0 }), h.path);
  }

  private askKey(h: HubEntry, now: number): void {
    const { message, nonce } = buildHubKeyRequest(this.o.psk, (this.o.wallClock ?? Date.now)());
    h.keyNonce = nonce;
    h.keyAskedMs = now;
    this.o.link.sendRaw(message, h.path);
  }
}
