// What this peer does with the hub's route verdicts (MAP_EXT, issue 23): which subnet routes it
// installs (--accept-routes), which exit node it uses (--exit-node), which prefixes it forwards
// itself, and for status, why each route is or is not in use. Pure; route-manager.ts applies it.
import { u32ToIpv4 } from '../../util/ipv4.js';
import { RouteVerdict, routeVerdictText, type ExtRoute, type RoutePrefix } from '../../wire/routes.js';

export interface PlanInput {
  routes: readonly ExtRoute[];
  /** The name of the peer at an overlay address in the current map, undefined when absent. */
  nameOf(overlay: number): string | undefined;
  self: number;
  acceptRoutes: boolean;
  /** --exit-node: a peer name or overlay address. */
  exitNode?: string;
}

export interface PlannedRoute extends RoutePrefix {
  owner: number;
  ownerName: string;
  verdict: RouteVerdict;
  /** own: we offer it; installed: we route it to its owner (an exit node: the default route). */
  state: 'own' | 'installed' | 'not installed';
  why: string;
}

export interface InstallRoute extends RoutePrefix {
  owner: number;
}

export interface RoutePlan {
  routes: PlannedRoute[];
  /** Subnet routes to install (kernel and data plane), longest first. */
  install: InstallRoute[];
  /** The exit node in use. */
  exit?: { owner: number; name: string };
  /** Why the requested exit node is not in use. */
  exitWhy?: string;
  /** Our own admitted prefixes (0.0.0.0/0 when we are an admitted exit node). */
  own: RoutePrefix[];
}

export function planRoutes(i: PlanInput): RoutePlan {
  const plan: RoutePlan = { routes: [], install: [], own: [] };
  const wantsExit = (owner: number, name: string | undefined): boolean => i.exitNode !== undefined && (i.exitNode === name || i.exitNode === u32ToIpv4(owner));
  let exitOffered: PlannedRoute | undefined;
  for (const r of i.routes) {
    const name = r.owner === i.self ? 'self' : i.nameOf(r.owner);
    const base = { owner: r.owner, ownerName: name ?? u32ToIpv4(r.owner), network: r.network, length: r.length, verdict: r.verdict };
    const admitted = r.verdict === RouteVerdict.ADMITTED;
    let state: PlannedRoute['state'] = 'not installed';
    let why = routeVerdictText(r.verdict);
    if (r.owner === i.self) {
      state = 'own';
      if (admitted) plan.own.push({ network: r.network, length: r.length });
    } else if (name === undefined) {
      why = 'its peer is not in the map';
    } else if (r.length === 0) {
      if (wantsExit(r.owner, name)) exitOffered = { ...base, state, why };
      if (admitted && wantsExit(r.owner, name) && !plan.exit) {
        plan.exit = { owner: r.owner, name };
        state = 'installed';
        why = 'exit node in use';
      } else if (admitted) why = 'exit node not selected (--exit-node)';
    } else if (admitted && !i.acceptRoutes) {
      why = 'this peer runs without --accept-routes';
    } else if (admitted) {
      state = 'installed';
      why = 'installed';
      plan.install.push({ owner: r.owner, network: r.network, length: r.length });
    }
    plan.routes.push({ ...base, state, why });
  }
  if (i.exitNode !== undefined && !plan.exit) {
    plan.exitWhy = exitOffered
      ? `${i.exitNode}'s exit node is ${exitOffered.why}`
      : [...i.routes].some((r) => wantsExit(r.owner, i.nameOf(r.owner)))
        ? `${i.exitNode} does not offer an exit node (--advertise-exit-node)`
        : `${i.exitNode} offers no exit node or is not in the map`;
  }
  plan.install.sort((a, b) => b.length - a.length || a.network - b.network);
  return plan;
}
