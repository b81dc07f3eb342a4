// Redeeming an invite (`meshd peer --join TOKEN`, PROTOCOL.md "Invites"): JOIN_INIT to the hub the
// token names, retried with a fresh handshake each time, until a JOIN_RESP opens (the hub proved it
// holds the pinned key and the invite) or a JOIN_REFUSED for this invite arrives, or the attempts
// run out. Runs on its own UDP socket before the daemon starts; the daemon then runs on what
// join-store.ts saved. Time is the injected Clock; nothing here throws out of the socket handler.
import type { CryptoBackends } from '../crypto/backends.js';
import { finishJoin, startJoin, type JoinAttempt } from '../crypto/invite.js';
import type { StaticKeyPair } from '../crypto/keys.js';
import { sameEndpoint, type Endpoint, type UdpSocket } from '../net/udp.js';
import type { Clock, TimerHandle, WallClock } from '../util/clock.js';
import { bytesEqual } from '../util/bytes.js';
import { MeshdError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { decodeJoinRefused, joinRefusalName, JoinRefusal, type InviteToken, type JoinResult } from '../wire/invite.js';
import { MessageType, messageTypeOf } from '../wire/outer.js';

/** Local tuning: a JOIN_INIT is resent after this long without an answer, this many times. */
export const joinRetryMs = 1_000;
export const joinAttempts = 10;

/** A redemption that did not succeed; `code` is JOIN_<REASON> (JOIN_USED, JOIN_EXPIRED...) or
 * JOIN_TIMEOUT, the message says why in words. */
export class JoinError extends MeshdError {}

export function refusalError(reason: JoinRefusal, text: string, authenticated: boolean): JoinError {
  const said = text !== '' ? text : ({
    [JoinRefusal.UNKNOWN_INVITE]: 'the hub knows no such invite (mistyped, or made by another hub)',
    [JoinRefusal.OTHER_NETWORK]: 'the token is for another network than this hub serves',
  } as Partial<Record<JoinRefusal, string>>)[reason] ?? joinRefusalName[reason];
  return new JoinError(`JOIN_${joinRefusalName[reason]}`, `invite refused by the hub: ${said}${authenticated ? '' : ' (unauthenticated answer)'}`);
}

export interface RedeemOptions {
  udp: UdpSocket;
  hub: Endpoint;
  token: InviteToken;
  keyPair: StaticKeyPair;
  clock: Clock;
  wallClock: WallClock;
  log: Logger;
  crypto?: CryptoBackends;
  retryMs?: number;
  attempts?: number;
  randomU32?: () => number;
}

/** Resolves with the hub's credentials (JoinResult ok) or rejects with a JoinError. */
export function redeemInvite(o: RedeemOptions): Promise<Extract<JoinResult, { ok: true }>> {
  const retryMs = o.retryMs ?? joinRetryMs;
  const maxAttempts = o.attempts ?? joinAttempts;
  const rnd = o.randomU32 ?? (() => (Math.random() * 2 ** 32) >>> 0);
  return new Promise((resolve, reject) => {
    const attempts: JoinAttempt[] = [];
    let timer: TimerHandle | undefined;
    let done = false;
    const finish = (f: () => void): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) o.clock.clearTimer(timer);
      f();
    };
    const send = (): void => {
      if (done) return;
      if (attempts.length >= maxAttempts) {
        return finish(() => reject(new JoinError('JOIN_TIMEOUT', `no answer from the hub at ${o.hub.address}:${o.hub.port} after ${maxAttempts} tries`)));
      }
      const a = startJoin(o.keyPair, o.token, rnd(), o.wallClock(), o.crypto?.noise);
      attempts.push(a);
      o.udp.send(a.datagram, o.hub);
      o.log.debug({ attempt: attempts.length, hub: `${o.hub.address}:${o.hub.port}` }, 'join: JOIN_INIT sent');
      timer = o.clock.setTimer(retryMs, send);
    };
    o.udp.onMessage((data, from) => {
      if (done || !sameEndpoint(from, o.hub)) return;
      const d = new Uint8Array(data);
      const type = messageTypeOf(d);
      if (type === MessageType.JoinRefused) {
        let m;
        try {
          m = decodeJoinRefused(d);
        } catch {
          return;
        }
        if (!bytesEqual(m.inviteId, o.token.inviteId) || !bytesEqual(m.networkId, o.token.networkId)) return;
        return finish(() => reject(refusalError(m.reason, '', false)));
      }
      if (type !== MessageType.JoinResp) return;
      for (const a of attempts) {
        if (a.pending.used) continue;
        let r: JoinResult;
        try {
          r = finishJoin(a, d, o.clock.now(), o.crypto?.aead);
        } catch {
          continue;
        }
        return finish(() => (r.ok ? resolve(r) : reject(refusalError(r.reason, r.text, true))));
      }
      o.log.debug('join: a JOIN_RESP that opens with none of our attempts; ignored');
    });
    send();
  });
}
