// Binding leases shared by several hubs (hub/nats-state.ts; the pure judgements in
// hub/lease-cluster.ts): the home hub rewrites a live member's shared last-seen time when due, and one
// hub at a time (the `sweep` key in the presence bucket) frees the bindings whose lease ran out, each
// deleted by compare-and-set on the revisions it read, so a key that comes back keeps its binding.
import type { Binding } from './bindings.js';
import { sweepable, touchDue } from './lease-cluster.js';
import type { NatsClaims } from './nats-claims.js';
import type { NatsCtx } from './nats-context.js';
import { lostRace } from './nats-conn.js';
import { addrKey, bindingKey, dec, json, nameKey, sweepKey, type BindingRecord } from './nats-names.js';

export class NatsLeases {
  private readonly touching = new Set<string>();

  constructor(private readonly c: NatsCtx, private readonly claims: NatsClaims) {}

  /** The home hub saw its member alive: the shared last-seen time is rewritten when due (lease-cluster.ts). */
  async seen(id: string, nowWallMs: number): Promise<void> {
    const c = this.c;
    const b = c.bindings.get(id);
    if (c.closed || c.connection !== 'connected' || !b || b.pinned || this.touching.has(id)) return;
    const known = c.bindingRevs.get(id);
    if (known && !touchDue(known.lastSeenMs, nowWallMs, c.leaseMs)) return;
    this.touching.add(id);
    try {
      const fresh = { ...b, lastSeenMs: nowWallMs };
      if (known) {
        try {
          const rev = await c.claims.update(bindingKey(id), json({ overlay: b.overlay, name: b.name, lastSeenMs: nowWallMs, pinned: false }), known.rev);
          if (rev > (c.bindingRevs.get(id)?.rev ?? 0)) c.bindingRevs.set(id, { rev, lastSeenMs: nowWallMs });
          return;
        } catch (e) {
          if (!lostRace(e)) throw e;
        }
      }
      // Changed or freed meanwhile (a sweep that judged it before this member came back): claimed
      // again, over whatever is there now.
      const cur = await c.claims.get(bindingKey(id));
      if (cur && cur.operation === 'PUT') c.bindingRevs.set(id, { rev: cur.revision, lastSeenMs: (JSON.parse(dec.decode(cur.value)) as BindingRecord).lastSeenMs });
      else c.bindingRevs.delete(id);
      const r = await this.claims.claim(fresh, undefined);
      if (r !== true) c.log.error({ peer: id.slice(0, 8), why: r.text }, 'nats: a live member lost its binding to another key (its lease was swept as it came back)');
    } catch (e) {
      c.log.warn({ peer: id.slice(0, 8), err: (e as Error).message }, 'nats: last-seen time not written (tried again when next seen)');
    } finally {
      this.touching.delete(id);
    }
  }

  /** Frees the bindings whose lease ran out, if this hub takes the sweep key. Each is judged again on
   * its shared record and deleted by compare-and-set on the revisions read (binding record, then its
   * address and name): a key that registers meanwhile rewrites them, and keeps its binding. */
  async sweep(nowWallMs: number): Promise<Binding[]> {
    const c = this.c;
    const claims = c.claims;
    if (c.closed || c.connection !== 'connected') return [];
    const inMap = (id: string) => c.map.get(id) !== undefined || c.members.get(id) !== undefined;
    const due = c.bindings.all().filter((b) => sweepable(b, inMap(b.id), nowWallMs, c.leaseMs));
    if (due.length === 0) return [];
    try {
      await c.hubsKv.create(sweepKey, json({ hub: c.o.hubId }));
    } catch (e) {
      if (lostRace(e)) return []; // another hub sweeps
      throw e;
    }
    const freed: Binding[] = [];
    for (const b of due) {
      if (c.closed) break;
      const cur = await claims.get(bindingKey(b.id));
      if (!cur || cur.operation !== 'PUT') continue;
      let r: BindingRecord;
      try {
        r = JSON.parse(dec.decode(cur.value)) as BindingRecord;
      } catch {
        continue;
      }
      const shared: Binding = { id: b.id, overlay: r.overlay >>> 0, name: r.name, lastSeenMs: r.lastSeenMs, pinned: r.pinned };
      if (!sweepable(shared, inMap(b.id), nowWallMs, c.leaseMs)) continue;
      const holds = [await claims.get(addrKey(shared.overlay)), shared.name !== '' ? await claims.get(nameKey(shared.name)) : null];
      await c.o.sweepJudged?.(b.id);
      try {
        await claims.delete(bindingKey(b.id), { previousSeq: cur.revision });
      } catch (e) {
        if (lostRace(e)) continue; // seen or claimed meanwhile: it keeps its binding
        throw e;
      }
      for (const h of holds) {
        if (!h || h.operation !== 'PUT' || dec.decode(h.value) !== b.id) continue;
        await claims.delete(h.key, { previousSeq: h.revision }).catch((e: unknown) => {
          if (!lostRace(e)) throw e; // claimed again meanwhile: stays held
        });
      }
      c.bindings.delete(b.id);
      c.bindingRevs.delete(b.id);
      freed.push(shared);
    }
    return freed;
  }
}
