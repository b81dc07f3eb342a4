// A virtual internet on the ManualClock: public hosts, and NAT routers whose mapping and filtering
// follow RFC 4787 (endpoint-independent, address-dependent, address-and-port-dependent), with
// mapping timeouts and no hairpinning. Hosts behind one NAT reach each other on their LAN.
import type { Endpoint } from '../../src/net/udp.js';
import { endpointKey } from '../../src/net/udp.js';
import type { Clock } from '../../src/util/clock.js';
import { MemorySocket, scheduleDelivery, type Fabric, type LinkQuality } from '../fakes/memory-udp.js';
import { Rng } from '../fakes/rng.js';

/** RFC 4787 section 4.1 (mapping) and 5 (filtering) behaviours. */
export type NatBehavior = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

/** How a NAT picks the public port of a new mapping: the next one (delta apart; RFC 4787's "port
 * overloading" aside, what many CGNATs and cheap routers do), the internal port when free
 * (port preservation, Linux masquerade), or a random one (masquerade random,fully-random). */
export type PortAllocation = 'sequential' | 'preserve' | 'random';

export interface NatConfig {
  mapping: NatBehavior;
  filtering: NatBehavior;
  /** Default sequential with delta 1 (the original vnet behaviour). */
  allocation?: PortAllocation;
  /** Sequential: the step between new mappings (default 1). */
  delta?: number;
  /** RFC 4787 REQ-5: at least 2 minutes; refreshed by outbound packets only. */
  mappingTimeoutMs?: number;
}

export const natPresets = {
  /** Full cone: EIM + EIF. Anyone may send to a mapping once it exists. */
  easy: { mapping: 'endpoint-independent', filtering: 'endpoint-independent' },
  /** The common home router (port-restricted cone): EIM + APDF. Punches when both sides send. */
  home: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' },
  /** ADM + ADF: a new mapping per destination IP. */
  addressDependent: { mapping: 'address-dependent', filtering: 'address-dependent' },
  /** Symmetric (carrier-grade, some firewalls): APDM + APDF, a new port per destination. */
  symmetric: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' },
  /** Symmetric with sequential ports (delta 1): predictable (issue 20's "sequential EDM"). */
  sequential: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', allocation: 'sequential', delta: 1 },
  /** Symmetric with random ports (Linux `masquerade random,fully-random`): only birthday punching helps. */
  randomSymmetric: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', allocation: 'random' },
  /** Linux plain `masquerade`: EIM, APDF (conntrack), the internal port kept when free. */
  preserving: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', allocation: 'preserve' },
} satisfies Record<string, NatConfig>;

interface Mapping {
  internal: Endpoint;
  publicPort: number;
  lastOutboundMs: number;
  /** Remote "ip" and "ip:port" keys this mapping has sent to (for filtering). */
  sentTo: Set<string>;
}

/** A mapping a port-mapping gateway made (test/vnet/port-map-gateway.ts): inbound from anyone to
 * `publicPort` reaches `internal`; replies to those senders leave from `publicPort` (conntrack). */
interface StaticMapping {
  internal: Endpoint;
  publicPort: number;
  expiresMs: number;
  /** Remote "ip:port" keys that came in through it (their replies keep the mapped port). */
  peers: Set<string>;
}

export class Nat {
  private readonly byKey = new Map<string, Mapping>();
  private readonly statics = new Map<number, StaticMapping>();
  private readonly byPort = new Map<number, Mapping>();
  private nextPort: number;
  filtered = 0;

  constructor(
    readonly name: string,
    readonly publicIp: string,
    /** First three octets of the LAN, e.g. "192.168.1". */
    readonly lanPrefix: string,
    readonly config: NatConfig,
    private readonly clock: Clock,
    firstPort = 20000,
    private readonly rng: Rng = new Rng(99),
  ) {
    this.nextPort = firstPort;
  }

  private allocate(internal: Endpoint): number {
    const a = this.config.allocation ?? 'sequential';
    if (a === 'preserve' && !this.live(this.byPort.get(internal.port))) return internal.port;
    if (a === 'random') {
      for (let i = 0; i < 64; i++) {
        const p = 1024 + Math.floor(this.rng.next() * (65536 - 1024));
        if (!this.live(this.byPort.get(p))) return p;
      }
    }
    const p = this.nextPort;
    this.nextPort += this.config.delta ?? 1;
    return p;
  }

  private get timeoutMs(): number {
    return this.config.mappingTimeoutMs ?? 120_000;
  }

  private mappingKey(internal: Endpoint, dst: Endpoint): string {
    switch (this.config.mapping) {
      case 'endpoint-independent':
        return endpointKey(internal);
      case 'address-dependent':
        return `${endpointKey(internal)}>${dst.address}`;
      case 'address-and-port-dependent':
        return `${endpointKey(internal)}>${endpointKey(dst)}`;
    }
  }

  private live(m: Mapping | undefined): Mapping | undefined {
    if (m && this.clock.now() - m.lastOutboundMs > this.timeoutMs) {
      this.byPort.delete(m.publicPort);
      for (const [k, v] of this.byKey) if (v === m) this.byKey.delete(k);
      return undefined;
    }
    return m;
  }

  /** A port mapping (PCP MAP, NAT-PMP, UPnP-IGD) for `internal`: its public port, the suggested one
   * when free. Asking again for the same internal endpoint renews it. */
  addStatic(internal: Endpoint, suggestedPort: number, lifetimeMs: number): number {
    for (const m of this.statics.values()) {
      if (endpointKey(m.internal) === endpointKey(internal)) {
        m.expiresMs = this.clock.now() + lifetimeMs;
        return m.publicPort;
      }
    }
    let port = suggestedPort;
    if (port === 0 || this.statics.has(port) || this.live(this.byPort.get(port))) port = this.allocate(internal);
    this.statics.set(port, { internal, publicPort: port, expiresMs: this.clock.now() + lifetimeMs, peers: new Set() });
    return port;
  }

  removeStatic(internal: Endpoint): boolean {
    for (const [p, m] of this.statics) {
      if (endpointKey(m.internal) === endpointKey(internal)) return this.statics.delete(p);
    }
    return false;
  }

  /** Port mappings alive now. */
  get staticMappings(): number {
    return [...this.statics.values()].filter((m) => m.expiresMs > this.clock.now()).length;
  }

  private liveStatic(port: number): StaticMapping | undefined {
    const m = this.statics.get(port);
    if (m && m.expiresMs <= this.clock.now()) {
      this.statics.delete(port);
      return undefined;
    }
    return m;
  }

  /** Translates an outbound packet's source, creating or refreshing a mapping. */
  outbound(internal: Endpoint, dst: Endpoint): Endpoint {
    for (const [port, m] of this.statics) {
      if (this.liveStatic(port) && m.peers.has(endpointKey(dst)) && endpointKey(m.internal) === endpointKey(internal)) return { address: this.publicIp, port };
    }
    const key = this.mappingKey(internal, dst);
    let m = this.live(this.byKey.get(key));
    if (!m) {
      m = { internal, publicPort: this.allocate(internal), lastOutboundMs: 0, sentTo: new Set() };
      this.byKey.set(key, m);
      this.byPort.set(m.publicPort, m);
    }
    m.lastOutboundMs = this.clock.now();
    m.sentTo.add(dst.address);
    m.sentTo.add(endpointKey(dst));
    return { address: this.publicIp, port: m.publicPort };
  }

  /** The internal endpoint an inbound packet goes to, or undefined when filtered. */
  inbound(src: Endpoint, publicPort: number): Endpoint | undefined {
    const st = this.liveStatic(publicPort);
    if (st) {
      st.peers.add(endpointKey(src));
      return st.internal;
    }
    const m = this.live(this.byPort.get(publicPort));
    let ok = m !== undefined;
    if (m && this.config.filtering === 'address-dependent') ok = m.sentTo.has(src.address);
    if (m && this.config.filtering === 'address-and-port-dependent') ok = m.sentTo.has(endpointKey(src));
    if (!ok) this.filtered++;
    return ok ? m!.internal : undefined;
  }

  /** Forgets every mapping (a router reboot or a carrier rebinding): the next packets get new ports. */
  rebind(): void {
    this.statics.clear();
    this.byKey.clear();
    this.byPort.clear();
  }

  get mappings(): number {
    return this.byPort.size;
  }
}

export interface VnetOptions {
  internet?: LinkQuality;
  lan?: LinkQuality;
  seed?: number;
}

export class VirtualInternet implements Fabric {
  private readonly sockets = new Map<string, { sock: MemorySocket; nat: Nat | undefined }>();
  private readonly nats = new Map<string, Nat>(); // by public ip
  private readonly hostNat = new Map<string, Nat | undefined>(); // host ip -> its NAT
  private readonly rng: Rng;
  private nextEphemeral = 50000;
  readonly drops = { noRoute: 0, filtered: 0, hairpin: 0, rule: 0 };
  /** What crossed: datagrams given to the fabric and delivered, and a digest (FNV-1a) of each
   * delivery's time, endpoints and length in order. Two runs of one seeded scenario are the same run
   * when these match (test/vnet/replay.test.ts); the bytes are not hashed (nonces and ephemeral keys
   * differ run to run without changing any timing). */
  readonly trace = { sent: 0, delivered: 0, digest: 0x811c9dc5 };
  /** Test hook: drop datagrams for which this returns true (a partition, a flaky path). */
  dropIf: ((src: Endpoint, dst: Endpoint) => boolean) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly opts: VnetOptions = {},
  ) {
    this.rng = new Rng(opts.seed ?? 1);
  }

  addNat(name: string, publicIp: string, lanPrefix: string, config: NatConfig): Nat {
    const nat = new Nat(name, publicIp, lanPrefix, config, this.clock, 20000 + this.nats.size * 5000, new Rng((this.opts.seed ?? 1) * 7919 + this.nats.size));
    this.nats.set(publicIp, nat);
    return nat;
  }

  /** Declares a host: public when `behind` is undefined, else on that NAT's LAN. */
  host(ip: string, behind?: Nat): { ip: string; open: (port?: number) => MemorySocket } {
    if (behind && !ip.startsWith(`${behind.lanPrefix}.`)) throw new Error(`${ip} is not on ${behind.name}'s LAN`);
    this.hostNat.set(ip, behind);
    return { ip, open: (port = 0) => this.open(ip, port) };
  }

  open(ip: string, port = 0): MemorySocket {
    if (!this.hostNat.has(ip)) throw new Error(`unknown host ${ip}`);
    const sock = new MemorySocket(this, { address: ip, port: port || this.nextEphemeral++ });
    const k = endpointKey(sock.local);
    if (this.sockets.has(k)) throw new Error(`address in use: ${k}`);
    this.sockets.set(k, { sock, nat: this.hostNat.get(ip) });
    return sock;
  }

  unbind(sock: MemorySocket): void {
    this.sockets.delete(endpointKey(sock.local));
  }

  transmit(from: MemorySocket, data: Buffer, to: Endpoint): void {
    this.trace.sent++;
    if (this.dropIf?.(from.local, to)) {
      this.drops.rule++;
      return;
    }
    const srcNat = this.hostNat.get(from.local.address);
    const dstLocal = this.sockets.get(endpointKey(to));
    // Same LAN (or both public and addressed directly): no translation.
    if (dstLocal && dstLocal.nat === srcNat) {
      this.carry(this.opts.lan ?? { delayMs: 1 }, data, from.local, to);
      return;
    }
    const src = srcNat ? srcNat.outbound(from.local, to) : from.local;
    const dstNat = this.nats.get(to.address);
    if (dstNat) {
      if (dstNat === srcNat) {
        this.drops.hairpin++;
        return;
      }
      const internal = dstNat.inbound(src, to.port);
      if (!internal) {
        this.drops.filtered++;
        return;
      }
      this.carry(this.opts.internet ?? { delayMs: 10 }, data, src, internal);
      return;
    }
    if (dstLocal && dstLocal.nat === undefined) {
      this.carry(this.opts.internet ?? { delayMs: 10 }, data, src, to);
      return;
    }
    this.drops.noRoute++;
  }

  private carry(q: LinkQuality, data: Buffer, src: Endpoint, to: Endpoint): void {
    scheduleDelivery(this.clock, this.rng, q, () => {
      this.traceDelivery(src, to, data.length);
      this.sockets.get(endpointKey(to))?.sock.deliver(data, src);
    });
  }

  private traceDelivery(src: Endpoint, to: Endpoint, length: number): void {
    this.trace.delivered++;
    let h = this.trace.digest;
    for (const c of `${this.clock.now()} ${endpointKey(src)} ${endpointKey(to)} ${length};`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
    this.trace.digest = h;
  }
}
