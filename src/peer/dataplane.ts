// The peer's data plane: owns one channel per remote peer (KCP lanes, or plain datagrams) and runs
// the outbound (outbound.ts) and inbound (inbound.ts) paths between the TUN and the peer link.
// The daemon feeds it TUN batches and inner KCP/IP messages; it calls back sendInner() to seal
// and send, and writes packets to the TUN. It never touches a socket itself.
import { IPv4CidrRange } from 'ip-num';
import type { KcpPreset } from '../arq/constants.js';
import type { PacketBatch, TunDevice } from '../tun/device.js';
import type { Clock } from '../util/clock.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import type { Logger } from '../util/log.js';
import { InnerKind } from '../wire/inner.js';
import { DataCounters } from './counters.js';
import { deliverPacket, receiveInner, type InboundContext } from './inbound.js';
import { KcpChannel } from './kcp-channel.js';
import { KcpLanes } from './kcp-lanes.js';
import { laneOfConv } from './flow-lane.js';
import { routeBatch, type OutboundChannel, type OutboundContext } from './outbound.js';

export type TransportMode = 'kcp' | 'datagram';

export interface DataPlaneOptions {
  tun: Pick<TunDevice, 'write'>;
  localAddress: number;
  prefixLength: number;
  mtu: number;
  transport: TransportMode;
  preset: KcpPreset;
  clock: Clock;
  /** Runs fn after the current batch of I/O callbacks (setImmediate in the daemon). */
  defer(fn: () => void): void;
  log: Logger;
  /** Seals and sends one inner message to the peer over its current path; false if impossible now. */
  sendInner(overlay: number, inner: Uint8Array): boolean;
  /** The KCP conv for a peer (from both boot ids), or undefined when no such peer is in the map. */
  convFor(overlay: number): number | undefined;
  /** Subnet routes and exit nodes (issue 23, peer/routes/route-manager.ts); absent = overlay only. */
  routes?: Pick<OutboundContext, 'routeVia'> & Pick<InboundContext, 'sourceAllowed' | 'forwardAllowed'>;
}

interface Channel extends OutboundChannel {
  readonly conv: number;
  flush(): void;
  close(): void;
  /** KCP only: whether a datagram's conv is one of this pair's lanes, and feeding it (conv already read). */
  owns?(conv: number): boolean;
  input?(datagram: Uint8Array, conv: number): boolean;
}

export interface ChannelStatus {
  overlay: string;
  conv: number;
  retransmits: number;
  waitSnd: number;
  srttMs: number;
  /** KCP lanes in use (flows seen); 0 for datagram transport. */
  lanes: number;
}

export class DataPlane {
  readonly counters = new DataCounters();
  private readonly channels = new Map<number, Channel>();
  private flushScheduled = false;
  private readonly out: OutboundContext;
  private readonly inb: InboundContext;
  private readonly scratch: Uint8Array;
  private closed = false;

  constructor(private readonly o: DataPlaneOptions) {
    const mask = o.prefixLength === 0 ? 0 : (0xffffffff << (32 - o.prefixLength)) >>> 0;
    const network = Number(IPv4CidrRange.fromCidr(`${u32ToIpv4(o.localAddress)}/${o.prefixLength}`).getFirst().value) >>> 0;
    this.scratch = new Uint8Array(o.mtu + 1);
    this.out = {
      counters: this.counters,
      localAddress: o.localAddress,
      prefixMask: mask,
      prefixNetwork: network,
      mtu: o.mtu,
      channelFor: (dst) => this.channelFor(dst),
      ...(o.routes?.routeVia ? { routeVia: o.routes.routeVia } : {}),
      writeTun: (p) => void o.tun.write(p),
      flushQueued: () => this.flushPending(),
    };
    this.inb = {
      counters: this.counters,
      localAddress: o.localAddress,
      kcpInput: (from, d) => this.kcpInput(from, d),
      ...(o.routes?.sourceAllowed ? { sourceAllowed: o.routes.sourceAllowed } : {}),
      ...(o.routes?.forwardAllowed ? { forwardAllowed: o.routes.forwardAllowed } : {}),
      writeTun: (p) => o.tun.write(p),
    };
  }

  /** Outbound: one batch from the TUN. */
  onTunBatch(batch: PacketBatch): void {
    if (!this.closed) routeBatch(this.out, batch);
  }

  /** Inbound: an authenticated inner KCP or IP message from the peer at `from`. */
  onInner(from: number, plaintext: Uint8Array): void {
    if (!this.closed) receiveInner(this.inb, from, plaintext);
  }

  /**
   * The map changed for this peer: if its conversation id no longer matches (it restarted, or
   * another key took the address) the channel is rebuilt; if it left the map, the channel is
   * rebuilt too. A peer that merely dropped out of a restarted hub's map and came back with the
   * same boot id keeps its channel, so both KCP ends stay in step.
   */
  syncPeer(overlay: number): void {
    const ch = this.channels.get(overlay);
    if (ch && ch.conv !== this.o.convFor(overlay)) this.resetPeer(overlay);
  }

  /** Drops the peer's channel; a new one is built on next use. */
  resetPeer(overlay: number): void {
    const ch = this.channels.get(overlay);
    if (!ch) return;
    ch.close();
    this.channels.delete(overlay);
  }

  status(): ChannelStatus[] {
    return [...this.channels.entries()].map(([overlay, ch]) => {
      const s = ch instanceof KcpLanes ? ch.stats : { retransmits: 0, waitSnd: 0, srttMs: 0, lanes: 0 };
      return { overlay: u32ToIpv4(overlay), conv: ch.conv, retransmits: s.retransmits, waitSnd: s.waitSnd, srttMs: s.srttMs, lanes: s.lanes };
    });
  }

  close(): void {
    this.closed = true;
    for (const ch of this.channels.values()) ch.close();
    this.channels.clear();
  }

  private channelFor(overlay: number): Channel | undefined {
    const existing = this.channels.get(overlay);
    if (existing) return existing;
    const conv = this.o.convFor(overlay);
    if (conv === undefined) return undefined;
    const ch = this.o.transport === 'kcp' ? this.kcpChannel(overlay, conv) : this.datagramChannel(overlay, conv);
    this.channels.set(overlay, ch);
    return ch;
  }

  private kcpChannel(overlay: number, conv: number): Channel {
    const send = (inner: Uint8Array): void => {
      this.o.sendInner(overlay, inner);
    };
    // Packets KCP reassembled go through the same checks as datagram-mode ones.
    const deliver = (packet: Uint8Array): void => deliverPacket(this.inb, overlay, packet);
    return new KcpLanes(conv, (laneConv) => new KcpChannel({ conv: laneConv, mtu: this.o.mtu, preset: this.o.preset, clock: this.o.clock, send, deliver }));
  }

  private datagramChannel(overlay: number, conv: number): Channel {
    const scratch = this.scratch;
    return {
      conv,
      send: (p) => {
        // Sealing copies synchronously, so one scratch buffer serves every packet.
        scratch[0] = InnerKind.IP;
        scratch.set(p, 1);
        return this.o.sendInner(overlay, scratch.subarray(0, p.byteLength + 1)) ? true : 'no_path';
      },
      flush: () => {},
      close: () => {},
    };
  }

  private kcpInput(from: number, datagram: Uint8Array): boolean {
    if (this.o.transport !== 'kcp' || datagram.byteLength < 4) return false;
    const conv = (datagram[0]! | (datagram[1]! << 8) | (datagram[2]! << 16) | (datagram[3]! << 24)) >>> 0;
    let ch = this.channelFor(from);
    if (ch?.owns && !ch.owns(conv)) {
      // The peer may have restarted: accept its new conv only when the map agrees (boot ids).
      const expected = this.o.convFor(from);
      if (expected === undefined || laneOfConv(expected, conv) === undefined) return false;
      this.o.log.info({ peer: u32ToIpv4(from), conv }, 'peer restarted; new KCP conversation');
      this.resetPeer(from);
      ch = this.channelFor(from);
    }
    if (!ch?.input) return false;
    const ok = ch.input(datagram, conv);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.o.defer(() => {
        this.flushScheduled = false;
        this.flushPending();
      });
    }
    return ok;
  }

  /** Flushes every channel with queued data or ACKs (at most one per peer; cheap when idle). */
  private flushPending(): void {
    for (const ch of this.channels.values()) ch.flush();
  }
}
