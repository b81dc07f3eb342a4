// The inner TCP's receive window, capped for the sending peer's memory (issue 19 item 7). A bulk TCP
// flow through a KCP pair keeps as many bytes unacknowledged as the far receiver's window allows;
// every one of them is a KCP segment the sending peer holds until KCP's ACK, and the lane's segment
// pool keeps the peak. With big socket buffers on a long path (a 32 MB tcp_rmem at 200 ms RTT) the
// far end advertises ~20 MB: ~14,500 segments, ~20 MiB of the sender's RSS, while the flow averages
// ~14 MB in flight (~520 Mbit/s x ~220 ms inner RTT). So the ACKs a peer writes to its TUN for a pair
// it sends to over KCP advertise at most a fixed window (--tcp-window-clamp, default 18 MB), as if
// the far host's rmem had been set to about that.
//
// Fixed, not sized from a rate: every rate-based rule measured ran above the window the flow needs
// (the rate controller's BDP is a max filter of per-ACK samples, 2.1-3.4x the delivered rate; a best
// second is still above the mean), and a gain low enough to bind cannot let a clamped flow grow
// (docs/BENCHMARKS.md "Issue 19, session 19"). 18 MB is 3x Debian's default tcp_rmem maximum, so on
// default hosts it never binds; it caps one flow at 720 Mbit/s at 200 ms RTT, 1.4 Gbit/s at 100 ms.
//
// Rewritten in place (inbound.ts, before the TUN write): the 16-bit window field and the checksum
// (RFC 1624 incremental update). The window's scale is per flow, from both SYNs: a flow whose
// handshake this peer did not see (it started before the daemon), or whose ends did not both offer
// window scaling, is never touched. Pure: no clock, no I/O.

import { defaultTcpWindowClampMB } from '../config/schema.js';
import { ipv4HeaderLength, readU32 } from '../tun/ip-packet.js';

/** The default cap (bytes), --tcp-window-clamp's default: 18 MB, ~1.35x the average window of a
 * ~520 Mbit/s flow at 200 ms; it kept bench/vpn's goodput there and took ~4 MiB off the sender's RSS,
 * where 14 MB cost 16 % of the goodput (docs/BENCHMARKS.md "Issue 19, sessions 18 and 19"). */
export const defaultClampBytes = defaultTcpWindowClampMB * 1_000_000;
/** Local tuning: flows remembered; the oldest is forgotten first (a forgotten flow is not clamped). */
export const clampFlowLimit = 4096;

/** Where a TCP segment sits in an IP packet; undefined for anything else (IPv6 with extension
 * headers included: not clamped). */
export interface TcpAt {
  /** Offset of the TCP header. */
  tcp: number;
  /** Header length in bytes (data offset * 4). */
  headerBytes: number;
  flags: number;
}

const FLAG_SYN = 0x02;
const FLAG_RST = 0x04;
const FLAG_ACK = 0x10;
const OPT_END = 0;
const OPT_NOP = 1;
const OPT_WSCALE = 3;
/** RFC 7323: a shift above 14 is taken as 14. */
const WSCALE_MAX = 14;

export function tcpAt(p: Uint8Array): TcpAt | undefined {
  const n = p.byteLength;
  if (n < 1) return undefined;
  const version = p[0]! >> 4;
  let tcp: number;
  if (version === 4) {
    const hl = ipv4HeaderLength(p);
    if (hl === undefined || p[9] !== 6) return undefined;
    // More-fragments flag or a fragment offset: a piece carries no (or not the whole) TCP header.
    if (((p[6]! & 0x3f) | p[7]!) !== 0) return undefined;
    tcp = hl;
  } else if (version === 6) {
    if (n < 40 || p[6] !== 6) return undefined;
    tcp = 40;
  } else {
    return undefined;
  }
  if (n < tcp + 20) return undefined;
  const headerBytes = (p[tcp + 12]! >> 4) * 4;
  if (headerBytes < 20 || n < tcp + headerBytes) return undefined;
  return { tcp, headerBytes, flags: p[tcp + 13]! };
}

/** The window scale option of a SYN's header: the shift, or -1 when absent or malformed. */
export function wscaleOption(p: Uint8Array, at: TcpAt): number {
  const end = at.tcp + at.headerBytes;
  let i = at.tcp + 20;
  while (i < end) {
    const kind = p[i]!;
    if (kind === OPT_END) return -1;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return -1;
    const len = p[i + 1]!;
    if (len < 2 || i + len > end) return -1;
    if (kind === OPT_WSCALE) return len === 3 ? Math.min(p[i + 2]!, WSCALE_MAX) : -1;
    i += len;
  }
  return -1;
}

/**
 * Lowers the window field of the TCP segment at `at` so that it advertises at most `limitBytes` at
 * `shift`, fixing the checksum; true when it changed. Never raises it, never below 1.
 */
export function clampWindowField(p: Uint8Array, at: TcpAt, shift: number, limitBytes: number): boolean {
  const w = at.tcp + 14;
  const win = (p[w]! << 8) | p[w + 1]!;
  const lim = Math.max(1, Math.min(0xffff, Math.floor(limitBytes / 2 ** shift)));
  if (win <= lim) return false;
  const c = at.tcp + 16;
  const old = (p[c]! << 8) | p[c + 1]!;
  // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
  let sum = (~old & 0xffff) + (~win & 0xffff) + lim;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  const next = ~sum & 0xffff;
  p[w] = lim >> 8;
  p[w + 1] = lim & 0xff;
  p[c] = next >> 8;
  p[c + 1] = next & 0xff;
  return true;
}

interface Flow {
  /** The far end's address: IPv4 in a0 (a1..a3 = -1), IPv6 as four big-endian words. */
  a0: number;
  a1: number;
  a2: number;
  a3: number;
  /** The far end's window shift from its SYN (-1: none offered, -2: its SYN not seen yet). */
  remoteShift: number;
  /** Our end's SYN offered window scaling (undefined: not seen yet). */
  localScaled: boolean | undefined;
}

/** What the clamp asks of a pair (DataChannel.holdsWindow): whether this peer sends to it over KCP,
 * which holds what it sent until acknowledged (datagrams hold nothing: their flows are left alone). */
export interface ClampPair {
  holdsWindow?(): boolean;
}

/** Counters for status and the bench. */
export interface ClampCounters {
  /** ACKs whose window was lowered. */
  clamped: number;
  /** Flows whose handshake was seen (both ends' options known or pending). */
  flows: number;
}

/**
 * The flows' window scales and the clamp. outbound.ts tells it every packet it sends (only SYNs
 * are looked at), inbound.ts every packet before the TUN write with the sending pair's BDP.
 */
export class TcpWindowClamp {
  /** By (far port << 16 | our port); the address is checked on lookup. */
  private readonly flows = new Map<number, Flow>();
  readonly counters: ClampCounters = { clamped: 0, flows: 0 };

  /** `limitBytes`: the most window an ACK may advertise (--tcp-window-clamp). */
  constructor(readonly limitBytes: number = defaultClampBytes) {}

  /** A packet we send to a peer (our end of its flows). */
  noteOutbound(p: Uint8Array): void {
    const at = tcpAt(p);
    if (at === undefined || (at.flags & (FLAG_SYN | FLAG_RST)) !== FLAG_SYN) return;
    const flow = this.flowFor(p, at, false, true);
    flow.localScaled = wscaleOption(p, at) >= 0;
  }

  /** A packet a peer sent us, about to be written to the TUN: a SYN records the far end's scale, an
   * ACK of a flow with known scales, from a pair this peer sends to over KCP, advertises at most
   * the limit; `pair` (the peer's channel) is asked only then. */
  inbound(p: Uint8Array, pair: ClampPair | undefined): void {
    const at = tcpAt(p);
    if (at === undefined) return;
    if ((at.flags & FLAG_SYN) !== 0) {
      if ((at.flags & FLAG_RST) !== 0) return;
      const flow = this.flowFor(p, at, true, true);
      flow.remoteShift = wscaleOption(p, at);
      return;
    }
    if ((at.flags & FLAG_ACK) === 0) return;
    const flow = this.flowFor(p, at, true, false);
    if (flow === undefined || flow.remoteShift < 0 || flow.localScaled !== true) return;
    if (pair?.holdsWindow?.() !== true) return;
    if (clampWindowField(p, at, flow.remoteShift, this.limitBytes)) this.counters.clamped++;
  }

  /** The flow of this packet; `fromFar`: the packet's source is the far end. With `create`, a flow
   * not known yet (or known for another address on the same ports) is made anew. */
  private flowFor(p: Uint8Array, at: TcpAt, fromFar: boolean, create: true): Flow;
  private flowFor(p: Uint8Array, at: TcpAt, fromFar: boolean, create: false): Flow | undefined;
  private flowFor(p: Uint8Array, at: TcpAt, fromFar: boolean, create: boolean): Flow | undefined {
    const t = at.tcp;
    const srcPort = (p[t]! << 8) | p[t + 1]!;
    const dstPort = (p[t + 2]! << 8) | p[t + 3]!;
    const key = fromFar ? ((srcPort << 16) | dstPort) >>> 0 : ((dstPort << 16) | srcPort) >>> 0;
    const v6 = p[0]! >> 4 === 6;
    // The far address: the source of what it sent, the destination of what we send.
    const base = v6 ? (fromFar ? 8 : 24) : fromFar ? 12 : 16;
    const a0 = readU32(p, base);
    const a1 = v6 ? readU32(p, base + 4) : -1;
    const a2 = v6 ? readU32(p, base + 8) : -1;
    const a3 = v6 ? readU32(p, base + 12) : -1;
    const known = this.flows.get(key);
    if (known !== undefined && known.a0 === a0 && known.a1 === a1 && known.a2 === a2 && known.a3 === a3) return known;
    if (!create) return undefined;
    if (known !== undefined) this.flows.delete(key);
    else if (this.flows.size >= clampFlowLimit) this.flows.delete(this.flows.keys().next().value!);
    const flow: Flow = { a0, a1, a2, a3, remoteShift: -2, localScaled: undefined };
    this.flows.set(key, flow);
    this.counters.flows++;
    return flow;
  }
}
