// Member entries in the members bucket (hub/nats-state.ts): this hub writes its own members' entries
// (in order per member, retried while NATS elects a leader), writes them again after a cut, and
// follows every hub's entries into the map it serves.
import type { KvEntry } from 'nats';
import { showInMap, type NatsCtx } from './nats-context.js';
import { lostRace } from './nats-conn.js';
import { dec, heartbeatId, json, memberKey, natRecordOf, type MemberRecord } from './nats-names.js';
import type { NatsPresence } from './nats-presence.js';
import type { Member } from './registry.js';

/** Local tuning: a member entry write that fails (NATS reconnecting, a stream electing a new
 * leader after a node loss: ~5 s measured) is tried again after this, doubling to 8 s, at most
 * `memberWriteRetries` times (~30 s in all); the next change or reconnect writes it anyway. */
export const memberWriteRetryMs = 250;
export const memberWriteRetries = 8;

export class NatsMembers {
  /** Sleeps of retrying writes, woken at once by close(). */
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly c: NatsCtx, private readonly presence: NatsPresence) {}

  /** A change of the members bucket (its watch, or read by sequence). */
  onMember(e: KvEntry): void {
    const c = this.c;
    const id = e.key.slice(2);
    if (id.startsWith('_hb.')) return void (id === heartbeatId(c.o.hubId) && (c.watchSeen.members = c.o.clock.now()));
    if (e.operation !== 'PUT') {
      c.entries.delete(id);
      // Another hub judged this hub dead (its view was wrong): our member stays and is written again.
      const own = c.members.get(id);
      if (own && !c.closed) {
        c.ownRev.delete(id);
        this.republish(own);
        return;
      }
      if (c.map.remove(id)) c.mapChanged();
      return;
    }
    let rec: MemberRecord;
    try {
      rec = JSON.parse(dec.decode(e.value)) as MemberRecord;
    } catch {
      c.log.warn({ key: e.key }, 'nats: unreadable member entry ignored');
      return;
    }
    c.entries.set(id, { rec, rev: e.revision });
    // Another hub wrote the entry of a member we hold: it registered there (hub-set failover or a
    // faster hub); written after our own last write, so it is not an old entry of another hub.
    if (rec.home !== c.o.hubId && c.members.get(id) !== undefined && e.revision > (c.ownRev.get(id) ?? 0)) c.rehomed(id);
    if (this.presence.alive(rec.home)) {
      if (showInMap(c, id, rec)) c.mapChanged();
    } else if (c.map.remove(id)) c.mapChanged();
  }

  private sleep(ms: number): Promise<void> {
    const clock = this.c.o.clock;
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.sleepers.delete(wake);
        clock.clearTimer(h);
        resolve();
      };
      const h = clock.setTimer(ms, wake);
      this.sleepers.add(wake);
    });
  }

  private async retrying(work: () => Promise<void>): Promise<void> {
    for (let i = 0, waitMs = memberWriteRetryMs; ; i++, waitMs = Math.min(waitMs * 2, 8_000)) {
      try {
        return await work();
      } catch (e) {
        if (this.c.closed || i >= memberWriteRetries) throw e;
        await this.sleep(waitMs);
        if (this.c.closed) throw e;
      }
    }
  }

  private chain(id: string, work: () => Promise<void>): void {
    const chains = this.c.chains;
    const next = (chains.get(id) ?? Promise.resolve()).then(() => this.retrying(work)).catch((e: unknown) => {
      this.c.log.warn({ peer: id.slice(0, 8), err: (e as Error).message }, 'nats: member entry not written');
    });
    chains.set(id, next);
    void next.then(() => {
      if (chains.get(id) === next) chains.delete(id);
    });
  }

  private recordOf(m: Member): MemberRecord {
    return {
      home: this.c.o.hubId, publicKey: Buffer.from(m.publicKey).toString('base64'), overlay: m.overlay, ...(m.overlay6 !== undefined ? { overlay6: m.overlay6 } : {}), name: m.name, bootId: m.bootId.toString(),
      reflexive: { address: m.reflexive.address, port: m.reflexive.port }, lan: m.lan.map((e) => ({ address: e.address, port: e.port })),
      ...(m.nat ? { nat: natRecordOf(m.nat) } : {}),
    };
  }

  /** Writes an own member's entry again after a cut: over our own last revision, or anew when the
   * other hubs deleted it meanwhile; never over an entry another hub wrote (the member re-homed). */
  republish(m: Member): void {
    const c = this.c;
    const key = memberKey(m.id);
    const value = json(this.recordOf(m));
    this.chain(m.id, async () => {
      const rev = c.ownRev.get(m.id);
      try {
        c.ownRev.set(m.id, rev === undefined ? await c.membersKv.create(key, value) : await c.membersKv.update(key, value, rev));
      } catch (e) {
        if (!lostRace(e)) throw e;
        const cur = await c.membersKv.get(key);
        if (!cur || cur.operation !== 'PUT') c.ownRev.set(m.id, await c.membersKv.create(key, value));
        else if ((JSON.parse(dec.decode(cur.value)) as MemberRecord).home === c.o.hubId) c.ownRev.set(m.id, cur.revision);
      }
    });
  }

  /** An own member's entry changed or it left (NetworkState.memberChanged). */
  changed(m: Member, gone: boolean): void {
    const c = this.c;
    if (c.closed) return;
    if (gone) {
      this.chain(m.id, async () => {
        const rev = c.ownRev.get(m.id);
        c.ownRev.delete(m.id);
        if (rev === undefined) return;
        await c.membersKv.delete(memberKey(m.id), { previousSeq: rev }).catch((e: unknown) => {
          if (!lostRace(e)) throw e; // re-homed meanwhile: the entry is another hub's now
        });
      });
      return;
    }
    const rec = this.recordOf(m);
    this.chain(m.id, async () => {
      c.ownRev.set(m.id, await c.membersKv.put(memberKey(m.id), json(rec)));
    });
  }

  /** Wakes every retrying write's sleep (close). */
  wake(): void {
    for (const wake of [...this.sleepers]) wake();
  }
}
