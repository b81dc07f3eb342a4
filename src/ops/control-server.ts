// The daemon side of the control socket: a unix stream socket (mode 0600) answering the newline-
// delimited JSON requests of ops/control-protocol.ts from a ControlHandler the daemon supplies.
// Used by the peer and hub daemons; `meshd status` and `meshd ping` talk to it. Nothing throws out.
import { createConnection, createServer, type Socket } from 'node:net';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { MeshdError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { maxRequestBytes, parseRequest, type ControlRequest, type ControlResponse, type InviteCommand, type PingOptions, type PingReply, type PingSummary } from './control-protocol.js';

/** What a daemon exposes on its control socket. */
export interface ControlHandler {
  /** The status object (ops/status-types.ts); may be a promise. A throw becomes {"error"}. */
  status(): unknown;
  /**
   * Pings `target` (a peer name or overlay address), calling onReply per pong, and resolves with
   * the summary. A throw (e.g. no such peer) becomes {"error": message}. `signal` aborts when the
   * client goes away, so the daemon can stop early; ignoring it is harmless. Absent on the hub.
   */
  ping?(target: string, opts: PingOptions, onReply: (r: PingReply) => void, signal: AbortSignal): Promise<PingSummary>;
  /** Frees the bindings a name, address or key selects (`meshd hub release`). Hub only. */
  release?(target: string): unknown[];
  /** Revokes the key(s) a name, address or key selects (`meshd hub revoke`). Hub only. */
  revoke?(target: string): unknown[];
  /** Issues an invite (`meshd hub invite`, issue 25). Hub only. */
  invite?(req: InviteCommand): unknown;
}

export interface ControlServer {
  readonly path: string;
  /** Stops accepting, drops open connections (aborting their pings) and unlinks the socket file. */
  close(): Promise<void>;
}

/** Local tuning: requests a client may pipeline before it is cut off (one runs at a time). */
const maxQueuedRequests = 16;
/** Local tuning: how long to wait for an existing socket to answer before declaring it stale. */
const staleProbeMs = 1000;

/**
 * Listens on `path`, creating its directory (mode 0700) if missing. An existing socket nobody
 * answers on is removed; one that answers (another daemon) or a non-socket file is an error
 * (code CONTROL_IN_USE, CONTROL_NOT_SOCKET, CONTROL_LISTEN).
 */
export async function startControlServer(path: string, handler: ControlHandler, log: Logger = silentLogger()): Promise<ControlServer> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  await removeStaleSocket(path);

  const conns = new Set<Socket>();
  const server = createServer((conn) => serveConnection(conn, handler, conns, log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new MeshdError('CONTROL_LISTEN', `control socket ${path}: cannot listen: ${e.code ?? e.message}`)));
    server.listen(path, () => resolve());
    // Binding is synchronous inside listen(), so the file exists now: narrow it to the owner before
    // the event loop can accept anyone. (The directory should be the daemon's own, too.)
    try {
      chmodSync(path, 0o600);
    } catch {
      // listen failed; the error event above reports it.
    }
  });
  server.on('error', (e) => log.warn({ err: e }, 'control socket error'));
  log.info({ path }, 'control socket listening');

  let closed: Promise<void> | undefined;
  return {
    path,
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => {
          try {
            unlinkSync(path);
          } catch {
            // node already unlinked it, or someone else did
          }
          resolve();
        });
      });
      return closed;
    },
  };
}

async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new MeshdError('CONTROL_NOT_SOCKET', `control socket ${path}: a file that is not a socket is in the way; refusing to remove it`);
  if (await answers(path)) throw new MeshdError('CONTROL_IN_USE', `control socket ${path}: another meshd is running there (use another --state-dir)`);
  try {
    unlinkSync(path);
  } catch (e) {
    throw new MeshdError('CONTROL_LISTEN', `control socket ${path}: cannot remove the stale socket: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** True if something accepts connections on the socket (or we cannot tell: better not delete it). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    const done = (v: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(true), staleProbeMs);
    s.once('connect', () => done(true));
    s.once('error', (e: NodeJS.ErrnoException) => done(!(e.code === 'ECONNREFUSED' || e.code === 'ENOENT')));
  });
}

function serveConnection(conn: Socket, handler: ControlHandler, conns: Set<Socket>, log: Logger): void {
  conns.add(conn);
  const abort = new AbortController();
  const queue: string[] = [];
  let buf = '';
  let busy = false;
  conn.setEncoding('utf8');
  conn.on('error', (e) => log.debug({ err: e }, 'control client error'));
  conn.on('close', () => {
    conns.delete(conn);
    abort.abort();
  });

  const send = (m: ControlResponse): void => {
    if (conn.destroyed || !conn.writable) return;
    let line: string;
    try {
      line = JSON.stringify(m);
    } catch (e) {
      line = JSON.stringify({ error: `cannot encode the answer: ${(e as Error).message}` });
    }
    conn.write(`${line}\n`);
  };
  let refused = false;
  const refuse = (error: string): void => {
    refused = true;
    queue.length = 0;
    send({ error });
    conn.end();
    conn.setTimeout(1000, () => conn.destroy());
  };

  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    while (queue.length > 0 && !conn.destroyed) {
      const req = parseRequest(queue.shift()!);
      if ('error' in req) send(req);
      else await answer(req, handler, send, abort.signal);
    }
    busy = false;
  };

  conn.on('data', (chunk: string) => {
    if (refused) return;
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line.length > maxRequestBytes) return refuse(`bad request: longer than ${maxRequestBytes} bytes`);
      if (line) queue.push(line);
    }
    if (buf.length > maxRequestBytes) return refuse(`bad request: longer than ${maxRequestBytes} bytes`);
    if (queue.length > maxQueuedRequests) return refuse('too many requests queued');
    void pump();
  });
}

async function answer(req: ControlRequest, handler: ControlHandler, send: (m: ControlResponse) => void, signal: AbortSignal): Promise<void> {
  if (req.cmd === 'status') {
    try {
      send({ status: await handler.status() });
    } catch (e) {
      send({ error: `status: ${errorText(e)}` });
    }
    return;
  }
  if (req.cmd === 'release') {
    if (!handler.release) {
      send({ error: 'release: only the hub holds bindings (use the hub\'s --state-dir)' });
      return;
    }
    try {
      send({ released: handler.release(req.target) });
    } catch (e) {
      send({ error: `release: ${errorText(e)}` });
    }
    return;
  }
  if (req.cmd === 'revoke') {
    if (!handler.revoke) {
      send({ error: 'revoke: only the hub revokes keys (use the hub\'s --state-dir)' });
      return;
    }
    try {
      send({ revoked: handler.revoke(req.target) });
    } catch (e) {
      send({ error: `revoke: ${errorText(e)}` });
    }
    return;
  }
  if (req.cmd === 'invite') {
    if (!handler.invite) {
      send({ error: 'invite: only the hub issues invites (use the hub\'s --state-dir)' });
      return;
    }
    try {
      send({ invite: handler.invite(req) });
    } catch (e) {
      send({ error: `invite: ${errorText(e)}` });
    }
    return;
  }
  if (!handler.ping) {
    send({ error: 'ping: this daemon does not ping (ask a peer daemon, not the hub)' });
    return;
  }
  try {
    const { target, count, untilDirect, timeoutMs } = req;
    const summary = await handler.ping(target, { count, untilDirect, timeoutMs }, (r) => send({ reply: r }), signal);
    send({ summary });
  } catch (e) {
    send({ error: `ping: ${errorText(e)}` });
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
