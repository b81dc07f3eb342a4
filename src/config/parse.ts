// Turns raw options (config-file keys merged with flags) into a checked HubConfig or PeerConfig.
// Pure apart from the injected readText: every error is a ConfigError naming the option.
import { IPv4CidrRange, Validator } from '../util/ip-num.js';
import { formatIpv6 as formatIpv6Text, maskIpv6, parseIpv6 as parseIpv6Text, samePrefix6, ulaPrefixFromSecret } from '../util/ipv6-prefix.js';
import { ConfigError } from '../util/errors.js';
import { parseIpv4, prefixMask } from '../util/ipv4.js';
import { classifySecret, MIN_PASSPHRASE_CHARS } from '../crypto/secret.js';
import { defaultSecretPath, secretFileDefault } from './secret-file.js';
import { parseEndpoint } from '../net/udp.js';
import { canonicalIpv6 } from '../util/ipv6.js';
import { parsePortRanges, parsePublishSpecs } from '../publish/spec.js';
import { joinedHub, tokenHub } from './join-source.js';
import {
  defaultHubPort,
  defaultTunMtu,
  options,
  type CommonConfig,
  type HubConfig,
  type KcpMode,
  type FecSettingName,
  type PeerConfig,
  type Role,
  type RouteCidr,
  type RouteRule,
  type Transport,
  type HubTransportSetting,
} from './schema.js';

export interface ParseContext {
  env: Readonly<Record<string, string | undefined>>;
  hostname: string;
  readText(path: string): string;
  /** Permission bits of a file (for the loose-secret warning); absent: not checked. */
  fileMode?(path: string): number | undefined;
  /** Hub only: creates the secret file at the default path when there is none, returns its text. */
  createSecret?(path: string): string;
  /** Lines to log once the logger exists (loose secret permissions, a created secret). */
  notice?(level: 'warn' | 'info', msg: string, fields?: Record<string, unknown>): void;
}

export type RawOptions = Readonly<Record<string, unknown>>;

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const kcpModes: readonly KcpMode[] = ['normal', 'fast', 'fast2', 'fast3'];
const transports: readonly Transport[] = ['auto', 'kcp', 'datagram'];
const fecSettings: readonly FecSettingName[] = ['auto', 'on', 'off'];
const hubTransports: readonly HubTransportSetting[] = ['auto', 'udp', 'tcp', 'tls'];
/** Local policy (hub/bindings.ts defaultBindingLeaseDays; config does not import hub). */
const defaultBindingLeaseDays = 30;
/** Per-peer relay budget: enough for interactive use and modest transfers, far from a VPS's link. */
const defaultRelayRateMbit = 50;

function flagOf(key: string): string {
  return options.find((o) => o.key === key)?.flag ?? key;
}

function str(raw: RawOptions, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(flagOf(key), 'must be a non-empty string');
  return v.trim();
}

function oneOf<T extends string>(raw: RawOptions, key: string, allowed: readonly T[], def: T): T {
  const v = str(raw, key) ?? def;
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(flagOf(key), `must be one of ${allowed.join(', ')} (got "${v}")`);
  return v as T;
}

/** "ip/prefix" -> address and prefix, or a ConfigError naming `key`. */
function cidr(key: string, v: string, requireNetworkAddress: boolean): { address: string; prefixLength: number } {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(v);
  const prefixLength = m ? Number(m[2]) : NaN;
  if (!m || !Validator.isValidIPv4String(m[1]!)[0] || prefixLength < 8 || prefixLength > 30) {
    throw new ConfigError(flagOf(key), `must be an IPv4 address with a prefix length of 8-30, like 10.9.0.2/24 (got "${v}")`);
  }
  const address = m[1]!;
  if (requireNetworkAddress) {
    const range = IPv4CidrRange.fromCidr(v);
    if (range.getFirst().toString() !== address) {
      throw new ConfigError(flagOf(key), `must be a network address (did you mean ${range.getFirst().toString()}/${prefixLength}?)`);
    }
  } else {
    const range = IPv4CidrRange.fromCidr(`${address}/${prefixLength}`);
    const first = range.getFirst().toString();
    const last = range.getLast().toString();
    if (address === first || address === last) {
      throw new ConfigError(flagOf(key), `${address} is the network or broadcast address of /${prefixLength}`);
    }
  }
  return { address, prefixLength };
}

function listen(raw: RawOptions, def: string): { address: string; port: number } {
  const v = str(raw, 'listen') ?? def;
  const m = /^(.+):(\d{1,5})$/.exec(v);
  // Port 0 (any free port) is fine to bind, though parseEndpoint refuses it as a destination.
  const ep = m && Number(m[2]) === 0 ? parseEndpoint(`${m[1]!}:1`) : parseEndpoint(v);
  if (!ep) throw new ConfigError('--listen', `must be ip:port with an IPv4 address, like 0.0.0.0:7000, or [ip]:port with an IPv6 one, like [::]:7000 for both families (got "${v}")`);
  return m && Number(m[2]) === 0 ? { address: ep.address, port: 0 } : ep;
}

function readSecretFile(path: string, option: string, ctx: ParseContext): string {
  try {
    return ctx.readText(path);
  } catch (e) {
    throw new ConfigError(option, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Warns when a secret file is readable by group or others (as ssh and wg do for keys). */
function checkSecretMode(path: string, ctx: ParseContext): void {
  const mode = ctx.fileMode?.(path);
  if (mode !== undefined && (mode & 0o077) !== 0) {
    ctx.notice?.('warn', `the network secret ${path} is readable by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 ${path}`, { secretFile: path });
  }
}

/**
 * The secret's text: --secret-file, else MESHD_SECRET, else the default file (/etc/meshd/secret or
 * MESHD_SECRET_FILE). A hub with none creates the default file; a peer with none is told where to
 * get it. The text must be raw key material or a passphrase that is not weak (crypto/secret.ts).
 */
function secret(role: Role, raw: RawOptions, ctx: ParseContext): string {
  const file = str(raw, 'secretFile');
  let text: string;
  let from: string;
  if (file !== undefined) {
    text = readSecretFile(file, '--secret-file', ctx);
    from = file;
    checkSecretMode(file, ctx);
  } else if (role === 'peer' && (raw.join !== undefined || joinedHub(str(raw, 'stateDir') ?? '/var/lib/meshd', ctx) !== undefined)) {
    // A peer that joins by invite (--join) or joined before (<state-dir>/joined.json) runs on the
    // psk the hub sent (peer/join-run.ts), not on a default secret file that may belong elsewhere.
    return '';
  } else if (ctx.env.MESHD_SECRET !== undefined) {
    text = ctx.env.MESHD_SECRET;
    from = 'MESHD_SECRET';
  } else {
    const path = secretFileDefault(ctx.env);
    from = path;
    let missing = false;
    try {
      text = ctx.readText(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new ConfigError('--secret-file', `cannot read the network secret ${path}: ${code ?? String(e)}`);
      missing = true;
      text = '';
    }
    if (missing && role === 'peer') {
      throw new ConfigError('--secret-file', `no network secret: ${path} does not exist; copy it from the hub (scp HUB:${defaultSecretPath} ${path}) or give --secret-file FILE`);
    }
    if (missing) {
      if (!ctx.createSecret) throw new ConfigError('--secret-file', `no network secret: ${path} does not exist (give --secret-file FILE or set MESHD_SECRET)`);
      try {
        text = ctx.createSecret(path);
      } catch (e) {
        throw new ConfigError('--secret-file', `no network secret at ${path} and cannot create it: ${(e as NodeJS.ErrnoException).code ?? String(e)} (run as root, or give --secret-file FILE)`);
      }
      ctx.notice?.('warn', `created the network secret ${path}; every peer needs a copy of it (scp ${path} PEER:${defaultSecretPath})`, { secretFile: path });
    } else {
      checkSecretMode(path, ctx);
    }
  }
  const s = text.trim();
  const kind = classifySecret(s);
  if (kind.kind === 'weak') {
    const where = from === 'MESHD_SECRET' ? '' : `${from}: `;
    throw new ConfigError(from === 'MESHD_SECRET' ? 'MESHD_SECRET' : '--secret-file', `${where}the network secret is ${kind.why}; use 32 random bytes (meshd gensecret > FILE) or a passphrase of ${MIN_PASSPHRASE_CHARS}+ characters of two kinds or more`);
  }
  return s;
}

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

/** An optional integer option in [min, max]. */
function intOpt(raw: RawOptions, key: string, flag: string, min: number, max: number): number | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(flag, `must be an integer from ${min} to ${max} (got "${String(v)}")`);
  return n;
}

/** --publish may repeat; a config file may give one string or an array of strings. */
function publishTexts(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((x) => typeof x === 'string')) throw new ConfigError('--publish', 'must be a string or a list of strings like web=tcp:8080:127.0.0.1:80');
  return list as string[];
}

/** A list option: "a,b" from a flag, or a JSON array from a config file. */
function listOpt(raw: RawOptions, key: string): string[] {
  const v = raw[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((x) => typeof x === 'string')) throw new ConfigError(flagOf(key), 'must be a string or a list of strings');
  return (list as string[]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
}

/** A boolean option: true from a flag, true/false from a config file. */
function boolOpt(raw: RawOptions, key: string): boolean {
  const v = raw[key];
  if (v === undefined || v === null || v === false || v === 'false') return false;
  if (v === true || v === 'true') return true;
  throw new ConfigError(flagOf(key), `must be true or false (got "${String(v)}")`);
}

/** "192.168.50.0/24" (a network address; "exit" = 0.0.0.0/0) -> numbers, or a ConfigError naming `key`. */
export function routeCidr(key: string, text: string): RouteCidr {
  if (text === 'exit') return { network: 0, length: 0 };
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  const ip = m ? parseIpv4(m[1]!) : undefined;
  const length = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(length >= 0 && length <= 32)) throw new ConfigError(flagOf(key), `must be IPv4 prefixes like 192.168.50.0/24 (got "${text}")`);
  const mask = prefixMask(length);
  if (((ip & ~mask) >>> 0) !== 0) throw new ConfigError(flagOf(key), `${text} has host bits set (did you mean ${[(ip & mask) >>> 24, ((ip & mask) >>> 16) & 255, ((ip & mask) >>> 8) & 255, ip & mask & 255].join('.')}/${length}?)`);
  return { network: ip, length };
}

function allowRoutes(raw: RawOptions): RouteRule[] {
  return listOpt(raw, 'allowRoutes').map((item) => {
    const i = item.lastIndexOf(':');
    if (i <= 0) throw new ConfigError('--allow-routes', `must be who:cidr, like a:192.168.50.0/24 (got "${item}")`);
    return { who: item.slice(0, i), ...routeCidr('allowRoutes', item.slice(i + 1)) };
  });
}

/** --cluster may repeat (a config file: a string or a list): nats:// or tls:// host:port, no
 * credentials in the URL (they come from --cluster-creds, never from a flag). */
export function clusterUrls(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    if (typeof x !== 'string') throw new ConfigError('--cluster', 'must be a string or a list of strings like nats://10.0.0.5:4222');
    if (x.includes('@')) throw new ConfigError('--cluster', `"${x.replace(/\/\/[^@]*@/, '//***@')}" holds credentials: put them in the --cluster-creds file`);
    const m = /^(nats|tls):\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(x);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535) throw new ConfigError('--cluster', `must be nats://host:port (got "${x}")`);
    return x;
  });
}

/** "fd00:1:2:3::5/64" -> canonical address and prefix (a /64: the overlay's v6 family is one /64),
 * or a ConfigError naming `flag`. `network`: host bits must be zero; else they must not be. */
export function cidr6(flag: string, text: string, network: boolean): { address: string; prefixLength: number } {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  const a = m ? parseIpv6Text(m[1]!) : undefined;
  if (!m || a === undefined) throw new ConfigError(flag, `must be an IPv6 address/prefix like fd12:3456:789a:1::/64 (got "${text}")`);
  const prefixLength = Number(m[2]);
  if (prefixLength !== 64) throw new ConfigError(flag, `must be a /64 (got /${prefixLength})`);
  const masked = maskIpv6(a, 64);
  const host = !samePrefix6(a, 0, masked, 0, 128);
  if (network && host) throw new ConfigError(flag, `must be a network address (did you mean ${formatIpv6Text(masked)}/64?)`);
  if (!network && !host) throw new ConfigError(flag, `${formatIpv6Text(a)} is the network address of its /64`);
  if (a[0] === 0xff || (a[0] === 0xfe && (a[1]! & 0xc0) === 0x80)) throw new ConfigError(flag, 'must not be multicast or link-local');
  return { address: formatIpv6Text(a), prefixLength };
}

/** --network6: off, a /64, or (absent) the ULA /64 derived from the network secret. */
function network6Of(text: string | undefined, secret: string): { network6?: { address: string; prefixLength: number } } {
  if (text === 'off') return {};
  return { network6: cidr6('--network6', text ?? ulaPrefixFromSecret(secret), true) };
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

/** --hub may repeat (a config file: a string or a list of strings). */
function hubList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((x) => typeof x === 'string' && x.trim() !== '')) throw new ConfigError('--hub', 'must be a string or a list of strings like 203.0.113.1:7000');
  return (list as string[]).map((x) => x.trim());
}

/** One --hub: host:port or [IPv6]:port, optionally @KEY (the hub's base64 public key, pinned). */
export function parseHubText(text: string): { host: string; port: number; key?: string } {
  const at = text.lastIndexOf('@');
  const addr = at < 0 ? text : text.slice(0, at);
  const key = at < 0 ? undefined : text.slice(at + 1);
  if (key !== undefined && !/^[A-Za-z0-9+/]{43}=$/.test(key)) throw new ConfigError('--hub', `the key after @ must be a base64 X25519 public key (44 characters) (got "${text}")`);
  // host:port, or [IPv6]:port (util/ipv6.ts canonical text, so it compares with received sources).
  const h6 = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(addr);
  const hm = h6 ? ([addr, canonicalIpv6(h6[1]!) ?? '', h6[2]!] as const) : /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(addr);
  const port = hm ? Number(hm[2]) : 0;
  if (!hm || hm[1] === '' || port < 1 || port > 65535) throw new ConfigError('--hub', `must be host:port or [IPv6]:port, optionally @KEY (got "${text}")`);
  return { host: hm[1]!, port, ...(key !== undefined ? { key } : {}) };
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
