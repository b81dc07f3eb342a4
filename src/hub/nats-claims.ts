// Claims in the claims bucket (hub/nats-state.ts): an overlay address and a name are each taken by
// compare-and-set (KV create), so exactly one key wins them network-wide, then the key's binding
// record is written over the revision this hub knows; the claims watch mirrors every hub's bindings.
import type { KvEntry } from 'nats';
import { u32ToIpv4 } from '../util/ipv4.js';
import { RefusalReason } from '../wire/control.js';
import type { Binding } from './bindings.js';
import type { NatsCtx } from './nats-context.js';
import { ClusterError, lostRace } from './nats-conn.js';
import { addrKey, bindingKey, dec, enc, heartbeatId, json, nameKey, type BindingRecord } from './nats-names.js';
import type { ClaimLost } from './network-state.js';

/** Local tuning: a claim whose binding record changed under it (a lease sweep or another hub) is
 * made again this many times at most. */
const claimAttempts = 3;

export class NatsClaims {
  constructor(private readonly c: NatsCtx) {}

  /** A change of a binding record (the claims watch, or read by sequence). */
  onClaim(e: KvEntry): void {
    const c = this.c;
    if (!e.key.startsWith('key.')) return;
    const id = e.key.slice(4);
    if (id.startsWith('_hb.')) return void (id === heartbeatId(c.o.hubId) && (c.watchSeen.claims = c.o.clock.now()));
    if (c.bindings.get(id)?.pinned) return; // this hub's allow-list wins here
    if (e.operation !== 'PUT') {
      c.bindings.delete(id);
      c.bindingRevs.delete(id);
      return;
    }
    try {
      const r = JSON.parse(dec.decode(e.value)) as BindingRecord;
      if (e.revision >= (c.bindingRevs.get(id)?.rev ?? 0)) c.bindingRevs.set(id, { rev: e.revision, lastSeenMs: r.lastSeenMs });
      c.bindings.set({ id, overlay: r.overlay >>> 0, name: r.name, lastSeenMs: r.lastSeenMs, pinned: r.pinned });
    } catch {
      c.log.warn({ key: e.key }, 'nats: unreadable binding ignored');
    }
  }

  /** The allow-list's bindings, written at start (the operator's list wins over first come, as on one hub). */
  async pin(pinned: readonly Binding[]): Promise<void> {
    const claims = this.c.claims;
    for (const b of pinned) {
      await claims.put(addrKey(b.overlay), enc.encode(b.id));
      if (b.name !== '') await claims.put(nameKey(b.name), enc.encode(b.id));
      await claims.put(bindingKey(b.id), json({ overlay: b.overlay, name: b.name, lastSeenMs: b.lastSeenMs, pinned: true }));
    }
  }

  /** Takes `key` for `id` unless another key holds it: 'created' (with its revision), 'ours', or the holder. */
  private async take(key: string, id: string): Promise<{ created: number } | 'ours' | { holder: string }> {
    const claims = this.c.claims;
    try {
      return { created: await claims.create(key, enc.encode(id)) };
    } catch (e) {
      if (!lostRace(e)) throw e;
      const cur = await claims.get(key);
      const holder = cur && cur.operation === 'PUT' ? dec.decode(cur.value) : undefined;
      if (holder === id) {
        // Written again (same value, new revision): a lease sweep that read the old revision cannot
        // free it under a binding being claimed or refreshed now (its delete compares revisions).
        try {
          await claims.update(key, enc.encode(id), cur!.revision);
          return 'ours';
        } catch (err) {
          if (!lostRace(err)) throw err;
          return this.take(key, id);
        }
      }
      if (holder === undefined) return this.take(key, id); // deleted meanwhile: try again
      return { holder };
    }
  }

  /** Frees `key` if `id` still holds it (compare-and-set on its revision). */
  async free(key: string, id: string): Promise<void> {
    const claims = this.c.claims;
    const cur = await claims.get(key);
    if (!cur || cur.operation !== 'PUT' || dec.decode(cur.value) !== id) return;
    await claims.delete(key, { previousSeq: cur.revision }).catch((e: unknown) => {
      if (!lostRace(e)) throw e;
    });
  }

  /** A claim whose binding record changed under it (a lease sweep or another hub): made again. */
  async claim(b: Binding, old: Binding | undefined): Promise<true | ClaimLost> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.claimOnce(b, old);
      if (r !== 'again') return r;
      if (attempt >= claimAttempts) throw new ClusterError('CLUSTER_CONTENDED', `the binding of ${b.id.slice(0, 8)} kept changing during its claim`);
    }
  }

  private async claimOnce(b: Binding, old: Binding | undefined): Promise<true | ClaimLost | 'again'> {
    const c = this.c;
    const claims = c.claims;
    // Cut from NATS: refused at once rather than risked (the REGISTER goes unanswered; the peer retries).
    if (c.connection !== 'connected') throw new ClusterError('CLUSTER_UNREACHABLE', 'the NATS connection is down');
    const addr = await this.take(addrKey(b.overlay), b.id);
    if (typeof addr === 'object' && 'holder' in addr) {
      return { reason: RefusalReason.ADDRESS_IN_USE, text: `${u32ToIpv4(b.overlay)} is bound to another key (another hub of the network)` };
    }
    if (b.name !== '') {
      const name = await this.take(nameKey(b.name), b.id);
      if (typeof name === 'object' && 'holder' in name) {
        if (typeof addr === 'object') await claims.delete(addrKey(b.overlay), { previousSeq: addr.created }).catch(() => undefined);
        return { reason: RefusalReason.NAME_TAKEN, text: `name "${b.name}" is bound to another key (another hub of the network)` };
      }
    }
    // Over the record's known revision, or anew: a sweep that freed the binding meanwhile makes this
    // fail, and the claim is made again (its address and name taken anew), never left half freed.
    const known = c.bindingRevs.get(b.id);
    const value = json({ overlay: b.overlay, name: b.name, lastSeenMs: b.lastSeenMs, pinned: b.pinned });
    let rev: number;
    try {
      rev = known ? await claims.update(bindingKey(b.id), value, known.rev) : await claims.create(bindingKey(b.id), value);
    } catch (e) {
      if (!lostRace(e)) throw e;
      const cur = await claims.get(bindingKey(b.id));
      if (cur && cur.operation === 'PUT') c.bindingRevs.set(b.id, { rev: cur.revision, lastSeenMs: (JSON.parse(dec.decode(cur.value)) as BindingRecord).lastSeenMs });
      else c.bindingRevs.delete(b.id);
      return 'again';
    }
    if (rev > (c.bindingRevs.get(b.id)?.rev ?? 0)) c.bindingRevs.set(b.id, { rev, lastSeenMs: b.lastSeenMs });
    if (old && old.overlay !== b.overlay) await this.free(addrKey(old.overlay), b.id);
    if (old && old.name !== '' && old.name !== b.name) await this.free(nameKey(old.name), b.id);
    c.bindings.set(b);
    return true;
  }

  /** A binding given up (NetworkState.release): its record, address and name are freed. */
  release(b: Binding): void {
    const c = this.c;
    c.bindings.delete(b.id);
    void (async () => {
      await c.claims.delete(bindingKey(b.id));
      await this.free(addrKey(b.overlay), b.id);
      if (b.name !== '') await this.free(nameKey(b.name), b.id);
    })().catch((e: unknown) => c.log.warn({ peer: b.id.slice(0, 8), err: (e as Error).message }, 'nats: release not written'));
  }
}
