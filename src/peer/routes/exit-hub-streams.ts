// Which hub legs --exit-node keeps off the tunnel (issue 24 with issue 21): every hub the peer may
// reach over TCP or TLS, not only the first, gets rules sending its stream ports to the main table
// (routes/commands.ts exitRulesOn). UDP legs need none: they leave from meshd's own UDP socket, whose
// source port keeps the main table for every hub. Pure; peer/run.ts calls it with the --hub list.
import type { HubTransportSetting } from '../../config/schema.js';
import type { Endpoint } from '../../net/udp.js';
import { isIpv6Text } from '../../util/ipv6.js';

/** Local limit: hubs whose stream legs are exempted (rules share two preferences, and a stale sweep
 * deletes each preference this many times); a --hub list past it leaves the rest on the tunnel. */
export const maxExitHubStreams = 8;

export interface HubStream {
  /** The hub's IPv4 address. */
  address: string;
  /** Its TCP port (the hub's UDP port number) and its TLS port, without repeats. */
  ports: number[];
}

/** The hubs' stream legs to exempt (pure): none with --hub-transport udp; IPv6 hubs left out (the
 * exit route is IPv4 only); one entry per address, in --hub order, ports merged. */
export function exitHubStreams(hubs: readonly Endpoint[], setting: HubTransportSetting, tlsPort: number): HubStream[] {
  if (setting === 'udp') return [];
  const out: HubStream[] = [];
  for (const hub of hubs) {
    if (isIpv6Text(hub.address)) continue;
    let s = out.find((x) => x.address === hub.address);
    if (!s) {
      if (out.length >= maxExitHubStreams) continue;
      s = { address: hub.address, ports: [] };
      out.push(s);
    }
    for (const port of [hub.port, tlsPort]) if (!s.ports.includes(port)) s.ports.push(port);
  }
  return out;
}
