// Keeps one UDP port mapping for the peer's main socket on the gateway (issue 20): asks PCP, then
// NAT-PMP, then UPnP-IGD (only those the gateway answered), renews on nat/lease.ts's schedule,
// deletes it on stop(), and remembers it in the state dir (an injected store, written atomically
// by peer/run.ts) so the next start deletes a mapping a crash left behind. The mapped endpoint goes
// to the hub as a candidate through `onChange` (nat/agent.ts -> PeerNode's advertised endpoints).
import type { Endpoint } from '../net/udp.js';
import type { Clock, TimerHandle, WallClock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { nextLeaseStep, requestedLifetimeS, type LeaseState } from './lease.js';
import type { MapProtocol, MapProtocolClient } from './port-map-client.js';

/** What the state dir keeps about a live mapping (peer/run.ts writes it as JSON, atomically). */
export interface PortMapRecord {
  protocol: MapProtocol;
  gateway: string;
  internalPort: number;
  external: { address: string; port: number };
  /** Wall-clock ms when the lease ends (a record past it needs no delete). */
  expiresAtWall: number;
  /** Protocol data the delete needs (PCP's nonce and client address). */
  extra: Record<string, string>;
}

export interface PortMapStore {
  load(): PortMapRecord | undefined;
  /** Saves (undefined: removes) the record; must not throw. */
  save(r: PortMapRecord | undefined): void;
}

export interface PortMapStatus {
  state: 'mapped' | 'trying' | 'failed';
  protocol?: MapProtocol;
  external?: string;
  lifetimeS?: number;
  renewsInS?: number;
  /** The last failure (no answer, or the gateway's refusal). */
  error?: string;
  /** One line for `meshd status`. */
  text: string;
}

export interface PortMapperOptions {
  gateway: string;
  internalPort: number;
  clock: Clock;
  wallClock: WallClock;
  log: Logger;
  /** The clients to try, in order (PCP, NAT-PMP, UPnP-IGD: those the gateway answered). */
  clients: MapProtocolClient[];
  store?: PortMapStore;
  onChange?: (external: Endpoint | undefined) => void;
  /** Every protocol answered with a refusal or not at all (no mapping now). */
  onFailure?: () => void;
  /** Settles when the leftover of an earlier run is deleted (a new PCP nonce for the same port
   * would be refused while the old mapping lives): the first request waits for it. */
  after?: Promise<unknown>;
}

const protocolName: Record<MapProtocol, string> = { pcp: 'PCP', natpmp: 'NAT-PMP', upnp: 'UPnP-IGD' };

/** Deletes a mapping an earlier run left (it crashed before stop()), then forgets it. */
export async function deleteLeftover(store: PortMapStore, clientFor: (r: PortMapRecord) => MapProtocolClient | undefined, wallNow: number, log: Logger): Promise<PortMapRecord | undefined> {
  const r = store.load();
  if (!r) return undefined;
  if (r.expiresAtWall > wallNow) {
    const c = clientFor(r);
    log.info({ protocol: r.protocol, external: `${r.external.address}:${r.external.port}` }, 'port map: deleting the mapping a previous run left');
    await c?.unmap(r.internalPort, r.external).catch(() => undefined);
  }
  store.save(undefined);
  return r;
}

export class PortMapper {
  private st: LeaseState = { failures: 0 };
  private client: MapProtocolClient | undefined;
  private ext: Endpoint | undefined;
  private timer: TimerHandle | undefined;
  private busy = false;
  private stopped = false;
  private lastError: string | undefined;
  /** Requests and renewals sent, by outcome (metrics, tests). */
  readonly counts = { requests: 0, renewals: 0, failures: 0, deletes: 0 };

  constructor(private readonly o: PortMapperOptions) {}

  get external(): Endpoint | undefined {
    return this.ext;
  }

  start(): void {
    if (!this.o.after) return this.schedule();
    void this.o.after.catch(() => undefined).then(() => this.schedule());
  }

  status(nowMs = this.o.clock.now()): PortMapStatus {
    if (this.ext && this.client && this.st.lease) {
      const step = nextLeaseStep(this.st);
      const renewsInS = Math.max(0, Math.round((step.atMs - nowMs) / 1000));
      const external = `${this.ext.address}:${this.ext.port}`;
      return {
        state: 'mapped', protocol: this.client.protocol, external, lifetimeS: this.st.lease.lifetimeS, renewsInS,
        text: `mapped ${external} via ${protocolName[this.client.protocol]}, lease ${this.st.lease.lifetimeS} s, ${step.action === 'expired' ? 'expires' : 'renews'} in ${renewsInS} s`,
        ...(this.lastError ? { error: this.lastError } : {}),
      };
    }
    const tried = this.o.clients.map((c) => protocolName[c.protocol]).join(', ');
    if (this.st.failures === 0) return { state: 'trying', text: `asking the gateway ${this.o.gateway} (${tried})` };
    const again = Math.max(0, Math.round((nextLeaseStep(this.st).atMs - nowMs) / 1000));
    return { state: 'failed', error: this.lastError ?? 'unknown', text: `no mapping (${tried}): ${this.lastError ?? 'unknown'}; next try in ${again} s` };
  }

  /** Deletes the mapping (every exit path of the daemon calls this) and forgets the record. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    this.timer = undefined;
    const c = this.client;
    const ext = this.ext;
    this.client = undefined;
    this.ext = undefined;
    this.st = { failures: 0 };
    if (c && ext) {
      this.counts.deletes++;
      this.o.log.info({ protocol: c.protocol, external: `${ext.address}:${ext.port}` }, 'port map: deleting the mapping');
      await c.unmap(this.o.internalPort, ext).catch(() => undefined);
    }
    this.o.store?.save(undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    const step = nextLeaseStep(this.st);
    this.timer = this.o.clock.setTimer(Math.max(0, step.atMs - this.o.clock.now()), () => {
      this.timer = undefined;
      void this.run(step.action);
    });
  }

  private async run(action: 'request' | 'renew' | 'expired'): Promise<void> {
    if (this.stopped || this.busy) return;
    this.busy = true;
    try {
      if (action === 'expired') {
        this.o.log.warn({ protocol: this.client?.protocol }, 'port map: the lease ended without a renewal; asking again');
        this.set(undefined, undefined);
        this.st = { failures: 0 };
      } else if (action === 'renew' && this.client) {
        await this.renew(this.client);
      } else {
        await this.request();
      }
    } finally {
      this.busy = false;
    }
    this.schedule();
  }

  private async request(): Promise<void> {
    const errors: string[] = [];
    for (const c of this.o.clients) {
      if (this.stopped) return;
      this.counts.requests++;
      try {
        const g = await c.map(this.o.internalPort, requestedLifetimeS);
        if (this.stopped) {
          await c.unmap(this.o.internalPort, g.external).catch(() => undefined);
          return;
        }
        this.st = { failures: 0, lease: { grantedMs: this.o.clock.now(), lifetimeS: g.lifetimeS } };
        this.lastError = undefined;
        this.set(c, g.external);
        this.o.log.info({ protocol: c.protocol, external: `${g.external.address}:${g.external.port}`, lifetimeS: g.lifetimeS }, 'port map: mapped');
        return;
      } catch (e) {
        this.counts.failures++;
        errors.push(`${protocolName[c.protocol]}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.lastError = errors.join('; ') || 'no protocol to try';
    this.st = { failures: this.st.failures + 1, lastFailureMs: this.o.clock.now() };
    this.o.log.info({ why: this.lastError, failures: this.st.failures }, 'port map: no mapping');
    this.o.onFailure?.();
  }

  private async renew(c: MapProtocolClient): Promise<void> {
    this.counts.renewals++;
    try {
      const g = await c.map(this.o.internalPort, requestedLifetimeS, this.ext);
      if (this.stopped) return;
      this.st = { failures: 0, lease: { grantedMs: this.o.clock.now(), lifetimeS: g.lifetimeS } };
      this.lastError = undefined;
      if (this.ext?.address !== g.external.address || this.ext.port !== g.external.port) this.set(c, g.external);
      else this.save();
    } catch (e) {
      this.counts.failures++;
      this.lastError = `renewal: ${e instanceof Error ? e.message : String(e)}`;
      this.st = { ...this.st, failures: this.st.failures + 1, lastFailureMs: this.o.clock.now() };
      this.o.log.info({ why: this.lastError, failures: this.st.failures }, 'port map: renewal failed');
    }
  }

  private set(c: MapProtocolClient | undefined, ext: Endpoint | undefined): void {
    this.client = c;
    this.ext = ext;
    this.save();
    this.o.onChange?.(ext);
  }

  private save(): void {
    const c = this.client;
    const ext = this.ext;
    const lease = this.st.lease;
    if (!c || !ext || !lease) {
      this.o.store?.save(undefined);
      return;
    }
    const leftMs = lease.grantedMs + lease.lifetimeS * 1000 - this.o.clock.now();
    this.o.store?.save({
      protocol: c.protocol, gateway: this.o.gateway, internalPort: this.o.internalPort, external: { address: ext.address, port: ext.port },
      expiresAtWall: this.o.wallClock() + leftMs, extra: c.persisted(),
    });
  }
}
