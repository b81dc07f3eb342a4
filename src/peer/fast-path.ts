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
// The receive half (src/net/native/fastrecv.c) is installed beside each send entry, on the socket the
// pair's datagrams arrive on: the pair's small IPv4 packets to us are opened and written to the TUN
// in C. Its counts are booked first, as link.ts receiveTransport and inbound.ts deliver book a packet.
import type { Path } from '../link/path.js';
import type { FastSendKey } from '../crypto/session.js';
import type { FastRecvKey } from '../crypto/session.js';
import { fastRecvColumns, sourceWords, type FastRecvPort } from '../net/fast-recv-port.js';
import type { RxCounts } from '../link/remote.js';
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
    fastRecvKey(remoteKey: Uint8Array, now: number): FastRecvKey | undefined;
    noteFastReceived(remoteKey: Uint8Array, localIndex: number, rx: Readonly<RxCounts>, now: number): void;
  };
  /** Our overlay IPv4 address (host order): the destination the receive half admits. */
  localAddress: number;
  /** Install the receive half too (MESHD_FAST_PATH=send: the send half alone, for A/B). */
  receive: boolean;
  fecWraps(peer: RemotePeer): boolean;
  copiesSmall(peer: RemotePeer): boolean;
  aclEnforcing(): boolean;
  counters: DataCounters;
  clock: Pick<Clock, 'now'>;
}

export class FastPath {
  /** Pairs with an entry in the addon (overlay -> the path it sends on and its kind). */
  private readonly installed = new Map<number, Installed>();
  /** Every receive table that held an entry (a socket's stays with it). */
  private readonly usedPorts = new Set<FastRecvPort>();
  /** Entries set, removed; datagrams the addon sent and received; verdicts of the last look by reason. */
  readonly stats = { sets: 0, removals: 0, sent: 0, bytes: 0, recvSets: 0, received: 0, receivedBytes: 0, last: {} as Partial<Record<FastPathVerdict, number>> };

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
    for (const [dst, at] of this.installed) {
      if (seen.has(dst)) continue;
      this.o.port.delete(dst);
      if (at.recv) at.recv.port.delete(at.recv.localIndex);
      this.installed.delete(dst);
      this.stats.removals++;
    }
  }

  /** Removes every entry at once (the map changed, the data plane closes). */
  clearAll(): void {
    if (this.installed.size === 0) return;
    this.book(this.o.clock.now());
    this.o.port.delete();
    for (const p of this.recvPorts()) p.delete();
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
      fec: this.o.fecWraps(peer),
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
    const before = this.installed.get(peer.overlay)?.recv;
    const recv = this.o.receive ? this.setRecv(peer, fd!, d!.endpoint, now) : undefined;
    if (before && (before.port !== recv?.port || before.localIndex !== recv.localIndex)) before.port.delete(before.localIndex);
    this.installed.set(peer.overlay, { via: d!.via, kind: d!.kind, ...(recv ? { recv } : {}) });
    this.stats.sets++;
    return 'install';
  }

  /** The pair's receive entry on the socket that sends to it, or undefined when it cannot have one
   * (no receive table, no TUN fd, a key the fast path may not open with, the table full). */
  private setRecv(peer: RemotePeer, fd: NativeSendFd, endpoint: Endpoint, now: number): Installed['recv'] {
    const port = fd.recv;
    const tun = port ? this.o.port.writeFd?.() : undefined;
    const key = tun ? this.o.link.fastRecvKey(peer.publicKey, now) : undefined;
    const source = key ? sourceWords(endpoint) : undefined;
    if (!port || !tun || !key || !source) return undefined;
    const ok = port.set({
      localIndex: key.localIndex,
      key: key.key,
      replay: key.replay,
      validMs: Math.min(entryValidMs, key.validMs),
      source,
      peerIp: peer.overlay,
      localIp: this.o.localAddress,
      maxBytes: interactiveMaxBytes,
      maxPps: interactiveMaxLanePps,
      innerKind: InnerKind.IP,
      tunFd: tun.fd,
      vnetLen: tun.vnetLen,
    });
    if (!ok) return undefined;
    this.stats.recvSets++;
    this.usedPorts.add(port);
    return { port, localIndex: key.localIndex };
  }

  /** The receive tables' totals (every socket that held an entry), for `meshd status`. */
  recvAddonJson(): Record<string, number> {
    const t: Record<string, number> = { received: 0, toJsRate: 0, toJsStale: 0, toJsInner: 0, toJsAuth: 0, tunErrors: 0 };
    for (const p of this.usedPorts) {
      const s = p.stats(false);
      for (const k of Object.keys(t)) t[k]! += s[k as keyof typeof s] as number;
    }
    return t;
  }

  private recvPorts(): Set<FastRecvPort> {
    const ports = new Set<FastRecvPort>();
    for (const at of this.installed.values()) if (at.recv) ports.add(at.recv.port);
    return ports;
  }

  /** What the receive half opened and wrote since the last call, booked as the JS path books each. */
  private bookReceived(now: number): void {
    for (const port of this.recvPorts()) {
      const e = port.stats(true).entries;
      for (let i = 0; i + fastRecvColumns - 1 < e.length; i += fastRecvColumns) {
        const packets = e[i + 1]!;
        if (packets === 0) continue;
        const localIndex = e[i]!;
        const dst = this.pairOf(port, localIndex);
        const peer = dst === undefined ? undefined : this.o.table.lookup(dst);
        const bytes = e[i + 2]!;
        this.stats.received += packets;
        this.stats.receivedBytes += bytes;
        this.o.counters.rxMany(packets, bytes);
        if (peer === undefined || peer.overlay !== dst) continue;
        peer.traffic.rxMany(packets, bytes);
        peer.traffic.wireMany('in', this.installed.get(dst)!.kind, packets, e[i + 3]!);
        peer.paths.noteData(now);
        this.o.link.noteFastReceived(peer.publicKey, localIndex, { received: packets, skipped: e[i + 4]!, late: e[i + 5]! }, now);
      }
    }
  }

  private pairOf(port: FastRecvPort, localIndex: number): number | undefined {
    for (const [dst, at] of this.installed) if (at.recv?.port === port && at.recv.localIndex === localIndex) return dst;
    return undefined;
  }

  /** What the addon sent since the last call, booked on its pairs as the JS path books a datagram. */
  private book(now: number): void {
    this.bookReceived(now); // first: a reply booked before the sends ends the link's "no reply" wait
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

/** A pair with entries: the path its send entry uses, and its receive entry if it has one. */
interface Installed {
  via: Path;
  kind: Exclude<PathKind, 'relay'>;
  recv?: { port: FastRecvPort; localIndex: number };
}

/** The addon's totals for `meshd status` (FastPathStats without the per-entry counts). */
export function fastAddonJson(s: { sent: number; refusedRate: number; refusedStale: number; refusedLimit: number; sendErrors: number }): Record<string, number> {
  return { sent: s.sent, refusedRate: s.refusedRate, refusedStale: s.refusedStale, refusedLimit: s.refusedLimit, sendErrors: s.sendErrors };
}
