// Where a datagram came from or goes to: a UDP endpoint, or through the hub's relay to an overlay
// address. Used by src/link (roaming, transmit) and the peer's path choice.
import { endpointKey, type Endpoint } from '../net/udp.js';
import { u32ToIpv4 } from '../util/ipv4.js';

export type Path = { readonly kind: 'udp'; readonly endpoint: Endpoint } | { readonly kind: 'relay'; readonly overlay: number };

/** One Path per Endpoint object: callers that send to the same endpoint every packet (the peer's
 * direct path, a reply to a source the socket hands out from its cache) allocate nothing. */
const udpPaths = new WeakMap<Endpoint, Path>();
/** The last one asked for: a stream to one endpoint skips even the WeakMap. */
let lastEndpoint: Endpoint | undefined;
let lastPath: Path | undefined;

export function udpPath(endpoint: Endpoint): Path {
  if (endpoint === lastEndpoint) return lastPath!;
  let p = udpPaths.get(endpoint);
  if (p === undefined) {
    p = Object.freeze({ kind: 'udp', endpoint });
    udpPaths.set(endpoint, p);
  }
  lastEndpoint = endpoint;
  lastPath = p;
  return p;
}

export function relayPath(overlay: number): Path {
  return { kind: 'relay', overlay: overlay >>> 0 };
}

/** A stable key for maps and rate limits ("udp:192.0.2.1:7000", "relay:10.9.0.3"). */
export function pathKey(p: Path): string {
  return p.kind === 'udp' ? `udp:${endpointKey(p.endpoint)}` : `relay:${u32ToIpv4(p.overlay)}`;
}

export function samePath(a: Path | undefined, b: Path | undefined): boolean {
  return a !== undefined && b !== undefined && pathKey(a) === pathKey(b);
}
