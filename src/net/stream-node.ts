// The one node:net / node:tls user: meshd's stream transport to the hub. A StreamConn carries whole
// sealed datagrams over TCP or TLS with the length prefix of net/stream-frame.ts. The hub listens
// (listenStream), a peer connects (connectStream); both see only StreamConn. TLS adds reachability
// (networks that pass only HTTPS), not trust: the client does not verify the certificate, since
// meshd's own Noise handshake authenticates the hub end to end.
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import type * as Tls from 'node:tls';
import { encodeFrame, FrameReader } from './stream-frame.js';
import type { Endpoint } from './udp.js';

export type StreamKind = 'tcp' | 'tls';

let tlsModule: typeof Tls | undefined;
/** node:tls, loaded by the first TLS listener or connection: a peer on UDP or plain TCP never holds
 * it (~0.4 MiB resident once loaded, issue 19 item 7). */
function tls(): typeof Tls {
  tlsModule ??= createRequire(import.meta.url)('node:tls') as typeof Tls;
  return tlsModule;
}

export interface StreamCounters {
  framesIn: number;
  framesOut: number;
  /** Datagrams dropped because the connection's send buffer was full (backpressure = loss). */
  sendFull: number;
}

/**
 * One stream connection carrying datagrams.
 * - `send` never throws and never queues without bound: past `sendBufferBytes` unsent bytes the
 *   datagram is dropped and counted (a datagram carrier: the layers above already handle loss).
 * - The handler gets each datagram (valid only during the call).
 * - A framing error, a socket error or the remote closing closes the connection; `onClose` runs once.
 * - After `close()` nothing is delivered and `send` is a no-op.
 */
export interface StreamConn {
  readonly kind: StreamKind;
  readonly remote: Endpoint;
  readonly counters: StreamCounters;
  readonly closed: boolean;
  send(datagram: Uint8Array): boolean;
  onDatagram(handler: (datagram: Buffer) => void): void;
  onClose(handler: (why: string) => void): void;
  close(why?: string): void;
}

/** Local tuning: 256 KiB queued per connection is ~170 full datagrams, a few ms at the link rates
 * meshd targets; beyond that a slow reader loses datagrams instead of growing the hub's memory. */
export const defaultStreamSendBufferBytes = 256 * 1024;

class NodeStreamConn implements StreamConn {
  readonly counters: StreamCounters = { framesIn: 0, framesOut: 0, sendFull: 0 };
  private handler: ((d: Buffer) => void) | undefined;
  private closeHandlers: ((why: string) => void)[] = [];
  private done = false;
  private corked = false;
  /** Writes made in one turn of the event loop leave in one writev (the data plane sends bursts). */
  private readonly uncork = (): void => {
    this.corked = false;
    if (!this.done) this.sock.uncork();
  };
  private readonly reader = new FrameReader((d) => {
    this.counters.framesIn++;
    this.handler?.(d);
  });

  constructor(
    private readonly sock: Socket,
    readonly kind: StreamKind,
    readonly remote: Endpoint,
    private readonly sendBufferBytes: number,
  ) {
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => {
      if (this.done) return;
      try {
        this.reader.push(chunk);
      } catch {
        this.close('bad frame');
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => this.close(e.code ?? 'error'));
    sock.on('end', () => this.close('closed by remote'));
    sock.on('close', () => this.close('closed'));
  }

  get closed(): boolean {
    return this.done;
  }

  send(datagram: Uint8Array): boolean {
    if (this.done) return false;
    if (this.sock.writableLength > this.sendBufferBytes) {
      this.counters.sendFull++;
      return false;
    }
    try {
      if (!this.corked) {
        this.corked = true;
        this.sock.cork();
        process.nextTick(this.uncork);
      }
      this.sock.write(encodeFrame(datagram));
    } catch {
      return false;
    }
    this.counters.framesOut++;
    return true;
  }

  onDatagram(handler: (d: Buffer) => void): void {
    this.handler = handler;
  }

  onClose(handler: (why: string) => void): void {
    if (this.done) handler('closed');
    else this.closeHandlers.push(handler);
  }

  close(why = 'closed locally'): void {
    if (this.done) return;
    this.done = true;
    this.handler = undefined;
    this.sock.destroy();
    const hs = this.closeHandlers;
    this.closeHandlers = [];
    for (const h of hs) {
      try {
        h(why);
      } catch {
        // a close handler's bug must not stop the others
      }
    }
  }
}

export interface StreamListenOptions {
  bind: Endpoint;
  /** PEM key and certificate: a TLS listener; absent: plain TCP. */
  tls?: { key: string; cert: string };
  sendBufferBytes?: number;
  /** Called for each raw connection before anything is read: false closes it at once (limits). */
  admit?: (remote: Endpoint) => boolean;
}

export interface StreamListener {
  readonly kind: StreamKind;
  readonly local: Endpoint;
  close(): Promise<void>;
}

function remoteOf(s: Socket): Endpoint | undefined {
  const a = s.remoteAddress?.replace(/^::ffff:/, '');
  return a && s.remotePort ? { address: a, port: s.remotePort } : undefined;
}

/** Listens for stream connections; `onConn` gets each admitted one (for TLS, once the TLS handshake
 * is done; the caller's deadline covers a handshake that never finishes). */
export function listenStream(opts: StreamListenOptions, onConn: (c: StreamConn) => void): Promise<StreamListener> {
  const kind: StreamKind = opts.tls ? 'tls' : 'tcp';
  const secureContext = opts.tls ? tls().createSecureContext({ key: opts.tls.key, cert: opts.tls.cert }) : undefined;
  const sendBuf = opts.sendBufferBytes ?? defaultStreamSendBufferBytes;
  const open = new Set<Socket>();
  const server: Server = createServer({ noDelay: true, pauseOnConnect: false }, (raw) => {
    open.add(raw);
    raw.on('close', () => open.delete(raw));
    const remote = remoteOf(raw);
    if (!remote || (opts.admit && !opts.admit(remote))) {
      raw.destroy();
      return;
    }
    raw.on('error', () => raw.destroy());
    if (!secureContext) {
      onConn(new NodeStreamConn(raw, 'tcp', remote, sendBuf));
      return;
    }
    const t = new (tls().TLSSocket)(raw, { isServer: true, secureContext });
    t.on('error', () => t.destroy());
    // The caller sees the connection at once (its deadline and per-IP count start now); datagrams
    // flow once TLS is up.
    onConn(new NodeStreamConn(t, 'tls', remote, sendBuf));
  });
  server.on('error', () => {});
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: opts.bind.port, host: opts.bind.address, backlog: 511 }, () => {
      server.off('error', reject);
      const a = server.address();
      const local = typeof a === 'object' && a ? { address: a.address, port: a.port } : opts.bind;
      resolve({
        kind,
        local,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            for (const s of open) s.destroy();
          }),
      });
    });
  });
}

/** Connects to a stream listener; rejects on error or after `timeoutMs`. TLS: no certificate check
 * (see the file comment). */
export function connectStream(to: Endpoint, kind: StreamKind, timeoutMs: number, sendBufferBytes = defaultStreamSendBufferBytes): Promise<StreamConn> {
  return new Promise((resolve, reject) => {
    const sock: Socket =
      kind === 'tls'
        ? tls().connect({ host: to.address, port: to.port, rejectUnauthorized: false, ALPNProtocols: ['meshd'] })
        : netConnect({ host: to.address, port: to.port, noDelay: true });
    const timer = setTimeout(() => fail(new Error('ETIMEDOUT')), timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    sock.once('error', fail);
    sock.once(kind === 'tls' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      sock.off('error', fail);
      resolve(new NodeStreamConn(sock, kind, to, sendBufferBytes));
    });
  });
}
