// Invites at the hub (issue 25), wired to the link: JOIN_INIT datagrams go to the redeemer
// (invite-redeemer.ts), `meshd hub invite` to issueInvite (invite-issue.ts). hub.ts calls
// startHubInvites once; the store (invite-store.ts) also answers the handshake allow-check.
import { randomBytes } from 'node:crypto';
import { networkIdOf } from '../crypto/invite.js';
import type { Link } from '../link/link.js';
import { componentLogger } from '../util/log.js';
import type { HubOptions } from './hub.js';
import { issueInvite, type InviteRequest, type IssuedInvite } from './invite-issue.js';
import { InviteRedeemer } from './invite-redeemer.js';
import type { Network } from './registry.js';

export interface HubInvites {
  readonly redeemer: InviteRedeemer;
  issue(req: InviteRequest): IssuedInvite;
  /** Redemption drops per reason, as `join_<reason>` (status controlDrops, metrics). */
  drops(): Record<string, number>;
}

export function startHubInvites(opts: HubOptions, link: Link, network: Network, isRevoked: (keyId: string) => boolean): HubInvites {
  const store = opts.invites!;
  const log = componentLogger(opts.log, 'invite');
  const networkId = networkIdOf(opts.psk);
  const redeemer = new InviteRedeemer({
    store,
    keyPair: opts.keyPair,
    networkId,
    networkPsk: opts.psk,
    network: { address: network.base, prefix: network.prefix },
    crypto: link.crypto,
    clock: opts.clock,
    wallClock: opts.wallClock,
    log,
    randomU32: link.randomU32,
    transmit: (d, to) => link.transmit(d, to),
    isRevoked,
  });
  link.onJoin((d, from) => redeemer.receive(d, from));
  const listen = opts.listen.address === '0.0.0.0' || opts.listen.address === '::' ? [] : [`${opts.listen.address}:${opts.listen.port}`];
  return {
    redeemer,
    issue(req) {
      const issued = issueInvite(store, req, { networkId, hubKey: opts.keyPair.publicKey, addresses: listen, wallMs: opts.wallClock(), random: (n) => new Uint8Array(randomBytes(n)) });
      log.info({ invite: issued.id, name: issued.name, expires: issued.expires, uses: issued.uses, forKey: issued.forKey }, 'invite: issued');
      return issued;
    },
    drops: () => Object.fromEntries(Object.entries(redeemer.drops).map(([k, v]) => [`join_${k}`, v])),
  };
}
