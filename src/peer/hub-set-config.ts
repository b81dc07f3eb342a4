// Several --hub (issue 24): resolves each hub and finds its pinned key, for peer/run.ts. A key comes
// from the config (--hub host:port@KEY; --hub-key for the first), else from <state-dir>/hubs.pub,
// else for the first hub only from hub.pub (the one-hub pin) or, failing all, trust on first use.
// One --hub: undefined (the daemon runs exactly as before).
import type { PeerConfig } from '../config/schema.js';
import { decodeKey } from '../crypto/keys.js';
import { endpointKey, type Endpoint } from '../net/udp.js';
import { ConfigError, MeshdError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { readHubPins, writeHubPin } from './hub-pin.js';
import type { HubSpec } from './hub-set.js';

export interface ResolvedHubSet {
  hubs: HubSpec[];
  /** Pins a key learned on first use (the first hub's) in hubs.pub. */
  pin: (hub: Endpoint, key: Uint8Array) => void;
}

/** `first` and `firstKey`: the first hub as run.ts resolved it, and its key (--hub-key or hub.pub). */
export async function resolveHubSet(
  cfg: PeerConfig, first: Endpoint, firstKey: Uint8Array | undefined, log: Logger, resolveHub: (host: string, port: number) => Promise<Endpoint>,
): Promise<ResolvedHubSet | undefined> {
  if (cfg.hubs.length < 2) return undefined;
  const pins = readHubPins(cfg.stateDir);
  const hubs: HubSpec[] = [];
  for (const [i, h] of cfg.hubs.entries()) {
    let endpoint: Endpoint;
    try {
      endpoint = i === 0 ? first : await resolveHub(h.host, h.port);
    } catch (e) {
      // One hub's name not resolving must not keep the peer off the others.
      log.error({ hub: `${h.host}:${h.port}`, err: e instanceof MeshdError ? e.message : String(e) }, 'hub-set: cannot resolve this hub; going on without it');
      continue;
    }
    const configured = h.key !== undefined ? decodeKey(h.key, '--hub') : undefined;
    const pinned = pins.get(endpointKey(endpoint)) ?? pins.get(`${h.host}:${h.port}`);
    if (i === 0 && configured && firstKey && cfg.hubKey && !Buffer.from(configured).equals(Buffer.from(firstKey))) {
      throw new ConfigError('--hub-key', 'differs from the key given with the first --hub (host:port@KEY)');
    }
    const key = configured ?? (i === 0 ? (cfg.hubKey ? firstKey : pinned ?? firstKey) : pinned);
    hubs.push({ endpoint, ...(key ? { key } : {}) });
  }
  if (hubs.length === 0) throw new ConfigError('--hub', 'none of the hubs resolves');
  return {
    hubs,
    pin: (hub, key) => {
      try {
        writeHubPin(cfg.stateDir, endpointKey(hub), key);
      } catch (e) {
        log.warn({ err: e }, 'cannot pin the hub key in the state directory');
      }
    },
  };
}
