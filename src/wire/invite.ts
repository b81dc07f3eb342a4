// Invites (issue 25, PROTOCOL.md "Invites"): the token `meshd hub invite` prints and the three
// pre-handshake outer messages that redeem it (types 7-9). Pure codecs; the Noise handshake inside
// JOIN_INIT/JOIN_RESP is src/crypto/handshake.ts keyed with the invite psk (src/crypto/invite.ts).
//
// Token text: "meshd1-" + base64url(no padding) of
//   0   version u8 = 1
//   1   network_id [8]       the network's id (crypto/invite.ts networkIdOf(psk))
//   9   hub_key [32]         the hub's static public key, pinned by the redeemer
//   41  invite_id [8]        random; the hub's key into invites.json
//   49  secret [32]          random; never sent: the invite psk is derived from it
//   81  addr_count u8 (0-4), then per address: len u8 (1-64) | "host:port" ASCII
//   ..  crc32 [4] BE         over every byte before it (catches a mangled copy-paste)
//
// JOIN_INIT (type 7), 256 bytes       JOIN_RESP (type 8), 96+32..256     JOIN_REFUSED (type 9), 32
//   0   7 | 0 | 0 | 0                   0  8 | 0 | 0 | 0                  0  9 | 0 | 0 | 0
//   4   network_id [8]                  4  HANDSHAKE_RESP [92]            4  network_id [8]
//   12  invite_id [8]                   96 TRANSPORT datagram (sealed     12 invite_id [8]
//   20  HANDSHAKE_INIT [148]               JoinResult, >= 32 bytes)       20 reason u8
//   168 zero padding [88]: the hub never answers more bytes than it got  21 zero [11]
//
// JoinResult (the plaintext in JOIN_RESP's transport datagram):
//   0 status u8 (0 = OK, else a JoinRefusal)
//   OK:      network_psk [32] | network u32 BE | prefix u8 | name_len u8 | name ([A-Za-z0-9_-]*)
//   refused: text_len u8 | text (UTF-8, for the redeemer's log)
import { DecodeError } from '../util/errors.js';
import { HANDSHAKE_INIT_SIZE, HANDSHAKE_RESP_SIZE, JOIN_INIT_SIZE, JOIN_REFUSED_SIZE, MessageType, TRANSPORT_MIN_SIZE } from './outer.js';

export { JOIN_INIT_SIZE, JOIN_REFUSED_SIZE };

export const TOKEN_PREFIX = 'meshd1-';
export const TOKEN_VERSION = 1;
export const NETWORK_ID_SIZE = 8;
export const INVITE_ID_SIZE = 8;
export const INVITE_SECRET_SIZE = 32;
/** Protocol: at most this many hub addresses in a token, each at most this long. */
export const TOKEN_MAX_ADDRESSES = 4;
export const TOKEN_MAX_ADDRESS_CHARS = 64;
export const JOIN_RESP_MIN_SIZE = 4 + HANDSHAKE_RESP_SIZE + TRANSPORT_MIN_SIZE;
/** Protocol: JOIN_RESP is never larger than the JOIN_INIT it answers (no amplification). */
export const JOIN_RESP_MAX_SIZE = JOIN_INIT_SIZE;

/** Why a redemption was refused. Both sides must agree on the numbers. */
export enum JoinRefusal {
  UNKNOWN_INVITE = 1,
  OTHER_NETWORK = 2,
  USED = 3,
  EXPIRED = 4,
  WRONG_KEY = 5,
  REVOKED = 6,
  HUB_ERROR = 7,
}

export const joinRefusalName: Readonly<Record<JoinRefusal, string>> = {
  [JoinRefusal.UNKNOWN_INVITE]: 'UNKNOWN_INVITE',
  [JoinRefusal.OTHER_NETWORK]: 'OTHER_NETWORK',
  [JoinRefusal.USED]: 'USED',
  [JoinRefusal.EXPIRED]: 'EXPIRED',
  [JoinRefusal.WRONG_KEY]: 'WRONG_KEY',
  [JoinRefusal.REVOKED]: 'REVOKED',
  [JoinRefusal.HUB_ERROR]: 'HUB_ERROR',
};

export interface InviteToken {
  networkId: Uint8Array; // 8
  hubKey: Uint8Array; // 32
  inviteId: Uint8Array; // 8
  secret: Uint8Array; // 32
  /** "host:port" of the hub, tried in order (may be empty: the redeemer then needs --hub). */
  addresses: string[];
}

// ---- CRC-32 (IEEE), table-driven ----
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(d: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < d.byteLength; i++) c = CRC_TABLE[(c ^ d[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function fixed(name: string, v: Uint8Array, size: number): Uint8Array {
  if (v.byteLength !== size) throw new RangeError(`${name} must be ${size} bytes`);
  return v;
}

const addressPattern = /^[A-Za-z0-9.:\-[\]]+:\d{1,5}$/;

/** The token's bytes (without the text prefix). */
export function encodeTokenBytes(t: InviteToken): Uint8Array {
  if (t.addresses.length > TOKEN_MAX_ADDRESSES) throw new RangeError(`at most ${TOKEN_MAX_ADDRESSES} hub addresses`);
  const addrs = t.addresses.map((a) => {
    if (a.length === 0 || a.length > TOKEN_MAX_ADDRESS_CHARS || !addressPattern.test(a)) throw new RangeError(`bad hub address "${a}"`);
    return Buffer.from(a, 'ascii');
  });
  const size = 82 + addrs.reduce((n, a) => n + 1 + a.byteLength, 0) + 4;
  const out = new Uint8Array(size);
  out[0] = TOKEN_VERSION;
  out.set(fixed('networkId', t.networkId, NETWORK_ID_SIZE), 1);
  out.set(fixed('hubKey', t.hubKey, 32), 9);
  out.set(fixed('inviteId', t.inviteId, INVITE_ID_SIZE), 41);
  out.set(fixed('secret', t.secret, INVITE_SECRET_SIZE), 49);
  out[81] = addrs.length;
  let at = 82;
  for (const a of addrs) {
    out[at++] = a.byteLength;
    out.set(a, at);
    at += a.byteLength;
  }
  new DataView(out.buffer).setUint32(at, crc32(out.subarray(0, at)), false);
  return out;
}

export function decodeTokenBytes(d: Uint8Array): InviteToken {
  if (d.byteLength < 86) throw new DecodeError(`invite token: ${d.byteLength} bytes, too short`, 'TOKEN_TRUNCATED');
  const body = d.subarray(0, d.byteLength - 4);
  const want = new DataView(d.buffer, d.byteOffset, d.byteLength).getUint32(d.byteLength - 4, false);
  if (crc32(body) !== want) throw new DecodeError('invite token: checksum mismatch (truncated or mistyped)', 'TOKEN_CHECKSUM');
  if (d[0] !== TOKEN_VERSION) throw new DecodeError(`invite token: version ${d[0]} (this meshd reads ${TOKEN_VERSION})`, 'TOKEN_VERSION');
  const count = d[81]!;
  if (count > TOKEN_MAX_ADDRESSES) throw new DecodeError(`invite token: ${count} addresses`, 'TOKEN_MALFORMED');
  const addresses: string[] = [];
  let at = 82;
  for (let i = 0; i < count; i++) {
    if (at >= body.byteLength) throw new DecodeError('invite token: address list runs past the end', 'TOKEN_MALFORMED');
    const n = body[at++]!;
    if (n === 0 || n > TOKEN_MAX_ADDRESS_CHARS || at + n > body.byteLength) throw new DecodeError('invite token: bad address length', 'TOKEN_MALFORMED');
    const a = Buffer.from(body.subarray(at, at + n)).toString('latin1');
    if (!addressPattern.test(a)) throw new DecodeError('invite token: bad address', 'TOKEN_MALFORMED');
    addresses.push(a);
    at += n;
  }
  if (at !== body.byteLength) throw new DecodeError('invite token: trailing bytes', 'TOKEN_MALFORMED');
  return { networkId: d.slice(1, 9), hubKey: d.slice(9, 41), inviteId: d.slice(41, 49), secret: d.slice(49, 81), addresses };
}

/** "meshd1-<base64url>". */
export function encodeInviteToken(t: InviteToken): string {
  return TOKEN_PREFIX + Buffer.from(encodeTokenBytes(t)).toString('base64url');
}

/** Parses the token text (surrounding whitespace ignored); DecodeError with code TOKEN_* otherwise. */
export function decodeInviteToken(text: string): InviteToken {
  const s = text.trim();
  if (!s.startsWith(TOKEN_PREFIX)) throw new DecodeError(`invite token: must start with ${TOKEN_PREFIX}`, 'TOKEN_PREFIX');
  const b64 = s.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(b64) || b64.length > 1024) throw new DecodeError('invite token: not base64url', 'TOKEN_MALFORMED');
  return decodeTokenBytes(new Uint8Array(Buffer.from(b64, 'base64url')));
}

// ---- JOIN messages ----

export interface JoinInit {
  networkId: Uint8Array;
  inviteId: Uint8Array;
  /** A complete HANDSHAKE_INIT datagram (148 bytes). */
  handshake: Uint8Array;
}

export function encodeJoinInit(m: JoinInit): Uint8Array {
  const out = new Uint8Array(JOIN_INIT_SIZE);
  out[0] = MessageType.JoinInit;
  out.set(fixed('networkId', m.networkId, NETWORK_ID_SIZE), 4);
  out.set(fixed('inviteId', m.inviteId, INVITE_ID_SIZE), 12);
  out.set(fixed('handshake', m.handshake, HANDSHAKE_INIT_SIZE), 20);
  return out;
}

function checkHeader(d: Uint8Array, type: MessageType, name: string): void {
  if (d[0] !== type || d[1] !== 0 || d[2] !== 0 || d[3] !== 0) throw new DecodeError(`${name}: bad type or reserved bytes`);
}

export function decodeJoinInit(d: Uint8Array): JoinInit {
  if (d.byteLength !== JOIN_INIT_SIZE) throw new DecodeError(`JOIN_INIT: ${d.byteLength} bytes, want ${JOIN_INIT_SIZE}`);
  checkHeader(d, MessageType.JoinInit, 'JOIN_INIT');
  for (let i = 20 + HANDSHAKE_INIT_SIZE; i < JOIN_INIT_SIZE; i++) if (d[i] !== 0) throw new DecodeError('JOIN_INIT: padding not zero');
  return { networkId: d.slice(4, 12), inviteId: d.slice(12, 20), handshake: d.slice(20, 20 + HANDSHAKE_INIT_SIZE) };
}

export interface JoinResp {
  /** A complete HANDSHAKE_RESP datagram (92 bytes). */
  handshake: Uint8Array;
  /** A complete TRANSPORT datagram sealing a JoinResult. */
  sealed: Uint8Array;
}

export function encodeJoinResp(m: JoinResp): Uint8Array {
  const size = 4 + HANDSHAKE_RESP_SIZE + m.sealed.byteLength;
  if (m.sealed.byteLength < TRANSPORT_MIN_SIZE || size > JOIN_RESP_MAX_SIZE) throw new RangeError(`JOIN_RESP of ${size} bytes`);
  const out = new Uint8Array(size);
  out[0] = MessageType.JoinResp;
  out.set(fixed('handshake', m.handshake, HANDSHAKE_RESP_SIZE), 4);
  out.set(m.sealed, 4 + HANDSHAKE_RESP_SIZE);
  return out;
}

export function decodeJoinResp(d: Uint8Array): JoinResp {
  if (d.byteLength < JOIN_RESP_MIN_SIZE || d.byteLength > JOIN_RESP_MAX_SIZE) throw new DecodeError(`JOIN_RESP: ${d.byteLength} bytes`);
  checkHeader(d, MessageType.JoinResp, 'JOIN_RESP');
  return { handshake: d.slice(4, 4 + HANDSHAKE_RESP_SIZE), sealed: d.slice(4 + HANDSHAKE_RESP_SIZE) };
}

export interface JoinRefused {
  networkId: Uint8Array;
  inviteId: Uint8Array;
  reason: JoinRefusal;
}

export function encodeJoinRefused(m: JoinRefused): Uint8Array {
  const out = new Uint8Array(JOIN_REFUSED_SIZE);
  out[0] = MessageType.JoinRefused;
  out.set(fixed('networkId', m.networkId, NETWORK_ID_SIZE), 4);
  out.set(fixed('inviteId', m.inviteId, INVITE_ID_SIZE), 12);
  out[20] = m.reason;
  return out;
}

export function decodeJoinRefused(d: Uint8Array): JoinRefused {
  if (d.byteLength !== JOIN_REFUSED_SIZE) throw new DecodeError(`JOIN_REFUSED: ${d.byteLength} bytes, want ${JOIN_REFUSED_SIZE}`);
  checkHeader(d, MessageType.JoinRefused, 'JOIN_REFUSED');
  const reason = d[20]!;
  if (joinRefusalName[reason as JoinRefusal] === undefined) throw new DecodeError(`JOIN_REFUSED: unknown reason ${reason}`);
  for (let i = 21; i < JOIN_REFUSED_SIZE; i++) if (d[i] !== 0) throw new DecodeError('JOIN_REFUSED: padding not zero');
  return { networkId: d.slice(4, 12), inviteId: d.slice(12, 20), reason };
}

// ---- JoinResult ----

export type JoinResult =
  | { ok: true; networkPsk: Uint8Array; network: number; prefix: number; name: string }
  | { ok: false; reason: JoinRefusal; text: string };

/** Protocol: the longest name and refusal text a JoinResult carries (keeps JOIN_RESP <= 256). */
export const JOIN_NAME_MAX = 32;
export const JOIN_TEXT_MAX = 100;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeJoinResult(r: JoinResult): Uint8Array {
  if (r.ok) {
    if (!/^[A-Za-z0-9_-]*$/.test(r.name)) throw new RangeError('name must be letters, digits, - or _');
    const name = Buffer.from(r.name, 'latin1');
    if (name.byteLength > JOIN_NAME_MAX) throw new RangeError('name too long');
    if (r.prefix < 0 || r.prefix > 32) throw new RangeError('prefix');
    const out = new Uint8Array(1 + 32 + 4 + 1 + 1 + name.byteLength);
    out[0] = 0;
    out.set(fixed('networkPsk', r.networkPsk, 32), 1);
    new DataView(out.buffer).setUint32(33, r.network >>> 0, false);
    out[37] = r.prefix;
    out[38] = name.byteLength;
    out.set(name, 39);
    return out;
  }
  // Cut at a character boundary so the receiver's strict UTF-8 decoding accepts it.
  let text = Buffer.from(r.text, 'utf8');
  while (text.byteLength > JOIN_TEXT_MAX) text = Buffer.from(r.text.slice(0, Math.floor(r.text.length * 0.9)), 'utf8');
  const out = new Uint8Array(2 + text.byteLength);
  out[0] = r.reason;
  out[1] = text.byteLength;
  out.set(text, 2);
  return out;
}

export function decodeJoinResult(d: Uint8Array): JoinResult {
  if (d.byteLength < 2) throw new DecodeError('JoinResult: too short');
  const status = d[0]!;
  if (status === 0) {
    if (d.byteLength < 39) throw new DecodeError('JoinResult: OK too short');
    const n = d[38]!;
    if (n > JOIN_NAME_MAX || d.byteLength !== 39 + n) throw new DecodeError('JoinResult: bad name length');
    const prefix = d[37]!;
    if (prefix > 32) throw new DecodeError('JoinResult: bad prefix');
    const name = Buffer.from(d.subarray(39)).toString('latin1');
    if (!/^[A-Za-z0-9_-]*$/.test(name)) throw new DecodeError('JoinResult: bad name');
    return { ok: true, networkPsk: d.slice(1, 33), network: new DataView(d.buffer, d.byteOffset, d.byteLength).getUint32(33, false), prefix, name };
  }
  if (joinRefusalName[status as JoinRefusal] === undefined) throw new DecodeError(`JoinResult: unknown status ${status}`);
  const n = d[1]!;
  if (n > JOIN_TEXT_MAX || d.byteLength !== 2 + n) throw new DecodeError('JoinResult: bad text length');
  let text: string;
  try {
    text = utf8.decode(d.subarray(2));
  } catch {
    throw new DecodeError('JoinResult: text is not UTF-8');
  }
  return { ok: false, reason: status as JoinRefusal, text };
}
