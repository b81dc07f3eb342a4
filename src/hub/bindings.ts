// Durable identity at the hub (RELIABILITY.md "Red-team findings: H1"): which key owns which overlay
// address and name. A binding outlives member expiry and hub restarts (hub/binding-store.ts keeps it
// in --state-dir); only `meshd hub release` or a lease of days since last seen frees it. The claim
// decision (accept with the address and name to use, or a refusal) is pure and tested with tables.
import { printable, unsafeTextChar } from '../util/printable.js';
import { RefusalReason } from '../wire/control.js';
import type { Network } from './registry.js';

export interface Binding {
  /** keyId (hex of the public key). */
  id: string;
  overlay: number;
  /** '' when the peer registered without a name. */
  name: string;
  /** Wall-clock ms (epoch) of the last registration or the last time the member was seen alive. */
  lastSeenMs: number;
  /** From --allow-keys-file (`KEY ADDRESS [NAME]`): never expires, not claimable by another key. */
  pinned: boolean;
}

/** Local policy: a binding unseen for this long is freed (--binding-lease-days). */
export const defaultBindingLeaseDays = 30;
export const dayMs = 86_400_000;
/** Protocol: the longest name the hub accepts, in UTF-8 bytes (a DNS label's length). */
export const maxNameBytes = 63;
/** Local tuning: how far `host-N` counts before giving up on a host-name hint. */
export const maxNameSuffix = 1000;

export interface ClaimRequest {
  id: string;
  /** 0 = "assign me an address". */
  overlay: number;
  /** Ignored when overlay is 0. */
  prefix: number;
  name: string;
  /** The name is this machine's host name: the hub may give `name-2`, `name-3`... instead. */
  nameIsHint: boolean;
}

/** Who holds an address or a name now: the durable bindings plus live members (which have bindings). */
export interface Holders {
  byOverlay(overlay: number): { id: string } | undefined;
  byName(name: string): { id: string } | undefined;
  /** This key's binding, if any. */
  own(id: string): Binding | undefined;
}

export type Claim = { ok: true; overlay: number; name: string } | { ok: false; reason: RefusalReason; text: string };

const utf8 = new TextEncoder();
const ipv4Like = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Why a name is not acceptable at the hub, or undefined when it is. '' (no name) is acceptable. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return undefined;
  if (utf8.encode(name).byteLength > maxNameBytes) return `longer than ${maxNameBytes} bytes`;
  if (unsafeTextChar.test(name)) return 'holds control or bidi characters';
  if (/\s/u.test(name)) return 'holds white space';
  if (ipv4Like.test(name)) return 'looks like an IPv4 address';
  return undefined;
}

/** A name made safe to print on a terminal: unsafe characters become '?'. */
export function printableName(name: string): string {
  return printable(name);
}

/** The candidates for a host-name hint: host, host-2, host-3... (each within maxNameBytes). */
export function hintCandidate(hint: string, n: number): string {
  if (n === 1) return hint;
  const suffix = `-${n}`;
  let base = hint;
  while (utf8.encode(base + suffix).byteLength > maxNameBytes) base = base.slice(0, -1);
  return base + suffix;
}

/** True if `name` is the hint itself or one of its numbered forms. */
export function fromHint(name: string, hint: string): boolean {
  if (name === hint) return true;
  const m = /^(.*)-(\d+)$/.exec(name);
  return m !== null && Number(m[2]) >= 2 && hint.startsWith(m[1]!) && hintCandidate(hint, Number(m[2])) === name;
}

/** The first free host address of the network (lowest first), or undefined when all are taken. */
export function firstFreeAddress(net: Network, taken: (overlay: number) => boolean): number | undefined {
  const hosts = (~net.mask >>> 0) - 1;
  for (let h = 1; h <= hosts; h++) {
    const o = (net.base + h) >>> 0;
    if (!taken(o)) return o;
  }
  return undefined;
}

function inNet(net: Network, overlay: number): boolean {
  const host = (overlay & ~net.mask) >>> 0;
  return ((overlay & net.mask) >>> 0) === net.base && host !== 0 && host !== (~net.mask >>> 0);
}

/**
 * May this key have this address and name, and which does it get? Pure. A binding of another key
 * always wins (first come, durably; an allow-list binding before anyone); a key bound by the
 * allow-list gets exactly its listed address (and name, when listed).
 */
export function claim(req: ClaimRequest, net: Network, h: Holders): Claim {
  const own = h.own(req.id);
  const otherHolds = (x: { id: string } | undefined) => x !== undefined && x.id !== req.id;
  // The address.
  let overlay: number;
  if (req.overlay === 0) {
    const got = own ? own.overlay : firstFreeAddress(net, (o) => h.byOverlay(o) !== undefined);
    if (got === undefined) return { ok: false, reason: RefusalReason.ADDRESS_IN_USE, text: `no free address left in ${net.cidr}` };
    overlay = got;
  } else {
    if (req.prefix !== net.prefix || !inNet(net, req.overlay)) {
      return { ok: false, reason: RefusalReason.OUTSIDE_NETWORK, text: `${ip(req.overlay)}/${req.prefix} is not a host address of ${net.cidr}` };
    }
    if (own?.pinned && own.overlay !== req.overlay) {
      return { ok: false, reason: RefusalReason.ADDRESS_IN_USE, text: `this key is bound to ${ip(own.overlay)} by the hub's allow-list` };
    }
    if (otherHolds(h.byOverlay(req.overlay))) return { ok: false, reason: RefusalReason.ADDRESS_IN_USE, text: `${ip(req.overlay)} is bound to another key` };
    overlay = req.overlay;
  }
  // The name.
  const nameFree = (n: string) => !otherHolds(h.byName(n));
  if (own?.pinned && own.name !== '') {
    if (req.nameIsHint || req.name === own.name) return { ok: true, overlay, name: own.name };
    return { ok: false, reason: RefusalReason.NAME_TAKEN, text: `this key is named "${own.name}" by the hub's allow-list` };
  }
  if (!req.nameIsHint) {
    const problem = nameProblem(req.name);
    if (problem) return { ok: false, reason: RefusalReason.BAD_REQUEST, text: `name ${JSON.stringify(printableName(req.name))} ${problem}` };
    if (req.name !== '' && !nameFree(req.name)) return { ok: false, reason: RefusalReason.NAME_TAKEN, text: `name "${req.name}" is bound to another key` };
    return { ok: true, overlay, name: req.name };
  }
  // A host-name hint: keep the name this key got from the same hint before, else the first free form.
  const hint = nameProblem(req.name) === undefined && req.name !== '' ? req.name : 'peer';
  if (own && own.name !== '' && fromHint(own.name, hint) && nameFree(own.name)) return { ok: true, overlay, name: own.name };
  for (let n = 1; n <= maxNameSuffix; n++) {
    const c = hintCandidate(hint, n);
    if (nameProblem(c) === undefined && nameFree(c)) return { ok: true, overlay, name: c };
  }
  return { ok: false, reason: RefusalReason.NAME_TAKEN, text: `no free name of the form ${hint}-N` };
}

/** True when a binding's lease ran out (pinned ones never do). */
export function leaseExpired(b: Binding, nowWallMs: number, leaseMs: number): boolean {
  return !b.pinned && nowWallMs - b.lastSeenMs > leaseMs;
}

/** Which bindings `meshd hub release SELECTOR` means: an address, a name, or a key (base64 or hex). */
export function matchRelease(bindings: readonly Binding[], selector: string, keyIdOf: (s: string) => string | undefined): Binding[] {
  const s = selector.trim();
  if (ipv4Like.test(s)) return bindings.filter((b) => ip(b.overlay) === s);
  const id = keyIdOf(s);
  if (id !== undefined) {
    const byKey = bindings.filter((b) => b.id === id);
    if (byKey.length > 0) return byKey;
  }
  return bindings.filter((b) => b.name !== '' && b.name === s);
}

function ip(o: number): string {
  return `${o >>> 24}.${(o >>> 16) & 255}.${(o >>> 8) & 255}.${o & 255}`;
}

/** The bindings in memory with their two indexes; the hub owns one, binding-store.ts persists it. */
export class BindingTable {
  private readonly byId = new Map<string, Binding>();
  private readonly overlays = new Map<number, Binding>();
  private readonly names = new Map<string, Binding>();

  constructor(initial: readonly Binding[] = []) {
    for (const b of initial) this.set(b);
  }

  get(id: string): Binding | undefined {
    return this.byId.get(id);
  }
  byOverlay(o: number): Binding | undefined {
    return this.overlays.get(o >>> 0);
  }
  byName(n: string): Binding | undefined {
    return n === '' ? undefined : this.names.get(n);
  }
  all(): Binding[] {
    return [...this.byId.values()];
  }
  get size(): number {
    return this.byId.size;
  }

  /** Adds or replaces the binding of b.id (a key has one address and one name). */
  set(b: Binding): void {
    this.delete(b.id);
    // Another key's stale index entry is replaced only when it is really that key's binding.
    this.byId.set(b.id, b);
    this.overlays.set(b.overlay >>> 0, b);
    if (b.name !== '') this.names.set(b.name, b);
  }

  delete(id: string): Binding | undefined {
    const b = this.byId.get(id);
    if (!b) return undefined;
    this.byId.delete(id);
    if (this.overlays.get(b.overlay) === b) this.overlays.delete(b.overlay);
    if (b.name !== '' && this.names.get(b.name) === b) this.names.delete(b.name);
    return b;
  }
}
