// The FEC stage of the data path (docs/ARQ.md "FEC"): a PeerSender between the channels
// (channels.ts) and the link (link-sender.ts), and the inbound stage's handler for inner kind 5.
// One PeerFec (fec-pair.ts) per remote peer that speaks FEC (fec-caps.ts); to any other peer, and
// while a pair's path is clean, messages pass unchanged: not one byte added. One timer per stage
// ticks every pair once a second while any pair sends, receives frames or has FEC on; an idle
// stage sleeps until the next message (issue 19 item 7, session 8: one wake-up a second less).
import type { Clock, TimerHandle } from '../util/clock.js';
import type { PeerSender } from './channel.js';
import { PEER_CAP_FEC } from './fec-caps.js';
import { PeerFec, type FecPairStatus, type FecSetting } from './fec-pair.js';
import type { RemotePeer } from './remote-peer.js';
import type { ShardMul } from '../fec/rs.js';
import { fecShardMul } from '../fec/native.js';

/** Local tuning: how often each pair re-reads its loss and re-decides its shape. */
export const fecTickMs = 1_000;

export interface FecStageOptions {
  /** The link; isDirect (link-sender.ts) tells a direct path from the relay (absent: direct). */
  sender: PeerSender & { isDirect?(peer: RemotePeer): boolean };
  clock: Clock;
  setting: FecSetting;
  /** The inbound stage: each inner message received or rebuilt (kind KCP or IP). */
  deliver(peer: RemotePeer, inner: Uint8Array): void;
  mul?: ShardMul;
  /** The pair's transport decision (pair-transport.ts, via the channel): may FEC wrap its sends?
   * undefined (no decision yet, or absent): --fec and the peer's capability decide, as before. */
  fecOn?(peer: RemotePeer): boolean | undefined;
}

export class FecStage implements PeerSender {
  private readonly pairs = new Map<RemotePeer, PeerFec>();
  private timer: TimerHandle | undefined;
  private closed = false;
  /** A pair sent or took a frame through the stage since the last tick. */
  private busy = false;

  constructor(private readonly o: FecStageOptions) {}

  /** PeerSender: the channels' way out. Relayed messages are never framed: a full-size KCP segment
   * through the hub already fills a 1500-byte underlay datagram (--mtu's default), and 9 more bytes
   * would fragment it; the direct path has the room (docs/ARQ.md "FEC in the data path"). The pair's
   * decision says the same once a second; the link's path is checked here on every send as well. */
  send(peer: RemotePeer, inner: Uint8Array): boolean {
    if (!this.framesTo(peer)) return this.o.sender.send(peer, inner);
    this.busy = true;
    return this.pairOf(peer).send(inner);
  }

  /** Whether a message to the peer would leave as an FEC frame now (the gate on, a direct path, the
   * pair's encoder active), not as it is: the native fast path (fast-path.ts) leaves such a pair to JS. */
  wraps(peer: RemotePeer): boolean {
    return this.framesTo(peer) && (this.pairs.get(peer)?.encoding ?? false);
  }

  /** The gate send() applies: FEC on for the pair (its decision, else the setting and its caps) and
   * the link's path direct. */
  private framesTo(peer: RemotePeer): boolean {
    const on = this.o.fecOn?.(peer) ?? (this.o.setting !== 'off' && (peer.caps & PEER_CAP_FEC) !== 0);
    return on && (this.o.sender.isDirect?.(peer) ?? true);
  }

  /** Inbound stage 4 for inner kind 5 (accepted whatever our setting: the peer chose to send it). */
  receive(peer: RemotePeer, frame: Uint8Array): void {
    this.busy = true;
    this.pairOf(peer).receive(frame);
  }

  /** The pair's measured loss on our sends (fec-pair.ts reading), for path redundancy (dup-stage.ts). */
  lossOf(peer: RemotePeer): number | undefined {
    return this.pairs.get(peer)?.loss;
  }

  /** For `meshd status`; undefined for a peer that FEC never saw. */
  status(peer: RemotePeer): FecPairStatus | undefined {
    const pf = this.pairs.get(peer);
    if (pf) return pf.status();
    if (this.o.setting === 'off') return { k: 0, m: 0, why: 'off (--fec off)', lossPct: undefined, repaired: 0, unrecovered: 0, parityFrames: 0, overheadBytes: 0 };
    if ((peer.caps & PEER_CAP_FEC) === 0) return { k: 0, m: 0, why: 'off (the peer does not speak FEC)', lossPct: undefined, repaired: 0, unrecovered: 0, parityFrames: 0, overheadBytes: 0 };
    return undefined;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    for (const pf of this.pairs.values()) pf.close();
    this.pairs.clear();
  }

  private pairOf(peer: RemotePeer): PeerFec {
    let pf = this.pairs.get(peer);
    if (pf === undefined || pf.conv !== peer.conv) {
      pf?.close();
      // The addon's byte loop unless the caller chose one (issue 19 session 6: the encoder and decoder
      // default to the TypeScript reference, 10-60x slower: 40 % of a bulk sender's CPU at 32 + 7).
      pf = new PeerFec({ peer, sender: this.o.sender, clock: this.o.clock, setting: this.o.setting, deliver: this.o.deliver, mul: this.o.mul ?? fecShardMul() });
      this.pairs.set(peer, pf);
    }
    if (this.timer === undefined && !this.closed) this.timer = this.o.clock.setTimer(fecTickMs, () => this.tick());
    return pf;
  }

  private tick(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = this.o.clock.now();
    let fecOn = false;
    for (const [peer, pf] of this.pairs) {
      if (!peer.listed) {
        pf.close();
        this.pairs.delete(peer);
      } else {
        pf.tick(now);
        fecOn ||= pf.active;
      }
    }
    // Idle and clean: nothing for the next tick to read; the next message through the stage re-arms it.
    const again = this.pairs.size > 0 && (this.busy || fecOn);
    this.busy = false;
    if (again) this.timer = this.o.clock.setTimer(fecTickMs, () => this.tick());
  }
}
