// Which of this host's interface addresses the peer advertises as LAN candidates (REGISTER,
// HEARTBEAT): pure, over what os.networkInterfaces() returns. Used by run.ts. Never the TUN device
// and never an address inside the overlay: a peer that advertised its own TUN address (any
// --network but 10.9.x, which was the only prefix excluded) had its path moved into the tunnel (M7).
import type { NetworkInterfaceInfo } from 'node:os';
import type { Endpoint } from '../net/udp.js';
import { endpointRejection, type OverlayPrefix } from '../util/endpoint-filter.js';

export function lanEndpointsOf(
  interfaces: Readonly<Record<string, readonly NetworkInterfaceInfo[] | undefined>>,
  port: number,
  exclude: { tunName: string; overlay: OverlayPrefix },
): Endpoint[] {
  const out: Endpoint[] = [];
  for (const [name, addrs] of Object.entries(interfaces)) {
    if (name === exclude.tunName) continue;
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue;
      const e = { address: a.address, port };
      if (endpointRejection(e, exclude.overlay) === undefined) out.push(e);
    }
  }
  return out;
}
