// Published ports as network-wide claims (issue 24 item 3): several hubs sharing one network state
// keep `svc.<port>` -> {owner key id, service name} in the claims bucket, created with
// compare-and-set, so two members cannot publish one public port on two hubs, and the same member
// re-homing keeps its port. Every hub follows the feed (hub/nats-state.ts hands it the entries) and
// listens on every claimed port (publish/hub-publisher.ts syncClaims). NATS-agnostic: the bucket is
// the small ClaimsKv slice below, so this file imports no NATS client (test/deps.test.ts).
import type { Logger } from '../util/log.js';

/** One published port as the shared state holds it. */
export interface ServiceClaim {
  port: number;
  /** The owning member's key id (hex). */
  owner: string;
  name: string;
}

/** What another member holds (PUBLISH is refused with it). */
export interface ServiceClaimLost {
  holder: string;
  name: string;
}

/** The network-wide published ports (absent on a single hub: its publisher is the only one). */
export interface ServiceClaims {
  /** Takes `port` for `owner` unless another member holds it; a holder `stale(holder)` says is gone
   * from the network is taken over. Rejects when the shared state cannot be reached. */
  claim(c: ServiceClaim, stale: (holder: string) => boolean): Promise<true | ServiceClaimLost>;
  /** Frees `port` if `owner` still holds it. */
  release(port: number, owner: string): void;
  all(): ServiceClaim[];
  /** Told when a claim appears, changes or goes (this hub's own included). */
  onChange(fn: () => void): void;
}

/** The slice of a NATS KV bucket the claims use (structurally nats' KV). */
export interface ClaimsKv {
  create(key: string, value: Uint8Array): Promise<number>;
  get(key: string): Promise<{ value: Uint8Array; revision: number; operation: string } | null>;
  delete(key: string, opts?: { previousSeq?: number }): Promise<void>;
}

/** A feed entry (structurally nats' KvEntry). */
export interface ClaimsEntry {
  key: string;
  value: Uint8Array;
  operation: string;
}

export const serviceKeyPrefix = 'svc.';
export const serviceKey = (port: number) => `${serviceKeyPrefix}${port}`;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A claim's value read back (pure); undefined when it is not one (ignored, counted by the caller). */
export function parseServiceClaim(key: string, value: Uint8Array): ServiceClaim | undefined {
  if (!key.startsWith(serviceKeyPrefix)) return undefined;
  const port = Number(key.slice(serviceKeyPrefix.length));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  try {
    const v = JSON.parse(dec.decode(value)) as { owner?: unknown; name?: unknown };
    if (typeof v.owner !== 'string' || !/^[0-9a-f]{64}$/.test(v.owner) || typeof v.name !== 'string' || v.name.length > 32) return undefined;
    return { port, owner: v.owner, name: v.name };
  } catch {
    return undefined;
  }
}

export class KvServiceClaims implements ServiceClaims {
  private readonly claims = new Map<number, ServiceClaim>();
  private changed: () => void = () => undefined;
  /** Claims and releases of one port run one after the other (a member restarting frees its port
   * and claims it again at once: the claim must not see the claim the release then deletes). */
  private readonly chains = new Map<number, Promise<unknown>>();
  readonly counters = { unreadable: 0, takenOver: 0 };

  constructor(
    private readonly kv: ClaimsKv,
    private readonly connected: () => boolean,
    private readonly log: Logger,
  ) {}

  /** A feed entry under `svc.` (nats-state.ts's watch). */
  apply(e: ClaimsEntry): void {
    const port = Number(e.key.slice(serviceKeyPrefix.length));
    if (e.operation !== 'PUT') {
      if (this.claims.delete(port)) this.changed();
      return;
    }
    const c = parseServiceClaim(e.key, e.value);
    if (!c) {
      this.counters.unreadable++;
      return;
    }
    const old = this.claims.get(c.port);
    if (old && old.owner === c.owner && old.name === c.name) return;
    this.claims.set(c.port, c);
    this.changed();
  }

  claim(c: ServiceClaim, stale: (holder: string) => boolean): Promise<true | ServiceClaimLost> {
    if (!this.connected()) return Promise.reject(new Error('the NATS connection is down'));
    return this.serial(c.port, () => this.take(c, stale));
  }

  private async take(c: ServiceClaim, stale: (holder: string) => boolean): Promise<true | ServiceClaimLost> {
    const key = serviceKey(c.port);
    const value = enc.encode(JSON.stringify({ owner: c.owner, name: c.name }));
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        await this.kv.create(key, value);
        this.set(c);
        return true;
      } catch (e) {
        if (!lostRace(e)) throw e;
      }
      const cur = await this.kv.get(key);
      if (!cur || cur.operation !== 'PUT') continue; // freed meanwhile: create again
      const held = parseServiceClaim(key, cur.value);
      if (held && held.owner === c.owner) {
        if (held.name === c.name) return true;
        // The same member renamed the service on this port: its own claim, rewritten.
        await this.kv.delete(key, { previousSeq: cur.revision }).catch(swallowRace);
        continue;
      }
      if (held && !stale(held.owner)) return { holder: held.owner, name: held.name };
      // Unreadable, or its owner left the network (its hub died with it): taken over, compare-and-set.
      this.counters.takenOver++;
      this.log.info({ port: c.port, holder: held?.owner.slice(0, 8) ?? 'unreadable' }, 'publish: a port claim of a member gone from the network is taken over');
      await this.kv.delete(key, { previousSeq: cur.revision }).catch(swallowRace);
    }
    throw new Error(`the claim on port ${c.port} kept changing`);
  }

  release(port: number, owner: string): void {
    const key = serviceKey(port);
    this.serial(port, async () => {
      const cur = await this.kv.get(key);
      if (!cur || cur.operation !== 'PUT' || parseServiceClaim(key, cur.value)?.owner !== owner) return;
      await this.kv.delete(key, { previousSeq: cur.revision }).catch(swallowRace);
    }).catch((e: unknown) => this.log.warn({ port, err: (e as Error).message }, 'publish: port claim release not written'));
  }

  private serial<T>(port: number, work: () => Promise<T>): Promise<T> {
    const run = (this.chains.get(port) ?? Promise.resolve()).then(work, work);
    const done = run.catch(() => undefined);
    this.chains.set(port, done);
    void done.then(() => {
      if (this.chains.get(port) === done) this.chains.delete(port);
    });
    return run;
  }

  all(): ServiceClaim[] {
    return [...this.claims.values()];
  }

  onChange(fn: () => void): void {
    this.changed = fn;
  }

  private set(c: ServiceClaim): void {
    const old = this.claims.get(c.port);
    if (old && old.owner === c.owner && old.name === c.name) return;
    this.claims.set(c.port, c);
    this.changed();
  }
}

/** "The key exists already" (create) or "changed meanwhile" (compare-and-set). */
function lostRace(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string };
  return err.api_error?.err_code === 10071 || /wrong last sequence/i.test(err.message ?? '');
}

function swallowRace(e: unknown): void {
  if (!lostRace(e)) throw e;
}
