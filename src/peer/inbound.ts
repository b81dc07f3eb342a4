// The inbound data path: UDP -> classify -> open -> replay check -> KCP -> TUN.
//   1-3. udp, classify, open and replay-check happen in src/link (Link.receive): only
//        authenticated plaintext from a known peer reaches this file, with that peer's overlay address.
//   4. kind       KCP datagram -> the peer's KCP channel; IP -> the packet itself
//   5. reassemble the channel delivers whole packets in order (deliverPacket below)
//   6. check      IPv4, source == the sending peer's overlay address or inside the prefixes we route
//                 to it (no spoofing), destination us or inside our own admitted prefixes (issue 23)
//   7. write      to the TUN
import { ipv4Dst, ipv4Src, ipv4TotalLength } from '../tun/ip-packet.js';
import { InnerKind } from '../wire/inner.js';
import type { DataCounters } from './counters.js';

export interface InboundContext {
  readonly counters: DataCounters;
  readonly localAddress: number;
  /** Feeds a KCP datagram to the channel of `from`; false when the channel refused it. */
  kcpInput(from: number, datagram: Uint8Array): boolean;
  /** Issue 23: `src` (not `from` itself) is inside the prefixes we route to `from` (routes/source-check.ts). */
  sourceAllowed?(from: number, src: number): boolean;
  /** Issue 23: `dst` (not us) is inside our own admitted prefixes: the kernel forwards it. */
  forwardAllowed?(dst: number, bytes: number): boolean;
  writeTun(packet: Uint8Array): boolean;
}

/** Stage 4: one inner KCP or IP message from the peer whose overlay address is `from`. */
export function receiveInner(ctx: InboundContext, from: number, plaintext: Uint8Array): void {
  const kind = plaintext[0];
  if (kind === InnerKind.KCP) {
    if (!ctx.kcpInput(from, plaintext.subarray(1))) ctx.counters.drop('kcp_rejected');
  } else if (kind === InnerKind.IP) {
    deliverPacket(ctx, from, plaintext.subarray(1));
  } else {
    ctx.counters.drop('malformed');
  }
}

/** Stages 6-7 for one packet from the peer `from`. */
export function deliverPacket(ctx: InboundContext, from: number, packet: Uint8Array): void {
  const c = ctx.counters;
  const total = ipv4TotalLength(packet);
  if (total === undefined || total !== packet.byteLength) {
    c.drop('malformed');
    return;
  }
  const src = ipv4Src(packet)!;
  if (src !== from && !(ctx.sourceAllowed?.(from, src) ?? false)) {
    c.drop('spoofed_source');
    return;
  }
  const dst = ipv4Dst(packet)!;
  if (dst !== ctx.localAddress && !(ctx.forwardAllowed?.(dst, packet.byteLength) ?? false)) {
    c.drop('not_for_us');
    return;
  }
  if (!ctx.writeTun(packet)) {
    c.drop('tun_write');
    return;
  }
  c.rx(from, packet.byteLength);
}
