// The peer's NAT side in one piece (docs/NAT.md): the socket seam (NatSocket over the main socket),
// the prober, classification and the traversal engine. peer/run.ts and the in-process tests build
// one and hand `socket` and `traversal` to the PeerNode, then call classify() once registered.
import type { Endpoint, UdpSocket } from '../net/udp.js';
import type { Clock, WallClock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { PortMapProtocol } from '../wire/nat-class.js';
import { runClassification, type Classification } from './classifier.js';
import { NatSocket } from './nat-socket.js';
import { Prober } from './prober.js';
import { NatTraversal } from './traversal.js';
import type { PortMapper } from './port-mapper.js';

export interface NatAgentOptions {
  main: UdpSocket;
  psk: Uint8Array;
  clock: Clock;
  wallClock: WallClock;
  log: Logger;
  hub: Endpoint;
  /** The hub's probe port (0 = none: no classification, today's direct probing only). */
  probePort: number;
  openFresh: () => Promise<UdpSocket>;
  random01: () => number;
  portMap?: () => Promise<PortMapProtocol[]>;
  /** Builds the port mapper for the protocols the gateway answered (nat/port-mapper.ts); it is
   * started after classification, its endpoint advertised through advertised(). */
  portMapper?: (protocols: PortMapProtocol[], onChange: (e: Endpoint | undefined) => void, onFailure: () => void) => PortMapper | undefined;
}

export class NatAgent {
  readonly socket: NatSocket;
  readonly prober: Prober;
  readonly traversal: NatTraversal;
  last: Classification | undefined;
  /** The gateway mapping for the main socket, when a port-mapping protocol answered. */
  portMapper: PortMapper | undefined;
  private mappedHandler: (() => void) | undefined;

  constructor(private readonly o: NatAgentOptions) {
    this.socket = new NatSocket(o.main);
    this.prober = new Prober(o.psk, o.clock, o.wallClock);
    this.socket.onProbeReply((d, from) => this.prober.onReply(d, from));
    this.traversal = new NatTraversal({
      socket: this.socket, clock: o.clock, random01: o.random01, log: o.log, openFresh: o.openFresh, freshPort: () => this.freshPort(),
    });
  }

  /** Classifies this node's NAT from its main socket; the class is kept only when the hub answered
   * (a class tells the hub we read PUNCH's class field; an older hub never answers probes). */
  async classify(): Promise<Classification | undefined> {
    if (this.o.probePort === 0) return undefined;
    const c = await runClassification({
      prober: this.prober,
      primary: { send: (d, to) => this.o.main.send(d, to), localPort: this.o.main.local.port },
      openFresh: this.o.openFresh,
      hub: this.o.hub,
      probePort: this.o.probePort,
      ...(this.o.portMap ? { portMap: this.o.portMap } : {}),
    });
    this.last = c;
    if (c.nat.mapping !== 'unknown') this.traversal.own = c.nat;
    if (!this.portMapper && c.nat.portMap.length > 0) {
      const found = c.nat.portMap;
      // The class's port-map bits tell the partner to expect a mapping (technique portmap): they
      // stay while one is held or being asked for, and go when every protocol refused.
      const bits = (on: boolean): boolean => {
        const own = this.traversal.own;
        if (!own || (own.portMap.length > 0) === on) return false;
        this.traversal.own = { ...own, portMap: on ? [...found] : [] };
        return true;
      };
      this.portMapper = this.o.portMapper?.(found, (e) => {
        bits(e !== undefined);
        this.mappedHandler?.();
      }, () => bits(false) && this.mappedHandler?.());
      this.portMapper?.start();
    }
    this.o.log.info({ mapping: c.nat.mapping, filtering: c.nat.filtering, allocation: c.nat.allocation, delta: c.nat.delta, probes: c.probesSent }, 'nat: classified');
    return c;
  }

  /** Endpoints to advertise before the LAN ones: the gateway mapping, once granted. */
  advertised(): Endpoint[] {
    const e = this.portMapper?.external;
    return e ? [e] : [];
  }

  /** Called when the mapped endpoint appears, moves or goes (the node sends a HEARTBEAT). */
  onMappedChange(fn: () => void): void {
    this.mappedHandler = fn;
  }

  /** Deletes the gateway mapping (every exit path) and stops renewing it. */
  async close(): Promise<void> {
    await this.portMapper?.stop();
  }

  /** The public port a fresh mapping gets now (mirrored prediction's base). */
  private async freshPort(): Promise<number | undefined> {
    if (this.o.probePort === 0) return undefined;
    const s = await this.o.openFresh();
    try {
      s.onMessage((d, from) => this.prober.onReply(d, from));
      const a = await this.prober.ask((d, to) => s.send(d, to), { address: this.o.hub.address, port: this.o.probePort });
      return a?.observed.port;
    } finally {
      await s.close();
    }
  }
}
