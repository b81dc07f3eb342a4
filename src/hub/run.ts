// The hub daemon's composition root: binds the UDP socket and starts the hub with the node key,
// the network psk and the optional allow-list. The CLI calls startHubDaemon().
import { readFileSync } from 'node:fs';
import type { HubConfig } from '../config/schema.js';
import { decodeKey, type StaticKeyPair } from '../crypto/keys.js';
import { derivePsk } from '../crypto/psk.js';
import { openUdpSocket, udpOpenError } from '../net/udp-open.js';
import { systemClock, systemWallClock } from '../util/clock.js';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { encodeKey } from '../crypto/keys.js';
import { startControlServer } from '../ops/control-server.js';
import { defaultSocketPath } from '../ops/control-protocol.js';
import { startMetrics } from '../ops/metrics.js';
import { componentLogger } from '../util/log.js';
import { startHub, type Hub } from './daemon.js';
import { buildHubStatus } from './status.js';

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
  const udp = await openUdpSocket(cfg.listen).catch((e: unknown) => {
    throw udpOpenError(e, cfg.listen);
  });
  const hub = startHub({
    listen: udp.local,
    network: `${cfg.network.address}/${cfg.network.prefixLength}`,
    psk,
    keyPair,
    ...(allow ? { allowedKeys: allow } : {}),
    clock: systemClock,
    wallClock: systemWallClock,
    log,
    udp,
    allowPublish: cfg.allowPublish,
    relayBytesPerSec: (cfg.relayRateMbit * 1e6) / 8,
    // One second of burst (at least 2 MB), so KCP's window-sized bursts are not clipped.
    relayBurstBytes: Math.max(2_000_000, (cfg.relayRateMbit * 1e6) / 8),
    publishListenHost: cfg.listen.address,
    ...(cfg.publishMaxConns !== undefined ? { publishMaxConns: cfg.publishMaxConns } : {}),
  });
  const startedMs = systemClock.now();
  const publicKey = encodeKey(keyPair.publicKey);
  let control: { close(): Promise<void> } | undefined;
  let metrics: { close(): Promise<void> } | undefined;
  try {
    control = await startControlServer(
      defaultSocketPath(cfg.stateDir, 'hub'),
      { status: () => buildHubStatus(hub, { version: '0.1.0', publicKey, startedMs, clock: systemClock }) },
      componentLogger(log, 'control'),
    );
    if (cfg.metrics) {
      metrics = await startMetrics(
        cfg.metrics,
        {
          hubRelayBytes: () => hub.status().relayedBytes,
          hubRegisteredPeers: () => hub.registry.all().length,
          drops: () => ({ ...hub.status().relayDrops, ...hub.status().linkDrops, ...hub.status().controlDrops }),
          handshakes: () => ({ completed: hub.link.stats.handshakesCompleted, bad_mac: hub.link.drops.bad_mac1, failed: hub.link.drops.handshake_failed }),
        },
        componentLogger(log, 'metrics'),
      );
    }
  } catch (e) {
    await control?.close();
    await hub.close();
    throw e;
  }
  const close = hub.close.bind(hub);
  return Object.assign(hub, {
    async close() {
      await close();
      await control?.close();
      await metrics?.close();
    },
  });
}
