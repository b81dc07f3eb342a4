// The outbound data path: TUN -> route -> channel (KCP or datagram) -> seal -> UDP.
//   1. batch      a batch of packets from the TUN (tun/device.ts PacketBatch)
//   2. classify   IPv4 only, header sane, destination inside the overlay prefix
//   3. route      destination overlay address -> peer, else a subnet route or the exit node
//                 (routeVia, peer/routes/); none: ICMP host unreachable back to the TUN
//   4. size       larger than the TUN MTU allows: ICMP fragmentation needed back to the TUN
//   5. queue      hand the packet to the peer's channel (KCP message, or one IP datagram)
//   6. flush      once per batch, every channel that queued something flushes: seal and send
import type { PacketBatch } from '../tun/device.js';
import { icmpFragmentationNeeded, icmpHostUnreachable, ipv4Dst, ipv4TotalLength } from '../tun/ip-packet.js';
import type { DataCounters } from './counters.js';

export interface OutboundChannel {
  /** Queues one IP packet for the peer; false if it was dropped (`reason`). */
  send(packet: Uint8Array): boolean | 'no_path' | 'queue_full';
}

export interface OutboundContext {
  readonly counters: DataCounters;
  readonly localAddress: number;
  readonly prefixMask: number;
  readonly prefixNetwork: number;
  readonly mtu: number;
  /** Issue 23: the overlay address of the peer routing `dst` (outside the overlay), counting the
   * packet on that route; undefined when no subnet route or exit node covers it. */
  routeVia?(dst: number, bytes: number): number | undefined;
  /** The channel for a destination, or undefined when no peer holds that overlay address. */
  channelFor(dst: number): OutboundChannel | undefined;
  /** Writes ICMP errors back to the TUN. */
  writeTun(packet: Uint8Array): void;
  /** Flushes every channel that queued packets during this batch. */
  flushQueued(): void;
}

/** Stages 1-6 for one TUN batch. Never throws for packet content. */
export function routeBatch(ctx: OutboundContext, batch: PacketBatch): void {
  for (let i = 0; i < batch.count; i++) {
    const start = i * batch.slotSize;
    routePacket(ctx, batch.data.subarray(start, start + batch.lengths[i]!));
  }
  ctx.flushQueued();
}

export function routePacket(ctx: OutboundContext, packet: Uint8Array): void {
  const c = ctx.counters;
  const total = ipv4TotalLength(packet);
  const dst = ipv4Dst(packet);
  if (total === undefined || dst === undefined || total !== packet.byteLength) {
    c.drop('not_ipv4');
    return;
  }
  let via = dst;
  if ((dst & ctx.prefixMask) >>> 0 !== ctx.prefixNetwork) {
    const v = ctx.routeVia?.(dst, packet.byteLength);
    if (v === undefined) {
      c.drop('no_route');
      return;
    }
    via = v;
  } else if (dst === ctx.localAddress) {
    c.drop('no_route');
    return;
  }
  const channel = ctx.channelFor(via);
  if (channel === undefined) {
    c.drop('no_peer');
    const icmp = icmpHostUnreachable(packet, ctx.localAddress);
    if (icmp) ctx.writeTun(icmp);
    return;
  }
  if (packet.byteLength > ctx.mtu) {
    c.drop('too_big');
    const icmp = icmpFragmentationNeeded(packet, ctx.localAddress, ctx.mtu);
    if (icmp) ctx.writeTun(icmp);
    return;
  }
  const r = channel.send(packet);
  if (r === true) {
    c.tx(via, packet.byteLength);
  } else {
    c.drop(r === false ? 'queue_full' : r);
  }
}
