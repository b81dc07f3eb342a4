// The hub's side of invite redemption (PROTOCOL.md "Invites"): JOIN_INIT datagrams from the link's
// demux (link.ts onJoin), cheapest check first: framing, the per-IP and total rate limits, the
// network id and invite id (answered with an unauthenticated JOIN_REFUSED: the hub holds no psk to
// sign with), then the Noise handshake under that invite's psk (a forged or truncated one costs a
// DH at most and gets no answer), replay of an accepted initiation, the decision (invite-decide.ts),
// the use consumed in invites.json before the answer, and the JOIN_RESP with the network credentials
// (or the refusal) sealed to the redeemer's key. Every drop is counted by reason; nothing throws.
import type { CryptoBackends } from '../crypto/backends.js';
import { answerJoin, openJoin } from '../crypto/invite.js';
import type { StaticKeyPair } from '../crypto/keys.js';
import { keyId } from '../link/key-id.js';
import { pathKey, type Path } from '../link/path.js';
import { KeyedRateLimiter } from '../link/rate-limit.js';
import type { Clock, WallClock } from '../util/clock.js';
import { bytesEqual } from '../util/bytes.js';
import { MeshdError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { TokenBucket } from '../util/token-bucket.js';
import { decodeJoinInit, encodeJoinRefused, JoinRefusal, joinRefusalName, type JoinResult } from '../wire/invite.js';
import { decideRedemption } from './invite-decide.js';
import type { InviteStore } from './invite-store.js';

/** Local tuning: redemptions per source IP (a person pasting a token retries a few times). */
export const joinPerIpPerSec = 1;
export const joinPerIpBurst = 5;
/** Local tuning: redemptions in total, each at most one DH and one fsync. */
export const joinTotalPerSec = 20;
export const joinTotalBurst = 40;
const joinSourcesMax = 4096;

export type JoinDrop = 'malformed' | 'rate_limited' | 'other_network' | 'unknown_invite' | 'forged' | 'stale' | 'replayed' | 'refused' | 'write_failed';

export interface InviteRedeemerOptions {
  store: InviteStore;
  keyPair: StaticKeyPair;
  networkId: Uint8Array;
  networkPsk: Uint8Array;
  network: { address: number; prefix: number };
  crypto: CryptoBackends;
  clock: Clock;
  wallClock: WallClock;
  log: Logger;
  randomU32: () => number;
  transmit(d: Uint8Array, to: Path): void;
  isRevoked(keyId: string): boolean;
  /** A key was enrolled (first redemption). */
  onEnrolled?(keyId: string, name: string): void;
}

export class InviteRedeemer {
  readonly drops: Record<JoinDrop, number> = { malformed: 0, rate_limited: 0, other_network: 0, unknown_invite: 0, forged: 0, stale: 0, replayed: 0, refused: 0, write_failed: 0 };
  readonly stats = { redeemed: 0, answeredAgain: 0 };
  private readonly perIp = new KeyedRateLimiter(joinPerIpPerSec, joinPerIpBurst, { maxKeys: joinSourcesMax });
  private readonly total: TokenBucket;
  /** Newest accepted initiation timestamp per invite (replay of a captured JOIN_INIT). */
  private readonly lastTimestamp = new Map<string, number>();

  constructor(private readonly o: InviteRedeemerOptions) {
    this.total = new TokenBucket(joinTotalPerSec, joinTotalBurst, o.clock.now());
  }

  private drop(reason: JoinDrop, fields: Record<string, unknown> = {}): void {
    this.drops[reason]++;
    if (this.o.log.isLevelEnabled('debug')) this.o.log.debug({ reason, ...fields }, 'invite: JOIN_INIT dropped');
  }

  receive(d: Uint8Array, from: Path): void {
    try {
      this.handle(d, from);
    } catch (err) {
      this.drop('malformed');
      this.o.log.warn({ err }, 'invite: handler error (bug)');
    }
  }

  private handle(d: Uint8Array, from: Path): void {
    const o = this.o;
    let m;
    try {
      m = decodeJoinInit(d);
    } catch {
      return this.drop('malformed');
    }
    const now = o.clock.now();
    const source = from.kind === 'udp' ? from.endpoint.address : pathKey(from);
    if (!this.perIp.take(source, now) || !this.total.take(now)) return this.drop('rate_limited', { from: source });
    const refuse = (reason: JoinRefusal): void => o.transmit(encodeJoinRefused({ networkId: m.networkId, inviteId: m.inviteId, reason }), from);
    if (!bytesEqual(m.networkId, o.networkId)) {
      this.drop('other_network', { from: source });
      return refuse(JoinRefusal.OTHER_NETWORK);
    }
    const id = Buffer.from(m.inviteId).toString('hex');
    const inv = o.store.get(id);
    if (!inv) {
      this.drop('unknown_invite', { from: source, invite: id });
      return refuse(JoinRefusal.UNKNOWN_INVITE);
    }
    let opened;
    try {
      opened = openJoin(o.keyPair, inv.psk, m.handshake, o.wallClock(), o.crypto.noise);
    } catch (err) {
      const code = err instanceof MeshdError ? err.code : 'unknown';
      return this.drop(code === 'HANDSHAKE_STALE' ? 'stale' : 'forged', { from: source, invite: id, code });
    }
    const key = keyId(opened.consumed.remoteStatic);
    const last = this.lastTimestamp.get(id);
    if (last !== undefined && opened.consumed.timestampMs <= last) return this.drop('replayed', { from: source, invite: id });
    this.lastTimestamp.set(id, opened.consumed.timestampMs);
    const wall = o.wallClock();
    const decision = decideRedemption(inv, key, o.isRevoked(key), wall);
    let result: JoinResult;
    if (decision.kind === 'refuse') {
      this.drop('refused', { from: source, invite: id, reason: joinRefusalName[decision.reason] });
      o.log.info({ invite: id, key: key.slice(0, 8), from: source, reason: joinRefusalName[decision.reason] }, `invite: redemption refused: ${decision.text}`);
      result = { ok: false, reason: decision.reason, text: decision.text };
    } else {
      if (decision.kind === 'redeem') {
        try {
          o.store.redeem(id, key, wall);
        } catch (err) {
          this.drop('write_failed');
          o.log.error({ err, invite: id }, 'invite: cannot record the redemption in invites.json; refused');
          result = { ok: false, reason: JoinRefusal.HUB_ERROR, text: 'the hub cannot write its state' };
          return o.transmit(answerJoin(opened, result, o.randomU32(), now, o.crypto.aead), from);
        }
        this.stats.redeemed++;
        o.log.info({ invite: id, key: Buffer.from(opened.consumed.remoteStatic).toString('base64'), name: inv.name, from: source }, 'invite: redeemed; key enrolled');
        o.onEnrolled?.(key, inv.name);
      } else {
        this.stats.answeredAgain++;
      }
      result = { ok: true, networkPsk: o.networkPsk, network: o.network.address, prefix: o.network.prefix, name: inv.name };
    }
    o.transmit(answerJoin(opened, result, o.randomU32(), now, o.crypto.aead), from);
  }
}
