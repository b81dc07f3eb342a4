// The JSON a daemon answers to {"cmd":"status"} on its control socket: the contract between the
// daemons (which build it), `meshd status` (which renders it) and scripts (`meshd status --json`).
// Times are "milliseconds ago" measured on the daemon's monotonic clock, so no wall clocks need to
// agree; null means "never". Endpoints are "ip:port" strings (net/udp.ts endpointKey form).

/** How packets reach a peer, as users see it. The daemon maps its internal kind `public` to `direct`. */
export type UserPath = 'direct' | 'lan' | 'relay';

/** Data-plane counters of the whole node or of one remote peer. Bytes are overlay (inner IP) bytes. */
export interface TrafficJson {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
}

/** One remote peer as a peer daemon sees it. */
export interface PeerEntryJson extends TrafficJson {
  /** The name the peer registered with (unique in the network). */
  name: string;
  /** Overlay IPv4 address, e.g. "10.9.0.3". */
  address: string;
  /** Overlay IPv6 address, when it has one (issue 22). */
  address6?: string;
  /** Base64 X25519 public key (44 chars); the table shows its first 8 characters. */
  publicKey: string;
  /** The path in use; null when no session is up yet. */
  path: UserPath | null;
  /** The remote endpoint packets go to ("198.51.100.7:41641"); for `relay` the hub's endpoint; null if none. */
  endpoint: string | null;
  /** Smoothed round-trip time of the current path in ms; null before any PONG or KCP ack. */
  rttMs: number | null;
  /** Recent probe loss in percent (0-100); null before any probe was due. */
  lossPct: number | null;
  /** Since any authenticated packet came from this peer; null if never. */
  lastHeardMsAgo: number | null;
  /** Since the current session's handshake completed; null if no session. */
  lastHandshakeMsAgo: number | null;
  /** KCP segments retransmitted to this peer (0 with --transport datagram). */
  kcpRetransmits: number;
  /** KCP segments to this peer not yet acknowledged (the data this peer holds for it) and, of those,
   * queued and never sent yet (absent with datagrams and from older daemons). */
  kcpSegments?: { unacked: number; unsent: number };
  /** KCP resends to this peer by cause, those proven needless, and duplicates received from it
   * (issue 19; absent with datagrams and from older daemons). */
  kcpResend?: { timeout: number; fast: number; rack: number; spuriousTimeout: number; spuriousFast: number; spuriousRack: number; dupIn: number; limitPacingMs?: number; limitCwndMs?: number; limitSpanMs?: number; limitIdleMs?: number; segAllocs?: number };
  /** Small packets of a clean direct pair (peer/interactive-datagram.ts): sent as plain datagrams, kept
   * on KCP and why, and the losses (a gap in the peer's counters, a KCP resend) that ended plain sends. */
  smallPackets?: { datagram: number; 'recent-loss': number; unproven: number; 'busy-lane': number; lossGap: number; lossResend: number };
  /** The pair's one transport decision (peer/pair-transport.ts): the mode this peer sends to it
   * with, the reason code, whether FEC may wrap its sends (absent from older daemons) and why. */
  channelMode?: { mode: 'kcp' | 'datagram'; reason: string; why: string; fec?: boolean; fecReason?: string };
  /** NAT traversal for this pair (docs/NAT.md): the technique that won or is tried, or why relayed. */
  traversal?: TraversalJson;
}

/** One pair's NAT traversal (src/nat/traversal.ts NatPeerStatus). */
export interface TraversalJson {
  technique: 'direct' | 'prediction' | 'birthday' | 'portmap' | 'relay';
  state: 'trying' | 'direct' | 'relayed';
  reason: string;
  probes: number;
  sockets: number;
  timeToDirectMs?: number;
}

/** This node's NAT class (docs/NAT.md), as `meshd netcheck` prints it. */
export interface NatClassJson {
  mapping: string;
  filtering: string;
  allocation: string;
  delta: number;
  portMap: string[];
}

/** What `meshd peer` answers to {"cmd":"status"}. */
/** The latest handshake this node refused as stale (the remote's clock, or a replayed handshake). */
export interface StaleHandshakeJson {
  /** The remote's public key (base64) and where the initiation came from. */
  remote: string;
  from: string;
  /** Its clock minus ours, seconds (positive: ahead). */
  skewS: number;
  agoMs: number;
}

export interface PeerStatusJson {
  role: 'peer';
  /** meshd version string, e.g. "0.1.0". */
  version: string;
  /** This node's name, overlay address with prefix ("10.9.0.2/24") and public key. */
  name: string;
  address: string;
  /** Overlay IPv6 address with prefix ("fd12:3456:789a:1::a09:2/64"), when it has one. */
  address6?: string;
  publicKey: string;
  /** The TUN interface name and MTU. */
  tun: string;
  mtu: number;
  transport: 'auto' | 'kcp' | 'datagram';
  /** The local UDP socket ("0.0.0.0:41641"). */
  listen: string;
  /** Since the daemon started. */
  uptimeMs: number;
  hub: {
    /** The hub's "ip:port". */
    endpoint: string;
    /** True while registered (REGISTER_OK received and heartbeats answered). */
    registered: boolean;
    /** This node's endpoint as the hub observed it; null before registration. */
    reflexive: string | null;
    /** Since the hub last answered; null if never. */
    lastHeardMsAgo: number | null;
    /** While not registered: the hub's last refusal (the peer retries with backoff). */
    refused?: string;
  };
  /** How the hub session is carried (issue 21, peer/hub-transport.ts); absent from older daemons. */
  hubTransport?: HubTransportJson;
  /** Several hubs (issue 24, peer/hub-set.ts): each with its role; absent with one hub. */
  hubs?: HubSetJson[];
  /** FEC per peer overlay address (issue 19, peer/fec-pair.ts); absent from older daemons. */
  fec?: Record<string, FecStatusJson>;
  /** Node totals over all peers. */
  traffic: TrafficJson;
  /** The IPv6 share of `traffic` (issue 22); absent before the data plane is up. */
  traffic6?: TrafficJson;
  /** Dropped packets by reason (peer/counters.ts dropReasons); every reason present, zero included. */
  drops: Record<string, number>;
  /** Remote peers from the hub's map, sorted by overlay address. */
  peers: PeerEntryJson[];
  /** This node's NAT class once classified (absent before, or when the hub has no probe port). */
  nat?: NatClassJson;
  /** The gateway port mapping (src/nat/port-mapper.ts), when a protocol answered: one line. */
  portMapping?: string;
  /** Services this peer publishes through the hub (--publish); empty without. */
  services?: PublishedJson[];
  staleHandshake?: StaleHandshakeJson;
  /** Subnet routes and exit nodes (issue 23, docs/ROUTES.md). */
  routes?: RoutesJson;
  /** The DNS names this peer answers (issue 23). */
  dns?: DnsJson;
  /** The hub's ACL as this peer enforces it (docs/ACL.md). */
  acl?: PeerAclJson;
}

export interface RoutesJson {
  /** What this peer offers (--advertise-routes, 0.0.0.0/0 for --advertise-exit-node). */
  offered: string[];
  acceptRoutes: boolean;
  /** The exit node in use (its name), or null. */
  exitNode: string | null;
  /** Why the --exit-node asked for is not in use. */
  exitNodeWhy: string | null;
  /** Every route the hub reported: offered by whom, its verdict, installed here or why not, and use. */
  routes: Array<{ route: string; via: string; address: string; verdict: string; state: string; why: string; packets: number; bytes: number }>;
}

export interface DnsJson {
  domain: string;
  /** "10.9.0.2:53", or null when it could not listen. */
  listen: string | null;
  names: number;
  /** How the host resolves the domain: "systemd-resolved (meshd0)" or the line to add by hand. */
  resolver: string;
  answered: number;
  refused: number;
}

export interface PeerAclJson {
  /** open: no policy on the hub, all allowed; enforce: first matching rule, else denied. */
  mode: 'open' | 'enforce';
  version: number;
  rules: number;
  /** Flows this peer opened whose replies pass without a rule. */
  flows: number;
  allowedAsReply: number;
  /** Inbound packets dropped by the rule that denied them (`rule N` as in the policy file) or `default`. */
  drops: Record<string, number>;
  /** ACL_POLICY messages from the hub that did not decode. */
  malformedPolicies: number;
}

/** A published service (--publish / --allow-publish), as either side sees it. */
export interface PublishedJson {
  name: string;
  /** The public TCP port on the hub. */
  port: number;
  /** Peer side: the local target ("127.0.0.1:80"); hub side: the owner's name. */
  target?: string;
  owner?: string;
  /** Peer side: pending, published or refused (with the hub's reason). */
  state?: string;
  reason?: string;
  connections: number;
  totalConnections: number;
  /** Hub side: visitors refused by reason (service-full, ip-full, rate, table-full), closed idle, reset by the buffer budget. */
  refusedBy?: Record<string, number>;
  idleClosed?: number;
  budgetResets?: number;
  /** Visitor -> service and service -> visitor, over the service's life. */
  bytesIn: number;
  bytesOut: number;
}

/** One registered member as the hub sees it. */
export interface HubMemberJson {
  name: string;
  address: string;
  /** Overlay IPv6 address, when it has one. */
  address6?: string;
  publicKey: string;
  /** The member's endpoint as the hub observed it (its NAT mapping). */
  reflexive: string;
  /** LAN endpoints the member reported, in its order of preference. */
  lan: string[];
  /** Since the last heartbeat (or registration). */
  lastHeartbeatMsAgo: number;
  /** Since this registration (a re-register after a reboot resets it). */
  registeredMsAgo: number;
  /** Bytes the hub relayed from this member. */
  relayedBytes: number;
}

/** What `meshd hub` answers to {"cmd":"status"}. */
/** The peer's hub leg: which one, why, and what the probes see on each (docs/STREAM.md). */
export interface HubTransportJson {
  setting: 'auto' | 'udp' | 'tcp' | 'tls';
  leg: 'udp' | 'tcp' | 'tls';
  reason: string;
  sinceMsAgo: number;
  switches: number;
  udp: { lossPct: number | null; rttMs: number | null; lastAnswerMsAgo: number | null };
  stream: { kind: 'tcp' | 'tls'; up: boolean; lossPct: number | null; rttMs: number | null };
}

export interface HubStatusJson {
  role: 'hub';
  /** The stream transport (issue 21, hub/stream-listeners.ts); absent from older daemons. */
  stream?: { tcp: string | null; tls: string | null; connections: number; counters: Record<string, number> };
  version: string;
  publicKey: string;
  /** The hub's UDP socket ("0.0.0.0:7000"). */
  listen: string;
  /** The overlay network, "10.9.0.0/24". */
  network: string;
  uptimeMs: number;
  /** Current peer-map version. */
  mapVersion: number;
  /** Relayed totals since start, all members. */
  relayedBytes: number;
  relayedPackets: number;
  /** The relay's shaping queues (hub/relay-shaper.ts): bytes waiting now, the most ever, datagrams that waited. */
  relayQueue?: { queuedBytes: number; peakQueuedBytes: number; delayedPackets: number };
  /** Registered members, sorted by overlay address. */
  members: HubMemberJson[];
  /** Dropped datagrams by reason: relay refusals and the link's (bad mac1, unknown index...). */
  drops?: Record<string, number>;
  /** Services published through this hub; empty without --allow-publish. */
  published?: PublishedJson[];
  staleHandshake?: StaleHandshakeJson;
  /** Addresses and names bound to keys that are not registered now (held for them: H1). */
  bindings?: HubBindingJson[];
  /** Offered routes and the hub's verdicts (--allow-routes, issue 23). */
  routes?: Array<{ route: string; owner: string; address: string; verdict: string }>;
  /** Hubs sharing the network state through NATS (--cluster); absent on a hub alone. */
  cluster?: HubClusterJson;
  /** The ACL policy (--acl): rules, members enforcing it, policy messages sent (docs/ACL.md). */
  acl?: {
    rules: number; enforcing: number; sent: number; tooLarge: number; deltas?: number; wholes?: number; parts?: number;
    /** Scoped maps (docs/ACL.md "Scoped maps"): 'scoped' while a policy is loaded, else 'full';
     * and the mean entries in this hub's members' maps. */
    maps?: 'scoped' | 'full'; meanMapEntries?: number;
  };
}

export interface HubClusterJson {
  hubId: string;
  /** The NATS connection: connected, reconnecting or closed. */
  connection: string;
  /** Other hubs seen alive, with the members homed on each. */
  hubs: Array<{ hubId: string; members: number; lastSeenAgoMs: number }>;
  /** Members of the whole network in the map this hub serves. */
  mapMembers: number;
  /** Hub-to-hub signals on NATS (PUNCH only: relayed data goes over UDP) sent, received, refused (cut from NATS). */
  signals?: { sent: number; received: number; refused: number };
  /** Watches made again because they stopped delivering (a stalled NATS consumer). */
  watchRestarts?: number;
  /** This hub's presence writes that failed (each retried) and how long since one was acknowledged. */
  presence?: { writeFailures: number; lastWriteAgoMs: number };
  /** This hub's --acl digest (null: none) and the live other hubs whose digest differs (hub/cluster-acl.ts). */
  acl?: { digest: string | null; mismatched: Array<{ hubId: string; digest: string | null }> };
  /** PUNCH and relay to and from members of other hubs, and what was dropped (hub/cluster-forward.ts);
   * `udp`: the hub-to-hub UDP sessions relayed data goes over, and frames dropped (hub/hub-channel.ts). */
  crossHub?: {
    counters: Record<string, number>;
    drops: Record<string, number>;
    udp?: { sessions: Array<{ hubId: string; endpoint: string; framesOut: number; framesIn: number; bytesOut: number; bytesIn: number }>; drops: Record<string, number> };
  };
}

export interface HubBindingJson {
  name: string;
  address: string;
  publicKey: string;
  /** ISO time the key was last seen; null for an allow-list binding never seen. */
  lastSeen: string | null;
  /** From --allow-keys-file. */
  pinned: boolean;
}

export type StatusJson = PeerStatusJson | HubStatusJson;

/** One pair's FEC (peer/fec-pair.ts FecPairStatus): the shape picked and why, and what it did. */
export interface FecStatusJson {
  k: number;
  /** Parity shards per group; 0 = off. */
  m: number;
  why: string;
  lossPct?: number;
  repaired: number;
  unrecovered: number;
  parityFrames: number;
  overheadBytes: number;
}

/** One hub of a peer with several (peer/hub-set.ts HubSetStatus). */
export interface HubSetJson {
  hub: string;
  /** home | standby | trying | idle | down | learning-key | no-key | refused */
  role: string;
  rttMs: number | null;
  lastHeardMsAgo: number | null;
  key: string | null;
  failures: number;
  /** While down: when it is tried again. */
  retryInMs: number | null;
  why?: string;
  /** The leg this hub is reached on (udp | tcp | tls), each hub deciding on its own (peer/hub-legs.ts). */
  transport?: string;
}
