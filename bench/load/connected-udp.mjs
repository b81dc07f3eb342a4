// The socket of one virtual peer (bench/load/vpeer-worker.mjs), which only ever talks to its hub: a
// node:dgram socket bound to the peer's own loopback address and connect()ed to the hub. A send is
// then one send(2) with no address lookup and no deferred hop through dgram's DNS path (the workers
// spent more CPU there than in their crypto), and every datagram received (the kernel passes only
// the hub's) is reported from one frozen Endpoint instead of a new object each. Implements
// src/net/udp.ts's UdpSocket; a send to anywhere but the hub is dropped and counted (`elsewhere`).
import { createSocket } from 'node:dgram';

class ConnectedUdp {
  counters = { sent: 0, received: 0, sendErrors: 0, handlerErrors: 0, elsewhere: 0 };
  handler = undefined;
  closed = false;

  constructor(sock, hub) {
    this.sock = sock;
    this.hub = Object.freeze({ address: hub.address, port: hub.port });
    const a = sock.address();
    this.local = Object.freeze({ address: a.address, port: a.port });
    sock.on('message', (msg) => {
      const h = this.handler;
      if (this.closed || h === undefined) return;
      this.counters.received++;
      try {
        h(msg, this.hub);
      } catch {
        this.counters.handlerErrors++;
      }
    });
    sock.on('error', () => {
      this.counters.sendErrors++;
    });
  }

  send(data, to) {
    if (this.closed) return;
    if (to.port !== this.hub.port || to.address !== this.hub.address) {
      this.counters.elsewhere++;
      return;
    }
    try {
      this.sock.send(data); // no callback: libuv tries the send at once, no completion call into JS
      this.counters.sent++;
    } catch {
      this.counters.sendErrors++;
    }
  }

  onMessage(handler) {
    this.handler = handler;
  }

  close() {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.handler = undefined;
    return new Promise((resolve) => {
      try {
        this.sock.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/** Binds `address` (port 0) and connects to `hub` ({address, port}, IPv4 literals). */
export async function openConnectedUdp(address, hub, { recvBufferBytes = 65536, sendBufferBytes = 65536 } = {}) {
  const sock = createSocket({ type: 'udp4', recvBufferSize: recvBufferBytes, sendBufferSize: sendBufferBytes });
  const step = (start) => new Promise((resolve, reject) => {
    sock.once('error', reject);
    start(() => {
      sock.off('error', reject);
      resolve();
    });
  });
  try {
    await step((done) => sock.bind(0, address, done));
    await step((done) => sock.connect(hub.port, hub.address, done));
  } catch (e) {
    sock.close();
    throw e;
  }
  return new ConnectedUdp(sock, hub);
}
