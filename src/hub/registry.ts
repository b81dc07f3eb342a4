// The hub's registry: who is in the network (key, overlay address, name, boot id, reflexive and LAN
// endpoints, last heartbeat) and the versioned change log the map deltas are cut from. Decisions
// (may this node register? has it expired?) are pure functions tested with tables.
import { IPv4CidrRange } from '../util/ip-num.js';
import type { Endpoint } from '../net/udp.js';
import { ConfigError } from '../util/errors.js';
import { ipv4ToU32, prefixMask, u32ToIpv4 } from '../util/ipv4.js';
import { MapOp, RefusalReason, type MapEntry } from '../wire/control.js';
import type { NatClass } from '../wire/nat-class.js';
import { encodeMapEntry } from './map-parts.js';
import { claim, type Binding, type Claim } from './bindings.js';

/** Protocol: the hub tells peers this interval in REGISTER_OK; peers heartbeat at it. */
export const heartbeatIntervalMs = 20_000;
/** Local policy: a member is dropped after this many heartbeats are due and none came. */
export const missedHeartbeatsAllowed = 3;
/** Local tuning: how many map versions of changes to keep for deltas (older peers get a full map):
 * at least this many, and at least `mapHistoryPerMember` per member, so a member whose full map took
 * a while to stream during a join storm can still be brought up to date with a delta. */
export const mapHistoryLimit = 1024;
export const mapHistoryPerMember = 4;

export interface Network {
  base: number;
  prefix: number;
  mask: number;
  cidr: string;
}

/** Parses "10.9.0.0/24" with ip-num; throws ConfigError naming --network. */
export function parseNetwork(cidr: string): Network {
  let range: IPv4CidrRange;
  try {
    range = IPv4CidrRange.fromCidr(cidr.trim());
  } catch {
    throw new ConfigError('--network', `not an IPv4 CIDR: ${cidr}`);
  }
  const prefix = Number(range.cidrPrefix.getValue());
  if (prefix < 8 || prefix > 30) throw new ConfigError('--network', `prefix /${prefix} is outside /8../30`);
  const mask = prefixMask(prefix);
  const base = (ipv4ToU32(range.getFirst().toString()) & mask) >>> 0;
  return { base, prefix, mask, cidr: `${u32ToIpv4(base)}/${prefix}` };
}

/** A usable host address of the network (not the network or broadcast address). */
export function inNetwork(net: Network, overlay: number): boolean {
  const host = (overlay & ~net.mask) >>> 0;
  return ((overlay & net.mask) >>> 0) === net.base && host !== 0 && host !== (~net.mask >>> 0);
}

export interface Member {
  readonly publicKey: Uint8Array;
  readonly id: string;
  overlay: number;
  /** Its overlay IPv6 address (canonical text, hub/claim6.ts), when the hub has --network6 and the
   * peer asked (REGISTER flag 0x10). */
  overlay6?: string;
  name: string;
  bootId: bigint;
  reflexive: Endpoint;
  lan: Endpoint[];
  registeredMs: number;
  lastHeartbeatMs: number;
  relayedBytes: number;
  /** Its REGISTER set NAT_INFO: it reads a PUNCH's trailing nat class (older peers would refuse it). */
  natInfo?: boolean;
  /** Its NAT class as it last reported it (REGISTER or HEARTBEAT), passed to its partners in PUNCH. */
  nat?: NatClass;
}

export interface RegisterRequest {
  id: string;
  /** 0 = assign one. */
  overlay: number;
  prefix: number;
  name: string;
  /** The name is the peer's host name: the hub may number it (host-2, host-3...). */
  nameIsHint?: boolean;
}

type Lookup<T> = { byOverlay(o: number): T | undefined; byName(n: string): T | undefined };

const noBindings: Lookup<Binding> & { get(id: string): Binding | undefined } = { byOverlay: () => undefined, byName: () => undefined, get: () => undefined };

/**
 * The REGISTER decision: policy first, then the claim on an address and a name against the durable
 * bindings (hub/bindings.ts) and the live members together, so neither 70 s of silence nor a hub
 * restart hands an address or a name to another key. Accepts with the address and name to use.
 */
export function decideRegister(
  req: RegisterRequest,
  net: Network,
  members: Lookup<Member>,
  keyAllowed: boolean,
  bindings: Lookup<Binding> & { get(id: string): Binding | undefined } = noBindings,
): Claim {
  if (!keyAllowed) return { ok: false, reason: RefusalReason.KEY_NOT_ALLOWED, text: 'this key is not in the hub allow-list' };
  const either = (a: { id: string } | undefined, b: { id: string } | undefined, id: string) => (a && a.id !== id ? a : b && b.id !== id ? b : a ?? b);
  return claim({ id: req.id, overlay: req.overlay, prefix: req.prefix, name: req.name, nameIsHint: req.nameIsHint ?? false }, net, {
    byOverlay: (o) => either(bindings.byOverlay(o), members.byOverlay(o), req.id),
    byName: (n) => either(bindings.byName(n), members.byName(n), req.id),
    own: (id) => bindings.get(id),
  });
}

/** Why a REGISTER is refused, or undefined to accept (decideRegister without the assignment). */
export function refusalFor(
  req: RegisterRequest,
  net: Network,
  members: Lookup<Member>,
  keyAllowed: boolean,
  bindings?: Lookup<Binding> & { get(id: string): Binding | undefined },
): RefusalReason | undefined {
  const d = decideRegister(req, net, members, keyAllowed, bindings);
  return d.ok ? undefined : d.reason;
}

/** Expired once `missedHeartbeatsAllowed` heartbeats were due and none arrived (half an interval of grace). */
export function isExpired(lastHeartbeatMs: number, nowMs: number, intervalMs = heartbeatIntervalMs): boolean {
  return nowMs - lastHeartbeatMs > intervalMs * (missedHeartbeatsAllowed + 0.5);
}

export function memberEntry(m: Member, op: MapOp = MapOp.UPSERT): MapEntry {
  return { op, publicKey: m.publicKey, overlay: m.overlay, ...(m.overlay6 !== undefined ? { overlay6: m.overlay6 } : {}), bootId: m.bootId, name: m.name, reflexive: m.reflexive, lan: m.lan };
}

function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  return a.length === b.length && a.every((e, i) => e.address === b[i]!.address && e.port === b[i]!.port);
}

export class Registry {
  private readonly members = new Map<string, Member>();
  private readonly overlays = new Map<number, Member>();
  private readonly names = new Map<string, Member>();
  /** Live members by overlay IPv6 address (claim6.ts: no two members hold one). */
  private readonly overlays6 = new Map<string, Member>();
  /** Change log, one record per version in order (history[i].version = first + i): the state of
   * one member at that version, with its encoded bytes. */
  private history: Array<{ version: number; id: string; entry: MapEntry; bytes: Uint8Array }> = [];
  /** Each member's current entry, encoded once per change (full maps are cut from these). */
  private readonly encoded = new Map<string, Uint8Array>();
  version = 0;

  constructor(readonly network: Network) {}

  get(id: string): Member | undefined {
    return this.members.get(id);
  }
  byOverlay(o: number): Member | undefined {
    return this.overlays.get(o >>> 0);
  }
  byName(n: string): Member | undefined {
    return this.names.get(n);
  }
  byOverlay6(a: string): Member | undefined {
    return this.overlays6.get(a);
  }
  all(): Member[] {
    return [...this.members.values()];
  }
  get size(): number {
    return this.members.size;
  }

  /** Adds or updates a member; returns whether the map changed (a new version). */
  upsert(m: Omit<Member, 'registeredMs' | 'lastHeartbeatMs' | 'relayedBytes'>, nowMs: number): { member: Member; changed: boolean } {
    const old = this.members.get(m.id);
    if (old) {
      const changed =
        old.overlay !== m.overlay || old.overlay6 !== m.overlay6 || old.name !== m.name || old.bootId !== m.bootId ||
        old.reflexive.address !== m.reflexive.address || old.reflexive.port !== m.reflexive.port || !sameEndpoints(old.lan, m.lan);
      if (old.overlay !== m.overlay) {
        this.overlays.delete(old.overlay);
        this.overlays.set(m.overlay, old);
      }
      if (old.name !== m.name) {
        if (old.name) this.names.delete(old.name);
        if (m.name) this.names.set(m.name, old);
      }
      if (old.overlay6 !== m.overlay6) {
        if (old.overlay6 !== undefined && this.overlays6.get(old.overlay6) === old) this.overlays6.delete(old.overlay6);
        if (m.overlay6 !== undefined) this.overlays6.set(m.overlay6, old);
        if (m.overlay6 === undefined) delete old.overlay6;
        else old.overlay6 = m.overlay6;
      }
      Object.assign(old, { overlay: m.overlay, name: m.name, bootId: m.bootId, reflexive: m.reflexive, lan: m.lan, lastHeartbeatMs: nowMs });
      if (changed) this.record(old, MapOp.UPSERT);
      return { member: old, changed };
    }
    const member: Member = { ...m, registeredMs: nowMs, lastHeartbeatMs: nowMs, relayedBytes: 0 };
    this.members.set(m.id, member);
    this.overlays.set(m.overlay, member);
    if (m.name) this.names.set(m.name, member);
    if (m.overlay6 !== undefined) this.overlays6.set(m.overlay6, member);
    this.record(member, MapOp.UPSERT);
    return { member, changed: true };
  }

  /** Updates endpoints from a heartbeat; true when the map changed (roaming, new LAN address). */
  touch(id: string, reflexive: Endpoint, lan: Endpoint[] | undefined, nowMs: number): boolean {
    const m = this.members.get(id);
    if (!m) return false;
    m.lastHeartbeatMs = nowMs;
    const moved = m.reflexive.address !== reflexive.address || m.reflexive.port !== reflexive.port;
    const lanChanged = lan !== undefined && !sameEndpoints(m.lan, lan);
    if (!moved && !lanChanged) return false;
    m.reflexive = reflexive;
    if (lan) m.lan = lan;
    this.record(m, MapOp.UPSERT);
    return true;
  }

  remove(id: string): Member | undefined {
    const m = this.members.get(id);
    if (!m) return undefined;
    this.members.delete(id);
    this.overlays.delete(m.overlay);
    if (m.name) this.names.delete(m.name);
    if (m.overlay6 !== undefined && this.overlays6.get(m.overlay6) === m) this.overlays6.delete(m.overlay6);
    this.record(m, MapOp.REMOVE);
    return m;
  }

  /** Members whose heartbeats stopped (pure decision applied to each). */
  expired(nowMs: number, intervalMs = heartbeatIntervalMs): Member[] {
    return this.all().filter((m) => isExpired(m.lastHeartbeatMs, nowMs, intervalMs));
  }

  /** Entries of a full map at the current version. */
  fullMap(): MapEntry[] {
    return this.all().map((m) => memberEntry(m));
  }

  /** The full map at the current version as encoded entries (each encoded once per change). */
  fullMapBytes(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const m of this.members.values()) {
      let b = this.encoded.get(m.id);
      if (!b) {
        b = encodeMapEntry(memberEntry(m));
        this.encoded.set(m.id, b);
      }
      out.push(b);
    }
    return out;
  }

  /** Changes after `base` collapsed per member, or undefined when the log no longer reaches back. */
  changesSince(base: number): MapEntry[] | undefined {
    return this.since(base)?.map((h) => h.entry);
  }

  /** changesSince() as encoded entries. */
  changeBytesSince(base: number): Uint8Array[] | undefined {
    return this.since(base)?.map((h) => h.bytes);
  }

  /** changesSince() with each member's id and encoded entry (scoped maps filter them per receiver). */
  changeRecordsSince(base: number): ReadonlyArray<{ readonly id: string; readonly entry: MapEntry; readonly bytes: Uint8Array }> | undefined {
    return this.since(base);
  }

  /** A live member's entry as encoded for the full map (encoded once per change). */
  entryBytes(id: string): Uint8Array | undefined {
    const m = this.members.get(id);
    if (!m) return undefined;
    let b = this.encoded.get(id);
    if (!b) {
      b = encodeMapEntry(memberEntry(m));
      this.encoded.set(id, b);
    }
    return b;
  }

  private since(base: number): Array<{ id: string; entry: MapEntry; bytes: Uint8Array }> | undefined {
    if (base === this.version) return [];
    if (base > this.version || base === 0) return undefined;
    const first = this.history[0];
    if (!first || first.version > base + 1) return undefined;
    // Versions are consecutive, so the records after `base` start at a known index; the latest
    // record per member wins (a Map keeps first-insertion order, so delete before re-setting).
    const latest = new Map<string, { id: string; entry: MapEntry; bytes: Uint8Array }>();
    for (let i = base + 1 - first.version; i < this.history.length; i++) {
      const h = this.history[i]!;
      latest.delete(h.id);
      latest.set(h.id, h);
    }
    return [...latest.values()];
  }

  private record(m: Member, op: MapOp): void {
    this.version++;
    const entry = memberEntry(m, op);
    const bytes = encodeMapEntry(entry);
    if (op === MapOp.UPSERT) this.encoded.set(m.id, bytes);
    else this.encoded.delete(m.id);
    this.history.push({ version: this.version, id: m.id, entry, bytes });
    // Trimmed in chunks: shift() per record is O(history) once the log is long.
    const limit = Math.max(mapHistoryLimit, mapHistoryPerMember * this.members.size);
    if (this.history.length > limit + (limit >> 3)) this.history = this.history.slice(this.history.length - limit);
  }
}
