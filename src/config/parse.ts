// Turns raw options (config-file keys merged with flags) into a checked HubConfig or PeerConfig.
// Pure apart from the injected readText: every error is a ConfigError naming the option. The typed
// readers are option-values.ts, the address options address-options.ts, the secret secret-option.ts.
import { ConfigError } from '../util/errors.js';
import { parseEndpoint } from '../net/udp.js';
import { parsePortRanges, parsePublishSpecs } from '../publish/spec.js';
import { joinedHub, tokenHub } from './join-source.js';
import {
  defaultHubPort,
  defaultTcpWindowClampMB,
  defaultTunMtu,
  options,
  type CommonConfig,
  type HubConfig,
  type KcpMode,
  type FecSettingName,
  type PeerConfig,
  type Role,
  type Transport,
  type HubTransportSetting,
} from './schema.js';
import { allowRoutes, cidr, cidr6, clusterUrls, hubList, listen, network6Of, parseHubText, routeCidr } from './address-options.js';
import { boolOpt, intOpt, listOpt, oneOf, str, type ParseContext, type RawOptions } from './option-values.js';
import { secret } from './secret-option.js';

export type { ParseContext, RawOptions } from './option-values.js';
export { cidr6, clusterUrls, parseHubText, routeCidr } from './address-options.js';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const kcpModes: readonly KcpMode[] = ['normal', 'fast', 'fast2', 'fast3'];
const transports: readonly Transport[] = ['auto', 'kcp', 'datagram'];
const fecSettings: readonly FecSettingName[] = ['auto', 'on', 'off'];
const hubTransports: readonly HubTransportSetting[] = ['auto', 'udp', 'tcp', 'tls'];
/** Local policy (hub/bindings.ts defaultBindingLeaseDays; config does not import hub). */
const defaultBindingLeaseDays = 30;
/** Per-peer relay budget: enough for interactive use and modest transfers, far from a VPS's link. */
const defaultRelayRateMbit = 50;

function common(role: Role, raw: RawOptions, ctx: ParseContext, listenDefault: string): CommonConfig {
  const known = new Set(options.filter((o) => o.roles.includes(role)).map((o) => o.key));
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) throw new ConfigError(key, `unknown option for meshd ${role}`);
  }
  const stateDir = str(raw, 'stateDir') ?? '/var/lib/meshd';
  const c: CommonConfig = {
    listen: listen(raw, listenDefault),
    secret: secret(role, raw, ctx),
    stateDir,
    keyFile: str(raw, 'keyFile') ?? `${stateDir}/${role}.key`,
    logLevel: oneOf(raw, 'logLevel', logLevels, 'info'),
  };
  const metrics = str(raw, 'metrics');
  if (metrics !== undefined) {
    const ep = parseEndpoint(metrics);
    if (!ep) throw new ConfigError('--metrics', `must be ip:port, like 127.0.0.1:9101 (got "${metrics}")`);
    c.metrics = ep;
    if (!ep.address.startsWith('127.')) {
      ctx.notice?.('warn', `--metrics ${ep.address}:${ep.port} is not a loopback address: the metrics page is not authenticated, and anyone who can reach it reads peer addresses and traffic (prefer 127.0.0.1)`, { metrics: `${ep.address}:${ep.port}` });
    }
  }
  return c;
}

/** --publish may repeat; a config file may give one string or an array of strings. */
function publishTexts(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((x) => typeof x === 'string')) throw new ConfigError('--publish', 'must be a string or a list of strings like web=tcp:8080:127.0.0.1:80');
  return list as string[];
}

export function parseHubConfig(raw: RawOptions, ctx: ParseContext): HubConfig {
  const c = common('hub', raw, ctx, `0.0.0.0:${defaultHubPort}`);
  const allowPublish = str(raw, 'allowPublish');
  const cfg: HubConfig = {
    ...c,
    inviteOnly: false,
    network: cidr('network', str(raw, 'network') ?? '10.9.0.0/24', true),
    ...network6Of(str(raw, 'network6'), c.secret),
    allowPublish: allowPublish === undefined ? [] : parsePortRanges(allowPublish),
    relayRateMbit: defaultRelayRateMbit,
    bindingLeaseDays: defaultBindingLeaseDays,
    allowRoutes: allowRoutes(raw),
    cluster: clusterUrls(raw.cluster),
  };
  const creds = str(raw, 'clusterCreds');
  if (creds !== undefined) {
    if (cfg.cluster.length === 0) throw new ConfigError('--cluster-creds', 'needs --cluster (the NATS servers the credentials are for)');
    cfg.clusterCreds = creds;
  }
  const advertise = str(raw, 'clusterAdvertise');
  if (advertise !== undefined) {
    if (cfg.cluster.length === 0) throw new ConfigError('--cluster-advertise', 'needs --cluster (it is where the other hubs of the cluster send relayed data)');
    const e = parseEndpoint(advertise);
    if (!e || e.address === '0.0.0.0' || e.address === '::') throw new ConfigError('--cluster-advertise', `must be a specific ip:port or [ip6]:port other hubs can reach (got "${advertise}")`);
    cfg.clusterAdvertise = { address: e.address, port: e.port };
  }
  if (raw.bindingLeaseDays !== undefined) {
    const d = Number(raw.bindingLeaseDays);
    if (!Number.isFinite(d) || d < 1 || d > 36_500) throw new ConfigError('--binding-lease-days', `must be a number of days from 1 to 36500 (got "${String(raw.bindingLeaseDays)}")`);
    cfg.bindingLeaseDays = d;
  }
  if (raw.relayRate !== undefined) {
    const r = Number(raw.relayRate);
    if (!Number.isFinite(r) || r < 0.1 || r > 100_000) throw new ConfigError('--relay-rate', `must be a number of Mbit/s from 0.1 to 100000 (got "${String(raw.relayRate)}")`);
    cfg.relayRateMbit = r;
  }
  if (raw.publishMaxConns !== undefined) {
    const n = Number(raw.publishMaxConns);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError('--publish-max-conns', `must be an integer from 1 to 65535 (got "${String(raw.publishMaxConns)}")`);
    cfg.publishMaxConns = n;
  }
  const perIp = intOpt(raw, 'publishMaxConnsPerIp', '--publish-max-conns-per-ip', 1, 65535);
  if (perIp !== undefined) cfg.publishMaxConnsPerIp = perIp;
  const rate = intOpt(raw, 'publishAcceptRate', '--publish-accept-rate', 1, 100_000);
  if (rate !== undefined) cfg.publishAcceptRate = rate;
  const idle = intOpt(raw, 'publishIdleTimeout', '--publish-idle-timeout', 0, 86_400);
  if (idle !== undefined) cfg.publishIdleTimeoutSec = idle;
  const buf = intOpt(raw, 'publishBufferMb', '--publish-buffer-mb', 1, 65_536);
  if (buf !== undefined) cfg.publishBufferMb = buf;
  const maxSvc = intOpt(raw, 'publishMaxServices', '--publish-max-services', 1, 65535);
  if (maxSvc !== undefined) cfg.publishMaxServices = maxSvc;
  const allow = str(raw, 'allowKeysFile');
  if (allow !== undefined) cfg.allowKeysFile = allow;
  cfg.inviteOnly = boolOpt(raw, 'inviteOnly');
  // The stream transport (issue 21): TCP on the UDP port number unless told otherwise or "off".
  if (raw.listenTcp !== 'off') cfg.listenTcp = intOpt(raw, 'listenTcp', '--listen-tcp', 0, 65535) ?? c.listen.port;
  const tls = intOpt(raw, 'listenTls', '--listen-tls', 0, 65535);
  if (tls !== undefined) cfg.listenTls = tls;
  const probePort = intOpt(raw, 'probePort', '--probe-port', 0, 65535);
  if (probePort !== undefined) cfg.probePort = probePort;
  const acl = str(raw, 'acl');
  if (acl !== undefined) cfg.acl = acl;
  return cfg;
}

function dnsDomain(v: string): string {
  if (v === 'off') return '';
  const d = v.toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(d)) throw new ConfigError('--dns-domain', `must be a DNS domain like mesh or mesh.example (got "${v}")`);
  return d;
}

export function parsePeerConfig(raw: RawOptions, ctx: ParseContext): PeerConfig {
  const c = common('peer', raw, ctx, '0.0.0.0:0');
  const joinText = str(raw, 'join');
  // Without --hub: the token's first hub address, else the one saved when this peer joined.
  const hubTexts = hubList(raw.hub);
  const hubText = hubTexts[0] ?? (joinText !== undefined ? tokenHub(joinText) : joinedHub(c.stateDir, ctx));
  if (hubText === undefined) throw new ConfigError('--hub', joinText !== undefined ? 'is required: the invite token names no hub address' : 'is required (host:port of the hub)');
  const hubs = (hubTexts.length > 0 ? hubTexts : [hubText]).map(parseHubText);
  const seen = new Set<string>();
  for (const h of hubs) {
    const k = `${h.host}:${h.port}`;
    if (seen.has(k)) throw new ConfigError('--hub', `${k} is given twice`);
    seen.add(k);
  }
  const localText = str(raw, 'local');
  const explicitName = str(raw, 'name');
  if (explicitName !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(explicitName)) throw new ConfigError('--name', `must be 1-32 letters, digits, - or _ (got "${explicitName}")`);
  // Without --name the host name is a hint: the hub gives the first free of host, host-2, host-3...
  const name = explicitName ?? ctx.hostname;
  const tun = str(raw, 'tun') ?? 'meshd0';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(tun)) {
    throw new ConfigError('--tun', `must be an interface name of 1-15 letters, digits, _ . or -, starting with a letter or digit (got "${tun}")`);
  }
  const mtuRaw = raw.mtu ?? defaultTunMtu;
  const mtu = typeof mtuRaw === 'string' ? Number(mtuRaw) : mtuRaw;
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 576 || mtu > 1420) {
    throw new ConfigError('--mtu', `must be an integer from 576 to 1420 (got "${String(mtuRaw)}")`);
  }
  const cfg: PeerConfig = {
    ...c,
    hub: { host: hubs[0]!.host, port: hubs[0]!.port },
    hubs,
    name,
    nameIsHint: explicitName === undefined,
    tun,
    mtu,
    transport: oneOf(raw, 'transport', transports, 'auto'),
    kcpMode: oneOf(raw, 'kcpMode', kcpModes, 'fast2'),
    fec: oneOf(raw, 'fec', fecSettings, 'auto'),
    publish: parsePublishSpecs(publishTexts(raw.publish)),
    hubTransport: oneOf(raw, 'hubTransport', hubTransports, 'auto'),
    portMap: oneOf(raw, 'portMap', ['on', 'off'] as const, 'on') === 'on',
    tcpWindowClampBytes: raw.tcpWindowClamp === 'off' ? 0 : (intOpt(raw, 'tcpWindowClamp', '--tcp-window-clamp', 1, 1000) ?? defaultTcpWindowClampMB) * 1_000_000,
    hubTlsPort: intOpt(raw, 'hubTlsPort', '--hub-tls-port', 1, 65535) ?? 443,
    advertiseRoutes: listOpt(raw, 'advertiseRoutes').map((t) => routeCidr('advertiseRoutes', t)),
    advertiseExitNode: boolOpt(raw, 'advertiseExitNode'),
    acceptRoutes: boolOpt(raw, 'acceptRoutes'),
    exitNodeAllowLan: boolOpt(raw, 'exitNodeAllowLan'),
    dnsDomain: dnsDomain(str(raw, 'dnsDomain') ?? 'mesh'),
  };
  if (cfg.advertiseRoutes.some((r) => r.length === 0)) throw new ConfigError('--advertise-routes', 'use --advertise-exit-node to offer 0.0.0.0/0');
  const exitNode = str(raw, 'exitNode');
  if (exitNode !== undefined) cfg.exitNode = exitNode;
  const peerBuf = intOpt(raw, 'publishBufferMb', '--publish-buffer-mb', 1, 65_536);
  if (peerBuf !== undefined) cfg.publishBufferMb = peerBuf;
  if (localText !== undefined) cfg.local = cidr('local', localText, false);
  const local6 = str(raw, 'local6');
  if (local6 !== undefined) cfg.local6 = local6 === 'off' ? 'off' : cidr6('--local6', local6, false);
  if (typeof cfg.local6 === 'object' && mtu < 1280) throw new ConfigError('--local6', `needs --mtu of at least 1280, the IPv6 minimum (got ${mtu})`);
  const hubKey = str(raw, 'hubKey');
  if (hubKey !== undefined) {
    if (!/^[A-Za-z0-9+/]{43}=$/.test(hubKey)) throw new ConfigError('--hub-key', 'must be a base64 X25519 public key (44 characters)');
    cfg.hubKey = hubKey;
  }
  // The first hub's key: --hub HOST:PORT@KEY and --hub-key say the same thing (one may be given).
  const firstKey = hubs[0]!.key;
  if (firstKey !== undefined) {
    if (cfg.hubKey !== undefined && cfg.hubKey !== firstKey) throw new ConfigError('--hub-key', 'differs from the key given with the first --hub (host:port@KEY)');
    cfg.hubKey = firstKey;
  }
  const probePort = intOpt(raw, 'probePort', '--probe-port', 0, 65535);
  if (probePort !== undefined) cfg.probePort = probePort;
  if (joinText !== undefined) cfg.join = joinText;
  return cfg;
}
