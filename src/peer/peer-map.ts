// The peer's copy of the hub's map: overlay ip -> {public key, name, boot id, candidates}. Applies
// full maps and deltas by the version rules of PROTOCOL.md and reports what changed. Used by
// hub-client.ts (feeds it) and node.ts (routes by it).
import type { Endpoint } from '../net/udp.js';
import { keyId } from '../link/key-id.js';
import { MapOp, type MapEntry } from '../wire/control.js';

export interface PeerInfo {
  readonly publicKey: Uint8Array;
  readonly id: string;
  readonly overlay: number;
  /** The peer's overlay IPv6 address (canonical text), when the hub gave it one (flag 0x10). */
  readonly overlay6?: string;
  readonly name: string;
  readonly bootId: bigint;
  readonly reflexive: Endpoint;
  readonly lan: readonly Endpoint[];
}

export type MapEvent = { type: 'upsert'; peer: PeerInfo; previous: PeerInfo | undefined } | { type: 'remove'; peer: PeerInfo };

export type DeltaResult = { applied: MapEvent[] } | { gap: true } | { stale: true };

function infoOf(e: MapEntry): PeerInfo {
  return { publicKey: e.publicKey, id: keyId(e.publicKey), overlay: e.overlay >>> 0, ...(e.overlay6 !== undefined ? { overlay6: e.overlay6 } : {}), name: e.name, bootId: e.bootId, reflexive: e.reflexive, lan: e.lan };
}

function sameInfo(a: PeerInfo, b: PeerInfo): boolean {
  return (
    a.id === b.id && a.overlay === b.overlay && a.overlay6 === b.overlay6 && a.name === b.name && a.bootId === b.bootId &&
    a.reflexive.address === b.reflexive.address && a.reflexive.port === b.reflexive.port &&
    a.lan.length === b.lan.length && a.lan.every((e, i) => e.address === b.lan[i]!.address && e.port === b.lan[i]!.port)
  );
}

export class PeerMap {
  version = 0;
  private readonly byOverlay = new Map<number, PeerInfo>();
  private readonly byKey = new Map<string, PeerInfo>();

  /** Every overlay address seen in the map and the key that had it (kept after removal): an address
   * moving to another key is reported to onRebind (H1: the log says so at error). */
  private readonly seenKeys = new Map<number, string>();

  /** `selfId`: our own key (hex), left out of the map. */
  constructor(
    private readonly selfId: string,
    private readonly onRebind?: (overlay: number, oldId: string, newId: string) => void,
  ) {}

  get(overlay: number): PeerInfo | undefined {
    return this.byOverlay.get(overlay >>> 0);
  }
  byId(id: string): PeerInfo | undefined {
    return this.byKey.get(id);
  }
  all(): PeerInfo[] {
    return [...this.byOverlay.values()];
  }

  /** Replaces the whole map (a full MAP, base 0). */
  applyFull(version: number, entries: MapEntry[]): MapEvent[] {
    const next = new Map<string, MapEntry>();
    for (const e of entries) if (e.op === MapOp.UPSERT) next.set(keyId(e.publicKey), e);
    const events: MapEvent[] = [];
    for (const p of this.all()) if (!next.has(p.id)) events.push(...this.removeId(p.id));
    for (const e of next.values()) events.push(...this.upsert(e));
    this.version = version;
    return events;
  }

  /**
   * Applies a delta: its changes are full member states, so it applies to any version from `base`
   * up to `version` (idempotent); a base beyond ours is a gap (ask for repair); an older version is stale.
   */
  applyDelta(base: number, version: number, entries: MapEntry[]): DeltaResult {
    if (version <= this.version) return { stale: true };
    if (base > this.version) return { gap: true };
    const applied: MapEvent[] = [];
    for (const e of entries) applied.push(...(e.op === MapOp.UPSERT ? this.upsert(e) : this.removeId(keyId(e.publicKey))));
    this.version = version;
    return { applied };
  }

  clear(): void {
    this.byOverlay.clear();
    this.byKey.clear();
    this.version = 0;
  }

  private upsert(e: MapEntry): MapEvent[] {
    const info = infoOf(e);
    if (info.id === this.selfId) return [];
    const seen = this.seenKeys.get(info.overlay);
    if (seen !== undefined && seen !== info.id) this.onRebind?.(info.overlay, seen, info.id);
    this.seenKeys.set(info.overlay, info.id);
    const previous = this.byKey.get(info.id);
    if (previous && sameInfo(previous, info)) return [];
    if (previous) this.byOverlay.delete(previous.overlay);
    // An overlay address moving to a new key evicts the old holder.
    const holder = this.byOverlay.get(info.overlay);
    const evicted = holder && holder.id !== info.id ? this.removeId(holder.id) : [];
    this.byKey.set(info.id, info);
    this.byOverlay.set(info.overlay, info);
    return [...evicted, { type: 'upsert', peer: info, previous }];
  }

  private removeId(id: string): MapEvent[] {
    const p = this.byKey.get(id);
    if (!p) return [];
    this.byKey.delete(id);
    if (this.byOverlay.get(p.overlay) === p) this.byOverlay.delete(p.overlay);
    return [{ type: 'remove', peer: p }];
  }
}
