// The hub process's composition root (the only hub file that touches the OS, as peer/run.ts is for
// the peer): reads the allow-list, binds the real UDP socket, starts the hub (hub/hub.ts) on it with
// the system clocks and the durable bindings in --state-dir, and adds the control socket
// (`meshd status`, `meshd hub release`) and optional metrics. The CLI calls startHubDaemon().
import { mkdirSync, readFileSync } from 'node:fs';
import type { HubConfig } from '../config/schema.js';
import { decodeKey, type StaticKeyPair } from '../crypto/keys.js';
import { pskFromSecret } from '../crypto/psk.js';
import { openUdpSocket, udpOpenError } from '../net/udp-open.js';
import { systemClock, systemWallClock } from '../util/clock.js';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { encodeKey } from '../crypto/keys.js';
import { startControlServer } from '../ops/control-server.js';
import { defaultSocketPath } from '../ops/control-protocol.js';
import { startMetrics } from '../ops/metrics.js';
import { clusterMetricsOf } from './cluster-metrics.js';
import { componentLogger } from '../util/log.js';
import { ipv4ToU32, u32ToIpv4 } from '../util/ipv4.js';
import { bindingsPath } from './binding-store.js';
import { dayMs, nameProblem, printableName } from './bindings.js';
import { meshdVersion } from '../util/version.js';
import { startHub, type Hub } from './hub.js';
import type { NetworkState } from './network-state.js';
import { keyId } from '../link/key-id.js';
import { inNetwork, parseNetwork } from './registry.js';
import { buildHubStatus } from './status.js';
import { startHubStreams } from './stream-listeners.js';
import { parseAclPolicy, type AclPolicyFile } from './acl-policy.js';
import { aclDigestOf } from './cluster-acl.js';
import { revocationsPath } from './revocations.js';
import { InviteStore, invitesPath } from './invite-store.js';
import { inviteRequestOf } from './invite-issue.js';

/** Reads and validates the --acl file (ConfigError naming the file and the rule). */
export function loadAclPolicy(path: string): AclPolicyFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('--acl', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseAclPolicy(text, path);
}

/** The running hub plus what SIGHUP re-reads (cli.ts). */
export interface HubDaemon extends Hub {
  /** Re-reads the --acl file, the --allow-keys-file keys and <state-dir>/revoked.json; a file that
   * no longer parses is logged and the running one kept. */
  reloadFiles(): void;
}

export interface AllowEntry {
  publicKey: Uint8Array;
  /** Bound address, when the line gives one. */
  overlay?: number;
  name: string;
}

/** Pure: the allow-list file's text. Lines `KEY [ADDRESS [NAME]]`; `#` starts a comment. */
export function parseAllowList(text: string, path: string): AllowEntry[] {
  const seenAddr = new Set<number>();
  const seenName = new Set<string>();
  return text
    .split('\n')
    .map((l, i) => ({ l: l.replace(/#.*/, '').trim(), n: i + 1 }))
    .filter(({ l }) => l !== '')
    .map(({ l, n }) => {
      const [key, address, name, ...rest] = l.split(/\s+/);
      const bad = (why: string) => new ConfigError('--allow-keys-file', `${path} line ${n}: ${why}`);
      if (rest.length > 0) throw bad('expected KEY [ADDRESS [NAME]]');
      let publicKey: Uint8Array;
      try {
        publicKey = decodeKey(key!, `--allow-keys-file line ${n}`);
      } catch {
        throw bad(`"${key}" is not a base64 public key`);
      }
      const e: AllowEntry = { publicKey, name: '' };
      if (address !== undefined) {
        try {
          e.overlay = ipv4ToU32(address);
        } catch {
          throw bad(`"${address}" is not an IPv4 address (the address comes before the name)`);
        }
        if (seenAddr.has(e.overlay)) throw bad(`${address} is bound twice`);
        seenAddr.add(e.overlay);
      }
      if (name !== undefined) {
        const problem = nameProblem(name);
        if (problem) throw bad(`name "${printableName(name)}" ${problem}`);
        if (seenName.has(name)) throw bad(`name ${name} is bound twice`);
        seenName.add(name);
        e.name = name;
      }
      return e;
    });
}

function allowList(path: string): AllowEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('--allow-keys-file', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseAllowList(text, path);
}

export async function startHubDaemon(cfg: HubConfig, keyPair: StaticKeyPair, log: Logger): Promise<HubDaemon> {
  const psk = pskFromSecret(cfg.secret);
  const allow = cfg.allowKeysFile !== undefined ? allowList(cfg.allowKeysFile) : undefined;
  const network = parseNetwork(`${cfg.network.address}/${cfg.network.prefixLength}`);
  for (const e of allow ?? []) {
    if (e.overlay !== undefined && !inNetwork(network, e.overlay)) {
      throw new ConfigError('--allow-keys-file', `${cfg.allowKeysFile}: ${u32ToIpv4(e.overlay)} is not a host address of ${network.cidr}`);
    }
  }
  const acl = cfg.acl !== undefined ? loadAclPolicy(cfg.acl) : undefined;
  mkdirSync(cfg.stateDir, { recursive: true, mode: 0o700 });
  const rawUdp = await openUdpSocket(cfg.listen).catch((e: unknown) => {
    throw udpOpenError(e, cfg.listen);
  });
  // The UDP socket plus the TCP/TLS listeners as one socket (issue 21, hub/stream-listeners.ts).
  let hubRef: Hub | undefined;
  const streams = await startHubStreams(cfg, rawUdp, () => hubRef, componentLogger(log, 'stream')).catch(async (e: unknown) => {
    await rawUdp.close();
    throw e;
  });
  const udp = streams.socket;
  // The NAT probe port (docs/NAT.md): main + 1 unless --probe-port (0 = none).
  const probePort = cfg.probePort ?? (rawUdp.local.port < 65535 ? rawUdp.local.port + 1 : 0);
  const probeUdp = probePort === 0 ? undefined : await openUdpSocket({ address: cfg.listen.address, port: probePort }, { impl: 'node', recvBufferBytes: 1 << 18, sendBufferBytes: 1 << 18 }).catch((e: unknown) => {
    throw new ConfigError('--probe-port', `cannot bind ${cfg.listen.address}:${probePort}: ${(e as NodeJS.ErrnoException).code ?? String(e)} (0 turns the probe port off)`);
  });
  const pinned = (allow ?? []).flatMap((e) => (e.overlay !== undefined ? [{ publicKey: e.publicKey, overlay: e.overlay, name: e.name }] : []));
  // --cluster: the state shared with the other hubs through NATS (the client is loaded only then).
  let state: NetworkState | undefined;
  if (cfg.cluster.length > 0) {
    const { startNatsState } = await import('./nats-state.js');
    state = await startNatsState({
      servers: cfg.cluster,
      ...(cfg.clusterCreds !== undefined ? { credsFile: cfg.clusterCreds } : {}),
      network,
      psk,
      hubId: keyId(keyPair.publicKey).slice(0, 16),
      hubKey: keyPair.publicKey,
      ...(acl ? { aclDigest: aclDigestOf(acl) } : {}),
      bindingLeaseMs: cfg.bindingLeaseDays * dayMs,
      clock: systemClock,
      log: componentLogger(log, 'nats'),
      pinned: pinned.map((p) => ({ id: keyId(p.publicKey), overlay: p.overlay >>> 0, name: p.name, lastSeenMs: 0, pinned: true })),
    }).catch(async (e: unknown) => {
      await udp.close();
      throw e;
    });
  }
  const hub = (hubRef = startHub({
    listen: udp.local,
    ...(probeUdp ? { probeUdp } : {}),
    network: `${cfg.network.address}/${cfg.network.prefixLength}`,
    ...(cfg.network6 ? { network6: cfg.network6 } : {}),
    psk,
    keyPair,
    ...(allow ? { allowedKeys: allow.map((e) => e.publicKey) } : {}),
    ...(acl ? { acl } : {}),
    pinnedBindings: pinned,
    ...(state ? { state } : { bindingsPath: bindingsPath(cfg.stateDir) }),
    ...(cfg.clusterAdvertise ? { clusterUdp: [cfg.clusterAdvertise] } : {}),
    revocationsPath: revocationsPath(cfg.stateDir),
    invites: new InviteStore(invitesPath(cfg.stateDir)),
    inviteOnly: cfg.inviteOnly,
    bindingLeaseMs: cfg.bindingLeaseDays * dayMs,
    clock: systemClock,
    wallClock: systemWallClock,
    log,
    udp,
    allowPublish: cfg.allowPublish,
    allowRoutes: cfg.allowRoutes,
    relayBytesPerSec: (cfg.relayRateMbit * 1e6) / 8,
    // One second of burst (at least 2 MB), so KCP's window-sized bursts are not clipped.
    relayBurstBytes: Math.max(2_000_000, (cfg.relayRateMbit * 1e6) / 8),
    publishListenHost: cfg.listen.address,
    ...(cfg.publishMaxConns !== undefined ? { publishMaxConns: cfg.publishMaxConns } : {}),
    publishLimits: {
      ...(cfg.publishMaxConnsPerIp !== undefined ? { maxConnsPerIp: cfg.publishMaxConnsPerIp } : {}),
      ...(cfg.publishAcceptRate !== undefined ? { acceptsPerSec: cfg.publishAcceptRate } : {}),
      ...(cfg.publishIdleTimeoutSec !== undefined ? { idleTimeoutMs: cfg.publishIdleTimeoutSec * 1000 } : {}),
      ...(cfg.publishBufferMb !== undefined ? { bufferBytes: cfg.publishBufferMb * 1048576 } : {}),
      ...(cfg.publishMaxServices !== undefined ? { maxServicesPerMember: cfg.publishMaxServices } : {}),
    },
  }));
  const startedMs = systemClock.now();
  const publicKey = encodeKey(keyPair.publicKey);
  let control: { close(): Promise<void> } | undefined;
  let metrics: { close(): Promise<void> } | undefined;
  try {
    control = await startControlServer(
      defaultSocketPath(cfg.stateDir, 'hub'),
      { status: () => ({ ...buildHubStatus(hub, { version: meshdVersion, publicKey, startedMs, clock: systemClock }), stream: streams.status() }), release: (selector) => hub.release(selector), revoke: (selector) => hub.revoke(selector), invite: (req) => hub.invite(inviteRequestOf(req)) },
      componentLogger(log, 'control'),
    );
    if (cfg.metrics) {
      metrics = await startMetrics(
        cfg.metrics,
        {
          hubRelayBytes: () => hub.status().relayedBytes,
          hubRegisteredPeers: () => hub.registry.all().length,
          publishVisitorEvents: () => hub.publisher.visitorEvents(),
          drops: () => ({ ...hub.status().relayDrops, ...hub.status().linkDrops, ...hub.status().controlDrops, ...streams.drops() }),
          handshakes: () => ({ completed: hub.link.stats.handshakesCompleted, bad_mac: hub.link.drops.bad_mac1, failed: hub.link.drops.handshake_failed }),
          ...(cfg.cluster.length > 0 ? { cluster: () => clusterMetricsOf(hub.state.status() ?? { hubId: '', connection: 'closed', hubs: [], mapMembers: 0 }, hub.status().crossHub) } : {}),
        },
        componentLogger(log, 'metrics'),
      );
    }
  } catch (e) {
    await control?.close();
    await hub.close();
    await streams.close();
    throw e;
  }
  const close = hub.close.bind(hub);
  return Object.assign(hub, {
    reloadFiles(): void {
      try {
        // Only the keys: a changed address or name binding in the allow-list needs a restart.
        hub.reloadAccess(cfg.allowKeysFile !== undefined ? allowList(cfg.allowKeysFile).map((e) => e.publicKey) : undefined);
      } catch (e) {
        log.error({ err: e instanceof Error ? e.message : String(e) }, 'SIGHUP: allow-list or revocations not reloaded; keeping the running ones');
      }
      if (cfg.acl === undefined) return;
      try {
        const policy = loadAclPolicy(cfg.acl);
        hub.setAcl(policy);
        state?.setAclDigest?.(aclDigestOf(policy));
      } catch (e) {
        log.error({ err: e instanceof Error ? e.message : String(e) }, 'SIGHUP: ACL policy not reloaded; keeping the running one');
      }
    },
    async close() {
      await streams.close();
      await close();
      await control?.close();
      await metrics?.close();
    },
  });
}
