// The address-shaped options of the config parser (config/parse.ts): IPv4 and IPv6 overlay
// prefixes (--network, --local, --network6, --local6), --listen, route prefixes (--advertise-routes,
// --allow-routes), --cluster URLs and --hub host:port[@KEY]. Pure: text in, numbers or a
// ConfigError naming the option out.
import { IPv4CidrRange, Validator } from '../util/ip-num.js';
import { formatIpv6 as formatIpv6Text, maskIpv6, parseIpv6 as parseIpv6Text, samePrefix6, ulaPrefixFromSecret } from '../util/ipv6-prefix.js';
import { ConfigError } from '../util/errors.js';
import { parseIpv4, prefixMask } from '../util/ipv4.js';
import { parseEndpoint } from '../net/udp.js';
import { canonicalIpv6 } from '../util/ipv6.js';
import type { RouteCidr, RouteRule } from './schema.js';
import { flagOf, listOpt, str, type RawOptions } from './option-values.js';

/** "ip/prefix" -> address and prefix, or a ConfigError naming `key`. */
export function cidr(key: string, v: string, requireNetworkAddress: boolean): { address: string; prefixLength: number } {
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

export function listen(raw: RawOptions, def: string): { address: string; port: number } {
  const v = str(raw, 'listen') ?? def;
  const m = /^(.+):(\d{1,5})$/.exec(v);
  // Port 0 (any free port) is fine to bind, though parseEndpoint refuses it as a destination.
  const ep = m && Number(m[2]) === 0 ? parseEndpoint(`${m[1]!}:1`) : parseEndpoint(v);
  if (!ep) throw new ConfigError('--listen', `must be ip:port with an IPv4 address, like 0.0.0.0:7000, or [ip]:port with an IPv6 one, like [::]:7000 for both families (got "${v}")`);
  return m && Number(m[2]) === 0 ? { address: ep.address, port: 0 } : ep;
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

export function allowRoutes(raw: RawOptions): RouteRule[] {
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
export function network6Of(text: string | undefined, secret: string): { network6?: { address: string; prefixLength: number } } {
  if (text === 'off') return {};
  return { network6: cidr6('--network6', text ?? ulaPrefixFromSecret(secret), true) };
}

/** --hub may repeat (a config file: a string or a list of strings). */
export function hubList(v: unknown): string[] {
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
