// The peer daemon's composition root: resolves the hub, opens the UDP socket and the TUN device,
// starts the control plane (PeerNode) and the data plane (DataPlane) and joins them.
// The CLI calls startPeerDaemon(); tests run the same code as a real process.
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { presets } from '../arq/constants.js';
import type { PeerConfig } from '../config/schema.js';
import type { StaticKeyPair } from '../crypto/keys.js';
import { decodeKey, encodeKey } from '../crypto/keys.js';
import { pskFromSecret } from '../crypto/psk.js';
import type { Endpoint } from '../net/udp.js';
import { openUdpSocket, udpOpenError } from '../net/udp-open.js';
import { openTun } from '../tun/linux.js';
import { systemClock, systemWallClock } from '../util/clock.js';
import { ConfigError, MeshdError } from '../util/errors.js';
import { overlayPrefix, type OverlayPrefix } from '../util/endpoint-filter.js';
import { ipv4ToU32, u32ToIpv4 } from '../util/ipv4.js';
import { componentLogger, type Logger } from '../util/log.js';
import { startControlServer } from '../ops/control-server.js';
import { defaultSocketPath } from '../ops/control-protocol.js';
import { startMetrics, type TrafficSample } from '../ops/metrics.js';
import { pairConv } from './conv.js';
import { readPinnedHubKey, writePinnedHubKey } from './hub-pin.js';
import { buildPeerStatus } from './status.js';
import { UserPinger } from './user-ping.js';
import { DataPlane } from './dataplane.js';
import { lanEndpointsOf } from './lan-endpoints.js';
import { PeerNode } from './node.js';

/** How long the KCP channel of a peer that left the map is kept in case it comes back unchanged. */
export const departedChannelKeepMs = 5 * 60_000;

/** Reported in `meshd status`. */
export const meshdVersion = '0.1.0';

export interface PeerDaemon {
  readonly node: PeerNode;
  readonly dataPlane: DataPlane;
  /** Says goodbye to the hub, removes the TUN device, closes the socket. */
  close(): Promise<void>;
  /** Resolves with an error when the daemon must exit on its own (e.g. the TUN was deleted). */
  readonly failed: Promise<Error>;
}

async function resolveHub(host: string, port: number): Promise<Endpoint> {
  try {
    const { address } = await lookup(host, { family: 4 });
    return { address, port };
  } catch (e) {
    throw new ConfigError('--hub', `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Our LAN candidates: this host's IPv4 addresses with our UDP port, except the TUN device's and any
 * inside the overlay (lan-endpoints.ts). */
function lanEndpoints(port: number, tunName: string, overlay: OverlayPrefix): Endpoint[] {
  return lanEndpointsOf(networkInterfaces(), port, { tunName, overlay });
}

function pinnedHubKey(cfg: PeerConfig): Uint8Array | undefined {
  if (cfg.hubKey) return decodeKey(cfg.hubKey, '--hub-key');
  return readPinnedHubKey(cfg.stateDir);
}

export async function startPeerDaemon(cfg: PeerConfig, keyPair: StaticKeyPair, log: Logger): Promise<PeerDaemon> {
  const psk = pskFromSecret(cfg.secret);
  // Before the TUN exists: a pin that does not parse stops the peer (fail closed).
  const hubKey = pinnedHubKey(cfg);
  const hub = await resolveHub(cfg.hub.host, cfg.hub.port);
  const overlay = ipv4ToU32(cfg.local.address);
  const tun = openTun({ name: cfg.tun, address: cfg.local.address, prefixLength: cfg.local.prefixLength, mtu: cfg.mtu });
  const udp = await openUdpSocket(cfg.listen).catch((e: unknown) => {
    tun.close();
    throw udpOpenError(e, cfg.listen);
  });
  const node = new PeerNode({
    udp,
    keyPair,
    psk,
    clock: systemClock,
    wallClock: systemWallClock,
    log,
    hub,
    ...(hubKey ? { hubKey } : {}),
    onHubKeyLearned: (key) => {
      try {
        writePinnedHubKey(cfg.stateDir, key);
      } catch (e) {
        log.warn({ err: e }, 'cannot pin the hub key in the state directory');
      }
    },
    overlay,
    prefix: cfg.local.prefixLength,
    name: cfg.name,
    lanEndpoints: cfg.listen.address === '0.0.0.0' ? lanEndpoints(udp.local.port, tun.name, overlayPrefix(overlay, cfg.local.prefixLength)) : [udp.local],
    publish: cfg.publish,
    ...(cfg.publishBufferMb !== undefined ? { publishBufferBytes: cfg.publishBufferMb * 1048576 } : {}),
  });
  const dataPlane = new DataPlane({
    tun,
    localAddress: overlay,
    prefixLength: cfg.local.prefixLength,
    mtu: cfg.mtu,
    transport: cfg.transport,
    preset: presets[cfg.kcpMode],
    clock: systemClock,
    defer: (fn) => setImmediate(fn),
    log: componentLogger(log, 'data'),
    sendInner: (to, inner) => node.sendTo(to, inner),
    convFor: (o) => {
      const p = node.map.get(o);
      return p ? pairConv(node.bootId, p.bootId) : undefined;
    },
  });
  node.onInner((from, inner) => dataPlane.onInner(from, inner));
  // A peer that leaves the map keeps its KCP channel for a while: a hub that restarted may list it
  // again moments later with the same boot id, and resetting only our end would desynchronise the
  // two KCP ends. A new boot id (a restart) changes the conv, and syncPeer rebuilds the channel.
  node.onMapChange((events) => {
    for (const ev of events) {
      const overlay = ev.peer.overlay;
      if (ev.type === 'upsert') dataPlane.syncPeer(overlay);
      else systemClock.setTimer(departedChannelKeepMs, () => {
        if (!node.map.get(overlay)) dataPlane.resetPeer(overlay);
      });
    }
  });
  tun.onPackets((batch) => dataPlane.onTunBatch(batch));

  let fail: (e: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  let closing = false;
  tun.onClose((err) => {
    if (err && !closing) fail(err);
  });

  const hubEndpoint = `${hub.address}:${hub.port}`;
  const startedMs = systemClock.now();
  const pinger = new UserPinger(node, systemClock, hubEndpoint);
  const status = () =>
    buildPeerStatus({
      version: meshdVersion,
      name: cfg.name,
      address: `${cfg.local.address}/${cfg.local.prefixLength}`,
      publicKey: encodeKey(keyPair.publicKey),
      tun: tun.name,
      mtu: cfg.mtu,
      transport: cfg.transport,
      listen: `${udp.local.address}:${udp.local.port}`,
      hubEndpoint,
      startedMs,
      clock: systemClock,
      node,
      dataPlane,
    });
  const control = await startControlServer(
    defaultSocketPath(cfg.stateDir, 'peer'),
    { status, ping: (target, opts, onReply, signal) => pinger.ping(target, opts, onReply, signal) },
    componentLogger(log, 'control'),
  );
  const metrics = cfg.metrics
    ? await startMetrics(
        cfg.metrics,
        {
          traffic: () => trafficSamples(node),
          drops: () => ({ ...dataPlane.counters.drops, ...prefixed('link_', node.link.drops) }),
          handshakes: () => ({ initiated: node.link.stats.handshakesInitiated, completed: node.link.stats.handshakesCompleted, bad_mac: node.link.drops.bad_mac1, failed: node.link.drops.handshake_failed }),
          kcpRetransmits: () => Object.fromEntries(dataPlane.status().map((c) => [c.overlay, c.retransmits])),
        },
        componentLogger(log, 'metrics'),
      )
    : undefined;

  // The control socket answers while we register, so `meshd status` explains a hub that is not answering.
  try {
    await node.start();
  } catch (e) {
    closing = true;
    dataPlane.close();
    tun.close();
    await node.stop().catch(() => {});
    await control.close();
    await metrics?.close();
    throw e instanceof MeshdError ? e : new MeshdError('PEER_START', String(e));
  }
  log.info({ hub: `${hub.address}:${hub.port}`, overlay: `${u32ToIpv4(overlay)}/${cfg.local.prefixLength}`, tun: tun.name, mtu: cfg.mtu, transport: cfg.transport, kcpMode: cfg.kcpMode }, 'registered with hub');

  return {
    node,
    dataPlane,
    failed,
    async close() {
      closing = true;
      await node.stop().catch((e: unknown) => log.warn({ err: e }, 'error while leaving the hub'));
      dataPlane.close();
      tun.close();
      await control.close();
      await metrics?.close();
    },
  };
}

function prefixed(prefix: string, r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [prefix + k, v]));
}

const pathLabels = ['direct', 'lan', 'relay'] as const;

function* trafficSamples(node: PeerNode): Iterable<TrafficSample> {
  for (const [overlay, t] of node.pathTraffic) {
    for (let i = 0; i < 6; i++) {
      if (t.packets[i] === 0) continue;
      yield { peer: u32ToIpv4(overlay), direction: i < 3 ? 'out' : 'in', path: pathLabels[i % 3]!, packets: t.packets[i]!, bytes: t.bytes[i]! };
    }
  }
}
