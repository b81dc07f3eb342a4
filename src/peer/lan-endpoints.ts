// Which of this host's interface addresses the peer advertises as LAN candidates (REGISTER,
// HEARTBEAT): pure, over what os.networkInterfaces() returns. Used by run.ts. Never the TUN device
// and never an address inside the overlay: a peer that advertised its own TUN address (any
// --network but 10.9.x, which was the only prefix excluded) had its path moved into the tunnel (M7).
// With an IPv6-capable socket ([::]) also the host's global and unique-local IPv6 addresses (issue
// 22), after the IPv4 ones and within the wire's MAX_LAN_ENDPOINTS.
import type { NetworkInterfaceInfo } from 'node:os';
import type { Endpoint } from '../net/udp.js';
import { endpointRejection, type OverlayPrefix } from '../util/endpoint-filter.js';
import { canonicalIpv6 } from '../util/ipv6.js';
import { MAX_LAN_ENDPOINTS } from '../wire/control.js';

export function lanEndpointsOf(
  interfaces: Readonly<Record<string, readonly NetworkInterfaceInfo[] | undefined>>,
  port: number,
  exclude: { tunName: string; overlay: OverlayPrefix; ipv6?: boolean },
): Endpoint[] {
  const v4: Endpoint[] = [];
  const v6: Endpoint[] = [];
  for (const [name, addrs] of Object.entries(interfaces)) {
    if (name === exclude.tunName) continue;
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') {
        const e = { address: a.address, port };
        if (endpointRejection(e, exclude.overlay) === undefined) v4.push(e);
      } else if (a.family === 'IPv6' && exclude.ipv6 === true) {
        const address = canonicalIpv6(a.address);
        if (address === undefined) continue; // a zone-scoped (link-local) one: refused anyway
        const e = { address, port };
        if (endpointRejection(e) === undefined && !v6.some((x) => x.address === address)) v6.push(e);
      }
    }
  }
  return [...v4, ...v6].slice(0, MAX_LAN_ENDPOINTS);
}
