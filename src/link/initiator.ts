// Our handshakes (link.ts): the initiation with its retries, backoff and give-up, the response that
// makes the session, the cookie a loaded remote hands us for the next try, and the rekey timer of a
// session we initiated. Shares the Remote records and the transmit of the Link (remote.ts LinkContext).
import { COOKIE_LIFETIME_MS, cookieReplyKey, initiationMac1, openCookieReply, writeMac2 } from '../crypto/cookie.js';
import { consumeResponse, createInitiation, responseReceiverIndex, staticShared, type HandshakeIdentity } from '../crypto/handshake.js';
import { TransportSession } from '../crypto/session.js';
import { MeshdError } from '../util/errors.js';
import { cookieReplyReceiverIndex } from '../wire/cookie.js';
import * as C from './constants.js';
import { handshakeRetryDelayMs } from './handshake-retry.js';
import type { Path } from './path.js';
import type { HandshakeState, LinkContext, Remote } from './remote.js';

export class Initiator {
  /** Handshakes the remote answered with a cookie reply: it is loaded, retry with a longer backoff. */
  private readonly loaded = new WeakSet<HandshakeState>();

  constructor(
    private readonly link: LinkContext,
    /** Our static key pair, the network psk and the Noise backend. */
    private readonly identity: HandshakeIdentity,
  ) {}

  /** Starts a handshake with `r` on `path`, or (one in flight) moves it there. */
  start(r: Remote, path: Path): void {
    if (r.handshake) {
      r.handshake.path = path;
      return;
    }
    const now = this.link.opts.clock.now();
    const cur = r.keypairs.current;
    r.handshake = { startedMs: now, attempts: 0, path, rekey: cur !== undefined && !cur.expired(now) };
    this.sendInitiation(r);
  }

  cancel(r: Remote): void {
    const hs = r.handshake;
    if (!hs) return;
    if (hs.timer !== undefined) this.link.opts.clock.clearTimer(hs.timer);
    if (hs.pending) this.link.table.pendingByIndex.delete(hs.pending.localIndex);
    r.handshake = undefined;
  }

  cancelRekeyTimer(r: Remote): void {
    if (r.rekeyTimer === undefined) return;
    this.link.opts.clock.clearTimer(r.rekeyTimer);
    r.rekeyTimer = undefined;
  }

  /** HANDSHAKE_RESP to our pending initiation: the session is made here. */
  receiveResponse(d: Uint8Array, from: Path): void {
    const link = this.link;
    const idx = responseReceiverIndex(d);
    const r = idx === undefined ? undefined : link.table.pendingByIndex.get(idx);
    const pending = r?.handshake?.pending;
    if (!r || !pending || pending.localIndex !== idx) return link.drop('unknown_index');
    let keys;
    try {
      keys = consumeResponse(pending, d);
    } catch (err) {
      link.log.debug({ code: err instanceof MeshdError ? err.code : 'unknown' }, 'link: response refused');
      return link.drop('handshake_failed', r);
    }
    const now = link.opts.clock.now();
    r.provenPath = r.handshake!.path;
    this.cancel(r);
    // Only the initiator rekeys on time; its jitter spreads peers that started together.
    const s = new TransportSession(keys, now, link.randomU32() % (C.rekeyAfterTimeJitterMs + 1), link.crypto.aead);
    link.table.byIndex.set(s.localIndex, r);
    r.keypairs.onHandshakeComplete(s);
    r.path = from;
    r.lastReceivedMs = now;
    r.awaitingReplySinceMs = undefined;
    link.sessionUp(r, s);
    this.armRekeyTimer(r, s);
  }

  /**
   * The remote was under load (or its DH backlog full) and asks for proof of our address: keep the
   * cookie for the next initiation. It does not resend now (the retry timer stays as it was), so
   * cookie replies do not turn into a storm of initiations, and the retries after the next back off
   * further (handshake-retry.ts): the remote said it is loaded.
   */
  receiveCookieReply(d: Uint8Array): void {
    const link = this.link;
    const idx = cookieReplyReceiverIndex(d);
    const r = idx === undefined ? undefined : link.table.pendingByIndex.get(idx);
    const hs = r?.handshake;
    if (!r || !hs?.pending || hs.pending.localIndex !== idx) return link.drop('unknown_index');
    if (hs.cookieTaken) return link.drop('bad_cookie', r);
    const noise = link.crypto.noise;
    const cookie = openCookieReply(cookieReplyKey(link.opts.psk, r.publicKey, noise), d, initiationMac1(hs.pending.message), noise);
    if (cookie === undefined) return link.drop('bad_cookie', r);
    hs.cookieTaken = true;
    this.loaded.add(hs);
    r.cookie = { value: cookie, receivedMs: link.opts.clock.now() };
    link.stats.cookiesReceived++;
    link.log.debug({ remote: r.id.slice(0, 8) }, 'link: cookie reply (remote under load)');
  }

  private sendInitiation(r: Remote): void {
    const link = this.link;
    const hs = r.handshake;
    if (!hs || link.closed) return;
    const now = link.opts.clock.now();
    if (now - hs.startedMs >= C.handshakeGiveUpMs) {
      link.drops.gave_up += r.queue.length || 1;
      r.queue = [];
      this.cancel(r);
      link.log.debug({ remote: r.id.slice(0, 8) }, 'link: handshake gave up');
      return;
    }
    if (hs.pending) link.table.pendingByIndex.delete(hs.pending.localIndex);
    const idx = link.table.newIndex();
    try {
      r.staticShared ??= staticShared(this.identity, r.publicKey);
      const { message, pending } = createInitiation(this.identity, r.publicKey, idx, link.opts.wallClock(), { staticShared: r.staticShared });
      if (r.cookie !== undefined) {
        if (now - r.cookie.receivedMs < COOKIE_LIFETIME_MS) writeMac2(message, r.cookie.value, link.crypto.noise);
        else r.cookie = undefined;
      }
      hs.pending = pending;
      hs.cookieTaken = false;
      link.table.pendingByIndex.set(idx, r);
      hs.attempts++;
      link.stats.handshakesInitiated++;
      link.transmit(message, hs.path);
    } catch (err) {
      link.log.debug({ err }, 'link: cannot build initiation');
      link.drops.handshake_failed++;
      this.cancel(r);
      return;
    }
    // First handshakes fast, rekeys at REKEY_TIMEOUT, a loaded remote with a growing backoff
    // (handshake-retry.ts). Jitter keeps peers that started together from retrying together.
    const backoff = handshakeRetryDelayMs(hs.attempts, hs.rekey, this.loaded.has(hs));
    const delay = backoff + (link.randomU32() % (C.handshakeRetryJitterMs + 1));
    hs.timer = link.opts.clock.setTimer(delay, () => this.sendInitiation(r));
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
    const link = this.link;
    this.cancelRekeyTimer(r);
    const dueMs = s.createdAtMs + s.rekeyAfterMs - link.opts.clock.now();
    r.rekeyTimer = link.opts.clock.setTimer(dueMs, () => {
      r.rekeyTimer = undefined;
      const now = link.opts.clock.now();
      if (link.closed || r.keypairs.current !== s || r.handshake || s.expired(now)) return;
      if (now - r.lastSentMs > C.rekeyInUseWithinMs) return;
      const path = r.sendPath ?? r.path;
      if (path) this.start(r, path);
    });
  }
}
