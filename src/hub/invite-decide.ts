// Pure: what the hub does with a redemption whose handshake verified (hub/invite-redeemer.ts).
// The order of the checks is the order of the reasons a redeemer would want to hear: a key that
// already redeemed this invite (its JOIN_RESP was lost) is answered again without using a second
// use; then the key binding, expiry and the uses left.
import { JoinRefusal } from '../wire/invite.js';
import type { Invite } from './invite-store.js';

export type RedeemDecision = { kind: 'redeem' } | { kind: 'again' } | { kind: 'refuse'; reason: JoinRefusal; text: string };

export function decideRedemption(inv: Invite | undefined, keyId: string, revoked: boolean, nowWallMs: number): RedeemDecision {
  if (inv === undefined) return { kind: 'refuse', reason: JoinRefusal.UNKNOWN_INVITE, text: 'no such invite at this hub' };
  if (revoked) return { kind: 'refuse', reason: JoinRefusal.REVOKED, text: 'this key was revoked by the hub operator' };
  if (inv.redeemed.some((r) => r.key === keyId)) return { kind: 'again' };
  if (inv.forKey !== undefined && inv.forKey !== keyId) return { kind: 'refuse', reason: JoinRefusal.WRONG_KEY, text: 'the invite is bound to another key (--for-key)' };
  if (inv.redeemed.length >= inv.uses) return { kind: 'refuse', reason: JoinRefusal.USED, text: `the invite was already used (${inv.uses} use${inv.uses === 1 ? '' : 's'})` };
  if (nowWallMs >= inv.expiresMs) return { kind: 'refuse', reason: JoinRefusal.EXPIRED, text: `the invite expired at ${new Date(inv.expiresMs).toISOString()}` };
  return { kind: 'redeem' };
}
