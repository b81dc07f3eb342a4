// The socket of one virtual peer (bench/load/vpeer-worker.mjs) on the UDP addon real peers and hubs
// use (build/Release/meshd_udp.node, src/net/native/udp.c), opened small: two 64 KB receive slots
// (one datagram wakes one recvmmsg; 64 KB because the hub's GSO runs come back glued by GRO) and one
// send slot flushed at once (a virtual peer answers each datagram with one ACK: no end-of-turn hook
// per socket). Against node:dgram it saves, per datagram, the 64 KB buffer node allocates for every
// receive, the second recvmsg that finds the socket empty, and the JS `message` event with its
// rinfo object. Implements src/net/udp.ts's UdpSocket for a peer that only talks to its hub: a send
// anywhere else is dropped and counted (`elsewhere`), and every datagram is reported from the hub.
// Opt-in (LOAD_PEER_SOCKET=native): at 20,000 peers the workers' registration collapsed on it (see
// vpeer-worker.mjs); a 300-peer --check run passes.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const slotBytes = 65536;
const recvSlots = 2;
const sendSlots = 1;
/** ctl slots, as in udp.c (and src/net/udp-native.ts). */
const PENDING = 0;
const SENT = 1;
const SEND_ERRORS = 2;
const RECV_ERRORS = 3;

const ipv4U32 = (a) => a.split('.').reduce((x, o) => x * 256 + Number(o), 0) >>> 0;

/** The addon of the build `dist` belongs to (dist/../build/Release), or undefined when not built. */
export function loadUdpAddon(dist) {
  const path = join(dist, '..', 'build', 'Release', 'meshd_udp.node');
  return existsSync(path) ? createRequire(import.meta.url)(path) : undefined;
}

class NativePeerUdp {
  handler = undefined;
  closed = false;
  received = 0;
  handlerErrors = 0;
  elsewhere = 0;

  constructor(addon, address, hub, recvBufferBytes, sendBufferBytes) {
    this.addon = addon;
    this.hub = Object.freeze({ address: hub.address, port: hub.port });
    this.hubU32 = ipv4U32(hub.address);
    const o = addon.open(address, 0, recvBufferBytes, sendBufferBytes, slotBytes, recvSlots, sendSlots, (n) => this.deliver(n));
    this.handle = o.handle;
    this.recvData = o.recvData;
    this.recvMeta = o.recvMeta;
    this.sendData = o.sendData;
    this.sendMeta = o.sendMeta;
    this.ctl = o.ctl;
    this.local = Object.freeze({ address, port: o.port });
  }

  get counters() {
    return { sent: this.ctl[SENT], received: this.received, sendErrors: this.ctl[SEND_ERRORS], handlerErrors: this.handlerErrors, receiveErrors: this.ctl[RECV_ERRORS], elsewhere: this.elsewhere };
  }

  send(data, to) {
    if (this.closed) return;
    if (to.port !== this.hub.port || to.address !== this.hub.address || data.byteLength > slotBytes) {
      this.elsewhere++;
      return;
    }
    this.sendData.set(data, 0);
    const m = this.sendMeta;
    m[0] = data.byteLength;
    m[1] = 4;
    m[2] = this.hub.port;
    m[3] = this.hubU32;
    this.ctl[PENDING] = 1;
    this.addon.flush(this.handle);
  }

  /** send() copies into the slot before it returns: the link seals into its scratch buffer. */
  copiesOnSend() {
    return true;
  }

  onMessage(handler) {
    this.handler = handler;
  }

  deliver(count) {
    const meta = this.recvMeta;
    for (let i = 0; i < count; i++) {
      const h = this.handler;
      if (this.closed || h === undefined) return;
      const row = i * 8;
      const len = meta[row + 1];
      if (len > slotBytes) continue; // cut: udp.c counted it
      // Only the hub's datagrams are taken (the kernel does this for a connected socket).
      if (meta[row + 2] !== 4 || meta[row + 3] !== this.hub.port || meta[row + 4] !== this.hubU32) continue;
      this.received++;
      try {
        h(this.recvData.subarray(meta[row], meta[row] + len), this.hub);
      } catch {
        this.handlerErrors++;
      }
    }
  }

  close() {
    if (!this.closed) {
      this.closed = true;
      this.handler = undefined;
      this.addon.close(this.handle);
    }
    return Promise.resolve();
  }
}

/** Binds `address` (port 0) for a peer of `hub` ({address, port}, IPv4 literals). */
export function openNativePeerUdp(addon, address, hub, { recvBufferBytes = 65536, sendBufferBytes = 65536 } = {}) {
  return new NativePeerUdp(addon, address, hub, recvBufferBytes, sendBufferBytes);
}
