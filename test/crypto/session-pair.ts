// Builds a pair of TransportSessions from a real handshake (alice initiates to bob).
import { createInitiation, consumeResponse, HandshakeResponder } from '../../src/crypto/handshake.js';
import { TransportSession } from '../../src/crypto/session.js';
import { identity, WALL } from './helpers.js';

export function sessionPair(nowMs = 0, indices: [number, number] = [1, 2], wall = WALL): { a: TransportSession; b: TransportSession } {
  const alice = identity(1);
  const bob = identity(2);
  const r = new HandshakeResponder(bob, { maxClockSkewMs: Infinity });
  const i = createInitiation(alice, bob.keyPair.publicKey, indices[0], wall);
  const resp = r.createResponse(r.consumeInitiation(i.message, wall), indices[1]);
  return { a: new TransportSession(consumeResponse(i.pending, resp.message), nowMs), b: new TransportSession(resp.keys, nowMs) };
}
