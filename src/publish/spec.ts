// Publish specs and port ranges as pure functions: `name=tcp:port:host:port` (--publish, peer) and
// `8000-8999[,9100]` (--allow-publish, hub), plus the hub's admission decision. Used by the config
// wiring, hub-publisher.ts and service-manager.ts; tested with tables in test/publish/spec.test.ts.
import { ConfigError } from '../util/errors.js';

export interface PublishSpec {
  /** 1..32 chars of [A-Za-z0-9_.-]; unique per hub. */
  name: string;
  /** The public TCP port the hub listens on. */
  publicPort: number;
  /** Where the peer connects for each visitor. */
  targetHost: string;
  targetPort: number;
}

export interface PortRange {
  lo: number;
  hi: number;
}

/** Protocol: both sides check names the same way (the hub refuses others with BAD_REQUEST). */
export const publishNamePattern = /^[A-Za-z0-9_.-]{1,32}$/;

function port(text: string, option: string, what: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new ConfigError(option, `${what} "${text}" is not a port number`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new ConfigError(option, `${what} ${n} is outside 1-65535`);
  return n;
}

/** Parses `name=tcp:publicPort:targetHost:targetPort` (host may be a name or an IPv4 address). */
export function parsePublishSpec(text: string, option = '--publish'): PublishSpec {
  const m = /^([^=]*)=([^:]*):([^:]*):(.*):([^:]*)$/.exec(text.trim());
  if (!m) throw new ConfigError(option, `"${text}" is not name=tcp:PUBLIC_PORT:HOST:PORT`);
  const [, name, proto, pub, host, tport] = m as unknown as [string, string, string, string, string, string];
  if (!publishNamePattern.test(name)) throw new ConfigError(option, `service name "${name}" must be 1-32 of A-Z a-z 0-9 _ . -`);
  if (proto !== 'tcp') throw new ConfigError(option, `protocol "${proto}" is not supported (only tcp)`);
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(host)) throw new ConfigError(option, `target host "${host}" is not a host name or IPv4 address`);
  return { name, publicPort: port(pub, option, 'public port'), targetHost: host, targetPort: port(tport, option, 'target port') };
}

/** Parses a list of publish specs and refuses duplicate names or public ports among them. */
export function parsePublishSpecs(texts: readonly string[], option = '--publish'): PublishSpec[] {
  const out = texts.map((t) => parsePublishSpec(t, option));
  for (let i = 0; i < out.length; i++) {
    for (let j = 0; j < i; j++) {
      if (out[i]!.name === out[j]!.name) throw new ConfigError(option, `service name "${out[i]!.name}" is given twice`);
      if (out[i]!.publicPort === out[j]!.publicPort) throw new ConfigError(option, `public port ${out[i]!.publicPort} is given twice`);
    }
  }
  return out;
}

/** Parses `8000-8999`, `8080`, or a comma-separated list of both (`8000-8099,9000`). */
export function parsePortRanges(text: string, option = '--allow-publish'): PortRange[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new ConfigError(option, `"${text}" has an empty range`);
  return parts.map((p) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(p);
    if (!m) throw new ConfigError(option, `"${p}" is not PORT or LOW-HIGH`);
    const lo = port(m[1]!, option, 'port');
    const hi = m[2] === undefined ? lo : port(m[2], option, 'port');
    if (hi < lo) throw new ConfigError(option, `range ${lo}-${hi} is backwards`);
    return { lo, hi };
  });
}

export function portAllowed(port: number, ranges: readonly PortRange[]): boolean {
  return ranges.some((r) => port >= r.lo && port <= r.hi);
}

export function formatPortRanges(ranges: readonly PortRange[]): string {
  return ranges.length === 0 ? 'none' : ranges.map((r) => (r.lo === r.hi ? `${r.lo}` : `${r.lo}-${r.hi}`)).join(',');
}

/** Why the hub refuses a PUBLISH (wire/control.ts PublishRefusal carries the same codes). */
export type PublishVerdict = 'ok' | 'same' | 'bad-name' | 'port-not-allowed' | 'name-taken' | 'port-in-use' | 'too-many';

export interface PublishedView {
  name: string;
  port: number;
  owner: string;
}

/**
 * The hub's admission decision for member `owner` asking to publish `name` on `port`, given the
 * allowed ranges and what is published now. 'same' = this owner already has exactly that;
 * 'too-many' = a new name past `maxPerOwner` services (moving one of its own is not new).
 */
export function decidePublish(
  owner: string, name: string, port: number, ranges: readonly PortRange[], published: readonly PublishedView[], maxPerOwner = Infinity,
): PublishVerdict {
  if (!publishNamePattern.test(name)) return 'bad-name';
  if (!portAllowed(port, ranges)) return 'port-not-allowed';
  const byName = published.find((p) => p.name === name);
  if (byName && byName.owner === owner && byName.port === port) return 'same';
  if (byName && byName.owner !== owner) return 'name-taken';
  const byPort = published.find((p) => p.port === port);
  if (byPort && !(byPort.owner === owner && byPort.name === name)) return 'port-in-use';
  if (!byName && published.filter((p) => p.owner === owner).length >= maxPerOwner) return 'too-many';
  return 'ok';
}
