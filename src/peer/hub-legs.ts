// The peer's hub legs, one per hub (issue 21 per hub, issue 24): each hub in --hub gets its own
// HubLegSocket (chained: each passes on what is not its hub's) and its own HubTransport, so
// --hub-transport is followed per hub (auto: UDP, then TCP, then TLS to that hub). What the data
// plane and status read (the leg in use, UDP loss) is the home hub's. peer/run.ts composes it; one
// --hub is the chain of one, exactly the single-hub leg.
import type { HubTransportSetting } from '../config/schema.js';
import { HubLegSocket } from '../net/hub-leg-socket.js';
import { endpointKey, sameEndpoint, type Endpoint, type UdpSocket } from '../net/udp.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { HubTransport, type HubTransportStatus, type StreamConnector } from './hub-transport.js';
import type { HubLeg } from './transport-choice.js';

export interface HubLegsOptions {
  setting: HubTransportSetting;
  /** The peer's UDP socket (every hub leg and peer-to-peer traffic share it). */
  udp: UdpSocket;
  /** The hubs' UDP endpoints (TCP uses the same port, TLS `tlsPort`), in --hub order. */
  hubs: readonly Endpoint[];
  tlsPort: number;
  connect: StreamConnector;
  probeKey: Uint8Array;
  clock: Clock;
  log: Logger;
  /** The home hub now (the first before one is chosen). */
  home: () => Endpoint | undefined;
  /** A hub's leg switched (the daemon nudges that hub so its path follows at once). */
  onSwitch?: (hub: Endpoint, leg: HubLeg) => void;
}

export class HubLegs {
  /** The socket the node uses: the outermost of the chain. */
  readonly socket: HubLegSocket;
  readonly legs: Array<{ hub: Endpoint; socket: HubLegSocket; transport: HubTransport }> = [];

  constructor(private readonly o: HubLegsOptions) {
    let below: UdpSocket = o.udp;
    for (const hub of o.hubs) {
      let transport: HubTransport | undefined;
      const socket = new HubLegSocket(below, hub, (d, leg) => transport?.intercept(d, leg) ?? false);
      transport = new HubTransport({
        setting: o.setting, socket, tcp: hub, tls: { address: hub.address, port: o.tlsPort }, connect: o.connect, probeKey: o.probeKey, clock: o.clock,
        log: o.hubs.length > 1 ? o.log.child({ hub: `${hub.address}:${hub.port}` }) : o.log,
        onSwitch: (leg) => o.onSwitch?.(hub, leg),
      });
      this.legs.push({ hub, socket, transport });
      below = socket;
    }
    if (this.legs.length === 0) throw new Error('HubLegs: no hub');
    this.socket = this.legs[this.legs.length - 1]!.socket;
  }

  /** The transport of `hub`, if it is one of ours. */
  transportOf(hub: Endpoint): HubTransport | undefined {
    return this.legs.find((l) => sameEndpoint(l.hub, hub))?.transport;
  }

  private get homeTransport(): HubTransport {
    const home = this.o.home();
    return (home && this.transportOf(home)) ?? this.legs[0]!.transport;
  }

  /** The home hub's leg (the data plane's HubLegView and PING's leg flag read it). */
  get current(): HubLeg {
    return this.homeTransport.current;
  }

  udpLossPct(): number | undefined {
    return this.homeTransport.udpLossPct();
  }

  /** The home hub's leg as `meshd status` shows it. */
  status(): HubTransportStatus {
    return this.homeTransport.status();
  }

  /** Every hub leg's, one per hub. */
  statusPerHub(): Array<{ hub: string; leg: HubLeg; reason: string }> {
    return this.legs.map((l) => ({ hub: endpointKey(l.hub), leg: l.transport.current, reason: l.transport.status().reason }));
  }

  /** Switches of every hub's leg, by the leg switched to. */
  get switches(): Record<HubLeg, number> {
    const s: Record<HubLeg, number> = { udp: 0, tcp: 0, tls: 0 };
    for (const l of this.legs) for (const k of ['udp', 'tcp', 'tls'] as const) s[k] += l.transport.switches[k];
    return s;
  }

  /** Datagrams to a hub dropped while its stream leg was down, all hubs. */
  get streamDropped(): number {
    return this.legs.reduce((n, l) => n + l.socket.counters.streamDropped, 0);
  }

  start(): void {
    for (const l of this.legs) l.transport.start();
  }

  stop(): void {
    for (const l of this.legs) l.transport.stop();
  }
}
