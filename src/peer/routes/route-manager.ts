// The peer's routes at run time (issue 23): offers its --advertise-routes / --advertise-exit-node
// to the hub at each registration, keeps the hub's latest MAP_EXT, re-plans (route-plan.ts) on
// every MAP_EXT and map change, and applies the difference: kernel routes and exit rules through
// RouteSystem (commands.ts), the data-plane lookup (a RouteTable) and the widened inner checks.
// run.ts composes it; the data plane calls routeVia/sourceAllowed/forwardAllowed per packet.
import { u32ToIpv4 } from '../../util/ipv4.js';
import type { Logger } from '../../util/log.js';
import { routeVerdictName, type ExtRoute, type RoutePrefix } from '../../wire/routes.js';
import { RouteTable } from '../route-table.js';
import { cidrOf, exitRulesOff, exitRulesOn, forwardingOff, forwardingRuleset, staleCleanup, subnetRouteAdd, subnetRouteDel, type ExitRuleOptions } from './commands.js';
import type { RouteSystem } from './linux-runner.js';
import { planRoutes, type InstallRoute, type RoutePlan } from './route-plan.js';
import { forwardAllowed, sourceAllowed } from './source-check.js';

export interface RouteManagerOptions {
  advertise: readonly RoutePrefix[];
  advertiseExitNode: boolean;
  acceptRoutes: boolean;
  exitNode?: string;
  exitNodeAllowLan: boolean;
  nameOf(overlay: number): string | undefined;
  log: Logger;
  /** Absent: plan and data plane only (tests). */
  system?: RouteSystem;
}

/** Packets and bytes through one route (metrics and status). */
export interface RouteUse extends InstallRoute {
  packets: number;
  bytes: number;
}

export interface RouteStatusJson {
  route: string;
  via: string;
  address: string;
  verdict: string;
  state: string;
  why: string;
  packets: number;
  bytes: number;
}

export class RouteManager {
  private ext: ExtRoute[] = [];
  private extVersion = 0;
  private plan: RoutePlan = { routes: [], install: [], own: [] };
  private readonly table = new RouteTable<RouteUse>();
  private readonly perPeer = new Map<number, RoutePrefix[]>();
  private readonly ownUse = new Map<string, RouteUse>();
  private own: RoutePrefix[] = [];
  private kernel = new Map<string, RoutePrefix>();
  private exitOn = false;
  private attached: { tun: string; self: number; overlay: RoutePrefix; udpPort: number; hubStreams?: ExitRuleOptions['hubStreams'] } | undefined;
  private forwarding = false;
  private closed = false;

  constructor(private readonly o: RouteManagerOptions) {}

  /** Whether this peer takes part at all (sets REGISTER flag 0x02). */
  get enabled(): boolean {
    return this.o.advertise.length > 0 || this.o.advertiseExitNode || this.o.acceptRoutes || this.o.exitNode !== undefined;
  }

  /** What to put in ROUTE_OFFER. */
  offer(): RoutePrefix[] {
    return [...this.o.advertise, ...(this.o.advertiseExitNode ? [{ network: 0, length: 0 }] : [])];
  }

  /** A new registration: the hub's MAP_EXT versions start over. */
  registered(): void {
    this.extVersion = 0;
  }

  onMapExt(version: number, routes: ExtRoute[]): void {
    if (version <= this.extVersion && this.extVersion !== 0) return;
    this.extVersion = version;
    this.ext = routes;
    this.refresh();
  }

  /** Clears what a crashed daemon left (at start, before the TUN is attached). */
  async cleanupStale(tun: string): Promise<void> {
    await this.o.system?.run(staleCleanup(tun), true);
  }

  /** The TUN is up with our address: kernel state can follow the plan from now on. */
  async attach(tun: string, self: number, overlay: RoutePrefix, udpPort: number, hubStreams?: ExitRuleOptions['hubStreams']): Promise<void> {
    this.attached = { tun, self, overlay, udpPort, hubStreams };
    const sys = this.o.system;
    if (sys && (this.o.advertise.length > 0 || this.o.advertiseExitNode)) {
      this.forwarding = true;
      sys.enableForwarding();
      await sys.run([forwardingOff(tun)], true);
      await sys.nft(forwardingRuleset(tun, overlay));
    }
    this.refresh();
  }

  /** Re-plans from the last MAP_EXT and the current map (call on every map change). */
  refresh(): void {
    if (this.closed) return;
    const a = this.attached;
    const plan = (this.plan = planRoutes({
      routes: this.ext,
      nameOf: this.o.nameOf,
      self: a?.self ?? 0,
      acceptRoutes: this.o.acceptRoutes,
      ...(this.o.exitNode !== undefined ? { exitNode: this.o.exitNode } : {}),
    }));
    // Data plane: keep the counters of routes that stay.
    const old = new Map(this.table.routes().map((r) => [`${r.network}/${r.length}`, r.value]));
    this.table.clear();
    this.perPeer.clear();
    const use = [...plan.install, ...(plan.exit ? [{ owner: plan.exit.owner, network: 0, length: 0 }] : [])];
    for (const r of use) {
      const k = `${r.network}/${r.length}`;
      const prev = old.get(k);
      const v: RouteUse = prev && prev.owner === r.owner ? prev : { ...r, packets: 0, bytes: 0 };
      this.table.set(r.network, r.length, v);
      const list = this.perPeer.get(r.owner) ?? [];
      list.push({ network: r.network, length: r.length });
      this.perPeer.set(r.owner, list);
    }
    this.own = plan.own;
    if (a) this.applyKernel(a.tun, plan);
    if (this.o.exitNode !== undefined && !plan.exit && plan.exitWhy) this.o.log.debug({ exitNode: this.o.exitNode, why: plan.exitWhy }, 'routes: exit node not in use');
  }

  private applyKernel(tun: string, plan: RoutePlan): void {
    const sys = this.o.system;
    if (!sys) return;
    const want = new Map(plan.install.map((r) => [cidrOf(r), { network: r.network, length: r.length }]));
    const del = [...this.kernel].filter(([k]) => !want.has(k)).map(([, p]) => subnetRouteDel(p, tun));
    const add = [...want].filter(([k]) => !this.kernel.has(k)).map(([, p]) => subnetRouteAdd(p, tun));
    this.kernel = want;
    if (del.length) void sys.run(del, true);
    if (add.length) {
      void sys.run(add);
      this.o.log.info({ routes: [...want.keys()] }, 'routes: subnet routes installed');
    }
    const exitWanted = plan.exit !== undefined;
    if (exitWanted && !this.exitOn) {
      this.exitOn = true;
      const a = this.attached!;
      void sys.run(exitRulesOff(), true).then(() => sys.run(exitRulesOn({ tun, udpPort: a.udpPort, overlay: a.overlay, allowLan: this.o.exitNodeAllowLan, hubStreams: a.hubStreams })));
      this.o.log.info({ exitNode: plan.exit!.name, address: u32ToIpv4(plan.exit!.owner) }, 'routes: default route through the exit node');
    } else if (!exitWanted && this.exitOn) {
      this.exitOn = false;
      void sys.run(exitRulesOff(), true);
      this.o.log.warn({ exitNode: this.o.exitNode, why: plan.exitWhy }, 'routes: exit node gone; default route restored');
    }
  }

  // ---- data-plane hooks (per packet; no allocation) ----

  readonly routeVia = (dst: number, bytes: number): number | undefined => {
    const r = this.table.lookup(dst);
    if (r === undefined) return undefined;
    r.packets++;
    r.bytes += bytes;
    return r.owner;
  };

  readonly sourceAllowed = (from: number, src: number): boolean => {
    const list = this.perPeer.get(from);
    return list !== undefined && sourceAllowed(list, src);
  };

  readonly forwardAllowed = (dst: number, bytes: number): boolean => {
    const a = this.attached;
    if (!a || !forwardAllowed(this.own, a.overlay, dst)) return false;
    // Count per own prefix (longest match among few).
    let best: RoutePrefix | undefined;
    for (const p of this.own) if ((!best || p.length > best.length) && sourceAllowed([p], dst)) best = p;
    const k = cidrOf(best!);
    let u = this.ownUse.get(k);
    if (!u) this.ownUse.set(k, (u = { owner: a.self, network: best!.network, length: best!.length, packets: 0, bytes: 0 }));
    u.packets++;
    u.bytes += bytes;
    return true;
  };

  // ---- status ----

  status(): { routes: RouteStatusJson[]; exitNode: string | null; exitNodeWhy: string | null; offered: string[]; acceptRoutes: boolean } {
    const useOf = (r: { owner: number; network: number; length: number }, own: boolean): RouteUse | undefined =>
      own ? this.ownUse.get(cidrOf(r)) : this.table.getExact(r.network, r.length);
    return {
      offered: this.offer().map(cidrOf),
      acceptRoutes: this.o.acceptRoutes,
      exitNode: this.plan.exit ? this.plan.exit.name : null,
      exitNodeWhy: this.o.exitNode !== undefined && !this.plan.exit ? (this.plan.exitWhy ?? null) : null,
      routes: this.plan.routes.map((r) => {
        const u = useOf(r, r.state === 'own');
        return {
          route: cidrOf(r),
          via: r.ownerName,
          address: u32ToIpv4(r.owner),
          verdict: routeVerdictName[r.verdict],
          state: r.state,
          why: r.why,
          packets: u?.packets ?? 0,
          bytes: u?.bytes ?? 0,
        };
      }),
    };
  }

  /** Per-route counters for metrics: route, via, packets, bytes. */
  metrics(): Array<{ route: string; via: string; packets: number; bytes: number }> {
    const out = this.table.routes().map((r) => ({ route: cidrOf(r), via: u32ToIpv4(r.value.owner), packets: r.value.packets, bytes: r.value.bytes }));
    for (const u of this.ownUse.values()) out.push({ route: cidrOf(u), via: 'self', packets: u.packets, bytes: u.bytes });
    return out;
  }

  /** Removes kernel routes, exit rules and the forwarding table. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sys = this.o.system;
    const a = this.attached;
    if (!sys || !a) return;
    const cmds = [...[...this.kernel.values()].map((p) => subnetRouteDel(p, a.tun)), ...(this.exitOn ? exitRulesOff() : []), ...(this.forwarding ? [forwardingOff(a.tun)] : [])];
    this.kernel.clear();
    this.exitOn = false;
    await sys.run(cmds, true);
  }
}
