// The meshd handshake: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (one round trip,
// TAI64N timestamp against replay), with mac1 keyed by the network psk (PROTOCOL.md). Pure: time
// comes in as `wallMs`; indices come from the caller (src/link allocates them). Messages leave here
// with mac2 zero; a runtime whose responder was under load sets it with cookie.ts writeMac2.
//
//   initiator                                        responder
//   createInitiation(id, rs, idx, wallMs) --INIT-->  checkMac1 / consumeInitiation(msg, wallMs)
//   consumeResponse(pending, msg)         <--RESP--  createResponse(consumed, idx)
//   -> TransportKeys (isInitiator)                   -> TransportKeys (must wait for the first
//                                                       transport packet before sending, see keypairs.ts)
import { HandshakeError } from '../util/errors.js';
import { bytesEqual } from '../util/bytes.js';
import {
  HANDSHAKE_INIT_SIZE,
  HANDSHAKE_RESP_SIZE,
  INIT_MAC1_OFFSET,
  MAC_SIZE,
  RESP_MAC1_OFFSET,
  encodeHandshakeInit,
  encodeHandshakeResp,
} from '../wire/handshake.js';
import { MessageType } from '../wire/outer.js';
import { HANDSHAKE_MAX_CLOCK_SKEW_MS } from './constants.js';
import { type StaticKeyPair, generateEphemeral } from './keys.js';
import { compareBytes, NODE_NOISE, tai64n, tai64nToMs, type Noise } from './noise.js';

export interface HandshakeIdentity {
  keyPair: StaticKeyPair;
  /** The network psk (derivePsk). */
  psk: Uint8Array;
  /** The primitives' backend (noise.ts); absent: node:crypto. Same bytes either way. */
  noise?: Noise;
}

export interface TransportKeys {
  sendKey: Uint8Array;
  recvKey: Uint8Array;
  /** Our index: the receiver_index peers put on packets to us. */
  localIndex: number;
  /** Their index: what we put in receiver_index when sending. */
  remoteIndex: number;
  remoteStatic: Uint8Array;
  isInitiator: boolean;
}

/** Tests only: inject the ephemeral key pair so golden messages are deterministic. */
export interface HandshakeTestHooks {
  ephemeral?: StaticKeyPair;
}

export interface InitiationOptions extends HandshakeTestHooks {
  /** DH(our static, their static) from staticShared(): the same for every handshake with this
   * remote, so a runtime keeps it per remote (as WireGuard precomputes it per peer). */
  staticShared?: Uint8Array;
}

const CONSTRUCTION = new TextEncoder().encode('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s');
const IDENTIFIER = new TextEncoder().encode('meshd v1');
const LABEL_MAC1 = new TextEncoder().encode('mac1----');
const EMPTY = new Uint8Array(0);
const INITIAL_CHAIN = NODE_NOISE.hash(CONSTRUCTION);
const INITIAL_HASH = NODE_NOISE.hash(INITIAL_CHAIN, IDENTIFIER);

/** mac1 key for messages sent to `receiverStatic`: HASH("mac1----" || psk || receiver_static). */
export function mac1Key(psk: Uint8Array, receiverStatic: Uint8Array, n: Noise = NODE_NOISE): Uint8Array {
  return n.hash(LABEL_MAC1, psk, receiverStatic);
}

function mac1Of(n: Noise, key: Uint8Array, message: Uint8Array, offset: number): Uint8Array {
  return n.hmac(key, message.subarray(0, offset)).subarray(0, MAC_SIZE);
}

function noiseOf(id: HandshakeIdentity): Noise {
  return id.noise ?? NODE_NOISE;
}

/** HANDSHAKE_STALE with what the runtime logs: who, and how far its clock is from ours (ms,
 * positive when the initiator is ahead). */
export class HandshakeStaleError extends HandshakeError {
  constructor(
    readonly remoteStatic: Uint8Array,
    readonly skewMs: number,
  ) {
    super('HANDSHAKE_STALE', `HANDSHAKE_INIT: initiator clock ${Math.round(skewMs / 1000)} s off ours`);
  }
}

function fail(code: string, message: string): never {
  throw new HandshakeError(code, message);
}

function checkFrame(message: Uint8Array, type: MessageType, size: number, name: string): void {
  if (message.byteLength < size) fail('HANDSHAKE_SHORT', `${name}: ${message.byteLength} bytes, want ${size}`);
  if (message.byteLength > size) fail('HANDSHAKE_LONG', `${name}: ${message.byteLength} bytes, want ${size}`);
  if (message[0] !== type || message[1] !== 0 || message[2] !== 0 || message[3] !== 0) {
    fail('HANDSHAKE_TYPE', `${name}: bad type or reserved bytes`);
  }
}

function ephemeralOf(n: Noise, hooks?: HandshakeTestHooks): StaticKeyPair {
  return hooks?.ephemeral ?? generateEphemeral(n);
}

function dhOrFail(n: Noise, priv: Uint8Array, pub: Uint8Array): Uint8Array {
  return n.x25519(priv, pub) ?? fail('HANDSHAKE_BAD_KEY', 'low-order public key');
}

/** DH(our static, their static): one of the initiation's two DHs that never changes for a pair.
 * Throws HANDSHAKE_BAD_KEY for a low-order key. */
export function staticShared(id: HandshakeIdentity, remoteStatic: Uint8Array): Uint8Array {
  return dhOrFail(noiseOf(id), id.keyPair.privateKey, remoteStatic);
}

/** Initiator state between sending HANDSHAKE_INIT and receiving its response. One use only. */
export class PendingInitiation {
  used = false;
  /** @internal */
  constructor(
    readonly identity: HandshakeIdentity,
    readonly localIndex: number,
    readonly remoteStatic: Uint8Array,
    /** Wall clock of the initiation (its TAI64N timestamp). */
    readonly wallMs: number,
    /** The 148-byte message, kept so a runtime may retransmit the very same bytes if it wants. */
    readonly message: Uint8Array,
    /** @internal */ readonly chainingKey: Uint8Array,
    /** @internal */ readonly hashState: Uint8Array,
    /** @internal */ readonly ephemeral: Uint8Array,
  ) {}
}

/** Builds a HANDSHAKE_INIT to `remoteStatic`. `senderIndex` is our fresh local index. */
export function createInitiation(
  id: HandshakeIdentity,
  remoteStatic: Uint8Array,
  senderIndex: number,
  wallMs: number,
  opts?: InitiationOptions,
): { message: Uint8Array; pending: PendingInitiation } {
  const n = noiseOf(id);
  const e = ephemeralOf(n, opts);
  let h = n.hash(INITIAL_HASH, remoteStatic);
  let [c] = n.kdf(1, INITIAL_CHAIN, e.publicKey) as [Uint8Array];
  h = n.hash(h, e.publicKey);
  let k: Uint8Array;
  [c, k] = n.kdf(2, c, dhOrFail(n, e.privateKey, remoteStatic)) as [Uint8Array, Uint8Array];
  const encryptedStatic = n.aeadSeal(k, 0, id.keyPair.publicKey, h);
  h = n.hash(h, encryptedStatic);
  [c, k] = n.kdf(2, c, opts?.staticShared ?? staticShared(id, remoteStatic)) as [Uint8Array, Uint8Array];
  const encryptedTimestamp = n.aeadSeal(k, 0, tai64n(wallMs), h);
  h = n.hash(h, encryptedTimestamp);
  const message = encodeHandshakeInit({
    senderIndex,
    ephemeral: e.publicKey,
    encryptedStatic,
    encryptedTimestamp,
    mac1: new Uint8Array(MAC_SIZE),
    mac2: new Uint8Array(MAC_SIZE),
  });
  message.set(mac1Of(n, mac1Key(id.psk, remoteStatic, n), message, INIT_MAC1_OFFSET), INIT_MAC1_OFFSET);
  return { message, pending: new PendingInitiation(id, senderIndex >>> 0, new Uint8Array(remoteStatic), wallMs, message, c, h, e.privateKey) };
}

/** The receiver_index of a HANDSHAKE_RESP (to find the pending initiation); no checks but length. */
export function responseReceiverIndex(message: Uint8Array): number | undefined {
  if (message.byteLength !== HANDSHAKE_RESP_SIZE) return undefined;
  return new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(8, true);
}

/** Completes the initiator side. Throws HandshakeError: HANDSHAKE_SHORT/LONG/TYPE, HANDSHAKE_BAD_MAC,
 * HANDSHAKE_UNKNOWN_INDEX (answers another initiation), HANDSHAKE_DECRYPT (wrong psk or keys),
 * HANDSHAKE_USED (this pending initiation already completed). */
export function consumeResponse(pending: PendingInitiation, message: Uint8Array): TransportKeys {
  checkFrame(message, MessageType.HandshakeResp, HANDSHAKE_RESP_SIZE, 'HANDSHAKE_RESP');
  const id = pending.identity;
  const n = noiseOf(id);
  const mac1 = mac1Of(n, mac1Key(id.psk, id.keyPair.publicKey, n), message, RESP_MAC1_OFFSET);
  if (!bytesEqual(mac1, message.subarray(RESP_MAC1_OFFSET, RESP_MAC1_OFFSET + MAC_SIZE))) fail('HANDSHAKE_BAD_MAC', 'HANDSHAKE_RESP: bad mac1');
  const v = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const remoteIndex = v.getUint32(4, true);
  if (v.getUint32(8, true) !== pending.localIndex) fail('HANDSHAKE_UNKNOWN_INDEX', 'HANDSHAKE_RESP: receiver index does not match the pending initiation');
  if (pending.used) fail('HANDSHAKE_USED', 'HANDSHAKE_RESP: initiation already completed');
  const er = message.slice(12, 44);
  let [c] = n.kdf(1, pending.chainingKey, er) as [Uint8Array];
  let h = n.hash(pending.hashState, er);
  [c] = n.kdf(1, c, dhOrFail(n, pending.ephemeral, er)) as [Uint8Array];
  [c] = n.kdf(1, c, dhOrFail(n, id.keyPair.privateKey, er)) as [Uint8Array];
  const [c3, t, k] = n.kdf(3, c, id.psk) as [Uint8Array, Uint8Array, Uint8Array];
  h = n.hash(h, t);
  const sealedNothing = message.subarray(44, 60);
  if (n.aeadOpen(k, 0, sealedNothing, h) === undefined) fail('HANDSHAKE_DECRYPT', 'HANDSHAKE_RESP: does not decrypt (wrong network secret or keys)');
  const [sendKey, recvKey] = n.kdf(2, c3, EMPTY) as [Uint8Array, Uint8Array];
  pending.used = true;
  return { sendKey, recvKey, localIndex: pending.localIndex, remoteIndex, remoteStatic: pending.remoteStatic, isInitiator: true };
}

/** A verified initiation, ready for createResponse. */
export class ConsumedInitiation {
  used = false;
  /** @internal */
  constructor(
    readonly remoteStatic: Uint8Array,
    readonly remoteIndex: number,
    /** Initiator's wall clock from the TAI64N timestamp (ms). */
    readonly timestampMs: number,
    /** @internal */ readonly chainingKey: Uint8Array,
    /** @internal */ readonly hashState: Uint8Array,
    /** @internal */ readonly remoteEphemeral: Uint8Array,
  ) {}
}

/** HANDSHAKE_KEY_NOT_ALLOWED: the initiation is valid but its key is not admitted. It carries the
 * consumed initiation so a runtime may answer with a refusal on a one-off session (link.ts). */
export class HandshakeKeyNotAllowedError extends HandshakeError {
  constructor(readonly consumed: ConsumedInitiation) {
    super('HANDSHAKE_KEY_NOT_ALLOWED', 'HANDSHAKE_INIT: initiator key not allowed');
  }
}

export interface ResponderOptions {
  /** Allow-list of initiator static keys; absent = any key that knows the network psk. */
  allowedKeys?: (pub: Uint8Array) => boolean;
  /** Overrides HANDSHAKE_MAX_CLOCK_SKEW_MS (Infinity disables the stale check). */
  maxClockSkewMs?: number;
}

/** What the responder keeps per initiator key that completed a consume: the newest timestamp
 * accepted (replay protection) and DH(our static, its static), which never changes. */
interface KnownInitiator {
  timestamp: Uint8Array;
  staticShared: Uint8Array;
}

/** The responder side for one local identity. Remembers the newest timestamp accepted per initiator
 * key (replay protection); a new instance (a restart) starts empty, which HANDSHAKE_STALE bounds. */
export class HandshakeResponder {
  private readonly mac1KeyOwn: Uint8Array;
  private readonly hashOwn: Uint8Array;
  private readonly privateKey: Uint8Array;
  private readonly known = new Map<string, KnownInitiator>();
  private readonly maxSkewMs: number;
  private readonly n: Noise;

  constructor(
    readonly identity: HandshakeIdentity,
    private readonly opts: ResponderOptions = {},
  ) {
    this.n = noiseOf(identity);
    this.mac1KeyOwn = mac1Key(identity.psk, identity.keyPair.publicKey, this.n);
    this.hashOwn = this.n.hash(INITIAL_HASH, identity.keyPair.publicKey);
    this.privateKey = identity.keyPair.privateKey;
    this.maxSkewMs = opts.maxClockSkewMs ?? HANDSHAKE_MAX_CLOCK_SKEW_MS;
  }

  /** Cheap filter (one HMAC, no DH): right size and type, and mac1 proves the sender knows the psk
   * and our static key. Runtimes call this before any rate-limited work. */
  checkMac1(message: Uint8Array): boolean {
    if (message.byteLength !== HANDSHAKE_INIT_SIZE || message[0] !== MessageType.HandshakeInit) return false;
    const mac1 = mac1Of(this.n, this.mac1KeyOwn, message, INIT_MAC1_OFFSET);
    return bytesEqual(mac1, message.subarray(INIT_MAC1_OFFSET, INIT_MAC1_OFFSET + MAC_SIZE));
  }

  /** Verifies an initiation. Throws HandshakeError: HANDSHAKE_SHORT/LONG/TYPE, HANDSHAKE_BAD_MAC
   * (wrong psk or not addressed to our key), HANDSHAKE_DECRYPT, HANDSHAKE_BAD_KEY,
   * HANDSHAKE_KEY_NOT_ALLOWED, HANDSHAKE_REPLAY (timestamp not newer than the last accepted from that
   * key), HANDSHAKE_STALE (timestamp more than maxClockSkewMs from `wallMs` either way). */
  consumeInitiation(message: Uint8Array, wallMs: number): ConsumedInitiation {
    checkFrame(message, MessageType.HandshakeInit, HANDSHAKE_INIT_SIZE, 'HANDSHAKE_INIT');
    if (!this.checkMac1(message)) fail('HANDSHAKE_BAD_MAC', 'HANDSHAKE_INIT: bad mac1 (wrong network secret or responder key)');
    const n = this.n;
    const remoteIndex = new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(4, true);
    const ei = message.slice(8, 40);
    let [c] = n.kdf(1, INITIAL_CHAIN, ei) as [Uint8Array];
    let h = n.hash(this.hashOwn, ei);
    let k: Uint8Array;
    [c, k] = n.kdf(2, c, dhOrFail(n, this.privateKey, ei)) as [Uint8Array, Uint8Array];
    const encryptedStatic = message.subarray(40, 88);
    const remoteStatic = n.aeadOpen(k, 0, encryptedStatic, h) ?? fail('HANDSHAKE_DECRYPT', 'HANDSHAKE_INIT: static key does not decrypt');
    h = n.hash(h, encryptedStatic);
    const keyId = Buffer.from(remoteStatic).toString('hex');
    const known = this.known.get(keyId);
    const ss = known?.staticShared ?? dhOrFail(n, this.privateKey, remoteStatic);
    [c, k] = n.kdf(2, c, ss) as [Uint8Array, Uint8Array];
    const encryptedTimestamp = message.subarray(88, 116);
    const ts = n.aeadOpen(k, 0, encryptedTimestamp, h) ?? fail('HANDSHAKE_DECRYPT', 'HANDSHAKE_INIT: timestamp does not decrypt');
    h = n.hash(h, encryptedTimestamp);
    if (known !== undefined && compareBytes(ts, known.timestamp) <= 0) fail('HANDSHAKE_REPLAY', 'HANDSHAKE_INIT: timestamp not newer than the last accepted');
    const tsMs = tai64nToMs(ts);
    if (!(Math.abs(tsMs - wallMs) <= this.maxSkewMs)) throw new HandshakeStaleError(new Uint8Array(remoteStatic), tsMs - wallMs);
    const consumed = new ConsumedInitiation(new Uint8Array(remoteStatic), remoteIndex, tsMs, c, h, ei);
    // Checked last, and nothing is remembered for a refused key: a stranger leaves no state here.
    if (this.opts.allowedKeys && !this.opts.allowedKeys(remoteStatic)) throw new HandshakeKeyNotAllowedError(consumed);
    this.known.set(keyId, { timestamp: new Uint8Array(ts), staticShared: ss });
    return consumed;
  }

  /** Builds the HANDSHAKE_RESP and the responder's keys. `senderIndex` is our fresh local index. */
  createResponse(consumed: ConsumedInitiation, senderIndex: number, hooks?: HandshakeTestHooks): { message: Uint8Array; keys: TransportKeys } {
    if (consumed.used) fail('HANDSHAKE_USED', 'initiation already answered');
    consumed.used = true;
    const n = this.n;
    const e = ephemeralOf(n, hooks);
    let [c] = n.kdf(1, consumed.chainingKey, e.publicKey) as [Uint8Array];
    let h = n.hash(consumed.hashState, e.publicKey);
    [c] = n.kdf(1, c, dhOrFail(n, e.privateKey, consumed.remoteEphemeral)) as [Uint8Array];
    [c] = n.kdf(1, c, dhOrFail(n, e.privateKey, consumed.remoteStatic)) as [Uint8Array];
    const [c3, t, k] = n.kdf(3, c, this.identity.psk) as [Uint8Array, Uint8Array, Uint8Array];
    h = n.hash(h, t);
    const encryptedNothing = n.aeadSeal(k, 0, EMPTY, h);
    const message = encodeHandshakeResp({
      senderIndex,
      receiverIndex: consumed.remoteIndex,
      ephemeral: e.publicKey,
      encryptedNothing,
      mac1: new Uint8Array(MAC_SIZE),
      mac2: new Uint8Array(MAC_SIZE),
    });
    message.set(mac1Of(n, mac1Key(this.identity.psk, consumed.remoteStatic, n), message, RESP_MAC1_OFFSET), RESP_MAC1_OFFSET);
    const [recvKey, sendKey] = n.kdf(2, c3, EMPTY) as [Uint8Array, Uint8Array];
    return {
      message,
      keys: { sendKey, recvKey, localIndex: senderIndex >>> 0, remoteIndex: consumed.remoteIndex, remoteStatic: consumed.remoteStatic, isInitiator: false },
    };
  }

  /** Forgets what it kept for a key (e.g. when a peer is removed from the network). */
  forget(remoteStatic: Uint8Array): void {
    this.known.delete(Buffer.from(remoteStatic).toString('hex'));
  }
}
