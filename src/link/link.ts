// The runtime shared by hub and peer (wireguard-go's device/ is the model): turns one UdpSocket into
// authenticated sessions keyed by the remote's static key. This file holds the public face, the
// transmit and receive demux and the TRANSPORT path both ways (seal, open, roaming, rekey triggers);
// around the shared records of remote.ts and the remote table (remote-table.ts), our handshakes
// (initiator.ts: retries, give-up, cookies we are handed, the rekey timer) and theirs (responder.ts:
// mac1, rate limits, cookies under load, the DH backlog, refusals, HUB_KEY_REQ). Nothing throws out
// of the socket handler. Lifecycle: new Link(opts) -> onInner/onSessionUp -> send/receive -> close().
import { randomBytes } from 'node:crypto';
import type { CryptoBackends } from '../crypto/backends.js';
import type { HandshakeIdentity } from '../crypto/handshake.js';
import { runtimeCrypto } from '../crypto/native.js';
import type { FastRecvKey, FastSendKey, TransportSession } from '../crypto/session.js';
import { sameEndpoint, type Endpoint } from '../net/udp.js';
import type { TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { InnerKind, RELAY_HEADER_BYTES, writeRelayHeader } from '../wire/inner.js';
import { MessageType, messageTypeOf, TRANSPORT_OVERHEAD } from '../wire/outer.js';
import { TRANSPORT_HEADER_SIZE, TRANSPORT_TAG_SIZE, transportReceiverIndex } from '../wire/transport.js';
import * as C from './constants.js';
import { Initiator } from './initiator.js';
import { udpPath, type Path } from './path.js';
import { RemoteTable } from './remote-table.js';
import type { DropReason, LinkContext, LinkDrops, LinkOptions, LinkStats, Remote, RemoteNode, RxCounts } from './remote.js';
import { Responder } from './responder.js';

export type { DropReason, LinkOptions, RemoteNode } from './remote.js';
export { strangerExpired } from './remote-table.js';

export type InnerHandler = (remote: RemoteNode, plaintext: Uint8Array, from: Path) => void;

const KEEPALIVE = Uint8Array.of(InnerKind.KEEPALIVE);
/** Local tuning: the seal scratch buffer fits any MTU-sized datagram; a bigger one grows it. */
const sealScratchBytes = 2048;

export class Link implements LinkContext {
  readonly drops: LinkDrops = {
    malformed: 0, bad_mac1: 0, rate_limited: 0, handshake_failed: 0, not_allowed: 0, unknown_index: 0,
    auth_failed: 0, no_path: 0, queue_full: 0, gave_up: 0, hub_key: 0, handler_error: 0, cookie_sent: 0, bad_cookie: 0, superseded: 0,
    backlog_full: 0, hub_key_stale: 0, hub_key_replayed: 0,
  };
  readonly stats: LinkStats = { sent: 0, received: 0, handshakesInitiated: 0, handshakesCompleted: 0, cookiesReceived: 0, refusalsSent: 0, strangersEvicted: 0 };
  readonly table: RemoteTable;
  readonly crypto: CryptoBackends;
  readonly randomU32: () => number;
  readonly log: Logger;
  private readonly initiator: Initiator;
  private readonly responder: Responder;
  private innerHandler: InnerHandler | undefined;
  private upHandler: ((r: RemoteNode) => void) | undefined;
  private hubKeyHandler: ((datagram: Uint8Array, from: Endpoint) => boolean) | undefined;
  private joinHandler: ((datagram: Uint8Array, from: Path) => void) | undefined;
  private housekeeping: TimerHandle;
  private isClosed = false;
  /** sealFor's scratch datagram and its last view. */
  private sealBuf = new Uint8Array(sealScratchBytes);
  private sealView = this.sealBuf.subarray(0, 0);

  constructor(readonly opts: LinkOptions) {
    this.log = opts.log;
    this.randomU32 = opts.randomU32 ?? (() => randomBytes(4).readUInt32LE(0));
    this.crypto = opts.crypto ?? runtimeCrypto();
    const identity: HandshakeIdentity = { keyPair: opts.keyPair, psk: opts.psk, noise: this.crypto.noise };
    this.table = new RemoteTable(opts.clock, this.randomU32, opts.retain, (r) => {
      this.stats.strangersEvicted++;
      this.log.debug({ remote: r.id.slice(0, 8) }, 'link: forgot a remote that never joined');
      this.forget(r.publicKey);
    });
    this.initiator = new Initiator(this, identity);
    this.responder = new Responder(this, identity);
    opts.udp.onMessage((data, from) => this.receive(data, from));
    this.housekeeping = opts.clock.setTimer(C.housekeepingIntervalMs, () => this.tick());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Initiations waiting for their DH (constants.ts handshakeSliceMs). */
  get handshakeBacklog(): number {
    return this.responder.backlog.size;
  }

  get publicKey(): Uint8Array {
    return this.opts.keyPair.publicKey;
  }

  /** True while initiations without a valid mac2 get cookie replies instead of the DH. */
  get underLoad(): boolean {
    return this.responder.underLoad(this.opts.clock.now());
  }

  /** The latest handshake refused as stale (for `meshd status`): who, from where, by how much. */
  get lastStaleHandshake(): { remote: string; from: string; skewMs: number; atMs: number } | undefined {
    return this.responder.lastStale;
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

  /** Hub only: JOIN_INIT datagrams (invite redemption, hub/invite-redeemer.ts); without a handler
   * they count as `malformed` drops. */
  onJoin(handler: (datagram: Uint8Array, from: Path) => void): void {
    this.joinHandler = handler;
  }

  /** Remotes held (each a few KB: sessions, handshake, queue), and how many of them are strangers. */
  get remoteCount(): number {
    return this.table.size;
  }

  get strangerCount(): number {
    return this.table.strangerCount;
  }

  remote(publicKey: Uint8Array): RemoteNode | undefined {
    return this.table.get(publicKey);
  }

  hasSession(publicKey: Uint8Array): boolean {
    const r = this.table.get(publicKey);
    return r?.keypairs.current !== undefined && !r.keypairs.current.expired(this.opts.clock.now());
  }

  // ---- transmit ----

  /**
   * Seals `plaintext` for the remote and sends it on `to` (default: where the remote last spoke
   * from). Without a usable session the packet is queued and a handshake starts. False when dropped.
   */
  send(remoteKey: Uint8Array, plaintext: Uint8Array, to?: Path): boolean {
    if (this.closed) return false;
    const r = this.table.obtain(remoteKey);
    const path = to ?? r.path;
    if (!path) {
      this.drop('no_path', r);
      return false;
    }
    r.sendPath = path;
    const now = this.opts.clock.now();
    const cur = r.keypairs.current;
    if (cur !== undefined) {
      const sent = path.kind === 'relay' && this.opts.relayFrame !== undefined ? this.sendRelayFrame(cur, plaintext, path.overlay, now) : this.sendSealed(cur, plaintext, path, now);
      if (sent) {
        r.lastSentMs = now;
        if (cur.needsRekey(now) || this.unanswered(r, now)) this.initiator.start(r, path);
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
    if (next === undefined || now - next.createdAtMs > C.handshakeMaxRetryMs) this.initiator.start(r, path);
    return true;
  }

  /** Seals and transmits; false when the key must not send. */
  private sendSealed(s: TransportSession, plaintext: Uint8Array, path: Path, now: number): boolean {
    const d = this.sealFor(s, plaintext, path, now);
    if (d === undefined) return false;
    this.transmit(d, path);
    return true;
  }

  /** A relay path with relayFrame: seals into a fresh RELAY_TO frame after its header and hands the
   * frame over (no copy of the datagram); false when the key must not send. */
  private sendRelayFrame(s: TransportSession, plaintext: Uint8Array, overlay: number, now: number): boolean {
    const frame = Buffer.allocUnsafe(RELAY_HEADER_BYTES + TRANSPORT_OVERHEAD + plaintext.byteLength);
    if (s.sealInto(plaintext, frame.subarray(RELAY_HEADER_BYTES), now) < 0) return false;
    writeRelayHeader(frame, InnerKind.RELAY_TO, overlay);
    this.stats.sent++;
    this.opts.relayFrame!(frame);
    return true;
  }

  /**
   * Seals for `path`: into the link's one scratch buffer when the socket copies the datagram before
   * send returns (net/udp.ts copiesOnSend: the native socket, and the wrappers that pass it on), so
   * the data path allocates no ArrayBuffer per datagram; else a fresh buffer (the relay, node:dgram,
   * a peer's TCP hub leg keep it).
   */
  private sealFor(s: TransportSession, plaintext: Uint8Array, path: Path, now: number): Uint8Array | undefined {
    if (path.kind !== 'udp' || this.opts.udp.copiesOnSend?.(path.endpoint) !== true) return s.seal(plaintext, now);
    const need = TRANSPORT_HEADER_SIZE + plaintext.byteLength + TRANSPORT_TAG_SIZE;
    if (this.sealBuf.byteLength < need) this.sealBuf = new Uint8Array(Math.max(need, sealScratchBytes));
    const n = s.sealInto(plaintext, this.sealBuf, now);
    if (n < 0) return undefined;
    // One view per length, kept while datagrams keep their size (bulk traffic does): no object either.
    if (this.sealView.byteLength !== n || this.sealView.buffer !== this.sealBuf.buffer) this.sealView = this.sealBuf.subarray(0, n);
    return this.sealView;
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

  /** The current session's send key for the native fast path (crypto/session.ts fastSendKey), or
   * undefined (no session, or one only seal() may use now: rekey due, expired). */
  fastSendKey(remoteKey: Uint8Array, now: number): FastSendKey | undefined {
    return this.table.get(remoteKey)?.keypairs.current?.fastSendKey(now);
  }

  /** The native fast path sent `count` datagrams to the remote on `path` since the last call: what
   * send() does after sealing (the keepalive clock, WireGuard's rekey and "no reply" rules). */
  noteFastSent(remoteKey: Uint8Array, path: Path, count: number, now: number): void {
    const r = this.table.get(remoteKey);
    const cur = r?.keypairs.current;
    if (this.closed || r === undefined || cur === undefined || count <= 0) return;
    this.stats.sent += count;
    r.sendPath = path;
    r.lastSentMs = now;
    cur.lastSentMs = now;
    if (cur.needsRekey(now) || this.unanswered(r, now)) this.initiator.start(r, path);
  }

  /** The current session's receive key for the native fast path (crypto/session.ts fastRecvKey). */
  fastRecvKey(remoteKey: Uint8Array, now: number): FastRecvKey | undefined {
    return this.table.get(remoteKey)?.keypairs.current?.fastRecvKey(now);
  }

  /** The native fast path opened datagrams of the remote on its session `localIndex` since the last
   * call: what receiveTransport() books for each (the receive clocks, RxCounts, "a reply came"). */
  noteFastReceived(remoteKey: Uint8Array, localIndex: number, rx: Readonly<RxCounts>, now: number): void {
    const r = this.table.get(remoteKey);
    if (this.closed || r === undefined || rx.received <= 0) return;
    this.stats.received += rx.received;
    const counts = (r.rx ??= { received: 0, skipped: 0, late: 0 });
    counts.received += rx.received;
    counts.skipped += rx.skipped;
    counts.late += rx.late;
    r.keypairs.openByIndex(localIndex)?.noteFastReceived(now);
    r.lastReceivedMs = now;
    r.awaitingReplySinceMs = undefined;
  }

  /** Sends an outer datagram as is (HUB_KEY_REQ). */
  sendRaw(datagram: Uint8Array, to: Path): void {
    if (!this.closed) this.transmit(datagram, to);
  }

  /** Drops the sessions with a remote and starts over (hub restart suspected). */
  rehandshake(remoteKey: Uint8Array, to?: Path): void {
    const r = this.table.obtain(remoteKey);
    r.keypairs.clear();
    r.sessionSinceMs = -Infinity;
    const path = to ?? r.sendPath ?? r.path;
    if (path) {
      this.initiator.cancel(r);
      this.initiator.start(r, path);
    }
  }

  /** Forgets a remote entirely (removed from the network). */
  forget(remoteKey: Uint8Array): void {
    const r = this.table.get(remoteKey);
    if (!r) return;
    this.initiator.cancel(r);
    this.initiator.cancelRekeyTimer(r);
    r.keypairs.clear();
    this.table.delete(r);
    this.responder.forget(remoteKey);
  }

  /** Puts an outer datagram on its way: the socket, or the hub's relay (peers). */
  transmit(d: Uint8Array, to: Path): void {
    this.stats.sent++;
    if (to.kind === 'udp') this.opts.udp.send(d, to.endpoint);
    else if (this.opts.relay) this.opts.relay(to.overlay, d);
    else this.drops.no_path++;
  }

  // ---- receive ----

  /**
   * Entry point for every datagram: the socket handler, and RELAY_FROM unwrapped by the peer. `from`
   * is the Path, or the UDP source as the socket gave it (the socket handler): a Path is then made
   * only where one is kept (a handshake, a remote that roamed), and TRANSPORT from where the remote
   * already is reuses its Path, so no object per datagram.
   */
  receive(datagram: Uint8Array, from: Path | Endpoint): void {
    if (this.isClosed) return;
    try {
      this.stats.received++;
      if ('kind' in from) this.demux(datagram, from, undefined);
      else this.demux(datagram, undefined, from);
    } catch (err) {
      this.drops.handler_error++;
      this.log.warn({ err }, 'link: handler error (bug)');
    }
  }

  /** `from` is the Path, or undefined with `ep` the UDP source. */
  private demux(d: Uint8Array, from: Path | undefined, ep: Endpoint | undefined): void {
    const type = messageTypeOf(d);
    if (type === MessageType.Transport) return this.receiveTransport(d, from, ep);
    const path = from ?? udpPath(ep!);
    switch (type) {
      case MessageType.HandshakeInit:
        return this.responder.receiveInitiation(d, path);
      case MessageType.HandshakeResp:
        return this.initiator.receiveResponse(d, path);
      case MessageType.CookieReply:
        return this.initiator.receiveCookieReply(d);
      case MessageType.HubKeyReq:
        return this.responder.receiveHubKeyRequest(d, path);
      case MessageType.HubKeyResp:
        if (path.kind !== 'udp' || !this.hubKeyHandler?.(d, path.endpoint)) this.drop('hub_key');
        return;
      case MessageType.JoinInit:
        if (this.joinHandler) return this.joinHandler(d, path);
        return this.drop('malformed');
      default:
        this.drop('malformed');
    }
  }

  private receiveTransport(d: Uint8Array, fromPath: Path | undefined, ep: Endpoint | undefined): void {
    const idx = transportReceiverIndex(d);
    const r = this.table.byIndex.get(idx);
    const s = r?.keypairs.openByIndex(idx);
    if (!r || !s) return this.drop('unknown_index');
    const now = this.opts.clock.now();
    const pt = this.opts.openInPlace === true ? s.openInPlace(d, now) : s.open(d, now);
    if (pt === undefined) return this.drop('auth_failed', r);
    const from = fromPath ?? this.pathFrom(r, ep!);
    const confirmed = r.keypairs.received(s);
    if (confirmed) r.provenPath = this.responder.respondedPath(s) ?? r.provenPath;
    r.path = from;
    const rx = (r.rx ??= { received: 0, skipped: 0, late: 0 });
    rx.received++;
    if (s.lastGap > 0) rx.skipped += s.lastGap;
    else if (s.lastGap < 0) rx.late++;
    r.lastReceivedMs = now;
    r.awaitingReplySinceMs = undefined;
    if (confirmed) this.sessionUp(r, s);
    if (s === r.keypairs.current && s.needsRekeyOnReceive(now) && !r.handshake) this.initiator.start(r, r.sendPath ?? from);
    if (pt.byteLength === 1 && pt[0] === InnerKind.KEEPALIVE) return;
    this.innerHandler?.(r, pt, from);
  }

  /** The Path of a UDP source: the remote's current one when it still speaks from there (no object
   * per datagram), else a new one (it roamed). */
  private pathFrom(r: Remote, ep: Endpoint): Path {
    const p = r.path;
    if (p !== undefined && p.kind === 'udp' && (p.endpoint === ep || sameEndpoint(p.endpoint, ep))) return p;
    return udpPath(ep);
  }

  // ---- sessions ----

  /** A new session with `r` is usable: send what waited for it, then tell the owner. */
  sessionUp(r: Remote, s: TransportSession): void {
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

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.opts.clock.clearTimer(this.housekeeping);
    for (const r of this.table.values()) {
      this.initiator.cancel(r);
      this.initiator.cancelRekeyTimer(r);
      r.keypairs.clear();
    }
    this.table.clear();
    this.responder.close();
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.opts.clock.now();
    for (const r of this.table.values()) r.keypairs.expire(now);
    this.table.sweepStrangers(now);
    this.responder.sweep(now);
    this.housekeeping = this.opts.clock.setTimer(C.housekeepingIntervalMs, () => this.tick());
  }

  drop(reason: DropReason, r?: Remote): void {
    this.drops[reason]++;
    if (this.log.isLevelEnabled('debug')) this.log.debug({ reason, remote: r?.id.slice(0, 8) }, 'link: drop');
  }
}
