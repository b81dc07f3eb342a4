// One transport session (one key pair from one handshake): seals and opens TRANSPORT datagrams,
// counts nonces, keeps the replay window, and answers the rekey/expiry questions the runtime asks.
// Hot path: one AEAD call per packet, one output allocation, no closures. The AEAD is node:crypto
// (createCipheriv per packet, ~9 us for 1400 bytes, mostly object setup) unless the runtime installs
// a faster backend with the same bytes (the crypto addon, ~1.5 us; crypto/native.ts nativeAead),
// passed to the constructor (the link passes crypto/backends.ts CryptoBackends.aead).
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import {
  TRANSPORT_HEADER_SIZE,
  TRANSPORT_MIN_SIZE,
  TRANSPORT_TAG_SIZE,
  transportCounter,
  transportCounterUnsafe,
  transportReceiverIndex,
  writeTransportHeader,
} from '../wire/transport.js';
import { MessageType } from '../wire/outer.js';
import { MAX_SAFE_COUNTER, REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME_MS, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME_MS, REKEY_ON_RECEIVE_AFTER_MS } from './constants.js';
import type { TransportKeys } from './handshake.js';
import { ReplayWindow } from './replay.js';

/** A ChaCha20-Poly1305 implementation for TRANSPORT datagrams that must give node:crypto's bytes. */
export interface AeadBackend {
  /** out[0..16) is the header; nonce = 4 zero bytes + out[8..16); writes ciphertext and tag after it. */
  aeadSeal(key: Uint8Array, out: Uint8Array, plaintext: Uint8Array): boolean;
  /** Writes the plaintext of datagram[16..len-16) to out (which may be that very range: in place);
   * its length, or -1 if the tag fails. */
  aeadOpen(key: Uint8Array, datagram: Uint8Array, out: Uint8Array): number;
}

/** Why open() returned undefined, counted per session. */
export interface DropCounts {
  short: number; // malformed: under 32 bytes, not TRANSPORT, reserved bytes set, or not our receiver index
  auth: number; // AEAD tag did not verify
  replay: number; // counter seen before, or older than the window
  expired: number; // key older than REJECT_AFTER_TIME_MS
}

// The sender stops before whichever limit comes first: the protocol's or exact JS numbers.
const SEND_LIMIT = Math.min(MAX_SAFE_COUNTER, Number(REJECT_AFTER_MESSAGES));
const REKEY_MESSAGES = Number(REKEY_AFTER_MESSAGES); // 2^60 is exact as a double

export class TransportSession {
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly remoteStatic: Uint8Array;
  readonly isInitiator: boolean;
  readonly createdAtMs: number;
  /** Initiator: added to REKEY_AFTER_TIME_MS for this session (the runtime draws it at random, so
   * peers that started together do not rekey together). */
  readonly rekeyJitterMs: number;
  readonly drops: DropCounts = { short: 0, auth: 0, replay: 0, expired: 0 };
  /** The next counter to send (= messages sent so far), in a cell of its own so the native fast path
   * (src/tun/native/fastpath.c) sends from the same sequence: a nonce is used once whoever seals. */
  readonly counterCell = new Float64Array(new ArrayBuffer(8));
  /** Monotonic time of the last successful seal/open; the runtime's keepalive timers read these. */
  lastSentMs: number;
  lastReceivedMs = -Infinity;
  private readonly sendKey: KeyObject;
  private readonly recvKey: KeyObject;
  private readonly sendKeyBytes: Uint8Array;
  private readonly recvKeyBytes: Uint8Array;
  private readonly replay = new ReplayWindow();
  /** The last datagram open() accepted: how many counters it skipped past the highest before it
   * (0 in order), or -1 when it arrived late (below the highest). The link sums these per remote
   * (remote.ts RxCounts): lost or reordered datagrams of the remote, issue 19 item 7. */
  lastGap = 0;
  private readonly nonce = Buffer.alloc(12);
  private readonly aead: AeadBackend | undefined;

  /** Next counter to send (= messages sent so far). */
  get sendCounter(): number {
    return this.counterCell[0]!;
  }

  set sendCounter(n: number) {
    this.counterCell[0] = n;
  }

  /** `aead`: this session's AEAD; omitted or null, node:crypto. */
  constructor(keys: TransportKeys, createdAtMs: number, rekeyJitterMs = 0, aead?: AeadBackend | null) {
    this.localIndex = keys.localIndex >>> 0;
    this.remoteIndex = keys.remoteIndex >>> 0;
    this.remoteStatic = keys.remoteStatic;
    this.isInitiator = keys.isInitiator;
    this.createdAtMs = createdAtMs;
    this.rekeyJitterMs = rekeyJitterMs;
    this.lastSentMs = -Infinity;
    this.sendKey = createSecretKey(keys.sendKey);
    this.recvKey = createSecretKey(keys.recvKey);
    this.sendKeyBytes = new Uint8Array(keys.sendKey);
    this.recvKeyBytes = new Uint8Array(keys.recvKey);
    this.aead = aead ?? undefined;
  }

  /** Seals `plaintext` into a whole TRANSPORT datagram, or undefined when this key must not send
   * any more (expired or counter exhausted). */
  seal(plaintext: Uint8Array, nowMs: number): Uint8Array | undefined {
    const n = plaintext.byteLength;
    const out = Buffer.allocUnsafe(TRANSPORT_HEADER_SIZE + n + TRANSPORT_TAG_SIZE);
    return this.sealInto(plaintext, out, nowMs) < 0 ? undefined : out;
  }

  /** Seals into out[0 .. 32 + plaintext.length] (out may be a reused buffer); returns the datagram
   * length, or -1 when the key must not send (nothing written). */
  sealInto(plaintext: Uint8Array, out: Uint8Array, nowMs: number): number {
    const cell = this.counterCell;
    const counter = cell[0]!;
    if (counter >= SEND_LIMIT || nowMs - this.createdAtMs >= REJECT_AFTER_TIME_MS) return -1;
    const n = plaintext.byteLength;
    const total = TRANSPORT_HEADER_SIZE + n + TRANSPORT_TAG_SIZE;
    if (out.byteLength < total) throw new RangeError(`sealInto: buffer of ${out.byteLength} bytes, need ${total}`);
    cell[0] = counter + 1;
    writeTransportHeader(out, this.remoteIndex, counter);
    const aead = this.aead;
    if (aead === undefined || !aead.aeadSeal(this.sendKeyBytes, out, plaintext)) this.sealSlow(plaintext, out);
    this.lastSentMs = nowMs;
    return total;
  }

  private sealSlow(plaintext: Uint8Array, out: Uint8Array): void {
    const n = plaintext.byteLength;
    const nonce = this.nonce;
    nonce.set(out.subarray(8, 16), 4);
    const c = createCipheriv('chacha20-poly1305', this.sendKey, nonce, { authTagLength: TRANSPORT_TAG_SIZE });
    const ct = c.update(plaintext);
    out.set(ct, TRANSPORT_HEADER_SIZE);
    c.final();
    out.set(c.getAuthTag(), TRANSPORT_HEADER_SIZE + n);
  }

  /** Opens a TRANSPORT datagram addressed to this session; undefined (reason counted in `drops`)
   * when it is short, expired, replayed or does not authenticate. The plaintext is a fresh buffer. */
  open(datagram: Uint8Array, nowMs: number): Uint8Array | undefined {
    return this.openWith(datagram, nowMs, false);
  }

  /**
   * open(), but with the native AEAD the plaintext is decrypted in place: the result is a view of
   * datagram[16 .. len-16], whose ciphertext it overwrites (also when the tag then fails: the
   * datagram is spent either way). No allocation per datagram (issue 19 session 7: the receiving
   * daemon spent ~20 % of its time allocating and collecting these). With node:crypto, a fresh buffer.
   */
  openInPlace(datagram: Uint8Array, nowMs: number): Uint8Array | undefined {
    return this.openWith(datagram, nowMs, true);
  }

  private openWith(datagram: Uint8Array, nowMs: number, inPlace: boolean): Uint8Array | undefined {
    const len = datagram.byteLength;
    // The header is not authenticated (aad empty, as WireGuard), so check it exactly: type,
    // reserved zero, and our index (a flipped index byte must not reach another session's keys).
    if (
      len < TRANSPORT_MIN_SIZE ||
      datagram[0] !== MessageType.Transport ||
      datagram[1] !== 0 ||
      datagram[2] !== 0 ||
      datagram[3] !== 0 ||
      transportReceiverIndex(datagram) !== this.localIndex
    ) {
      this.drops.short++;
      return undefined;
    }
    if (nowMs - this.createdAtMs >= REJECT_AFTER_TIME_MS) {
      this.drops.expired++;
      return undefined;
    }
    if (transportCounterUnsafe(datagram)) {
      this.drops.replay++;
      return undefined;
    }
    const counter = transportCounter(datagram);
    if (!this.replay.check(counter)) {
      this.drops.replay++;
      return undefined;
    }
    let pt: Uint8Array | undefined;
    const aead = this.aead;
    if (aead !== undefined) {
      const n = len - TRANSPORT_HEADER_SIZE - TRANSPORT_TAG_SIZE;
      const buf = inPlace ? datagram.subarray(TRANSPORT_HEADER_SIZE, TRANSPORT_HEADER_SIZE + n) : Buffer.allocUnsafe(n);
      pt = aead.aeadOpen(this.recvKeyBytes, datagram, buf) === n ? buf : undefined;
    } else {
      pt = this.openSlow(datagram);
    }
    if (pt === undefined) {
      this.drops.auth++;
      return undefined;
    }
    const hi = this.replay.highest;
    this.lastGap = counter > hi ? counter - hi - 1 : -1;
    this.replay.update(counter);
    this.lastReceivedMs = nowMs;
    return pt;
  }

  private openSlow(datagram: Uint8Array): Uint8Array | undefined {
    const len = datagram.byteLength;
    const nonce = this.nonce;
    nonce.set(datagram.subarray(8, 16), 4);
    const d = createDecipheriv('chacha20-poly1305', this.recvKey, nonce, { authTagLength: TRANSPORT_TAG_SIZE });
    d.setAuthTag(datagram.subarray(len - TRANSPORT_TAG_SIZE));
    const pt = d.update(datagram.subarray(TRANSPORT_HEADER_SIZE, len - TRANSPORT_TAG_SIZE));
    try {
      d.final();
    } catch {
      return undefined;
    }
    return pt;
  }

  /** Time to start a new handshake before sending: the initiator after REKEY_AFTER_TIME_MS plus its
   * jitter, either side after REKEY_AFTER_MESSAGES sent (WireGuard's send-side rule). */
  needsRekey(nowMs: number): boolean {
    return this.sendCounter >= REKEY_MESSAGES || (this.isInitiator && nowMs - this.createdAtMs >= this.rekeyAfterMs);
  }

  /** Initiator: the session's age at which it is due for a rekey (REKEY_AFTER_TIME_MS + jitter). */
  get rekeyAfterMs(): number {
    return REKEY_AFTER_TIME_MS + this.rekeyJitterMs;
  }

  /** Receive-side rule: an initiator receiving on a key this old rekeys even with nothing to send. */
  needsRekeyOnReceive(nowMs: number): boolean {
    return this.isInitiator && nowMs - this.createdAtMs >= REKEY_ON_RECEIVE_AFTER_MS;
  }

  /** Key older than REJECT_AFTER_TIME_MS: neither sends nor accepts. */
  expired(nowMs: number): boolean {
    return nowMs - this.createdAtMs >= REJECT_AFTER_TIME_MS;
  }

  /** What the native fast path's receive half (src/net/native/fastrecv.c) needs to open on this
   * key, and for how long from now it may: never past the key's expiry, nor (an initiator) past the
   * age at which a received datagram starts a rekey (that one must reach open() and the link).
   * Undefined when the key must not open from the fast path at all. */
  fastRecvKey(nowMs: number): FastRecvKey | undefined {
    const age = nowMs - this.createdAtMs;
    const validMs = (this.isInitiator ? REKEY_ON_RECEIVE_AFTER_MS : REJECT_AFTER_TIME_MS) - age;
    if (validMs <= 0) return undefined;
    return { localIndex: this.localIndex, key: this.recvKeyBytes, replay: this.replay.shared, validMs };
  }

  /** The native fast path opened `packets` datagrams on this key (it marked the replay window). */
  noteFastReceived(nowMs: number): void {
    this.lastReceivedMs = nowMs;
  }

  /** What the native fast path (src/tun/native/fastpath.c) needs to seal on this key, and for how
   * long from now it may: never at or past a rekey (the counter limit and the initiator's time limit
   * leave that packet to seal(), which starts the handshake) nor past the key's expiry. Undefined when
   * the key must not send from the fast path at all. */
  fastSendKey(nowMs: number): FastSendKey | undefined {
    if (this.needsRekey(nowMs) || this.expired(nowMs)) return undefined;
    const age = nowMs - this.createdAtMs;
    const validMs = (this.isInitiator ? Math.min(this.rekeyAfterMs, REJECT_AFTER_TIME_MS) : REJECT_AFTER_TIME_MS) - age;
    if (validMs <= 0) return undefined;
    return { remoteIndex: this.remoteIndex, key: this.sendKeyBytes, counterCell: this.counterCell, counterLimit: Math.min(SEND_LIMIT, REKEY_MESSAGES), validMs };
  }
}

/** TransportSession.fastRecvKey: the receive side of a key as the native fast path holds it. */
export interface FastRecvKey {
  readonly localIndex: number;
  /** The 32-byte receive key (the session's own bytes: not to be modified). */
  readonly key: Uint8Array;
  /** The session's replay window state (replay.ts ReplayWindow.shared): the fast path marks it. */
  readonly replay: Uint8Array;
  /** How long from now the key may open on the fast path. */
  readonly validMs: number;
}

/** TransportSession.fastSendKey: the send side of a key as the native fast path holds it. */
export interface FastSendKey {
  readonly remoteIndex: number;
  /** The 32-byte send key (the session's own bytes: not to be modified). */
  readonly key: Uint8Array;
  /** The session's send counter cell (shared: the fast path increments it). */
  readonly counterCell: Float64Array;
  /** The counter the fast path must not reach. */
  readonly counterLimit: number;
  /** How long from now the key may send from the fast path. */
  readonly validMs: number;
}
