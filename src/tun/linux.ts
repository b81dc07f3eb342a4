// The Linux TunDevice: the only file that loads the TUN addon (build/Release/meshd_tun.node,
// built from src/tun/native/{tun,tun-write,offload}.c by `npm install`). Validates options, maps addon
// failures to TunError codes, adapts the addon's shared slot buffer to the PacketBatch contract and
// decides whether to ask for TUN offloads (on unless `offload: false` or MESHD_TUN_OFFLOAD=0).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TunError } from '../util/errors.js';
import type { PacketBatch, TunDevice, TunHandler, TunOptions } from './device.js';
import type { FastPathEntry, FastPathPort, FastPathStats } from './fast-path-port.js';
import { ipv6MinMtu } from './ip6-packet.js';
import { formatIpv6, parseIpv6 } from '../util/ipv6-prefix.js';

/** Packets read per event-loop wake; local tuning (one JS call per batch amortises the crossing). */
export const readBatchSlots = 64;
/** Default transmit queue length; local tuning (the kernel default of 500 drops bursts). */
export const defaultTxQueueLen = 1000;
const minMtu = 576;
const maxMtu = 65535;

interface AddonOpened {
  handle: unknown;
  name: string;
  data: Buffer;
  lengths: Uint32Array;
  /** Absent from addons built before offloads; false when not asked for or refused by the kernel. */
  offload?: boolean;
}

/** Read-side counters of a Linux TUN (cumulative since open). */
export interface TunStats {
  /** read(2) calls that returned a packet or super-packet. */
  reads: number;
  /** Packets delivered in batches (a super-packet counts once per segment). */
  packets: number;
  /** TCP super-packets (GSO) read; each became `segments` packets in all. */
  superPackets: number;
  segments: number;
  /** Non-GSO packets whose partial (NEEDS_CSUM) checksum the addon completed. */
  csumCompleted: number;
  /** Reads dropped as malformed or of a GSO type we did not ask for. */
  dropped: number;
  /** write(2) calls that succeeded, and the packets they carried. */
  writes: number;
  written: number;
  /** Writes that carried several TCP segments of one flow as one GSO super-packet. */
  superPacketsOut: number;
  /** Queued packets the kernel refused at flush time (offloads only; otherwise write() says false). */
  writeErrors: number;
}

interface Addon {
  open(
    name: string,
    address: string,
    prefixLength: number,
    mtu: number,
    txQueueLen: number,
    slotSize: number,
    slotCount: number,
    onPackets: (count: number) => void,
    onError: (code: string, message: string) => void,
    offload: boolean,
    address6: string,
    prefixLength6: number,
  ): AddonOpened;
  write(handle: unknown, packet: Uint8Array): boolean;
  writeBatch(handle: unknown, packets: readonly Uint8Array[]): number;
  close(handle: unknown): void;
  /** Absent from addons built before offloads. */
  stats?(handle: unknown): TunStats;
  flush?(handle: unknown): void;
  offloadCoalesce?(packets: readonly Uint8Array[]): Uint8Array[];
  setAddress6?(name: string, address6: string, prefixLength6: number): void;
  offloadSplit?(input: Uint8Array, mtu: number, out: Uint8Array, slotSize: number, lengths: Uint32Array, state: Uint32Array): number;
  /** The native fast path (fastpath.c); absent from addons built before it. */
  fastSet?(handle: unknown, dst: number, remoteIndex: number, key: Uint8Array, counterCell: Float64Array, counterLimit: number, validMs: number, fd: number, address: Uint8Array, port: number, maxBytes: number, maxPps: number, innerKind: number): boolean;
  fastDelete?(handle: unknown, dst?: number): void;
  fastStats?(handle: unknown, take: boolean): FastPathStats;
  writeFd?(handle: unknown): [number, number] | null;
}

// src/tun/linux.ts and dist/tun/linux.js are both two levels below the package root.
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const addonPath = join(packageRoot, 'build', 'Release', 'meshd_tun.node');
let addon: Addon | undefined;

function loadAddon(): Addon {
  if (addon !== undefined) return addon;
  if (process.platform !== 'linux') throw new TunError('TUN_NO_DEVICE', `TUN devices need Linux (this is ${process.platform})`);
  if (!existsSync(addonPath)) {
    throw new TunError('TUN_NO_ADDON', `the TUN addon is not built (${addonPath}): run npm install (needs make, g++ and python3)`);
  }
  try {
    addon = createRequire(import.meta.url)(addonPath) as Addon;
  } catch (err) {
    throw new TunError('TUN_NO_ADDON', `cannot load the TUN addon ${addonPath}: ${(err as Error).message}`, { cause: err });
  }
  return addon;
}

/** True when the native addon is built and loads on this platform. */
export function addonAvailable(): boolean {
  try {
    loadAddon();
    return true;
  } catch {
    return false;
  }
}

/**
 * offload.c's splitter (one virtio_net_hdr + packet into ordinary packets in slots; see
 * src/tun/native/offload.h), for the unit tests; undefined when the addon is missing or predates it.
 */
export function nativeOffloadSplit(): Addon['offloadSplit'] {
  try {
    return loadAddon().offloadSplit;
  } catch {
    return undefined;
  }
}

/** offload.c's write-side grouping: what one flush would write for these packets, each with its
 * virtio_net_hdr; for the unit tests; undefined when the addon is missing or predates it. */
export function nativeOffloadCoalesce(): Addon['offloadCoalesce'] {
  try {
    return loadAddon().offloadCoalesce;
  } catch {
    return undefined;
  }
}

/** Whether to ask for offloads: the option, else MESHD_TUN_OFFLOAD (0 turns them off), else on. */
export function offloadWanted(opts: Pick<TunOptions, 'offload'>, env: NodeJS.ProcessEnv = process.env): boolean {
  if (opts.offload !== undefined) return opts.offload;
  return env.MESHD_TUN_OFFLOAD !== '0';
}

const ipv4Re = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// Linux interface names: 1-15 bytes, no '/', ':', whitespace; not "." or "..".
const nameRe = /^[A-Za-z0-9_.-]{1,15}$/;

/** Throws TunError (TUN_BAD_NAME, TUN_BAD_ADDRESS, TUN_BAD_MTU) for options C would refuse. */
export function validateTunOptions(opts: TunOptions): void {
  const name = opts.name ?? '';
  if (name !== '' && (!nameRe.test(name) || name === '.' || name === '..')) {
    throw new TunError('TUN_BAD_NAME', `bad interface name "${name}": 1-15 characters from A-Z a-z 0-9 _ . -`);
  }
  if (typeof opts.address !== 'string' || !ipv4Re.test(opts.address)) {
    throw new TunError('TUN_BAD_ADDRESS', `bad IPv4 address "${String(opts.address)}"`);
  }
  if (!Number.isInteger(opts.prefixLength) || opts.prefixLength < 1 || opts.prefixLength > 32) {
    throw new TunError('TUN_BAD_ADDRESS', `bad prefix length ${opts.prefixLength}: 1..32`);
  }
  if (!Number.isInteger(opts.mtu) || opts.mtu < minMtu || opts.mtu > maxMtu) {
    throw new TunError('TUN_BAD_MTU', `bad MTU ${opts.mtu}: ${minMtu}..${maxMtu}`);
  }
  if (opts.address6 !== undefined) {
    if (parseIpv6(opts.address6) === undefined) throw new TunError('TUN_BAD_ADDRESS', `bad IPv6 address "${String(opts.address6)}"`);
    const p6 = opts.prefixLength6 ?? 64;
    if (!Number.isInteger(p6) || p6 < 1 || p6 > 128) throw new TunError('TUN_BAD_ADDRESS', `bad IPv6 prefix length ${p6}: 1..128`);
    if (opts.mtu < ipv6MinMtu) throw new TunError('TUN_BAD_MTU', `MTU ${opts.mtu} is below ${ipv6MinMtu}, the IPv6 minimum: raise --mtu or drop --local6`);
  }
  const q = opts.txQueueLen ?? defaultTxQueueLen;
  if (!Number.isInteger(q) || q < 1 || q > 1_000_000) {
    throw new TunError('TUN_BAD_OPTION', `bad txQueueLen ${q}: 1..1000000`);
  }
}

/** Slot size for an MTU: whole packets always fit, rounded to 256 bytes, at least 2048. */
export function slotSizeFor(mtu: number): number {
  return Math.max(2048, Math.ceil(mtu / 256) * 256);
}

/** A Linux TUN: the TunDevice contract plus what only the real device knows. */
export interface LinuxTunDevice extends TunDevice {
  /** True when the kernel accepted IFF_VNET_HDR offloads (TCP super-packets are split in the addon). */
  readonly offload: boolean;
  /** The overlay IPv6 address on the device ("addr/len"), if any. */
  readonly address6: string | undefined;
  /** Adds an overlay IPv6 address to the open device (the hub assigned it after the TUN opened).
   * Throws TunError (TUN_BAD_ADDRESS, TUN_BAD_MTU under 1280, TUN_NO_ADDON for an old build). */
  setAddress6(address6: string, prefixLength6: number): void;
  stats(): TunStats;
  /** The native fast path (src/peer/fast-path.ts fills it); undefined with an addon built before it. */
  readonly fastPath: FastPathPort | undefined;
}

class LinuxTun implements LinuxTunDevice {
  readonly name: string;
  readonly mtu: number;
  readonly offload: boolean;
  address6: string | undefined;
  private handle: unknown;
  private closed = false;
  private handler: TunHandler | undefined;
  private readonly closeHandlers: ((err?: Error) => void)[] = [];
  private readonly batch: { data: Buffer; slotSize: number; lengths: Uint32Array; count: number };
  private flushScheduled = false;
  readonly fastPath: FastPathPort | undefined;
  /** With offloads, writes queue in the addon and go out together after this I/O turn. */
  private readonly flushQueued = (): void => {
    this.flushScheduled = false;
    if (!this.closed) addon!.flush!(this.handle);
  };

  constructor(a: Addon, opts: TunOptions) {
    const slotSize = slotSizeFor(opts.mtu);
    let opened: AddonOpened;
    try {
      opened = a.open(
        opts.name ?? '',
        opts.address,
        opts.prefixLength,
        opts.mtu,
        opts.txQueueLen ?? defaultTxQueueLen,
        slotSize,
        readBatchSlots,
        (count) => this.deliver(count),
        (code, message) => this.fail(new TunError(code, message)),
        offloadWanted(opts),
        opts.address6 !== undefined ? formatIpv6(parseIpv6(opts.address6)!) : '',
        opts.prefixLength6 ?? 64,
      );
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      const code = typeof e.code === 'string' && e.code.startsWith('TUN_') ? e.code : 'TUN_IO';
      throw new TunError(code, String(e.message ?? err), { cause: err });
    }
    this.handle = opened.handle;
    this.name = opened.name;
    this.mtu = opts.mtu;
    this.offload = opened.offload === true && typeof a.flush === 'function';
    this.batch = { data: opened.data, slotSize, lengths: opened.lengths, count: 0 };
    if (opts.address6 !== undefined) this.address6 = `${formatIpv6(parseIpv6(opts.address6)!)}/${opts.prefixLength6 ?? 64}`;
    this.fastPath = a.fastSet && a.fastDelete && a.fastStats ? this.fastPort(a) : undefined;
  }

  private fastPort(a: Addon): FastPathPort {
    return {
      set: (e: FastPathEntry) =>
        !this.closed && a.fastSet!(this.handle, e.dst, e.remoteIndex, e.key, e.counterCell, e.counterLimit, e.validMs, e.fd, e.address, e.port, e.maxBytes, e.maxPps, e.innerKind),
      delete: (dst?: number) => {
        if (this.closed) return;
        if (dst === undefined) a.fastDelete!(this.handle);
        else a.fastDelete!(this.handle, dst);
      },
      stats: (take = false) => a.fastStats!(this.handle, take),
      writeFd: () => {
        const r = this.closed ? null : (a.writeFd?.(this.handle) ?? null);
        return r ? { fd: r[0], vnetLen: r[1] } : undefined;
      },
    };
  }

  setAddress6(address6: string, prefixLength6: number): void {
    validateTunOptions({ name: this.name, address: '0.0.0.0', prefixLength: 32, mtu: this.mtu, address6, prefixLength6 });
    if (typeof addon!.setAddress6 !== 'function') throw new TunError('TUN_NO_ADDON', 'the TUN addon predates IPv6: run npm install');
    const text = formatIpv6(parseIpv6(address6)!);
    try {
      addon!.setAddress6(this.name, text, prefixLength6);
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      throw new TunError(typeof e.code === 'string' && e.code.startsWith('TUN_') ? e.code : 'TUN_IO', String(e.message ?? err), { cause: err });
    }
    this.address6 = `${text}/${prefixLength6}`;
  }

  onPackets(handler: TunHandler): void {
    this.handler = handler;
  }

  write(packet: Uint8Array): boolean {
    if (this.closed) return false;
    const ok = addon!.write(this.handle, packet);
    if (ok && this.offload && !this.flushScheduled) {
      // setImmediate runs after the poll phase: every packet the UDP and TUN callbacks of this loop
      // turn wrote is flushed together, so a flow's segments can leave as one super-packet.
      this.flushScheduled = true;
      setImmediate(this.flushQueued);
    }
    return ok;
  }

  writeBatch(packets: readonly Uint8Array[]): number {
    return this.closed ? 0 : addon!.writeBatch(this.handle, packets);
  }

  stats(): TunStats {
    const zero = { reads: 0, packets: 0, superPackets: 0, segments: 0, csumCompleted: 0, dropped: 0, writes: 0, written: 0, superPacketsOut: 0, writeErrors: 0 };
    return addon!.stats?.(this.handle) ?? zero;
  }

  onClose(handler: (err?: Error) => void): void {
    this.closeHandlers.push(handler);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    addon!.close(this.handle);
    this.runCloseHandlers(undefined);
  }

  private deliver(count: number): void {
    // Packets read before close() but delivered after it are dropped: no handler call after close.
    if (this.closed || this.handler === undefined) return;
    this.batch.count = count;
    this.handler(this.batch as PacketBatch);
  }

  private fail(err: TunError): void {
    if (this.closed) return;
    this.closed = true;
    addon!.close(this.handle);
    this.runCloseHandlers(err);
  }

  private runCloseHandlers(err: Error | undefined): void {
    for (const h of this.closeHandlers.splice(0)) h(err);
  }
}

/**
 * Creates, addresses and brings up a TUN device (IPv4, plus IPv6 with `address6`) (needs CAP_NET_ADMIN). Throws TunError:
 * TUN_BAD_NAME / TUN_BAD_ADDRESS / TUN_BAD_MTU / TUN_BAD_OPTION (options), TUN_NO_ADDON (not built),
 * TUN_NO_DEVICE (no /dev/net/tun), TUN_PERMISSION (not root), TUN_BUSY (name in use), TUN_IO.
 * A device that fails later (TUN_GONE when deleted from outside, TUN_IO) is closed and reported
 * to the onClose handlers with that error.
 */
export function openTun(opts: TunOptions): LinuxTunDevice {
  validateTunOptions(opts);
  return new LinuxTun(loadAddon(), opts);
}
