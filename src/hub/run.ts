// The hub daemon's composition root: binds the UDP socket and starts the hub with the node key,
// the network psk and the optional allow-list. The CLI calls startHubDaemon().
import { readFileSync } from 'node:fs';
import type { HubConfig } from '../config/schema.js';
import { decodeKey, type StaticKeyPair } from '../crypto/keys.js';
import { derivePsk } from '../crypto/psk.js';
import { openUdp } from '../net/udp-node.js';
import { systemClock, systemWallClock } from '../util/clock.js';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { startHub, type Hub } from './daemon.js';

function allowedKeys(path: string): Uint8Array[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('--allow-keys-file', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '')
    .map((l, i) => {
      try {
        return decodeKey(l, `--allow-keys-file line ${i + 1}`);
      } catch {
        throw new ConfigError('--allow-keys-file', `${path}: "${l}" is not a base64 public key`);
      }
    });
}

export async function startHubDaemon(cfg: HubConfig, keyPair: StaticKeyPair, log: Logger): Promise<Hub> {
  const psk = derivePsk(cfg.secret);
  const allow = cfg.allowKeysFile !== undefined ? allowedKeys(cfg.allowKeysFile) : undefined;
  const udp = await openUdp(cfg.listen).catch((e: unknown) => {
    throw new ConfigError('--listen', `cannot bind ${cfg.listen.address}:${cfg.listen.port}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  });
  return startHub({
    listen: udp.local,
    network: `${cfg.network.address}/${cfg.network.prefixLength}`,
    psk,
    keyPair,
    ...(allow ? { allowedKeys: allow } : {}),
    clock: systemClock,
    wallClock: systemWallClock,
    log,
    udp,
  });
}
