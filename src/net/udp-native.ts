// The batched UdpSocket (net/udp.ts) on Linux, IPv4, IPv6 or both (bound to "::"): the only file that loads build/Release/meshd_udp.node
// (built from src/net/native/udp.c by `npm install`). Receives with recvmmsg (UDP GRO where the
// kernel coalesces), one JS call per batch; sends by copying each datagram into a slot that goes out
// with the others in one sendmmsg (UDP GSO for runs of same-size datagrams) at the end of the
// event-loop turn. net/udp-open.ts picks it over net/udp-node.ts when it loads.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipv4Endpoint, parseIpv4 } from '../util/ipv4.js';
import { formatIpv6, isIpv4Mapped, isIpv6Text, mappedIpv4, parseIpv6 } from '../util/ipv6.js';
import type { Endpoint, NativeSendFd, UdpCounters, UdpHandler, UdpSocket } from './udp.js';
import { nextRecvBufferBytes, type RecvBufferState } from './rcvbuf-size.js';
import type { FastRecvPort, FastRecvStats } from './fast-recv-port.js';

/** Local tuning: datagrams per recvmmsg (and per JS call); the addon drains up to 4 batches per wake. */
export const recvBatchSlots = 64;
/** Local tuning: datagrams per sendmmsg; more in one turn go out as soon as the slots fill. */
export const sendBatchSlots = 64;
/** Slot stride: any IPv4 UDP payload (65507 bytes) fits; only the pages a datagram touches are resident. */
export const slotBytes = 65536;
/** Local tuning: sources remembered as Endpoint objects (a hub sees one per member); cleared when full. */
const endpointCacheLimit = 16384;

// ctl slots shared with udp.c.
const PENDING = 0;
const SENT = 1;
const SEND_ERRORS = 2;
const RECV_ERRORS = 3;
const RECV_BATCHES = 4;
const SENT_GSO = 5;
const RECEIVED_GRO = 6;
const RECV_OVERFLOWS = 7;
const RCVBUF = 8;
/** Words per sendMeta row: length, family, port, address a0..a3 (udp.c). */
const SEND_META = 7;
/** Words per recvMeta row: offset, length, family, port, address a0..a3 (udp.c). */
const RECV_META = 8;

/** The UdpCounters, plus receive failures node:dgram does not surface (recvmmsg errors, truncation),
 * how many of `sent` left inside UDP GSO messages (runs of same-size datagrams to one place) and
 * how many received datagrams the kernel glued together with UDP GRO (udp.c splits them again). */
export interface NativeUdpCounters extends UdpCounters {
  receiveErrors: number;
  sentGso: number;
  receivedGro: number;
  /** Datagrams the kernel dropped on this socket because its receive buffer was full (SO_RXQ_OVFL;
   * 0 from an addon built before it), and the receive buffer now (SO_RCVBUF, as the kernel counts). */
  receiveOverflows: number;
  recvBufferBytes: number;
  /** recvmmsg calls that returned datagrams (received / receiveBatches = datagrams per call). */
  receiveBatches: number;
}

interface Opened {
  handle: unknown;
  port: number;
  recvData: Buffer;
  recvMeta: Uint32Array;
  sendData: Buffer;
  sendMeta: Uint32Array;
  ctl: Float64Array;
}

interface Addon {
  open(
    address: string,
    port: number,
    recvBufBytes: number,
    sendBufBytes: number,
    slotSize: number,
    recvSlots: number,
    sendSlots: number,
    onBatch: (count: number) => void,
  ): Opened;
  arm(handle: unknown): void;
  flush(handle: unknown): void;
  close(handle: unknown): void;
  /** malloc_trim(0); absent in an addon built before it. */
  trim?(): boolean;
  /** The socket's fd and family for the TUN addon's fast path; absent in an addon built before it. */
  sendFd?(handle: unknown): [number, 4 | 6] | null;
  /** The receive half of the fast path (fastrecv.h); absent in an addon built before it. */
  recvSet?(handle: unknown, localIndex: number, key: Uint8Array, replay: Uint8Array, validMs: number, source: Uint32Array, peerIp: number, localIp: number, maxBytes: number, maxPps: number, innerKind: number, tunFd: number, vnetLen: number): boolean;
  recvDelete?(handle: unknown, localIndex?: number): void;
  recvStats?(handle: unknown, take: boolean): FastRecvStats;
  /** SO_RCVBUF(FORCE) on the open socket; absent in an addon built before it. */
  setRecvBuffer?(handle: unknown, bytes: number): void;
}

// src/net/udp-native.ts and dist/net/udp-native.js are both two levels below the package root.
const addonPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'Release', 'meshd_udp.node');
let addon: Addon | undefined;
let loadError: string | undefined;

/** The addon, or undefined (with the reason in nativeUdpUnavailable()) when it is not built or not Linux. */
function loadAddon(): Addon | undefined {
  if (addon !== undefined || loadError !== undefined) return addon;
  if (process.platform !== 'linux') loadError = `recvmmsg/sendmmsg need Linux (this is ${process.platform})`;
  else if (!existsSync(addonPath)) loadError = `the UDP addon is not built (${addonPath}): run npm install`;
  else {
    try {
      addon = createRequire(import.meta.url)(addonPath) as Addon;
    } catch (err) {
      loadError = `cannot load the UDP addon ${addonPath}: ${(err as Error).message}`;
    }
  }
  return addon;
}

/** Why the native socket cannot be used here, or undefined when it can. */
export function nativeUdpUnavailable(): string | undefined {
  loadAddon();
  return loadError;
}

/**
 * Gives malloc's free pages back to the kernel (glibc malloc_trim(0) in the UDP addon, which every
 * daemon loads): true when some went back, false when none, undefined when the addon or its trim is
 * not there (not Linux, not built, or built before trim). peer/memory-trim.ts calls it.
 */
export function mallocTrim(): boolean | undefined {
  const a = loadAddon();
  return a?.trim === undefined ? undefined : a.trim();
}

export class NativeUdpSocket implements UdpSocket {
  readonly impl = 'native' as const;
  readonly local: Endpoint;
  private handler: UdpHandler | undefined;
  private closed = false;
  private received = 0;
  private handlerErrors = 0;
  /** Sends refused before reaching the kernel (bad address or port, oversized). */
  private refused = 0;
  private truncated = 0;
  private readonly handle: unknown;
  private readonly recvData: Buffer;
  private readonly recvMeta: Uint32Array;
  private readonly sendData: Buffer;
  private readonly sendMeta: Uint32Array;
  private readonly ctl: Float64Array;
  /** One view per receive row, reused while datagrams keep their place and length (bulk traffic does). */
  private readonly views: Buffer[] = [];
  /** Source (address u32 * 65536 + port) -> the Endpoint handed to the handler: no object per datagram. */
  private readonly endpoints = new Map<number, Endpoint>();
  /** Sources (IPv6 address words and port) -> their Endpoint, bucketed by the last word and port. */
  private readonly endpoints6 = new Map<number, Array<{ a0: number; a1: number; a2: number; e: Endpoint }>>();
  private endpoints6Size = 0;
  /** Destination address string -> u32 (an IPv4 literal, also written v4-mapped), four host-order
   * words (an IPv6 literal) or -1 (neither), for endpoints made without their u32 (net/udp.ts
   * Endpoint.u32); the data path's IPv4 ones carry it. */
  private readonly addresses = new Map<string, number | Uint32Array>();
  /** The socket is AF_INET6 (bound to an IPv6 address or [::]) and can send to IPv6 addresses. */
  private readonly ipv6: boolean;
  /** Grows the receive buffer when the kernel drops for want of room (net/rcvbuf-size.ts). */
  private readonly rcvbuf: RecvBufferState;

  constructor(
    private readonly addon: Addon,
    bind: Endpoint,
    recvBufBytes: number,
    sendBufBytes: number,
  ) {
    const o = addon.open(bind.address, bind.port, recvBufBytes, sendBufBytes, slotBytes, recvBatchSlots, sendBatchSlots, (n) =>
      this.deliver(n),
    );
    this.handle = o.handle;
    if (o.sendMeta.length !== SEND_META * sendBatchSlots) {
      // An addon built before the IPv6 rows (3 words per send row): its rows would be misread.
      addon.close(o.handle);
      throw Object.assign(new Error(`the UDP addon ${addonPath} is out of date (built before IPv6 support): run npm install`), { code: 'UDP_NO_ADDON' });
    }
    this.ipv6 = isIpv6Text(bind.address);
    this.local = { address: bind.address, port: o.port };
    this.recvData = o.recvData;
    this.recvMeta = o.recvMeta;
    this.sendData = o.sendData;
    this.sendMeta = o.sendMeta;
    this.ctl = o.ctl;
    this.rcvbuf = { askedBytes: recvBufBytes, droppedSeen: 0, grownAtMs: -Infinity };
  }

  get counters(): NativeUdpCounters {
    return {
      sent: this.ctl[SENT]!,
      received: this.received,
      sendErrors: this.ctl[SEND_ERRORS]! + this.refused,
      handlerErrors: this.handlerErrors,
      receiveErrors: this.ctl[RECV_ERRORS]! + this.truncated,
      sentGso: this.ctl[SENT_GSO]!,
      receivedGro: this.ctl[RECEIVED_GRO]!,
      receiveOverflows: this.ctl[RECV_OVERFLOWS] ?? 0,
      recvBufferBytes: this.ctl[RCVBUF] ?? 0,
      receiveBatches: this.ctl[RECV_BATCHES]!,
    };
  }

  send(data: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    const len = data.byteLength;
    const port = to.port;
    const addr = to.u32 ?? this.addressOf(to.address);
    if (addr === -1 || (typeof addr !== 'number' && !this.ipv6) || len > slotBytes || !Number.isInteger(port) || port < 1 || port > 65535) {
      this.refused++;
      return;
    }
    const ctl = this.ctl;
    const i = ctl[PENDING]!;
    try {
      this.sendData.set(data, i * slotBytes);
    } catch {
      this.refused++; // not bytes at all (a caller bug): dropped and counted, never thrown
      return;
    }
    const m = this.sendMeta;
    const r = i * SEND_META;
    m[r] = len;
    m[r + 2] = port;
    if (typeof addr === 'number') {
      m[r + 1] = 4;
      m[r + 3] = addr;
    } else {
      m[r + 1] = 6;
      m[r + 3] = addr[0]!;
      m[r + 4] = addr[1]!;
      m[r + 5] = addr[2]!;
      m[r + 6] = addr[3]!;
    }
    ctl[PENDING] = i + 1;
    if (i + 1 >= sendBatchSlots) this.addon.flush(this.handle);
    else if (i === 0) this.addon.arm(this.handle);
  }

  /** The fd the native fast path (src/tun/native/fastpath.c) sends this socket's datagrams from,
   * and the socket's family (6: a dual-stack or IPv6 socket, which takes v4-mapped addresses);
   * undefined once closed or with an addon built before it. */
  nativeSendFd(): NativeSendFd | undefined {
    if (this.closed) return undefined;
    const r = this.addon.sendFd?.(this.handle);
    if (!r) return undefined;
    this.recvPort ??= this.makeRecvPort();
    return this.recvPort ? { fd: r[0], family: r[1], recv: this.recvPort } : { fd: r[0], family: r[1] };
  }

  private recvPort: FastRecvPort | undefined;

  /** The socket's receive table for the fast path (fastrecv.c), or undefined with an older addon. */
  private makeRecvPort(): FastRecvPort | undefined {
    const a = this.addon;
    if (!a.recvSet || !a.recvDelete || !a.recvStats) return undefined;
    const none: FastRecvStats = { received: 0, toJsRate: 0, toJsStale: 0, toJsInner: 0, toJsAuth: 0, tunErrors: 0, entries: new Float64Array(0) };
    return {
      set: (e) =>
        !this.closed && a.recvSet!(this.handle, e.localIndex, e.key, e.replay, e.validMs, e.source, e.peerIp >>> 0, e.localIp >>> 0, e.maxBytes, e.maxPps, e.innerKind, e.tunFd, e.vnetLen),
      delete: (localIndex) => {
        if (this.closed) return;
        if (localIndex === undefined) a.recvDelete!(this.handle);
        else a.recvDelete!(this.handle, localIndex);
      },
      stats: (take = false) => (this.closed ? none : a.recvStats!(this.handle, take)),
    };
  }

  /** Always: send() copies each datagram into a send slot before it returns. */
  copiesOnSend(): boolean {
    return true;
  }

  onMessage(handler: UdpHandler): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.handler = undefined;
      this.addon.close(this.handle);
    }
    return Promise.resolve();
  }

  private deliver(count: number): void {
    const dropped = this.ctl[RECV_OVERFLOWS];
    if (dropped !== undefined && dropped > this.rcvbuf.droppedSeen) this.growRecvBuffer(dropped);
    const meta = this.recvMeta;
    const views = this.views;
    for (let i = 0; i < count; i++) {
      // Checked per datagram: the handler may close the socket or drop its handler mid-batch.
      const handler = this.handler;
      if (this.closed || handler === undefined) return;
      const row = i * RECV_META;
      const off = meta[row]!;
      const len = meta[row + 1]!;
      if (len > slotBytes) {
        this.truncated++;
        continue;
      }
      let view = views[i];
      if (view === undefined || view.length !== len || view.byteOffset !== this.recvData.byteOffset + off) {
        view = this.recvData.subarray(off, off + len);
        views[i] = view;
      }
      const from = meta[row + 2] === 4 ? this.endpointOf(meta[row + 4]!, meta[row + 3]!) : this.endpoint6Of(meta, row);
      this.received++;
      try {
        handler(view, from);
      } catch {
        this.handlerErrors++;
      }
    }
  }

  /** The kernel dropped datagrams since we last looked: a bigger receive queue, at most once a second. */
  private growRecvBuffer(dropped: number): void {
    const s = this.rcvbuf;
    const now = performance.now();
    const bytes = nextRecvBufferBytes(s, dropped, now);
    s.droppedSeen = dropped;
    if (bytes === undefined || this.addon.setRecvBuffer === undefined) return;
    this.addon.setRecvBuffer(this.handle, bytes);
    s.askedBytes = bytes;
    s.grownAtMs = now;
  }

  private endpointOf(addr: number, port: number): Endpoint {
    const key = addr * 65536 + port;
    let e = this.endpoints.get(key);
    if (e === undefined) {
      if (this.endpoints.size >= endpointCacheLimit) this.endpoints.clear();
      e = Object.freeze(ipv4Endpoint(addr, port));
      this.endpoints.set(key, e);
    }
    return e;
  }

  private endpoint6Of(meta: Uint32Array, row: number): Endpoint {
    const port = meta[row + 3]!;
    const a0 = meta[row + 4]!;
    const a1 = meta[row + 5]!;
    const a2 = meta[row + 6]!;
    const a3 = meta[row + 7]!;
    const key = a3 * 65536 + port;
    let bucket = this.endpoints6.get(key);
    if (bucket !== undefined) {
      for (const b of bucket) if (b.a0 === a0 && b.a1 === a1 && b.a2 === a2) return b.e;
    }
    if (this.endpoints6Size >= endpointCacheLimit) {
      this.endpoints6.clear();
      this.endpoints6Size = 0;
      bucket = undefined;
    }
    const bytes = new Uint8Array(16);
    const v = new DataView(bytes.buffer);
    v.setUint32(0, a0);
    v.setUint32(4, a1);
    v.setUint32(8, a2);
    v.setUint32(12, a3);
    const e = Object.freeze({ address: formatIpv6(bytes), port });
    if (bucket === undefined) this.endpoints6.set(key, (bucket = []));
    bucket.push({ a0, a1, a2, e });
    this.endpoints6Size++;
    return e;
  }

  private addressOf(address: string): number | Uint32Array {
    let a = this.addresses.get(address);
    if (a === undefined) {
      if (this.addresses.size >= endpointCacheLimit) this.addresses.clear();
      a = typeof address === 'string' ? destinationOf(address) : -1;
      this.addresses.set(address, a);
    }
    return a;
  }
}

/** An address literal as the send path carries it: a u32 (IPv4, also v4-mapped IPv6), four
 * host-order words (IPv6), or -1. */
function destinationOf(address: string): number | Uint32Array {
  const v4 = parseIpv4(address);
  if (v4 !== undefined) return v4;
  const b = parseIpv6(address);
  if (b === undefined) return -1;
  if (isIpv4Mapped(b)) return mappedIpv4(b);
  const v = new DataView(b.buffer);
  return Uint32Array.of(v.getUint32(0), v.getUint32(4), v.getUint32(8), v.getUint32(12));
}

/**
 * Binds a UDP socket (IPv4 for an IPv4 address, IPv6 for an IPv6 one, both families on "::"; port 0 picks a free one) with `recvBufBytes`/`sendBufBytes` kernel
 * buffers. Throws when the addon is missing (see nativeUdpUnavailable) or the bind fails, with
 * the errno name as `code` (EADDRINUSE, EADDRNOTAVAIL, EACCES), as node:dgram does.
 */
export function openNativeUdp(bind: Endpoint, recvBufBytes: number, sendBufBytes: number): NativeUdpSocket {
  const a = loadAddon();
  if (a === undefined) throw Object.assign(new Error(loadError ?? 'the UDP addon is unavailable'), { code: 'UDP_NO_ADDON' });
  return new NativeUdpSocket(a, bind, recvBufBytes, sendBufBytes);
}
