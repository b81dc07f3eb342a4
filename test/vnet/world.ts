// A hub and peers on the virtual internet, on one ManualClock: the harness of the in-process
// control-plane tests (test/peer, test/hub). One topology table, one test body.
import { keyPairFromPrivate, type StaticKeyPair } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { startHub, type Hub, type HubOptions } from '../../src/hub/hub.js';
import { PeerNode } from '../../src/peer/node.js';
import { NatAgent } from '../../src/nat/agent.js';
import { clientsFor } from '../../src/nat/port-map-client.js';
import { PortMapper } from '../../src/nat/port-mapper.js';
import { FakePortMapGateway, type GatewayOptions } from './port-map-gateway.js';
import type { Endpoint } from '../../src/net/udp.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { testLogger } from '../fakes/logger.js';
import { Rng } from '../fakes/rng.js';
import type { MemorySocket } from '../fakes/memory-udp.js';
import { natPresets, VirtualInternet, type Nat, type NatConfig, type VnetOptions } from './vnet.js';

export const SECRET = 'correct horse battery staple';
export const NETWORK = '10.9.0.0/24';
export const HUB_ENDPOINT: Endpoint = { address: '203.0.113.1', port: 7000 };
export const HUB_PROBE_PORT = 7001;

/** Where a host sits: the open internet, or behind a named NAT (hosts sharing a name share the NAT). */
export type Placement = { open: string } | { nat: string; config: NatConfig; lanIp: string };

export interface Topology {
  name: string;
  a: Placement;
  b: Placement;
  /** The path each side should settle on. */
  expect: 'lan' | 'direct' | 'relay';
}

const nat = (name: string, config: NatConfig, lanIp: string): Placement => ({ nat: name, config, lanIp });

export const topologies: Topology[] = [
  { name: 'open internet', a: { open: '198.51.100.10' }, b: { open: '198.51.100.20' }, expect: 'direct' },
  { name: 'one home NAT (EIM, APDF)', a: nat('natA', natPresets.home, '192.168.1.2'), b: { open: '198.51.100.20' }, expect: 'direct' },
  { name: 'two home NATs (EIM, APDF): simultaneous punch', a: nat('natA', natPresets.home, '192.168.1.2'), b: nat('natB', natPresets.home, '192.168.2.2'), expect: 'direct' },
  { name: 'two easy NATs (EIM, EIF)', a: nat('natA', natPresets.easy, '192.168.1.2'), b: nat('natB', natPresets.easy, '192.168.2.2'), expect: 'direct' },
  { name: 'address-dependent NAT to an easy NAT (peer-reflexive candidate)', a: nat('natA', natPresets.addressDependent, '192.168.1.2'), b: nat('natB', natPresets.easy, '192.168.2.2'), expect: 'direct' },
  { name: 'symmetric NAT (APDM) to a home NAT', a: nat('natA', natPresets.symmetric, '192.168.1.2'), b: nat('natB', natPresets.home, '192.168.2.2'), expect: 'relay' },
  { name: 'two symmetric NATs', a: nat('natA', natPresets.symmetric, '192.168.1.2'), b: nat('natB', natPresets.symmetric, '192.168.2.2'), expect: 'relay' },
  { name: 'same home NAT (no hairpin): LAN', a: nat('natA', natPresets.home, '192.168.1.2'), b: nat('natA', natPresets.home, '192.168.1.3'), expect: 'lan' },
];

export class World {
  readonly clock = new ManualClock();
  readonly net: VirtualInternet;
  readonly psk = derivePsk(SECRET);
  /** Keys from the seed (keyPair()): which side leads a handshake follows the keys, and with it which
   * packets meet which loss draws; fresh keys made every run a different one. */
  private readonly keyRng: Rng;
  readonly hubKeys: StaticKeyPair;
  /** The hub's randomness (its link's session indices and jitter, endpoint-proof txids). */
  private readonly hubRng: Rng;
  hub!: Hub;
  private readonly nats = new Map<string, Nat>();
  private natSeq = 1;
  private wallTick = 0;
  readonly rng = new Rng(7);
  readonly wall = () => 1_700_000_000_000 + this.clock.now() + this.wallTick++;

  /** One seed, one run: the same seed gives the same datagrams at the same virtual times
   * (test/vnet/replay.test.ts; docs/TESTING.md "Replaying a virtual internet run"). */
  constructor(seed = 1, quality: Omit<VnetOptions, 'seed'> = {}) {
    this.net = new VirtualInternet(this.clock, { seed, ...quality });
    this.net.host(HUB_ENDPOINT.address);
    this.keyRng = new Rng(0x6b657973 ^ seed);
    this.hubRng = new Rng(0x68756273 ^ seed);
    this.hubKeys = this.keyPair();
  }

  /** The next key pair of this world's seeded sequence (peers made without `keyPair` get one). */
  keyPair(): StaticKeyPair {
    return keyPairFromPrivate(this.keyRng.bytes(32));
  }

  startHub(opts: Pick<HubOptions, 'allowedKeys' | 'bindingsPath' | 'pinnedBindings' | 'bindingLeaseMs' | 'acl' | 'revocationsPath' | 'state' | 'invites' | 'inviteOnly' | 'network6' | 'relayBytesPerSec' | 'relayBurstBytes'> & { probePort?: boolean } = {}): Hub {
    const udp = this.net.open(HUB_ENDPOINT.address, HUB_ENDPOINT.port);
    const { probePort = true, ...rest } = opts;
    // The NAT probe port (hub/probe-port.ts), main + 1 as the daemon's default.
    const probeUdp = probePort ? this.net.open(HUB_ENDPOINT.address, HUB_PROBE_PORT) : undefined;
    this.hub = startHub({
      listen: HUB_ENDPOINT, network: NETWORK, psk: this.psk, keyPair: this.hubKeys, clock: this.clock, wallClock: this.wall,
      // The memory socket copies on send, as the native one the daemon uses: the link seals into one buffer.
      log: testLogger('hub'), udp, ...(probeUdp ? { probeUdp } : {}), random01: () => this.hubRng.next(), ...rest,
    });
    return this.hub;
  }

  natFor(name: string, config: NatConfig): Nat {
    let n = this.nats.get(name);
    if (!n) {
      const i = this.natSeq++;
      n = this.net.addNat(name, `198.51.100.${100 + i}`, `192.168.${i}`, config);
      this.nats.set(name, n);
    }
    return n;
  }

  socketAt(p: Placement, port = 51820): MemorySocket {
    if ('open' in p) return this.net.host(p.open).open(port);
    const n = this.natFor(p.nat, p.config);
    // Hosts are named by topology; map the declared LAN ip onto this NAT's prefix.
    const ip = `${n.lanPrefix}.${p.lanIp.split('.')[3]}`;
    return this.net.host(ip, n).open(port);
  }

  /** Port-mapping gateways by NAT name (made by peer(..., { gateway })). */
  readonly gateways = new Map<string, FakePortMapGateway>();

  /** NAT agents (src/nat) of the peers made with `nat: true`. */
  readonly natAgents = new Map<PeerNode, NatAgent>();

  peer(p: Placement, overlay: string, opts: { name?: string; nameIsHint?: boolean; keyPair?: StaticKeyPair; psk?: Uint8Array; learnKey?: boolean; prefix?: number; lanEndpoints?: Endpoint[]; nat?: boolean; gateway?: GatewayOptions; hub?: { endpoint: Endpoint; publicKey: Uint8Array }; overlay6?: string; hubLeg?: () => 'udp' | 'tcp' | 'tls'; hubs?: Array<{ endpoint: Endpoint; key?: Uint8Array }>; aclDeltas?: boolean } = {}): PeerNode {
    const main = this.socketAt(p);
    // A port-mapping gateway on this peer's NAT (test/vnet/port-map-gateway.ts), answering PCP and/or NAT-PMP.
    let gw: FakePortMapGateway | undefined;
    if (opts.gateway && 'nat' in p) {
      gw = this.gateways.get(p.nat) ?? new FakePortMapGateway(this.net, this.natFor(p.nat, p.config), opts.gateway);
      this.gateways.set(p.nat, gw);
    }
    const protocols = [...(opts.gateway?.pcp ? ['pcp' as const] : []), ...(opts.gateway?.natpmp ? ['natpmp' as const] : [])];
    const agent = opts.nat
      ? new NatAgent({
          main, psk: opts.psk ?? this.psk, clock: this.clock, wallClock: this.wall, log: testLogger(`nat ${overlay}`), hub: HUB_ENDPOINT, probePort: HUB_PROBE_PORT,
          openFresh: async () => this.net.open(main.local.address), random01: () => this.rng.next(),
          ...(gw
            ? {
                portMap: async () => protocols,
                portMapper: (found, onChange, onFailure) => new PortMapper({
                  gateway: gw.ip, internalPort: main.local.port, clock: this.clock, wallClock: this.wall, log: testLogger(`portmap ${overlay}`), onChange, onFailure,
                  clients: clientsFor(found, { gateway: gw.ip, client: main.local.address, openSocket: async () => this.net.open(main.local.address), clock: this.clock }),
                }),
              }
            : {}),
        })
      : undefined;
    const udp = agent ? agent.socket : main;
    const node = new PeerNode({
      ...(agent ? { nat: agent.traversal } : {}),
      udp, keyPair: opts.keyPair ?? this.keyPair(), psk: opts.psk ?? this.psk, clock: this.clock, wallClock: this.wall,
      log: testLogger(`peer ${overlay}`), hub: opts.hub?.endpoint ?? HUB_ENDPOINT, ...(opts.learnKey ? {} : { hubKey: opts.hub?.publicKey ?? this.hubKeys.publicKey }),
      overlay: ipv4ToU32(overlay), prefix: opts.prefix ?? (overlay === '0.0.0.0' ? 0 : 24), name: opts.name ?? `peer-${overlay.split('.')[3]}`, random01: () => this.rng.next(),
      ...(opts.lanEndpoints ? { lanEndpoints: opts.lanEndpoints } : {}),
      ...(agent ? { advertised: () => agent.advertised() } : {}),
      ...(opts.nameIsHint ? { nameIsHint: true } : {}),
      ...(opts.overlay6 !== undefined ? { overlay6: opts.overlay6, prefix6: opts.overlay6 === '::' ? 0 : 64 } : {}),
      ...(opts.hubLeg ? { hubLeg: opts.hubLeg } : {}),
      ...(opts.hubs ? { hubs: opts.hubs } : {}),
      ...(opts.aclDeltas === false ? { aclDeltas: false } : {}),
    });
    if (agent) {
      this.natAgents.set(node, agent);
      // The mapped endpoint reaches the hub in the next HEARTBEAT's endpoint list: send one now.
      agent.onMappedChange(() => node.hubClient.state === 'registered' && node.hubClient.heartbeat());
    }
    return node;
  }

  /** Starts a peer and runs the clock until it registers; throws the hub's refusal (HubRefusedError)
   * if it was refused instead (the node keeps retrying in the background, as a daemon does). */
  async join(node: PeerNode, ms = 3_000): Promise<void> {
    const started = node.start();
    started.catch(() => undefined);
    this.clock.advance(ms);
    await Promise.resolve();
    if (node.hubClient.state !== 'registered' && node.hubClient.lastRefusal) throw node.hubClient.lastRefusal;
    await started;
  }

  /** Runs the clock in small steps, letting promise continuations (socket opens, awaits) run
   * between them, until `p` settles or `maxMs` passed; returns p's value (throws if unsettled). */
  async settle<T>(p: Promise<T>, maxMs = 10_000): Promise<T> {
    let done = false;
    let value: T | undefined;
    let error: unknown;
    p.then((v) => { done = true; value = v; }, (e: unknown) => { done = true; error = e ?? new Error('rejected'); });
    for (let t = 0; t <= maxMs && !done; t += 20) {
      for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
      if (!done) this.clock.advance(20);
    }
    if (!done) throw new Error(`not settled within ${maxMs} ms of virtual time`);
    if (error !== undefined) throw error;
    return value as T;
  }

  run(ms: number): void {
    // Small steps so promise continuations between timers see a consistent clock.
    for (let t = 0; t < ms; t += 100) this.clock.advance(Math.min(100, ms - t));
  }
}
