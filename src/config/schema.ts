// The options of `meshd hub` and `meshd peer`: types, defaults and one line of documentation each.
// The CLI, the config-file loader and the README all read from this table.

import type { PortRange, PublishSpec } from '../publish/spec.js';

export type Role = 'hub' | 'peer';
export type KcpMode = 'normal' | 'fast' | 'fast2' | 'fast3';
export type Transport = 'auto' | 'kcp' | 'datagram';
export type FecSettingName = 'auto' | 'on' | 'off';
export type HubTransportSetting = 'auto' | 'udp' | 'tcp' | 'tls';

export interface OptionDoc {
  readonly key: string; // config-file key, camelCase; the flag is its kebab-case form
  readonly flag: string;
  readonly roles: readonly Role[];
  readonly arg?: string;
  readonly def?: string;
  readonly doc: string;
}

/** Default UDP port of the hub. */
export const defaultHubPort = 7000;
/** Overlay MTU: 1500 minus IPv6 (the larger header, so either underlay family fits), UDP, meshd, KCP,
 * AEAD and relay overheads (docs/PROTOCOL.md "MTU budget", test/peer/mtu-budget.test.ts). */
export const defaultTunMtu = 1358;
/** --tcp-window-clamp's default in MB (peer/tcp-window-clamp.ts says why 18). */
export const defaultTcpWindowClampMB = 18;

export const options: readonly OptionDoc[] = [
  { key: 'config', flag: '--config', roles: ['hub', 'peer'], arg: 'file', doc: 'JSON config file; flags override its keys' },
  { key: 'listen', flag: '--listen', roles: ['hub', 'peer'], arg: 'ip:port', def: 'hub 0.0.0.0:7000, peer 0.0.0.0:0', doc: 'UDP address to bind; [::]:PORT for IPv4 and IPv6 on one socket' },
  { key: 'network', flag: '--network', roles: ['hub'], arg: 'cidr', def: '10.9.0.0/24', doc: 'overlay network; peers must register addresses inside it' },
  { key: 'secretFile', flag: '--secret-file', roles: ['hub', 'peer'], arg: 'file', def: '$MESHD_SECRET, else /etc/meshd/secret (or $MESHD_SECRET_FILE)', doc: 'file holding the network secret: base64 of 32+ bytes (meshd gensecret) or a passphrase of 20+ characters' },
  { key: 'stateDir', flag: '--state-dir', roles: ['hub', 'peer'], arg: 'dir', def: '/var/lib/meshd', doc: 'where the node key (and the pinned hub key) live' },
  { key: 'keyFile', flag: '--key-file', roles: ['hub', 'peer'], arg: 'file', def: '<state-dir>/<role>.key', doc: 'private key file; created (mode 0600) if missing' },
  { key: 'allowKeysFile', flag: '--allow-keys-file', roles: ['hub'], arg: 'file', doc: 'only admit the peer public keys listed in this file, one per line: KEY [ADDRESS [NAME]] (a listed address and name are bound to that key)' },
  { key: 'inviteOnly', flag: '--invite-only', roles: ['hub'], doc: 'admit only keys enrolled by an invite (meshd hub invite) or listed in --allow-keys-file, not every holder of the network secret' },
  { key: 'join', flag: '--join', roles: ['peer'], arg: 'token', doc: 'join with an invite token from `meshd hub invite` instead of a network secret file; the credentials are kept in --state-dir (joined.json), so later starts need neither' },
  { key: 'acl', flag: '--acl', roles: ['hub'], arg: 'file', doc: 'JSON ACL policy: who may reach which ports of whom, enforced by the receiving peer (docs/ACL.md); reloaded on SIGHUP; default allow all' },
  { key: 'bindingLeaseDays', flag: '--binding-lease-days', roles: ['hub'], arg: 'days', def: '30', doc: "free a key's address and name after this many days unseen (else only `meshd hub release` frees them)" },
  { key: 'hub', flag: '--hub', roles: ['peer'], arg: 'host:port[@key]', doc: 'the hub to register with (required); an IPv6 hub as [2001:db8::1]:7000; repeatable: several hubs of one network (home = the fastest, the next on standby), each optionally with its base64 public key after @ (README "Several hubs")' },
  { key: 'hubKey', flag: '--hub-key', roles: ['peer'], arg: 'base64', doc: "the hub's public key (the hub's start line and status print it); without it the key is learned from the --hub address and pinned" },
  { key: 'network6', flag: '--network6', roles: ['hub'], arg: 'cidr|off', def: 'a ULA /64 derived from the network secret', doc: 'overlay IPv6 network (a /64); each peer gets the address with its IPv4 overlay address as the last 32 bits, or its own --local6; off = IPv4 overlay only' },
  { key: 'local6', flag: '--local6', roles: ['peer'], arg: 'ip6/64|off', def: "assigned by the hub (when it has --network6)", doc: "this peer's overlay IPv6 address inside the hub's --network6, e.g. fd12:3456:789a:1::2:1/64; off = IPv4 overlay only" },
  { key: 'local', flag: '--local', roles: ['peer'], arg: 'ip/prefix', def: 'assigned by the hub', doc: "this peer's overlay address and prefix, e.g. 10.9.0.2/24; without it the hub assigns a free one, the same for this key every time" },
  { key: 'name', flag: '--name', roles: ['peer'], arg: 'name', def: 'the host name, numbered by the hub if taken', doc: 'a name unique in the network (letters, digits, - and _); if another key holds it the peer retries until it is free' },
  { key: 'tun', flag: '--tun', roles: ['peer'], arg: 'name', def: 'meshd0', doc: 'TUN interface name' },
  { key: 'mtu', flag: '--mtu', roles: ['peer'], arg: 'bytes', def: String(defaultTunMtu), doc: 'TUN MTU (576-1420); the default fits direct and relayed packets in 1500' },
  { key: 'transport', flag: '--transport', roles: ['peer'], arg: 'auto|kcp|datagram', def: 'auto', doc: 'kcp: reliable, low latency under loss; datagram: one sealed UDP datagram per packet; auto: per pair, KCP except datagrams on a relayed path over a TCP/TLS hub leg at either end (README "One transport decision per pair")' },
  { key: 'kcpMode', flag: '--kcp-mode', roles: ['peer'], arg: 'normal|fast|fast2|fast3', def: 'fast2', doc: "KCP preset (kcptun's values)" },
  { key: 'fec', flag: '--fec', roles: ['peer'], arg: 'auto|on|off', def: 'auto', doc: 'forward error correction per peer pair: auto adds Reed-Solomon parity sized from the measured loss (none on a clean path), on always adds some, off never (docs/ARQ.md "FEC")' },
  { key: 'relayRate', flag: '--relay-rate', roles: ['hub'], arg: 'mbit', def: '50', doc: 'relay budget per peer in Mbit/s of the packets it tunnels (tunnel headers are not counted: the hub socket carries ~1.09x this), so one peer cannot exhaust the hub; shaped (a 200 ms queue per peer), dropped only when the queue is full' },
  { key: 'publish', flag: '--publish', roles: ['peer'], arg: 'name=tcp:port:host:port', doc: 'publish a local TCP service on a public port of the hub (repeatable), e.g. web=tcp:8080:127.0.0.1:80' },
  { key: 'allowPublish', flag: '--allow-publish', roles: ['hub'], arg: 'ranges', doc: 'public TCP ports peers may publish on, e.g. 8000-8999,9100 (default: none)' },
  { key: 'publishMaxConns', flag: '--publish-max-conns', roles: ['hub'], arg: 'n', def: '256', doc: 'concurrent visitor connections per published service' },
  { key: 'publishMaxConnsPerIp', flag: '--publish-max-conns-per-ip', roles: ['hub'], arg: 'n', def: '16', doc: 'concurrent connections one visitor IP may hold across all published services' },
  { key: 'publishAcceptRate', flag: '--publish-accept-rate', roles: ['hub'], arg: 'n', def: '8', doc: 'new visitor connections per second per visitor IP (burst 4x)' },
  { key: 'publishIdleTimeout', flag: '--publish-idle-timeout', roles: ['hub'], arg: 'seconds', def: '300', doc: 'close a visitor connection after this long with no bytes either way (0 = never)' },
  { key: 'publishBufferMb', flag: '--publish-buffer-mb', roles: ['hub', 'peer'], arg: 'MB', def: '64', doc: 'budget for bytes buffered in all published-service streams; past it slow readers are paused, then reset' },
  { key: 'publishMaxServices', flag: '--publish-max-services', roles: ['hub'], arg: 'n', def: '8', doc: 'services one member may publish' },
  { key: 'listenTcp', flag: '--listen-tcp', roles: ['hub'], arg: 'port|off', def: 'the --listen port', doc: 'also carry meshd datagrams over TCP on this port (same address as --listen), for peers whose network blocks UDP' },
  { key: 'listenTls', flag: '--listen-tls', roles: ['hub'], arg: 'port', doc: 'also carry them over TLS on this port (e.g. 443) for networks that pass only HTTPS; a self-signed certificate is made in --state-dir (TLS adds reachability, not trust)' },
  { key: 'tcpWindowClamp', flag: '--tcp-window-clamp', roles: ['peer'], arg: 'MB|off', def: '18', doc: "the most receive window a tunnelled TCP flow to a KCP pair may advertise, in MB: the sending peer holds that flow's unacknowledged bytes, so this bounds its memory per flow (18 MB: one flow up to ~720 Mbit/s at 200 ms RTT; raise it for faster long paths, off to leave windows alone; docs/ARQ.md \"Window clamp\")" },
  { key: 'portMap', flag: '--port-map', roles: ['peer'], arg: 'on|off', def: 'on', doc: 'ask the default gateway (PCP, NAT-PMP, UPnP-IGD) for a mapping of the UDP port and advertise it; deleted on exit' },
  { key: 'hubTransport', flag: '--hub-transport', roles: ['peer'], arg: 'auto|udp|tcp|tls', def: 'auto', doc: 'how to reach the hub: auto tries UDP and moves to TCP, then TLS, when the hub does not answer over UDP or UDP is far lossier; peer-to-peer traffic stays UDP' },
  { key: 'hubTlsPort', flag: '--hub-tls-port', roles: ['peer'], arg: 'port', def: '443', doc: "the hub's --listen-tls port (TCP uses the --hub port)" },
  { key: 'allowRoutes', flag: '--allow-routes', roles: ['hub'], arg: 'who:cidr,...', doc: 'routes members may offer: a member name or base64 key, a colon, a prefix it may offer (or narrower); 0.0.0.0/0 (or "exit") admits its exit node only, e.g. a:192.168.50.0/24,b:exit (default: none)' },
  { key: 'advertiseRoutes', flag: '--advertise-routes', roles: ['peer'], arg: 'cidr,...', doc: "offer these LAN prefixes to the mesh (the hub must admit them); this peer forwards and masquerades for them (docs/ROUTES.md)" },
  { key: 'advertiseExitNode', flag: '--advertise-exit-node', roles: ['peer'], doc: 'offer this peer as an exit node (the hub must admit 0.0.0.0/0 for it)' },
  { key: 'acceptRoutes', flag: '--accept-routes', roles: ['peer'], doc: "install the subnet routes other peers offer and the hub admitted on the TUN (default: off)" },
  { key: 'exitNode', flag: '--exit-node', roles: ['peer'], arg: 'name', doc: "send all internet traffic through this peer (an admitted exit node); meshd's own underlay traffic stays outside (docs/ROUTES.md)" },
  { key: 'exitNodeAllowLan', flag: '--exit-node-allow-lan', roles: ['peer'], doc: "with --exit-node, keep this host's own LAN (the main table's non-default routes) reachable directly" },
  { key: 'dnsDomain', flag: '--dns-domain', roles: ['peer'], arg: 'domain', def: 'mesh', doc: 'answer DNS for NAME.<domain> on the overlay address, port 53 ("off" disables); registered with systemd-resolved for the TUN when present' },
  { key: 'probePort', flag: '--probe-port', roles: ['hub', 'peer'], arg: 'port', def: 'the hub port + 1', doc: "hub: the UDP port answering NAT probes (0 = none; open it in the VPS firewall); peer: the hub's probe port (0 = no NAT classification)" },
  { key: 'cluster', flag: '--cluster', roles: ['hub'], arg: 'nats://host:port', doc: 'share the network state with the other hubs of the network through this NATS JetStream server (repeatable: seeds of one NATS cluster); default: this hub alone' },
  { key: 'clusterCreds', flag: '--cluster-creds', roles: ['hub'], arg: 'file', doc: 'NATS credentials for --cluster: a .creds file, or one line user:password, or a token (never on the command line)' },
  { key: 'clusterAdvertise', flag: '--cluster-advertise', roles: ['hub'], arg: 'ip:port', def: 'the --listen address when it is not 0.0.0.0 or ::', doc: "with --cluster: the UDP address other hubs send relayed data to (this hub's public address and --listen port); without it, a hub listening on a wildcard receives no data from other hubs" },
  { key: 'metrics', flag: '--metrics', roles: ['hub', 'peer'], arg: 'ip:port', doc: 'serve Prometheus metrics at http://ip:port/metrics (prefer 127.0.0.1: the page is not authenticated)' },
  { key: 'logLevel', flag: '--log-level', roles: ['hub', 'peer'], arg: 'level', def: 'info', doc: 'fatal, error, warn, info, debug, trace or silent' },
];

export interface CommonConfig {
  listen: { address: string; port: number };
  secret: string; // resolved secret text (never from a flag)
  stateDir: string;
  keyFile: string;
  metrics?: { address: string; port: number };
  /** NAT probe port (docs/NAT.md): the hub's own (hub) or the hub's (peer); undefined = the hub port + 1, 0 = none. */
  probePort?: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface HubConfig extends CommonConfig {
  network: { address: string; prefixLength: number };
  /** The overlay IPv6 /64 (canonical network address); undefined = --network6 off. */
  network6?: { address: string; prefixLength: number };
  allowKeysFile?: string;
  /** --invite-only: admit allow-listed and invite-enrolled keys only (issue 25). */
  inviteOnly: boolean;
  /** The ACL policy file (--acl); absent = allow all. */
  acl?: string;
  allowPublish: PortRange[];
  publishMaxConns?: number;
  publishMaxConnsPerIp?: number;
  publishAcceptRate?: number;
  publishIdleTimeoutSec?: number;
  publishBufferMb?: number;
  publishMaxServices?: number;
  /** Relay budget per peer, Mbit/s. */
  relayRateMbit: number;
  /** A binding (key -> address, name) unseen this many days is freed. */
  bindingLeaseDays: number;
  /** TCP port for the stream transport (issue 21); undefined = off. */
  listenTcp?: number;
  /** TLS port for the stream transport; undefined = off. */
  listenTls?: number;
  /** --allow-routes: who (name or base64 key) may offer which prefix (or narrower). */
  allowRoutes: RouteRule[];
  /** NATS servers of the shared state (--cluster); empty = this hub alone. */
  cluster: string[];
  /** File with the NATS credentials (--cluster-creds). */
  clusterCreds?: string;
  /** --cluster-advertise: the UDP address other hubs send relayed data to. */
  clusterAdvertise?: { address: string; port: number };
}

/** An IPv4 prefix as numbers (network has no host bits). */
export interface RouteCidr {
  network: number;
  length: number;
}

export interface RouteRule extends RouteCidr {
  who: string;
}

export interface PeerConfig extends CommonConfig {
  /** The first --hub (a single hub: the only one). */
  hub: { host: string; port: number };
  hubKey?: string;
  /** Every --hub in the order given (several hubs: peer/hub-set.ts); `key` from host:port@KEY. */
  hubs: Array<{ host: string; port: number; key?: string }>;
  /** --join: the invite token's text (checked by the parser; redeemed by peer/join.ts). */
  join?: string;
  /** Absent: the hub assigns an address in its --network (the same one for this key next time). */
  local?: { address: string; prefixLength: number };
  /** --local6: an address (canonical text) and prefix; 'off' = no overlay IPv6; absent = the hub's. */
  local6?: { address: string; prefixLength: number } | 'off';
  name: string;
  /** No --name: `name` is the host name and the hub may number it (host-2, host-3...). */
  nameIsHint: boolean;
  tun: string;
  mtu: number;
  transport: Transport;
  kcpMode: KcpMode;
  /** --fec (peer/fec-stage.ts). */
  fec: FecSettingName;
  publish: PublishSpec[];
  publishBufferMb?: number;
  /** How the hub is reached (issue 21, docs/STREAM.md). */
  hubTransport: HubTransportSetting;
  /** --port-map: ask the gateway for a port mapping (nat/port-mapper.ts). */
  portMap: boolean;
  /** --tcp-window-clamp in bytes; 0 = off (peer/tcp-window-clamp.ts). */
  tcpWindowClampBytes: number;
  hubTlsPort: number;
  /** Issue 23 (docs/ROUTES.md). */
  advertiseRoutes: RouteCidr[];
  advertiseExitNode: boolean;
  acceptRoutes: boolean;
  exitNode?: string;
  exitNodeAllowLan: boolean;
  /** '' = no DNS. */
  dnsDomain: string;
}
