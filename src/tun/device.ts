// The TUN device contract. tun/linux.ts (the one user of the native addon) implements it; the
// in-memory twin is test/fakes/channel-tun.ts. Modelled on wireguard-go's tun.Device.

/**
 * A batch of IP packets (IPv4, and IPv6 when the device has a v6 address) read from the device, in slots of `slotSize` bytes:
 * packet i is data.subarray(i * slotSize, i * slotSize + lengths[i]).
 * The batch (data and lengths) is only valid during the handler call; it is reused for the next.
 */
export interface PacketBatch {
  readonly data: Buffer;
  readonly slotSize: number;
  readonly lengths: Uint32Array;
  readonly count: number;
}

export type TunHandler = (batch: PacketBatch) => void;

export interface TunOptions {
  /** Interface name; empty or undefined lets the kernel choose (tun0, tun1...). */
  name?: string;
  /** Overlay address and prefix length, e.g. "10.9.0.2", 24. */
  address: string;
  prefixLength: number;
  /** Overlay IPv6 address and prefix length (e.g. "fd12:3456:789a:1::2", 64); absent = IPv4 only.
   * The MTU must then be at least 1280 (the IPv6 minimum). */
  address6?: string;
  prefixLength6?: number;
  mtu: number;
  /** Transmit queue length of the device (default 1000). */
  txQueueLen?: number;
  /**
   * TUN offloads (Linux: IFF_VNET_HDR with TSO and checksum offload): the kernel hands over TCP
   * super-packets of up to 64 KB and the device splits them, so batches still hold ordinary packets
   * of at most `mtu` bytes. Default on unless MESHD_TUN_OFFLOAD=0; silently off where refused.
   */
  offload?: boolean;
}

/**
 * An open IP TUN device (no packet-information header), already addressed and up (IPv4, plus IPv6
 * with `address6`; the version nibble tells the families apart).
 * - The handler is called with batches of packets the kernel routed into the device.
 * - `write` sends one IPv4 or IPv6 packet to the kernel; false if it was refused (malformed, or the
 *   kernel queue is full). It never throws for bad bytes. A device may queue it until the end of
 *   the current event-loop turn (Linux with offloads, to hand consecutive TCP segments of a flow
 *   over as one); it then says false only for what the kernel would refuse outright and counts
 *   later refusals itself. Packets of one flow are never reordered.
 * - `writeBatch` writes several (now, not at the end of the turn); returns how many were accepted.
 * - `close()` is idempotent: after it returns no handler call happens, the fd is closed and the
 *   kernel removes the device. `onClose` handlers run once, with an Error if the device failed
 *   (for example it was deleted from outside) or without one on a normal close.
 */
export interface TunDevice {
  readonly name: string;
  readonly mtu: number;
  onPackets(handler: TunHandler): void;
  write(packet: Uint8Array): boolean;
  writeBatch(packets: readonly Uint8Array[]): number;
  onClose(handler: (err?: Error) => void): void;
  close(): void;
}
