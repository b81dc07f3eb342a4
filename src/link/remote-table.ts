// The link's remote table (link.ts): one Remote record per static key, found by key id, by the key
// array a caller passes on every send, by session index (TRANSPORT demux) and by pending initiation
// index (responses, cookie replies); the fresh session indices; and the strangers (LinkOptions.retain).
import { Keypairs } from '../crypto/keypairs.js';
import type { Clock } from '../util/clock.js';
import * as C from './constants.js';
import { keyId } from './key-id.js';
import type { Remote } from './remote.js';

/** A stranger (LinkOptions.retain) seen first at `sinceMs` is forgotten once this is true. */
export function strangerExpired(sinceMs: number, nowMs: number): boolean {
  return nowMs - sinceMs >= C.strangerGraceMs;
}

export class RemoteTable {
  private readonly remotes = new Map<string, Remote>();
  /** Callers pass the same key array on every send (the peer map's): resolving it without a hex
   * string per packet. Checked against `remotes` on use, so delete() needs no cleanup here. */
  private readonly byKeyObject = new WeakMap<Uint8Array, Remote>();
  /** Session index -> remote: TRANSPORT demux. Kept by each remote's Keypairs (its onDrop below). */
  readonly byIndex = new Map<number, Remote>();
  /** Our pending initiation's index -> remote: HANDSHAKE_RESP and COOKIE_REPLY demux. */
  readonly pendingByIndex = new Map<number, Remote>();
  /** Remotes that did not belong when they appeared (retain), oldest first, with that time. */
  private readonly strangers = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly randomU32: () => number,
    private readonly retain: ((id: string) => boolean) | undefined,
    /** Forgets a stranger everywhere (the Link's forget: handshakes, timers, replay memory). */
    private readonly evict: (r: Remote) => void,
  ) {}

  get size(): number {
    return this.remotes.size;
  }

  get strangerCount(): number {
    return this.strangers.size;
  }

  ids(): IterableIterator<string> {
    return this.remotes.keys();
  }

  values(): IterableIterator<Remote> {
    return this.remotes.values();
  }

  /** The record for `publicKey`, if any; a key array seen before is resolved without a hex string
   * (the hub's map fan-out looks up every member once per MAP part). */
  get(publicKey: Uint8Array): Remote | undefined {
    const cached = this.byKeyObject.get(publicKey);
    if (cached !== undefined && this.remotes.get(cached.id) === cached) return cached;
    return this.remotes.get(keyId(publicKey));
  }

  getById(id: string): Remote | undefined {
    return this.remotes.get(id);
  }

  /** The record for `publicKey`, made on first use; cheap for a key array seen before. */
  obtain(publicKey: Uint8Array): Remote {
    const cached = this.byKeyObject.get(publicKey);
    if (cached !== undefined && this.remotes.get(cached.id) === cached) return cached;
    const r = this.obtainById(publicKey);
    this.byKeyObject.set(publicKey, r);
    return r;
  }

  private obtainById(publicKey: Uint8Array): Remote {
    const id = keyId(publicKey);
    let r = this.remotes.get(id);
    if (!r) {
      const created: Remote = {
        publicKey: new Uint8Array(publicKey),
        id,
        path: undefined,
        lastReceivedMs: -Infinity,
        sessionSinceMs: -Infinity,
        lastSentMs: -Infinity,
        keypairs: new Keypairs((s) => {
          if (this.byIndex.get(s.localIndex) === created) this.byIndex.delete(s.localIndex);
        }),
        queue: [],
      };
      r = created;
      this.remotes.set(id, r);
      if (this.retain && !this.retain(id)) this.noteStranger(id);
    }
    return r;
  }

  /** Removes the record (its sessions and timers are the caller's to clear). */
  delete(r: Remote): void {
    this.remotes.delete(r.id);
    this.strangers.delete(r.id);
  }

  clear(): void {
    this.remotes.clear();
  }

  /** A fresh non-zero index no session or pending initiation uses. */
  newIndex(): number {
    for (;;) {
      const i = this.randomU32() >>> 0;
      if (i !== 0 && !this.byIndex.has(i) && !this.pendingByIndex.has(i)) return i;
    }
  }

  /** Housekeeping: strangers that joined are kept for good, the others go after strangerGraceMs. */
  sweepStrangers(now: number): void {
    for (const [id, sinceMs] of this.strangers) {
      if (this.retain?.(id)) this.strangers.delete(id);
      else if (strangerExpired(sinceMs, now)) this.evictStranger(id);
    }
  }

  /** A remote that does not belong (yet): remembered with its time, the oldest forgotten past the cap. */
  private noteStranger(id: string): void {
    this.strangers.set(id, this.clock.now());
    if (this.strangers.size <= C.maxStrangers) return;
    for (const sid of this.strangers.keys()) {
      if (this.strangers.size <= C.maxStrangers) break;
      if (sid === id) continue;
      if (this.retain?.(sid)) this.strangers.delete(sid); // it registered meanwhile
      else this.evictStranger(sid);
    }
  }

  private evictStranger(id: string): void {
    const r = this.remotes.get(id);
    this.strangers.delete(id);
    if (r) this.evict(r);
  }
}
