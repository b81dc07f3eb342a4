// The KCP lanes of one peer pair: up to kcpLaneCount KCP conversations (flow-lane.ts picks one per
// packet), created on first use and asleep when idle. A loss repair or a deep queue on one flow's
// lane no longer delays another flow's packets, and each lane recovers from loss on its own.
import { KcpChannel } from './kcp-channel.js';
import { flowLane, kcpLaneCount, laneConv, laneOfConv } from './flow-lane.js';

export interface KcpLaneStats {
  retransmits: number;
  waitSnd: number;
  srttMs: number;
  lanes: number;
}

export class KcpLanes {
  private readonly lanes: (KcpChannel | undefined)[] = new Array<KcpChannel | undefined>(kcpLaneCount);
  /** Lanes with data or ACKs queued since the last flush. */
  private readonly pending: KcpChannel[] = [];
  private closed = false;

  /** `conv` is the pair's base conv (lane 0); `make` builds the channel of one lane conv. */
  constructor(
    readonly conv: number,
    private readonly make: (conv: number) => KcpChannel,
  ) {}

  /** Whether a KCP datagram with this conv belongs to this pair (any lane). */
  owns(conv: number): boolean {
    return laneOfConv(this.conv, conv) !== undefined;
  }

  /** Queues one IP packet on its flow's lane; false when that lane's queue is full. */
  send(packet: Uint8Array): boolean {
    if (this.closed) return false;
    const ch = this.lane(flowLane(packet));
    const was = ch.isDirty;
    const ok = ch.send(packet);
    if (!was && ch.isDirty) this.pending.push(ch);
    return ok;
  }

  /** Feeds one KCP datagram, whose header carries `conv`, to its lane; false if not ours or rejected. */
  input(datagram: Uint8Array, conv: number): boolean {
    if (this.closed) return false;
    const lane = laneOfConv(this.conv, conv);
    if (lane === undefined) return false;
    const ch = this.lane(lane);
    const was = ch.isDirty;
    const ok = ch.input(datagram);
    if (!was && ch.isDirty) this.pending.push(ch);
    return ok;
  }

  /** Flushes every lane that queued data or ACKs since the last flush. */
  flush(): void {
    for (const ch of this.pending) ch.flush();
    this.pending.length = 0;
  }

  get stats(): KcpLaneStats {
    const s: KcpLaneStats = { retransmits: 0, waitSnd: 0, srttMs: 0, lanes: 0 };
    for (const ch of this.lanes) {
      if (!ch) continue;
      const c = ch.stats;
      s.lanes++;
      s.retransmits += c.retransmits;
      s.waitSnd += c.waitSnd;
      s.srttMs = Math.max(s.srttMs, c.srttMs);
    }
    return s;
  }

  close(): void {
    this.closed = true;
    for (const ch of this.lanes) ch?.close();
    this.lanes.fill(undefined);
    this.pending.length = 0;
  }

  private lane(lane: number): KcpChannel {
    let ch = this.lanes[lane];
    if (!ch) {
      ch = this.make(laneConv(this.conv, lane));
      this.lanes[lane] = ch;
    }
    return ch;
  }
}
