// The served map as each view class sees it (map-scope.ts decides; this keeps the books): every
// member of the map by class, kept up to date from the registry's change log, so a full map for a
// class costs the entries it holds plus one look per class, and a delta for a class one look per
// change. Used by hub/map-sender.ts when the hub has an ACL policy.
//
// A member whose class changes (a new name, a route that makes it a router for an address a rule
// names) is the one change a filtered delta cannot express (whoever saw its old class must drop it):
// sync() reports who must get a full map instead (the member itself and every class that saw the
// old class). So does a new policy (the sender sends everyone a full map).
import type { Member, Registry } from './registry.js';
import type { AclPolicyFile } from './acl-policy.js';
import type { RoutePrefix } from '../wire/routes.js';
import { ScopeClasses, type ScopeSubject } from './map-scope.js';

/** Prefixes a member (by overlay address) routes, as far as this hub knows. */
export type RoutesOf = (overlay: number) => readonly RoutePrefix[] | undefined;

/** Who must get a full map after a sync: members by id, and every member of these classes. */
export interface ScopeResets {
  ids: Set<string>;
  classes: Set<number>;
}

export class ScopeViews {
  readonly classes: ScopeClasses;
  /** Each member's class as last seen (kept after it leaves: its REMOVE goes to those who saw it). */
  private readonly classOfId = new Map<string, number>();
  /** Live members of the map per class. */
  private readonly members = new Map<number, Set<string>>();
  private synced: number;
  /** The change log since each base asked for at the current version (one flush asks per class). */
  private readonly cache = new Map<number, ReturnType<Registry['changeRecordsSince']>>();
  private cacheVersion = -1;
  /** deltaBytes() per class and base at the current version. */
  private readonly filtered = new Map<string, Uint8Array[] | undefined>();

  constructor(
    policy: AclPolicyFile,
    private readonly registry: Registry,
    private readonly routesOf: RoutesOf = () => undefined,
  ) {
    this.classes = new ScopeClasses(policy);
    for (const m of registry.all()) this.place(m.id, this.classify(m));
    this.synced = registry.version;
  }

  private classify(x: { overlay: number; name: string }): number {
    const routes = this.routesOf(x.overlay >>> 0);
    const s: ScopeSubject = { overlay: x.overlay, name: x.name, ...(routes && routes.length > 0 ? { routes } : {}) };
    return this.classes.classOf(s);
  }

  private place(id: string, c: number | undefined): void {
    const old = this.classOfId.get(id);
    if (old !== undefined) this.members.get(old)?.delete(id);
    if (c === undefined) return;
    this.classOfId.set(id, c);
    let set = this.members.get(c);
    if (!set) this.members.set(c, (set = new Set()));
    set.add(id);
  }

  /** The class of a member this hub serves (computed once, then kept up to date by sync). */
  classOf(m: Member): number {
    let c = this.classOfId.get(m.id);
    if (c === undefined) {
      c = this.classify(m);
      this.classOfId.set(m.id, c);
    }
    return c;
  }

  /** Follows the registry's changes since the last sync; returns who needs a full map ('all' when
   * the change log no longer reaches back). */
  sync(): ScopeResets | 'all' {
    const resets: ScopeResets = { ids: new Set(), classes: new Set() };
    if (this.synced === this.registry.version) return resets;
    const records = this.registry.changeRecordsSince(this.synced);
    this.synced = this.registry.version;
    if (!records) {
      this.rebuild();
      return 'all';
    }
    for (const r of records) {
      const live = this.registry.get(r.id);
      const prev = this.classOfId.get(r.id);
      if (!live) {
        // Gone: keep its class for the REMOVE, off the live lists.
        if (prev !== undefined) this.members.get(prev)?.delete(r.id);
        continue;
      }
      const c = this.classify(live);
      if (prev !== undefined && prev !== c) this.moved(r.id, prev, resets);
      this.place(r.id, c);
    }
    return resets;
  }

  /** Routes changed (this hub's RouteBook): members whose class changed are reset (classifying is a
   * few set lookups per member with the rule index of map-scope.ts). */
  refresh(): ScopeResets {
    const resets: ScopeResets = { ids: new Set(), classes: new Set() };
    for (const m of this.registry.all()) {
      const prev = this.classOfId.get(m.id);
      const c = this.classify(m);
      if (prev !== undefined && prev !== c) this.moved(m.id, prev, resets);
      this.place(m.id, c);
    }
    return resets;
  }

  private moved(id: string, prev: number, resets: ScopeResets): void {
    resets.ids.add(id);
    for (const c of this.members.keys()) if (this.classes.sees(c, prev)) resets.classes.add(c);
  }

  private rebuild(): void {
    this.members.clear();
    this.classOfId.clear();
    for (const m of this.registry.all()) this.place(m.id, this.classify(m));
  }

  /** The encoded entries of a full map for class `c` at the registry's version (sync first). */
  fullBytes(c: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const [d, ids] of this.members) {
      if (!this.classes.sees(c, d)) continue;
      for (const id of ids) {
        const b = this.registry.entryBytes(id);
        if (b) out.push(b);
      }
    }
    return out;
  }

  /** The encoded changes since `base` that class `c` sees, or undefined when the log no longer
   * reaches back (sync first). */
  deltaBytes(c: number, base: number): Uint8Array[] | undefined {
    if (this.cacheVersion !== this.registry.version) {
      this.cache.clear();
      this.filtered.clear();
      this.cacheVersion = this.registry.version;
    }
    const key = `${c}:${base}`;
    if (this.filtered.has(key)) return this.filtered.get(key);
    if (!this.cache.has(base)) this.cache.set(base, this.registry.changeRecordsSince(base));
    const records = this.cache.get(base);
    let out: Uint8Array[] | undefined;
    if (records) {
      out = [];
      for (const r of records) {
        const d = this.classOfId.get(r.id) ?? this.classify(r.entry);
        if (this.classes.sees(c, d)) out.push(r.bytes);
      }
    }
    this.filtered.set(key, out);
    return out;
  }

  /** Entries the map of class `c` holds now (status). */
  visibleCount(c: number): number {
    let n = 0;
    for (const [d, ids] of this.members) if (this.classes.sees(c, d)) n += ids.size;
    return n;
  }

  /** Forget classes of members long gone (called when the book outgrows the map). */
  prune(): void {
    if (this.classOfId.size <= 2 * this.registry.size + 1024) return;
    for (const id of this.classOfId.keys()) if (!this.registry.get(id)) this.classOfId.delete(id);
  }
}
