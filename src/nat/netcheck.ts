// `meshd netcheck` (docs/NAT.md): this machine's NAT as the hub's two ports see it, from fresh
// sockets only (the daemon need not run): mapping, filtering, port allocation, port-mapping
// protocols on the gateway, hub RTT per port, UDP OK. The report is JSON-ready; formatNetcheck
// prints it for people.
import type { Endpoint, UdpSocket } from '../net/udp.js';
import type { Clock, WallClock } from '../util/clock.js';
import type { PortMapProtocol } from '../wire/nat-class.js';
import { runClassification } from './classifier.js';
import { Prober } from './prober.js';

export interface NetcheckReport {
  hub: string;
  probePort: number;
  udp: boolean;
  publicEndpoint: string | null;
  mapping: string;
  filtering: string;
  allocation: string;
  delta: number;
  /** Port-mapping protocols the gateway answered; null when not checked. */
  portMap: PortMapProtocol[] | null;
  hubRttMs: { main: number | null; probe: number | null };
  probesSent: number;
}

export async function runNetcheck(o: {
  hub: Endpoint;
  probePort: number;
  psk: Uint8Array;
  clock: Clock;
  wallClock: WallClock;
  openFresh: () => Promise<UdpSocket>;
  portMap?: () => Promise<PortMapProtocol[]>;
}): Promise<NetcheckReport> {
  const prober = new Prober(o.psk, o.clock, o.wallClock);
  const primary = await o.openFresh();
  primary.onMessage((d, from) => prober.onReply(d, from));
  try {
    const c = await runClassification({
      prober,
      primary: { send: (d, to) => primary.send(d, to), localPort: primary.local.port },
      openFresh: o.openFresh,
      hub: o.hub,
      probePort: o.probePort,
      ...(o.portMap ? { portMap: o.portMap } : {}),
    });
    const round = (x: number | undefined) => (x === undefined ? null : Math.round(x * 10) / 10);
    return {
      hub: `${o.hub.address}:${o.hub.port}`,
      probePort: o.probePort,
      udp: c.udp,
      publicEndpoint: c.publicEndpoint ? `${c.publicEndpoint.address}:${c.publicEndpoint.port}` : null,
      mapping: c.nat.mapping,
      filtering: c.nat.filtering,
      allocation: c.nat.allocation,
      delta: c.nat.delta,
      portMap: o.portMap ? c.nat.portMap : null,
      hubRttMs: { main: round(c.hubRttMs.main), probe: round(c.hubRttMs.probe) },
      probesSent: c.probesSent,
    };
  } finally {
    await primary.close();
  }
}

const mappingText: Record<string, string> = {
  eim: 'endpoint-independent (easy: one public port for every destination)',
  edm: 'endpoint-dependent ("symmetric": a new public port per destination)',
  unknown: 'unknown (the probe port did not answer)',
};
const filteringText: Record<string, string> = {
  address: 'address-dependent or looser',
  'address-port': 'address-and-port-dependent',
  unknown: 'unknown',
};

export function formatNetcheck(r: NetcheckReport): string {
  const rtt = (x: number | null) => (x === null ? 'no answer' : `${x} ms`);
  const lines = [
    `hub ${r.hub} (probe port ${r.probePort})`,
    `  UDP:             ${r.udp ? 'yes' : 'no answer from the hub (a firewall, the wrong secret, or a hub without a probe port)'}`,
    `  public endpoint: ${r.publicEndpoint ?? '-'}`,
    `  mapping:         ${mappingText[r.mapping] ?? r.mapping}`,
    `  filtering:       ${filteringText[r.filtering] ?? r.filtering}`,
    `  allocation:      ${r.allocation}${r.allocation === 'sequential' ? ` (delta ${r.delta})` : ''}`,
    `  port mapping:    ${r.portMap === null ? 'not checked' : r.portMap.length === 0 ? 'none answered' : r.portMap.join(', ')}`,
    `  hub RTT:         main ${rtt(r.hubRttMs.main)}, probe port ${rtt(r.hubRttMs.probe)}`,
    `  probes sent:     ${r.probesSent}`,
  ];
  return `${lines.join('\n')}\n`;
}
