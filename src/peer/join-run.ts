// `meshd peer --join TOKEN` around the daemon (cli.ts, peer/run.ts): redeem the token once on a
// fresh UDP socket, keep what the hub sent (join-store.ts) and pin the hub key from the token; on
// later starts (with or without --join of the same token) read it back instead of the secret.
import type { PeerConfig } from '../config/schema.js';
import type { CryptoBackends } from '../crypto/backends.js';
import { readInviteToken } from '../crypto/invite.js';
import type { StaticKeyPair } from '../crypto/keys.js';
import { openUdpSocket } from '../net/udp-open.js';
import type { Endpoint } from '../net/udp.js';
import { systemClock, systemWallClock } from '../util/clock.js';
import { ConfigError } from '../util/errors.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import type { Logger } from '../util/log.js';
import { writePinnedHubKey } from './hub-pin.js';
import { redeemInvite } from './join.js';
import { loadJoined, saveJoined } from './join-store.js';

/** The psk and (when the invite named the machine and --name was not given) the name to run with. */
export function joinedIdentity(cfg: PeerConfig): { psk: Uint8Array; name?: string } {
  const j = loadJoined(cfg.stateDir);
  if (!j) throw new ConfigError('--secret-file', `no network secret and no ${cfg.stateDir}/joined.json: give --secret-file FILE or --join TOKEN`);
  return { psk: j.psk, ...(cfg.nameIsHint && j.name !== '' ? { name: j.name } : {}) };
}

/**
 * Redeems cfg.join unless this state dir already joined with that invite. Throws JoinError (the
 * hub's reason, JOIN_USED, JOIN_EXPIRED...) or JOIN_TIMEOUT; the CLI logs it and exits 1.
 */
export async function joinIfNeeded(cfg: PeerConfig, hub: Endpoint, keyPair: StaticKeyPair, log: Logger, crypto?: CryptoBackends): Promise<'joined' | 'already'> {
  const token = readInviteToken(cfg.join!);
  const inviteId = Buffer.from(token.inviteId).toString('hex');
  if (loadJoined(cfg.stateDir)?.invite === inviteId) {
    log.info({ invite: inviteId }, 'join: already joined with this invite; using the saved credentials');
    return 'already';
  }
  const udp = await openUdpSocket({ address: cfg.listen.address, port: 0 }, { impl: 'node' });
  try {
    log.info({ invite: inviteId, hub: `${hub.address}:${hub.port}` }, 'join: redeeming the invite');
    const r = await redeemInvite({ udp, hub, token, keyPair, clock: systemClock, wallClock: systemWallClock, log, ...(crypto ? { crypto } : {}) });
    saveJoined(cfg.stateDir, {
      invite: inviteId,
      psk: r.networkPsk,
      hubKey: token.hubKey,
      hub: [`${cfg.hub.host}:${cfg.hub.port}`],
      network: `${u32ToIpv4(r.network)}/${r.prefix}`,
      name: r.name,
      joinedMs: systemWallClock(),
    });
    writePinnedHubKey(cfg.stateDir, token.hubKey);
    log.info({ invite: inviteId, network: `${u32ToIpv4(r.network)}/${r.prefix}`, name: r.name }, 'join: invite accepted; credentials saved in the state directory');
    return 'joined';
  } finally {
    await udp.close();
  }
}
