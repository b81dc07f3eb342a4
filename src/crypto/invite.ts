// The cryptography of invites (PROTOCOL.md "Invites"): the network id a token names, the invite psk
// derived from the token's secret, and both halves of the redemption, which is the ordinary Noise
// IKpsk2 handshake (handshake.ts) keyed with the invite psk instead of the network psk, to the hub
// key the token pins. The token secret never crosses the wire; the redeemer's static key is bound in
// the handshake, so a captured JOIN_INIT replayed from elsewhere yields nothing decryptable.
// Used by peer/join.ts (redeemer) and hub/invite-redeemer.ts (hub). Pure: time comes in.
import { hkdfSync } from 'node:crypto';
import { decodeInviteToken, decodeJoinResp, decodeJoinResult, encodeJoinInit, encodeJoinResp, encodeJoinResult, type InviteToken, type JoinResult } from '../wire/invite.js';
import { consumeResponse, createInitiation, HandshakeResponder, type ConsumedInitiation, type PendingInitiation } from './handshake.js';
import type { StaticKeyPair } from './keys.js';
import { NODE_NOISE, type Noise } from './noise.js';
import { TransportSession, type AeadBackend } from './session.js';
import { MeshdError } from '../util/errors.js';

const NETWORK_ID_INFO = Buffer.from('meshd v1 network id');
const INVITE_SALT = Buffer.from('meshd v1 invite');

/** The network's public id (8 bytes): HKDF(psk, info "meshd v1 network id"). Names the network in
 * tokens; reveals nothing about the psk. */
export function networkIdOf(psk: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', psk, Buffer.alloc(0), NETWORK_ID_INFO, 8));
}

/** The invite psk: HKDF-SHA256(ikm = token secret, salt = "meshd v1 invite", info = invite id, 32).
 * The hub stores this (never the secret itself), the redeemer derives it from the token. */
export function invitePsk(secret: Uint8Array, inviteId: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, INVITE_SALT, inviteId, 32));
}

/** The token's text as the redeemer gives it (wire/invite.ts decodeInviteToken; DecodeError TOKEN_*). */
export function readInviteToken(text: string): InviteToken {
  return decodeInviteToken(text);
}

/** The redeemer's state between JOIN_INIT and JOIN_RESP. */
export interface JoinAttempt {
  readonly datagram: Uint8Array;
  readonly pending: PendingInitiation;
}

/** Builds a JOIN_INIT for `token` from our static key. */
export function startJoin(keyPair: StaticKeyPair, token: InviteToken, senderIndex: number, wallMs: number, noise: Noise = NODE_NOISE): JoinAttempt {
  const psk = invitePsk(token.secret, token.inviteId);
  const { message, pending } = createInitiation({ keyPair, psk, noise }, token.hubKey, senderIndex, wallMs);
  return { datagram: encodeJoinInit({ networkId: token.networkId, inviteId: token.inviteId, handshake: message }), pending };
}

/** Opens a JOIN_RESP: the handshake (proves the hub holds the pinned key and the invite psk), then the
 * sealed JoinResult. Throws DecodeError or HandshakeError (HANDSHAKE_* codes), JOIN_SEAL when the
 * result does not open. */
export function finishJoin(attempt: JoinAttempt, d: Uint8Array, nowMs: number, aead?: AeadBackend | null): JoinResult {
  const m = decodeJoinResp(d);
  const keys = consumeResponse(attempt.pending, m.handshake);
  const pt = new TransportSession(keys, nowMs, 0, aead).open(m.sealed, nowMs);
  if (pt === undefined) throw new MeshdError('JOIN_SEAL', 'JOIN_RESP: the result does not open');
  return decodeJoinResult(pt);
}

/** Hub: verifies the handshake in a JOIN_INIT against one invite's psk. Throws HandshakeError
 * (HANDSHAKE_BAD_MAC for a forged or other-invite message, HANDSHAKE_STALE for an old one...). */
export function openJoin(keyPair: StaticKeyPair, psk: Uint8Array, handshake: Uint8Array, wallMs: number, noise: Noise = NODE_NOISE): { consumed: ConsumedInitiation; responder: HandshakeResponder } {
  const responder = new HandshakeResponder({ keyPair, psk, noise });
  return { consumed: responder.consumeInitiation(handshake, wallMs), responder };
}

/** Hub: the JOIN_RESP carrying `result`, sealed on the session of this one handshake. */
export function answerJoin(opened: { consumed: ConsumedInitiation; responder: HandshakeResponder }, result: JoinResult, senderIndex: number, nowMs: number, aead?: AeadBackend | null): Uint8Array {
  const { message, keys } = opened.responder.createResponse(opened.consumed, senderIndex);
  const sealed = new TransportSession(keys, nowMs, 0, aead).seal(encodeJoinResult(result), nowMs);
  if (sealed === undefined) throw new MeshdError('JOIN_SEAL', 'cannot seal the join result');
  return encodeJoinResp({ handshake: message, sealed });
}
