// The native fast path's owner (issue 19 item 7; src/tun/native/fastpath.c does the sending): once a
// second, per pair, decides whether the pair's small IPv4 packets may be sealed and sent by the TUN
// addon without a turn of JS, installs or removes the pair's entry, and books what the addon sent
// since the last look as the JS path would have (counters, the pair's traffic and path clocks, the
// link's rekey and "no reply" rules). A pair qualifies only when JS would send its small messages as
// single plain datagrams on a direct UDP path anyway (leg-channel.ts smallPlainNow: KCP chosen, clean
// path, no recent loss, enough clean datagrams from the peer), with no FEC, no copies, no ACL flows to
// note, and a session key the fast path may use. Entries live entryValidMs unless refreshed, so a
// change JS sees (a loss, a path, a rekey) reaches the addon within that; a map change removes
// every entry at once (clearAll).
import type { Path } from '../link/path.js';
import type { FastSendKey } from '../crypto/session.js';
import type { NativeSendFd, Endpoint } from '../net/udp.js';
import type { FastPathPort } from '../tun/fast-path-port.js';
import type { Clock } from '../util/clock.js';
import { parseIpv4 } from '../util/ipv4.js';
import { parseIpv6 } from '../util/ipv6-prefix.js';
import { InnerKind } from '../wire/inner.js';
import type { DataCounters } from './counters.js';
import type { PathKind } from './path.js';
import { interactiveMaxBytes, interactiveMaxLanePps } from './interactive-datagram.js';
import type { RemotePeer } from './remote-peer.js';

/** How often the owner looks (local tuning: the JS path re-reads a pair's loss once a second too). */
export const fastPathTickMs = 1_000;
/** An entry not refreshed for this long stops sending (local tuning: two looks, so one late timer
 * does not send a pair's next ping through JS). */
export const entryValidMs = 2_200;

export interface FastPathFacts {
  readonly listed: boolean;
  /** leg-channel.ts smallPlainNow (false without a channel). */
  readonly smallPlain: boolean;
  /** The pair's current path is direct UDP. */
  readonly direct: boolean;
  /** FEC wraps the pair's messages now (fec-stage.ts wraps: not plain datagrams). */
  readonly fec: boolean;
  /** The dup stage would send a small message as copies. */
  readonly copies: boolean;
  /** Our ACL enforces (outbound packets must open flows in JS: acl-firewall.ts noteOutbound). */
  readonly aclEnforcing: boolean;
  /** The session's key may be used by the fast path. */
  readonly key: boolean;
  /** One native socket sends to the path. */
  readonly socket: boolean;
}

/** fastPathVerdict's answers, and 'table-full' when the addon refused the entry. */
export type FastPathVerdict = 'install' | 'unlisted' | 'not-plain' | 'relayed' | 'fec' | 'copies' | 'acl' | 'no-key' | 'no-socket' | 'table-full';

/** Whether a pair's entry should be in the addon, and if not why (the first reason that holds). */
export function fastPathVerdict(f: FastPathFacts): FastPathVerdict {
  if (!f.listed) return 'unlisted';
  if (!f.smallPlain) return 'not-plain';
  if (!f.direct) return 'relayed';
  if (f.fec) return 'fec';
  if (f.copies) return 'copies';
  if (f.aclEnforcing) return 'acl';
  if (!f.key) return 'no-key';
  if (!f.socket) return 'no-socket';
  return 'install';
}

/** The destination bytes the addon takes: 4 for an IPv4 socket, 16 (v4-mapped for an IPv4 endpoint)
 * for an IPv6 one; undefined when the families cannot meet. */
export function destinationBytes(endpoint: Endpoint, family: 4 | 6): Uint8Array | undefined {
  const v4 = parseIpv4(endpoint.address);
  if (v4 !== undefined) {
    if (family === 4) return Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
    return Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
  }
  if (family === 4) return undefined;
  return parseIpv6(endpoint.address);
}

export interface FastPathOptions {
  port: FastPathPort;
  table: { values(): IterableIterator<RemotePeer>; lookup(dst: number): RemotePeer | undefined };
  /** The socket chain the link sends on (its nativeSendFd). */
  socket: { nativeSendFd?(to: Endpoint): NativeSendFd | undefined };
  link: {
    fastSendKey(remoteKey: Uint8Array, now: number): FastSendKey | undefined;
    noteFastSent(remoteKey: Uint8Array, path: Path, count: number, now: number): void;
  };
  fecOn(peer: RemotePeer): boolean;
  copiesSmall(peer: RemotePeer): boolean;
  aclEnforcing(): boolean;
  counters: DataCounters;
  clock: Pick<Clock, 'now'>;
}

export class FastPath {
  /** Pairs with an entry in the addon (overlay -> the path it sends on and its kind). */
  private readonly installed = new Map<number, { via: Path; kind: Exclude<PathKind, 'relay'> }>();
  /** Entries set, removed; datagrams the addon sent; verdicts of the last look by reason. */
  readonly stats = { sets: 0, removals: 0, sent: 0, bytes: 0, last: {} as Partial<Record<FastPathVerdict, number>> };

  constructor(private readonly o: FastPathOptions) {}

  /** Books what the addon sent, then decides every pair's entry (the once-a-second look). */
  tick(): void {
    const now = this.o.clock.now();
    this.book(now);
    const seen = new Set<number>();
    const last: Partial<Record<FastPathVerdict, number>> = {};
    for (const peer of this.o.table.values()) {
      if (peer.channel === undefined) continue;
      const v = this.decide(peer, now);
      last[v] = (last[v] ?? 0) + 1;
      if (v === 'install') seen.add(peer.overlay);
    }
    this.stats.last = last;
    for (const dst of this.installed.keys()) {
      if (seen.has(dst)) continue;
      this.o.port.delete(dst);
      this.installed.delete(dst);
      this.stats.removals++;
    }
  }

  /** Removes every entry at once (the map changed, the data plane closes). */
  clearAll(): void {
    if (this.installed.size === 0) return;
    this.book(this.o.clock.now());
    this.o.port.delete();
    this.stats.removals += this.installed.size;
    this.installed.clear();
  }

  private decide(peer: RemotePeer, now: number): FastPathVerdict {
    const d = peer.paths.current(now);
    const key = d ? this.o.link.fastSendKey(peer.publicKey, now) : undefined;
    const fd = d && d.via.kind === 'udp' ? this.o.socket.nativeSendFd?.(d.via.endpoint) : undefined;
    const address = d && fd ? destinationBytes(d.endpoint, fd.family) : undefined;
    const v = fastPathVerdict({
      listed: peer.listed,
      smallPlain: peer.channel?.smallPlainNow?.() ?? false,
      direct: d !== undefined && d.via.kind === 'udp',
      fec: this.o.fecOn(peer),
      copies: this.o.copiesSmall(peer),
      aclEnforcing: this.o.aclEnforcing(),
      key: key !== undefined,
      socket: fd !== undefined && address !== undefined,
    });
    if (v !== 'install') return v;
    const ok = this.o.port.set({
      dst: peer.overlay,
      remoteIndex: key!.remoteIndex,
      key: key!.key,
      counterCell: key!.counterCell,
      counterLimit: key!.counterLimit,
      validMs: Math.min(entryValidMs, key!.validMs),
      fd: fd!.fd,
      address: address!,
      port: d!.endpoint.port,
      maxBytes: interactiveMaxBytes,
      maxPps: interactiveMaxLanePps,
      innerKind: InnerKind.IP,
    });
    if (!ok) return 'table-full';
    this.installed.set(peer.overlay, { via: d!.via, kind: d!.kind });
    this.stats.sets++;
    return 'install';
  }

  /** What the addon sent since the last call, booked on its pairs as the JS path books a datagram. */
  private book(now: number): void {
    const e = this.o.port.stats(true).entries;
    for (let i = 0; i + 2 < e.length; i += 3) {
      const packets = e[i + 1]!;
      if (packets === 0) continue;
      const dst = e[i]!;
      const bytes = e[i + 2]!;
      this.stats.sent += packets;
      this.stats.bytes += bytes;
      this.o.counters.txMany(packets, bytes);
      const peer = this.o.table.lookup(dst);
      const path = this.installed.get(dst);
      if (peer === undefined || peer.overlay !== dst) continue;
      peer.traffic.txMany(packets, bytes);
      peer.traffic.wireMany('out', path?.kind ?? 'direct', packets, bytes + packets);
      peer.channel?.noteFastSent?.(packets);
      peer.paths.noteData(now);
      if (path) this.o.link.noteFastSent(peer.publicKey, path.via, packets, now);
    }
  }
}

/** The addon's totals for `meshd status` (FastPathStats without the per-entry counts). */
export function fastAddonJson(s: { sent: number; refusedRate: number; refusedStale: number; refusedLimit: number; sendErrors: number }): Record<string, number> {
  return { sent: s.sent, refusedRate: s.refusedRate, refusedStale: s.refusedStale, refusedLimit: s.refusedLimit, sendErrors: s.sendErrors };
}
