// The hub's routes state (issue 23): each member's offered prefixes (ROUTE_OFFER), the verdicts of
// route-admission.ts over all of them, and who wants them (REGISTER flag 0x02). Whenever the
// verdicts change every such member gets the full set in one MAP_EXT (send() is reliable). Used by
// hub/server.ts.
import type { Logger } from '../util/log.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import { MAX_MAP_EXT_ROUTES, routeVerdictName, type ExtRoute, type RoutePrefix } from '../wire/routes.js';
import { admitRoutes, type AllowRule, type RouteOffer } from './route-admission.js';
import type { Member } from './registry.js';

export interface RouteBookOptions {
  rules: readonly AllowRule[];
  overlay: RoutePrefix;
  log: Logger;
  /** The live member with this key id (registry.get): work stays proportional to offers, not members. */
  member(id: string): Member | undefined;
  /** Reliable MAP_EXT to one member. */
  send(m: Member, version: number, routes: ExtRoute[]): void;
  /** Told after the verdicts changed (scoped maps: a router's view class may change). */
  onChanged?: () => void;
}

export class RouteBook {
  private readonly offers = new Map<string, RoutePrefix[]>();
  private readonly wanting = new Set<string>();
  private routes: ExtRoute[] = [];
  private key = '';
  version = 0;

  constructor(private readonly o: RouteBookOptions) {}

  /** The current verdicts (hub status). */
  get current(): readonly ExtRoute[] {
    return this.routes;
  }

  /** A REGISTER was accepted: `wants` = flag 0x02; a new boot drops the old boot's offers (it re-offers). */
  registered(m: Member, wants: boolean, newBoot: boolean): void {
    if (wants) this.wanting.add(m.id);
    else this.wanting.delete(m.id);
    const before = this.version;
    // Only a member with offers can change the verdicts here (a new boot drops them, a rename may
    // change what --allow-routes grants): a join storm of plain members costs nothing.
    if (this.offers.has(m.id)) {
      if (newBoot) this.offers.delete(m.id);
      this.recompute();
    }
    if (wants && this.version === before) this.o.send(m, this.version, this.routes);
  }

  offered(m: Member, prefixes: RoutePrefix[]): void {
    if (prefixes.length === 0) this.offers.delete(m.id);
    else this.offers.set(m.id, prefixes);
    this.recompute();
  }

  removed(m: Member): void {
    this.wanting.delete(m.id);
    if (this.offers.delete(m.id)) this.recompute();
  }

  private recompute(): void {
    const offers: RouteOffer[] = [];
    for (const [id, list] of this.offers) {
      const m = this.o.member(id);
      if (!m) continue;
      const key = Buffer.from(m.publicKey).toString('base64');
      for (const p of list) offers.push({ owner: m.overlay, name: m.name, key, network: p.network, length: p.length });
    }
    let routes = admitRoutes(offers, this.o.rules, this.o.overlay);
    if (routes.length > MAX_MAP_EXT_ROUTES) {
      this.o.log.warn({ routes: routes.length, max: MAX_MAP_EXT_ROUTES }, 'hub: more offered routes than one MAP_EXT carries; the rest are left out');
      routes = routes.slice(0, MAX_MAP_EXT_ROUTES);
    }
    const key = JSON.stringify(routes);
    if (key === this.key) return;
    this.key = key;
    this.routes = routes;
    this.version++;
    for (const r of routes) {
      this.o.log.info({ owner: u32ToIpv4(r.owner), route: `${u32ToIpv4(r.network)}/${r.length}`, verdict: routeVerdictName[r.verdict] }, 'hub: route');
    }
    for (const id of this.wanting) {
      const m = this.o.member(id);
      if (m) this.o.send(m, this.version, routes);
    }
    this.o.onChanged?.();
  }
}
