// Starts the hub-to-hub UDP channel of a hub sharing its state (hub/hub-channel.ts): a fresh boot
// epoch, the address(es) other hubs send to, published with the presence (ClusterBus.advertise),
// and the demux in front of the hub's socket. Called once by hub/hub.ts.
import { randomBytes } from 'node:crypto';
import type { StaticKeyPair } from '../crypto/keys.js';
import type { Endpoint, UdpSocket } from '../net/udp.js';
import type { Logger } from '../util/log.js';
import { HUB_EPOCH_SIZE } from '../wire/hub-data.js';
import { HubChannel, hubDataDemux } from './hub-channel.js';
import type { ClusterBus } from './network-state.js';

/** What other hubs send to (pure): --cluster-advertise when given, else the listen address unless
 * it is a wildcard (then nothing: other hubs cannot relay to this hub's members; said at start). */
export function advertisedEndpoints(listen: Endpoint, clusterUdp: Endpoint[] | undefined): Endpoint[] {
  if (clusterUdp !== undefined) return clusterUdp;
  return listen.address === '0.0.0.0' || listen.address === '::' ? [] : [listen];
}

export function startHubChannel(
  o: { psk: Uint8Array; keyPair: StaticKeyPair; udp: UdpSocket; listen: Endpoint; clusterUdp?: Endpoint[] },
  bus: ClusterBus,
  log: Logger,
): { channel: HubChannel; udp: UdpSocket } {
  const epoch = new Uint8Array(randomBytes(HUB_EPOCH_SIZE));
  const channel = new HubChannel({ psk: o.psk, keyPair: o.keyPair, epoch, bus, send: (d, to) => o.udp.send(d, to) });
  const endpoints = advertisedEndpoints(o.listen, o.clusterUdp);
  if (endpoints.length === 0) {
    log.warn({ listen: `${o.listen.address}:${o.listen.port}` }, 'hub: --listen is a wildcard and no --cluster-advertise: other hubs cannot relay to this hub\'s members (give --cluster-advertise HOST:PORT)');
  } else {
    bus.advertise({ publicKey: o.keyPair.publicKey, endpoints, epoch });
  }
  return { channel, udp: hubDataDemux(o.udp, () => channel) };
}
