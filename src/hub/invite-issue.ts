// `meshd hub invite`: makes an invite (random id and secret), records it in invites.json (written
// before the token exists anywhere else) and returns the token text. Randomness and time come in.
import { invitePsk } from '../crypto/invite.js';
import { encodeInviteToken } from '../wire/invite.js';
import type { Invite, InviteStore } from './invite-store.js';

/** Local policy: an invite lives 24 h and is good for one machine unless the operator says otherwise
 * (the bounds are the control socket's, ops/control-protocol.ts). */
export const defaultInviteTtlMs = 24 * 3_600_000;

export interface InviteRequest {
  name?: string;
  ttlMs?: number;
  uses?: number;
  /** Key id (hex) the invite is bound to. */
  forKey?: string;
  /** Hub addresses to put in the token ("host:port"); the hub's own when it knows it. */
  addresses?: string[];
}

export interface IssuedInvite {
  token: string;
  id: string;
  name: string;
  expires: string;
  uses: number;
  forKey: string | null;
  addresses: string[];
}

/** The control socket's request (ops/control-protocol.ts InviteCommand, already checked) as a request. */
export function inviteRequestOf(c: { name?: string; ttlMs?: number; uses?: number; forKey?: string; address?: string }): InviteRequest {
  return {
    ...(c.name !== undefined ? { name: c.name } : {}),
    ...(c.ttlMs !== undefined ? { ttlMs: c.ttlMs } : {}),
    ...(c.uses !== undefined ? { uses: c.uses } : {}),
    ...(c.forKey !== undefined ? { forKey: Buffer.from(c.forKey, 'base64').toString('hex') } : {}),
    ...(c.address !== undefined ? { addresses: [c.address] } : {}),
  };
}

export function issueInvite(
  store: InviteStore,
  req: InviteRequest,
  ctx: { networkId: Uint8Array; hubKey: Uint8Array; addresses: string[]; wallMs: number; random(n: number): Uint8Array },
): IssuedInvite {
  const inviteId = ctx.random(8);
  const secret = ctx.random(32);
  const addresses = req.addresses && req.addresses.length > 0 ? req.addresses : ctx.addresses;
  const inv: Invite = {
    id: Buffer.from(inviteId).toString('hex'),
    psk: invitePsk(secret, inviteId),
    name: req.name ?? '',
    createdMs: ctx.wallMs,
    expiresMs: ctx.wallMs + (req.ttlMs ?? defaultInviteTtlMs),
    uses: req.uses ?? 1,
    redeemed: [],
  };
  if (req.forKey !== undefined) inv.forKey = req.forKey;
  // The token is built first (a bad address throws before anything is written), returned only after the write.
  const token = encodeInviteToken({ networkId: ctx.networkId, hubKey: ctx.hubKey, inviteId, secret, addresses });
  store.add(inv);
  return {
    token,
    id: inv.id,
    name: inv.name,
    expires: new Date(inv.expiresMs).toISOString(),
    uses: inv.uses,
    forKey: req.forKey === undefined ? null : Buffer.from(req.forKey, 'hex').toString('base64'),
    addresses,
  };
}
