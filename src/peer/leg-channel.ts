// The data channel of every pair (issue 21 item 3, issue 19 item 5): sends through KCP lanes or as
// plain datagrams, whichever the pair's one decision (pair-transport.ts) picks, asked again at most
// once a second from send() and at once when the hub leg switches; its FEC part is read by
// fec-stage.ts through `mode`. It always receives both kinds (inbound.ts hands IP messages past the
// channel and KCP ones to it), so each end chooses its own sending mode and no wire change is needed.
// channels.ts builds it; a switch keeps what KCP already queued (it drains as before). While the pair
// sends KCP on a clean direct path, small packets of quiet flows go as datagrams (interactive-datagram.ts).
import type { KcpPreset } from '../arq/constants.js';
import type { Clock } from '../util/clock.js';
import { DatagramChannel, type ChannelStats, type DataChannel, type InputResult, type PeerSender, type SendResult } from './channel.js';
import { KcpLanes } from './kcp-lanes.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import type { Logger } from '../util/log.js';
import { changed, decidePairTransport, type FecGateSetting, type PairTransport, type TransportSetting } from './pair-transport.js';
import { SwitchLog } from './switch-log.js';
import { arqLoss, type ArqCounters } from './fec-loss.js';
import { PEER_CAP_FEC } from './fec-caps.js';
import type { HubLeg } from './transport-choice.js';
import type { RemotePeer } from './remote-peer.js';
import { flowLane, kcpLaneCount } from './flow-lane.js';
import { interactiveMaxBytes, interactiveRoute } from './interactive-datagram.js';
import type { RxCounts } from '../link/remote.js';

/** Local tuning: how often a busy pair's mode is reconsidered (the hub leg and the path change on a
 * scale of seconds; once a second costs nothing per packet). */
export const modeCheckIntervalMs = 1_000;

/** Local tuning: how often send() asks again whether a pair's pacing ceiling applies (a pair that
 * went direct in the middle of a transfer drops the relay's ceiling within this long). */
export const ceilingCheckIntervalMs = 100;

/** What the pair measured lately, beside what the chooser reads itself. */
export interface PairSeen {
  /** Overlay bytes this pair sent lately (Mbit/s); undefined before a second has passed. */
  goodputMbps: number | undefined;
}

/** A relayed pair's pacing ceiling now (bytes/s, peer/relay-budget.ts relayPacingCeiling), given the
 * loss on its sends (fec-loss.ts arqLoss, undefined before a reading); undefined = none. */
export type RateCeiling = (peer: RemotePeer, loss: number | undefined) => number | undefined;

/** The pair's decision now, given the one in force (hysteresis). */
export type ModeChooser = (peer: RemotePeer, current: PairTransport | undefined, seen: PairSeen) => PairTransport;
export type ModeSwitchHook = (peer: RemotePeer, from: PairTransport, to: PairTransport) => void;

export class LegChannel implements DataChannel {
  readonly conv: number;
  private readonly datagrams: DatagramChannel;
  /** Built on first KCP use (sending in kcp mode, or the remote sending KCP to us). */
  private kcp: KcpLanes | undefined;
  private choice: PairTransport;
  private nextCheckMs: number;
  private closed = false;
  /** KCP's fast-resend depth FEC asked for (fec-pair.ts), kept for lanes built later. */
  private fecDepth = 0;
  private seenAtMs: number;
  private seenTxBytes: number;
  private goodputMbps: number | undefined;
  /** The pacing ceiling in force (rateCeiling), and the loss reading it rests on. */
  private ceiling: number | undefined;
  private nextCeilingMs = 0;
  private loss: number | undefined;
  private lossFrom: ArqCounters = { pushSegs: 0, retransmits: 0, spurious: 0 };
  /** Transport switches since the channel was built. */
  switches = 0;
  /** interactive-datagram.ts: packets per lane in this second and the last; when a loss was last
   * seen, the peer's datagrams that arrived since with no gap; the counters at the last look. */
  private readonly lanePkts = new Uint16Array(kcpLaneCount);
  private readonly lastLanePkts = new Uint16Array(kcpLaneCount);
  private laneWindowMs: number;
  private lossAtMs: number | undefined;
  private cleanRx = 0;
  private retransSeen = 0;
  private rxSeen: RxCounts | undefined;
  /** interactiveRoute's answers for the small packets of a clean pair, and the losses that put them
   * back on KCP by what showed them (`meshd status --json`: peers[].smallPackets). */
  private readonly small = { datagram: 0, 'recent-loss': 0, unproven: 0, 'busy-lane': 0, lossGap: 0, lossResend: 0 };

  constructor(
    private readonly peer: RemotePeer,
    private readonly sender: PeerSender,
    private readonly mtu: number,
    private readonly preset: KcpPreset,
    private readonly clock: Clock,
    private readonly choose: ModeChooser,
    private readonly onSwitch?: ModeSwitchHook,
    private readonly rateCeiling?: RateCeiling,
    /** The peer's datagrams to us (link-sender.ts rxCounts); absent: small messages never go plain. */
    private readonly rxCounts?: (peer: RemotePeer) => Readonly<RxCounts> | undefined,
  ) {
    this.conv = peer.conv;
    this.datagrams = new DatagramChannel(peer, sender, mtu);
    const now = clock.now();
    this.seenAtMs = now;
    this.seenTxBytes = peer.traffic.txBytes;
    this.laneWindowMs = now;
    this.choice = choose(peer, undefined, { goodputMbps: undefined });
    this.nextCheckMs = now + modeCheckIntervalMs;
    this.ceiling = rateCeiling?.(peer, undefined);
  }

  /** The pair's decision in force: the transport sends use, the FEC gate, and why. */
  get mode(): PairTransport {
    return this.choice;
  }

  /** Asks the chooser again now (the hub leg switched); send() also does once a second. */
  reconsider(): void {
    const now = this.clock.now();
    this.nextCheckMs = now + modeCheckIntervalMs;
    const dt = now - this.seenAtMs;
    if (dt >= modeCheckIntervalMs) {
      this.goodputMbps = ((this.peer.traffic.txBytes - this.seenTxBytes) * 8) / (dt * 1000);
      this.seenAtMs = now;
      this.seenTxBytes = this.peer.traffic.txBytes;
    }
    this.noteLoss(now);
    const prev = this.choice;
    const next = this.choose(this.peer, prev, { goodputMbps: this.goodputMbps });
    this.choice = next;
    if (next.transport !== prev.transport) this.switches++;
    if (changed(prev, next)) this.onSwitch?.(this.peer, prev, next);
    this.reconsiderCeiling();
  }

  /** The relayed pair's pacing ceiling from the budget and the loss read since the last call. */
  private reconsiderCeiling(): void {
    if (!this.rateCeiling) return;
    this.nextCeilingMs = this.clock.now() + ceilingCheckIntervalMs;
    const s = this.kcp?.stats();
    if (s) {
      const cur = { pushSegs: s.pushSegs ?? 0, retransmits: s.retransmits, spurious: s.spurious ?? 0 };
      const loss = arqLoss(this.lossFrom, cur);
      if (loss !== undefined) {
        this.loss = loss;
        this.lossFrom = cur;
      }
    }
    const c = this.rateCeiling(this.peer, this.loss);
    if (c === this.ceiling) return;
    this.ceiling = c;
    this.kcp?.setRateCeiling(c);
  }

  send(packet: Uint8Array): SendResult {
    if (this.closed) return 'queue_full';
    const now = this.clock.now();
    if (now >= this.nextCheckMs) this.reconsider();
    else if (now >= this.nextCeilingMs) this.reconsiderCeiling();
    if (this.choice.transport !== 'kcp') return this.datagrams.send(packet);
    if (this.choice.smallAsDatagrams === true && this.rxCounts !== undefined && this.asDatagram(packet, now)) return this.datagrams.send(packet);
    return this.lanes().send(packet);
  }

  /**
   * Whether a small message of a quiet lane would leave as a plain datagram now (interactiveRoute for
   * it), after the once-a-second checks send() would have made: the native fast path (fast-path.ts)
   * asks once a second, since the packets it sends never reach send().
   */
  smallPlainNow(): boolean {
    if (this.closed) return false;
    const now = this.clock.now();
    if (now >= this.nextCheckMs) this.reconsider();
    else if (now >= this.nextCeilingMs) this.reconsiderCeiling();
    if (this.choice.transport === 'datagram') return true; // every message leaves as one plain datagram
    if (this.choice.transport !== 'kcp' || this.choice.smallAsDatagrams !== true || this.rxCounts === undefined) return false;
    const sinceLossMs = this.lossAtMs === undefined ? undefined : now - this.lossAtMs;
    return interactiveRoute({ clean: true, bytes: 0, lanePps: 0, sinceLossMs, cleanRx: this.cleanRx }) === 'datagram';
  }

  /** Small messages the native fast path sent as datagrams for this pair. */
  noteFastSent(packets: number): void {
    this.small.datagram += packets;
  }

  /** interactive-datagram.ts for one packet of a pair whose path is clean: counts it on its lane. */
  private asDatagram(packet: Uint8Array, now: number): boolean {
    // A transfer's full segments: KCP, without hashing or counting them (the per-lane rate is the
    // rate of small packets, which is what tells a transfer's own ACK stream from a ping).
    if (packet.byteLength > interactiveMaxBytes) return false;
    if (now - this.laneWindowMs >= 1_000) {
      // A quiet second between: the last window was empty.
      if (now - this.laneWindowMs >= 2_000) this.lastLanePkts.fill(0);
      else this.lastLanePkts.set(this.lanePkts);
      this.lanePkts.fill(0);
      this.laneWindowMs = now;
    }
    const lane = flowLane(packet);
    if (this.lanePkts[lane]! < 0xffff) this.lanePkts[lane]!++;
    const why = interactiveRoute({
      clean: true,
      bytes: packet.byteLength,
      lanePps: Math.max(this.lanePkts[lane]!, this.lastLanePkts[lane]!),
      sinceLossMs: this.lossAtMs === undefined ? undefined : now - this.lossAtMs,
      cleanRx: this.cleanRx,
    });
    if (why === 'datagram' || why === 'recent-loss' || why === 'unproven' || why === 'busy-lane') this.small[why]++;
    return why === 'datagram';
  }

  /** Since the last look (once a second, reconsider): a gap in the peer's counters, or a KCP
   * retransmission (needless ones proven so are not losses), is a loss: small messages go back to KCP
   * (interactive-datagram.ts); else the datagrams that arrived count towards a clean path. */
  private noteLoss(now: number): void {
    let lost = false;
    if (this.kcp !== undefined) {
      const s = this.kcp.stats();
      const resent = s.retransmits - (s.spurious ?? 0);
      if (resent > this.retransSeen) {
        lost = true;
        this.small.lossResend++;
      }
      this.retransSeen = resent;
    }
    const rx = this.rxCounts?.(this.peer);
    if (rx !== undefined) {
      const prev = this.rxSeen ?? { received: 0, skipped: 0, late: 0 };
      // A datagram that came late after the last look was counted as skipped then: not lost twice.
      if (rx.skipped - prev.skipped > rx.late - prev.late) {
        lost = true;
        this.small.lossGap++;
      } else this.cleanRx += rx.received - prev.received;
      this.rxSeen = { received: rx.received, skipped: rx.skipped, late: rx.late };
    }
    if (lost) {
      this.lossAtMs = now;
      this.cleanRx = 0;
    }
  }

  holdsWindow(): boolean {
    return this.mode.transport === 'kcp';
  }

  /** FEC's fast-resend depth (fec-pair.ts) for the KCP lanes, now or once built. */
  setFecDepth(segments: number): void {
    this.fecDepth = segments;
    this.kcp?.setFecDepth(segments);
  }

  input(datagram: Uint8Array, conv: number): InputResult {
    return this.lanes().input(datagram, conv);
  }

  receive(): Uint8Array | undefined {
    return this.kcp?.receive();
  }

  flush(holdAcks = false): boolean {
    return this.kcp?.flush(holdAcks) ?? false;
  }

  stats(): ChannelStats {
    const s = this.kcp ? this.kcp.stats() : this.datagrams.stats();
    return this.rxCounts ? { ...s, small: { ...this.small } } : s;
  }

  close(): void {
    this.closed = true;
    this.kcp?.close();
  }

  private lanes(): KcpLanes {
    if (this.kcp === undefined) {
      this.kcp = new KcpLanes(this.peer, this.sender, this.mtu, this.preset, this.clock);
      if (this.fecDepth > 0) this.kcp.setFecDepth(this.fecDepth);
      if (this.ceiling !== undefined) this.kcp.setRateCeiling(this.ceiling);
    }
    return this.kcp;
  }
}

/** What the choice reads from the hub leg (peer/hub-transport.ts HubTransport). */
export interface HubLegView {
  readonly current: HubLeg;
  udpLossPct(): number | undefined;
}

export interface PairTransportHooksOptions {
  transport: TransportSetting;
  fec: FecGateSetting;
  kcpMode?: string | undefined;
  /** Our hub leg; absent = UDP (tests, and a daemon before its hub transport exists). */
  leg?: HubLegView | undefined;
  /** The link's path for the pair now (link-sender.ts isDirect): the same test FEC's stage makes. */
  isDirect(peer: RemotePeer): boolean;
  /** The pair's loss on our sends, 0..1 (fec-stage.ts lossOf). */
  lossOf(peer: RemotePeer): number | undefined;
  clock: Clock;
  log: Logger;
}

/** The chooser and the switch log for every pair (dataplane.ts): our own hub leg and UDP probe loss,
 * the remote's leg as its PINGs state it (leg-caps.ts), the pair's path, RTT and loss, the remote's
 * FEC capability and the user's pins. One log line per change, at most three per pair per 10 s. */
export function pairTransportHooks(o: PairTransportHooksOptions): { choose: ModeChooser; onModeSwitch: ModeSwitchHook } {
  const switchLog = new SwitchLog<RemotePeer>();
  return {
    choose: (peer, current, seen) => {
      const path = peer.paths.current(o.clock.now());
      const srtt = peer.channel?.stats().srttMs ?? 0;
      return decidePairTransport({
        transport: o.transport,
        fec: o.fec,
        kcpMode: o.kcpMode,
        direct: o.isDirect(peer),
        ownLeg: o.leg?.current ?? 'udp',
        ownUdpLossPct: o.leg?.udpLossPct(),
        peerLeg: peer.peerLeg,
        rttMs: srtt > 0 ? srtt : path?.rttMs,
        loss: o.lossOf(peer),
        goodputMbps: seen.goodputMbps,
        peerSpeaksFec: (peer.caps & PEER_CAP_FEC) !== 0,
        current,
      });
    },
    onModeSwitch: (peer, from, to) => {
      const skipped = switchLog.note(peer, o.clock.now());
      if (skipped === undefined) return;
      const addr = u32ToIpv4(peer.overlay);
      const more = skipped > 0 ? ` (${skipped} earlier changes not logged)` : '';
      const fec = from.fec !== to.fec ? `, FEC ${from.fec ? 'on' : 'off'} -> ${to.fec ? 'on' : 'off'}` : '';
      o.log.info({ peer: addr, from: from.transport, to: to.transport, reason: to.reason, fec: to.fec, fecReason: to.fecReason, skipped }, `data channel to ${addr}: ${from.transport} -> ${to.transport}${fec}: ${to.why}${more}`);
    },
  };
}
