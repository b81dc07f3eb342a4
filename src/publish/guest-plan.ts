// Several hubs (issue 24 item 3): which published ports of members homed elsewhere this hub listens
// on too ("guest" services), from the network-wide port claims (hub/service-claims.ts). Pure: the
// publisher (hub-publisher.ts syncClaims) opens and closes listeners from the plan.
import { portAllowed, type PortRange, type PublishedView } from './spec.js';

/** A claimed port as the plan reads it (structurally hub/service-claims.ts ServiceClaim). */
export interface ClaimView {
  port: number;
  owner: string;
  name: string;
}

export interface GuestPlan {
  /** Claims to listen for now. */
  open: ClaimView[];
  /** Ports whose guest listener goes (its claim went, changed hands, or its owner left). */
  close: number[];
}

/**
 * A claim gets a guest listener here when its port is within this hub's --allow-publish, no own
 * service of this hub uses the port, its owner is not one of this hub's members (a member's own
 * PUBLISH makes its services here), and its owner is in the network's map (a member gone from
 * the network has nobody to serve its visitors).
 */
export function planGuests(
  claims: readonly ClaimView[],
  own: readonly PublishedView[],
  guests: readonly ClaimView[],
  allow: readonly PortRange[],
  isLocal: (id: string) => boolean,
  inMap: (id: string) => boolean,
): GuestPlan {
  const ownPorts = new Set(own.map((s) => s.port));
  const want = new Map<number, ClaimView>();
  for (const c of claims) {
    if (!portAllowed(c.port, allow) || ownPorts.has(c.port) || isLocal(c.owner) || !inMap(c.owner)) continue;
    want.set(c.port, c);
  }
  const close: number[] = [];
  const have = new Map<number, ClaimView>();
  for (const g of guests) {
    const w = want.get(g.port);
    if (!w || w.owner !== g.owner || w.name !== g.name) close.push(g.port);
    else have.set(g.port, g);
  }
  return { open: [...want.values()].filter((c) => !have.has(c.port)), close };
}
