// Path redundancy in the data path (issue 19 item 3): a PeerSender in front of the FEC stage. A small
// message of a low-rate lane (dup-decide.ts) on a lossy path leaves as several copies of inner kind 6
// (below), as many as the measured loss asks, spread over the direct path and the hub relay and
// spaced a few ms apart (dupPlan); everything else goes on to FEC unchanged. The receiving side
// (receive) lets the first copy through (dup-window.ts) to the inbound stage.
//
//   DUP (6)  0 kind u8 = 6 | 1 seq u32 LE | 5 inner message [n] (KCP or IP, kind byte included)
import { viewOf } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import type { PeerSender } from './channel.js';
import { dupCopies, dupDirectSettleMs, dupMaxBytes, dupMaxLaneBytesPerSec, dupMaxLanePps, dupPlan, shouldDuplicate, type DupWhy } from './dup-decide.js';
import { DupWindow } from './dup-window.js';
import { PEER_CAP_FEC } from './fec-caps.js';
import { flowLane, laneOfConv } from './flow-lane.js';
import type { RemotePeer } from './remote-peer.js';
import { InnerKind } from '../wire/inner.js';

/** The inner kind of a doubled message (protocol: allocated to issue 19 with 5 for FEC). */
export const INNER_KIND_DUP = 6;
export const DUP_HEADER_BYTES = 5;
/** Lanes a pair's rates are kept for: the KCP lanes (flow-lane.ts kcpLaneCount), one per IP flow hash. */
const laneSlots = 16;
/** KCP's thin copy leaves in the same flush as the first, microseconds later (local tuning: well
 * under one flush interval, and the copy must be the very next message the stage sees). */
const thinCopyWithinMs = 1;
/** Rates are counted over windows of this long (local tuning: one second, as the thresholds). */
const rateWindowMs = 1_000;

/** What the stage needs from the link: the data path's usual send, and the relay beside it. */
export interface DupSender extends PeerSender {
  /** Seals `inner` for the peer and sends it over the hub relay, whatever path data takes. */
  sendRelay(peer: RemotePeer, inner: Uint8Array): boolean;
  /** The pair's data takes a direct path now. */
  isDirect(peer: RemotePeer): boolean;
}

export interface DupStageOptions {
  /** Where messages that are not doubled go (the FEC stage). */
  next: PeerSender;
  link: DupSender;
  clock: Clock;
  /** The pair's path loss (the FEC stage's reading, else the loss measured on the peer's frames to
   * us: a pair that only answered has no reading of its own), undefined when none yet. Asked only
   * for messages that could be copied. */
  lossOf(peer: RemotePeer): number | undefined;
  deliver(peer: RemotePeer, inner: Uint8Array): void;
  /** false: never double (--fec off turns both off). */
  enabled: boolean;
}

interface PairDup {
  seq: number;
  /** Whether the pair's data took a direct path at the last send, and since when (a switch either
   * way resets the settle time, dup-decide.ts dupDirectSettleMs: the reading is the old path's). */
  direct: boolean;
  pathSinceMs: number;
  /** The last message sent as copies if nothing was sent since, and when (isThinCopyOf). */
  lastFrame: Uint8Array | undefined;
  lastFrameAt: number;
  readonly window: DupWindow;
  windowStart: number;
  readonly pkts: Uint32Array;
  readonly bytes: Uint32Array;
  readonly lastPkts: Uint32Array;
  readonly lastBytes: Uint32Array;
}

export class DupStage implements PeerSender {
  /** doubled: messages sent as copies; copies/bytesAdded: the copies beyond the first and their
   * bytes (the cost of redundancy, headers included). */
  readonly stats = { doubled: 0, copies: 0, bytesAdded: 0, thinCopiesSkipped: 0, received: 0, duplicatesDropped: 0, malformed: 0 };
  private readonly pairs = new WeakMap<RemotePeer, PairDup>();

  constructor(private readonly o: DupStageOptions) {}

  /** Whether a small message of a quiet lane to the peer could be sent as copies now (its loss
   * reading says so): the native fast path (fast-path.ts), which sends one copy, leaves such a pair to JS. */
  copiesSmall(peer: RemotePeer): boolean {
    if (!this.o.enabled || (peer.caps & PEER_CAP_FEC) === 0) return false;
    return shouldDuplicate({ bytes: 1, lanePps: 1, laneBytesPerSec: 1, loss: this.o.lossOf(peer), capable: true }) === 'duplicate';
  }

  send(peer: RemotePeer, inner: Uint8Array): boolean {
    if (!this.o.enabled || (peer.caps & PEER_CAP_FEC) === 0) return this.o.next.send(peer, inner);
    const p = this.pairOf(peer);
    const now = this.o.clock.now();
    const last = p.lastFrame;
    p.lastFrame = undefined; // only the very next send can be KCP's copy of it
    if (isThinCopyOf(inner, last, now - p.lastFrameAt <= thinCopyWithinMs)) {
      // KCP's own copy of a thin stream's segment (kcp.ts, in its own datagram right after the
      // first): the copies above already carry it.
      this.stats.thinCopiesSkipped++;
      return true;
    }
    const lane = laneOf(peer, inner);
    if (now - p.windowStart >= rateWindowMs) this.roll(p, now);
    p.pkts[lane]!++;
    p.bytes[lane]! += inner.byteLength;
    const direct = this.o.link.isDirect(peer);
    if (direct !== p.direct) {
      p.direct = direct;
      p.pathSinceMs = now;
    }
    // The busier of this window so far and the last full one: a burst is bulk at once. The loss is
    // read only for a message that could be copied (bulk never asks).
    const lanePps = Math.max(p.pkts[lane]!, p.lastPkts[lane]!);
    const laneBytesPerSec = Math.max(p.bytes[lane]!, p.lastBytes[lane]!);
    const small = inner.byteLength <= dupMaxBytes && lanePps <= dupMaxLanePps && laneBytesPerSec <= dupMaxLaneBytesPerSec;
    const loss = small && now - p.pathSinceMs >= dupDirectSettleMs ? this.o.lossOf(peer) : undefined;
    const why: DupWhy = shouldDuplicate({ bytes: inner.byteLength, lanePps, laneBytesPerSec, loss, capable: true });
    if (why !== 'duplicate') return this.o.next.send(peer, inner);
    const frame = new Uint8Array(DUP_HEADER_BYTES + inner.byteLength);
    frame[0] = INNER_KIND_DUP;
    viewOf(frame).setUint32(1, p.seq, true);
    p.seq = (p.seq + 1) >>> 0;
    frame.set(inner, DUP_HEADER_BYTES);
    p.lastFrame = frame;
    p.lastFrameAt = now;
    this.stats.doubled++;
    const n = dupCopies(loss!);
    let ok = false;
    for (const c of dupPlan(n, direct)) {
      if (c.delayMs === 0) ok = this.sendCopy(peer, frame, c.relay) || ok;
      else this.o.clock.setTimer(c.delayMs, () => this.sendCopy(peer, frame, c.relay));
    }
    this.stats.copies += n - 1;
    this.stats.bytesAdded += n * frame.byteLength - inner.byteLength;
    return ok;
  }

  private sendCopy(peer: RemotePeer, frame: Uint8Array, relay: boolean): boolean {
    return relay ? this.o.link.sendRelay(peer, frame) : this.o.link.send(peer, frame);
  }

  /** Inbound stage 4 for inner kind 6: the first copy of each message goes on. */
  receive(peer: RemotePeer, frame: Uint8Array): void {
    const k = frame[DUP_HEADER_BYTES];
    if (frame.byteLength <= DUP_HEADER_BYTES || (k !== InnerKind.KCP && k !== InnerKind.IP)) {
      this.stats.malformed++;
      return;
    }
    const seq = viewOf(frame).getUint32(1, true);
    if (!this.pairOf(peer).window.accept(seq)) {
      this.stats.duplicatesDropped++;
      return;
    }
    this.stats.received++;
    this.o.deliver(peer, frame.subarray(DUP_HEADER_BYTES));
  }

  private pairOf(peer: RemotePeer): PairDup {
    let p = this.pairs.get(peer);
    if (p === undefined) {
      const z = () => new Uint32Array(laneSlots);
      p = { seq: 0, direct: false, pathSinceMs: this.o.clock.now(), lastFrame: undefined, lastFrameAt: 0, window: new DupWindow(), windowStart: this.o.clock.now(), pkts: z(), bytes: z(), lastPkts: z(), lastBytes: z() };
      this.pairs.set(peer, p);
    }
    return p;
  }

  private roll(p: PairDup, now: number): void {
    const stale = now - p.windowStart >= 2 * rateWindowMs; // a quiet second: the last window was empty
    p.lastPkts.set(stale ? new Uint32Array(laneSlots) : p.pkts);
    p.lastBytes.set(stale ? new Uint32Array(laneSlots) : p.bytes);
    p.pkts.fill(0);
    p.bytes.fill(0);
    p.windowStart = now;
  }
}

/** The lane of an outgoing message: a KCP datagram's conv, or an IP packet's flow hash. */
function laneOf(peer: RemotePeer, inner: Uint8Array): number {
  if (inner[0] === InnerKind.KCP && inner.byteLength >= 5) {
    const conv = (inner[1]! | (inner[2]! << 8) | (inner[3]! << 16) | (inner[4]! << 24)) >>> 0;
    return laneOfConv(peer.conv, conv) ?? 0;
  }
  if (inner[0] === InnerKind.IP && inner.byteLength >= 21) return flowLane(inner.subarray(1)) % laneSlots;
  return 0;
}

/** Whether `inner` is KCP's thin-stream copy of the message in `last` (the DUP frame sent just
 * before it, in the same flush: `sameFlush`): a KCP datagram whose segments are the tail of that one's (the first may carry
 * ACKs ahead of the PUSH). */
function isThinCopyOf(inner: Uint8Array, last: Uint8Array | undefined, sameFlush: boolean): boolean {
  if (!sameFlush || last === undefined || inner[0] !== InnerKind.KCP) return false;
  const n = inner.byteLength - 1;
  const off = last.byteLength - n;
  if (n <= 0 || off <= DUP_HEADER_BYTES) return false;
  for (let i = 0; i < n; i++) if (inner[1 + i] !== last[off + i]) return false;
  return true;
}
