// ChannelTun: the in-memory twin of a TunDevice (src/tun/device.ts), for in-process tests of the
// peer data path. inject() plays the kernel routing packets into the device; take() returns what
// the code under test wrote. Honours the close contract: no handler call after close, onClose once.
import type { PacketBatch, TunDevice, TunHandler } from '../../src/tun/device.js';

const slotSize = 65536;

export class ChannelTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  private handler: TunHandler | undefined;
  private readonly closeHandlers: ((err?: Error) => void)[] = [];
  private written: Uint8Array[] = [];
  private closed = false;

  constructor(opts: { name?: string; mtu?: number } = {}) {
    this.name = opts.name ?? 'chan0';
    this.mtu = opts.mtu ?? 1400;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Delivers packets to the handler as one PacketBatch, synchronously. False if closed or no handler. */
  inject(...packets: Uint8Array[]): boolean {
    if (this.closed || this.handler === undefined || packets.length === 0) return false;
    const data = Buffer.alloc(slotSize * packets.length);
    const lengths = new Uint32Array(packets.length);
    packets.forEach((p, i) => {
      data.set(p.subarray(0, slotSize), i * slotSize);
      lengths[i] = Math.min(p.length, slotSize);
    });
    const batch: PacketBatch = { data, slotSize, lengths, count: packets.length };
    this.handler(batch);
    return true;
  }

  /** Everything written since the last take(), oldest first (copies). */
  take(): Uint8Array[] {
    const out = this.written;
    this.written = [];
    return out;
  }

  /** Simulates the device failing (e.g. deleted from outside): closes and reports err. */
  fail(err: Error): void {
    this.shutdown(err);
  }

  onPackets(handler: TunHandler): void {
    this.handler = handler;
  }

  write(packet: Uint8Array): boolean {
    // Like the kernel with IFF_NO_PI: only IPv4 or IPv6 version nibbles are accepted.
    if (this.closed || packet.length === 0) return false;
    const v = packet[0]! >> 4;
    if (v !== 4 && v !== 6) return false;
    this.written.push(Uint8Array.from(packet));
    return true;
  }

  writeBatch(packets: readonly Uint8Array[]): number {
    let n = 0;
    for (const p of packets) if (this.write(p)) n++;
    return n;
  }

  onClose(handler: (err?: Error) => void): void {
    this.closeHandlers.push(handler);
  }

  close(): void {
    this.shutdown(undefined);
  }

  private shutdown(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.closeHandlers.splice(0)) h(err);
  }
}

/** Copies packet i out of a batch (the batch buffer is reused after the handler returns). */
export function packetAt(batch: PacketBatch, i: number): Uint8Array {
  const off = i * batch.slotSize;
  return Uint8Array.from(batch.data.subarray(off, off + batch.lengths[i]!));
}
