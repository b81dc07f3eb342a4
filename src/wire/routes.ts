// Route control bodies (issue 23; docs/ROUTES.md): what a peer offers (ROUTE_OFFER, peer -> hub) and
// the hub's verdict on every member's offers (MAP_EXT, hub -> peers that set REGISTER flag 0x02).
// Used by wire/control.ts (framing), src/hub/route-admission.ts and src/peer/routes/.
//
//   prefix      = network u32 BE | length u8                               (5 bytes, host bits zero)
//   ROUTE_OFFER = count u8 | prefix [count]                               (0.0.0.0/0 = exit node offer)
//   MAP_EXT     = version u32 LE | count u16 LE | route [count]
//     route     = owner overlay u32 BE | prefix | verdict u8              (10 bytes)
//                 verdict 0 ADMITTED, else why not (RouteVerdict)
// MAP_EXT is the full state (idempotent): a peer keeps the highest version since its last REGISTER_OK.
import { DecodeError } from '../util/errors.js';
import { prefixMask } from '../util/ipv4.js';

/** Protocol: at most this many prefixes per offer (keeps ROUTE_OFFER one small datagram). */
export const MAX_ROUTE_OFFERS = 32;
/** Protocol: at most this many routes in one MAP_EXT (10 bytes each, within one control datagram). */
export const MAX_MAP_EXT_ROUTES = 100;
export const ROUTE_PREFIX_BYTES = 5;
export const MAP_EXT_ROUTE_BYTES = 4 + ROUTE_PREFIX_BYTES + 1;

/** The hub's verdict on one offered prefix (protocol: both sides must agree). */
export enum RouteVerdict {
  ADMITTED = 0,
  /** The hub's --allow-routes does not list this prefix (or a wider one) for this peer. */
  NOT_ALLOWED = 1,
  /** Another peer offers the identical prefix: neither is admitted. */
  TIE = 2,
  /** The prefix overlaps the overlay network itself. */
  OVERLAPS_OVERLAY = 3,
}

export const routeVerdictName: Readonly<Record<RouteVerdict, string>> = {
  [RouteVerdict.ADMITTED]: 'ADMITTED',
  [RouteVerdict.NOT_ALLOWED]: 'NOT_ALLOWED',
  [RouteVerdict.TIE]: 'TIE',
  [RouteVerdict.OVERLAPS_OVERLAY]: 'OVERLAPS_OVERLAY',
};

/** Why a verdict, in words for logs and status. */
export function routeVerdictText(v: RouteVerdict): string {
  switch (v) {
    case RouteVerdict.ADMITTED:
      return 'admitted';
    case RouteVerdict.NOT_ALLOWED:
      return "not admitted: the hub's --allow-routes does not list it for this peer";
    case RouteVerdict.TIE:
      return 'not admitted: another peer offers the identical prefix (tie)';
    case RouteVerdict.OVERLAPS_OVERLAY:
      return 'not admitted: it overlaps the overlay network';
  }
}

export interface RoutePrefix {
  network: number;
  length: number;
}

export interface ExtRoute extends RoutePrefix {
  owner: number;
  verdict: RouteVerdict;
}

/** Minimal cursor the control codec lends us (its Writer/Reader). */
export interface BodyWriter {
  u8(x: number): void;
  u16(x: number): void;
  u32(x: number, le?: boolean): void;
}
export interface BodyReader {
  u8(what: string): number;
  u16(what: string): number;
  u32(what: string, le?: boolean): number;
}

function writePrefix(w: BodyWriter, p: RoutePrefix): void {
  if (!Number.isInteger(p.length) || p.length < 0 || p.length > 32 || ((p.network & ~prefixMask(p.length)) >>> 0) !== 0) {
    throw new RangeError('routes: prefix has host bits set or a bad length');
  }
  w.u32(p.network, false);
  w.u8(p.length);
}

function readPrefix(r: BodyReader): RoutePrefix {
  const network = r.u32('route network', false);
  const length = r.u8('route length');
  if (length > 32) throw new DecodeError(`routes: prefix /${length}`);
  if (((network & ~prefixMask(length)) >>> 0) !== 0) throw new DecodeError('routes: prefix has host bits set');
  return { network, length };
}

export function writeRouteOffer(w: BodyWriter, prefixes: readonly RoutePrefix[]): void {
  if (prefixes.length > MAX_ROUTE_OFFERS) throw new RangeError('routes: too many prefixes');
  w.u8(prefixes.length);
  for (const p of prefixes) writePrefix(w, p);
}

export function readRouteOffer(r: BodyReader): RoutePrefix[] {
  const n = r.u8('route count');
  if (n > MAX_ROUTE_OFFERS) throw new DecodeError(`routes: ${n} prefixes`);
  const out: RoutePrefix[] = [];
  for (let i = 0; i < n; i++) out.push(readPrefix(r));
  return out;
}

export function writeMapExt(w: BodyWriter, version: number, routes: readonly ExtRoute[]): void {
  if (routes.length > MAX_MAP_EXT_ROUTES) throw new RangeError('routes: too many routes');
  w.u32(version);
  w.u16(routes.length);
  for (const r of routes) {
    w.u32(r.owner, false);
    writePrefix(w, r);
    w.u8(r.verdict);
  }
}

export function readMapExt(r: BodyReader): { version: number; routes: ExtRoute[] } {
  const version = r.u32('map ext version');
  const n = r.u16('route count');
  if (n > MAX_MAP_EXT_ROUTES) throw new DecodeError(`routes: ${n} routes`);
  const routes: ExtRoute[] = [];
  for (let i = 0; i < n; i++) {
    const owner = r.u32('route owner', false);
    const p = readPrefix(r);
    const verdict = r.u8('route verdict');
    if (!(verdict in routeVerdictName)) throw new DecodeError(`routes: verdict ${verdict}`);
    routes.push({ owner, network: p.network, length: p.length, verdict });
  }
  return { version, routes };
}
