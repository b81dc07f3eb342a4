// The client side of the control socket, used by `meshd status` and `meshd ping`: connect, send one
// request, read answer lines until the last one or a deadline. Failures are ControlError with a code
// (CONTROL_NO_DAEMON, CONTROL_PERMISSION, CONTROL_TIMEOUT, CONTROL_CLOSED, CONTROL_REMOTE, ...).
import { createConnection } from 'node:net';
import { MeshdError } from '../util/errors.js';
import { maxResponseBytes, type ControlRequest, type InviteCommand, type PingOptions, type PingReply, type PingSummary } from './control-protocol.js';

export class ControlError extends MeshdError {}

/** Local tuning: a daemon answers status from memory; seconds mean it is wedged. */
export const defaultStatusTimeoutMs = 5000;
/** Local tuning: slack on top of the ping deadline for connecting and the daemon's ping interval. */
const pingSlackMs = 5000;
/** Assumed upper bound on the daemon's gap between two pings (it pings about once a second). */
const pingIntervalBoundMs = 1000;

/**
 * Sends `req` and hands every answer line (a parsed JSON object) to `onMessage` until it returns
 * true. An {"error"} line rejects with CONTROL_REMOTE carrying the daemon's message.
 */
export function controlRequest(path: string, req: ControlRequest, timeoutMs: number, onMessage: (m: Record<string, unknown>) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new ControlError('CONTROL_TIMEOUT', `meshd at ${path} did not answer within ${timeoutMs / 1000}s`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('error', (e: NodeJS.ErrnoException) => finish(connectError(path, e)));
    sock.on('close', () => finish(new ControlError('CONTROL_CLOSED', `meshd at ${path} closed the connection before answering`)));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > maxResponseBytes) return finish(new ControlError('CONTROL_BAD_RESPONSE', `meshd at ${path} sent an answer longer than ${maxResponseBytes} bytes`));
      let nl: number;
      while (!settled && (nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let m: unknown;
        try {
          m = JSON.parse(line);
        } catch {
          return finish(new ControlError('CONTROL_BAD_RESPONSE', `meshd at ${path} sent a line that is not JSON`));
        }
        if (typeof m !== 'object' || m === null || Array.isArray(m)) return finish(new ControlError('CONTROL_BAD_RESPONSE', `meshd at ${path} sent a line that is not a JSON object`));
        const o = m as Record<string, unknown>;
        if ('error' in o) return finish(new ControlError('CONTROL_REMOTE', String(o.error)));
        try {
          if (onMessage(o)) finish();
        } catch (e) {
          finish(e instanceof Error ? e : new Error(String(e)));
        }
      }
    });
  });
}

/** The daemon's status object (ops/status-types.ts), unvalidated. */
export async function fetchStatus(path: string, timeoutMs = defaultStatusTimeoutMs): Promise<unknown> {
  let status: unknown;
  await controlRequest(path, { cmd: 'status' }, timeoutMs, (m) => {
    if (!('status' in m)) throw new ControlError('CONTROL_BAD_RESPONSE', `meshd at ${path} answered status with something else`);
    status = m.status;
    return true;
  });
  return status;
}

/** Asks the daemon to ping `target`; onReply sees each pong as it arrives. */
export async function requestPing(path: string, target: string, opts: PingOptions, onReply: (r: PingReply) => void): Promise<PingSummary> {
  let summary: PingSummary | undefined;
  const deadlineMs = opts.count * (opts.timeoutMs + pingIntervalBoundMs) + pingSlackMs;
  await controlRequest(path, { cmd: 'ping', target, ...opts }, deadlineMs, (m) => {
    if ('reply' in m) {
      onReply(m.reply as PingReply);
      return false;
    }
    if ('summary' in m) {
      summary = m.summary as PingSummary;
      return true;
    }
    throw new ControlError('CONTROL_BAD_RESPONSE', `meshd at ${path} answered ping with something else`);
  });
  return summary!;
}

/** Maps a connect failure to the one line the user sees. Exported for tests. */
export function connectError(path: string, e: NodeJS.ErrnoException): ControlError {
  switch (e.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ENOTDIR':
      return new ControlError('CONTROL_NO_DAEMON', `no meshd daemon at ${path}: is it running? (--state-dir)`);
    case 'EACCES':
    case 'EPERM':
      return new ControlError('CONTROL_PERMISSION', `permission denied on ${path}: needs root (or the daemon's user); try sudo`);
    default:
      return new ControlError('CONTROL_IO', `cannot talk to meshd at ${path}: ${e.code ?? e.message}`);
  }
}

/** Asks the hub to free the bindings `target` (a name, an overlay address or a public key) selects. */
export async function requestRelease(path: string, target: string, timeoutMs = defaultStatusTimeoutMs): Promise<unknown[]> {
  let released: unknown[] = [];
  await controlRequest(path, { cmd: 'release', target }, timeoutMs, (m) => {
    if (!Array.isArray(m.released)) throw new ControlError('CONTROL_BAD_RESPONSE', `meshd at ${path} answered release with something else`);
    released = m.released;
    return true;
  });
  return released;
}

/** Asks the hub to revoke the key(s) `target` (a name, an overlay address or a public key) selects. */
export async function requestRevoke(path: string, target: string, timeoutMs = defaultStatusTimeoutMs): Promise<unknown[]> {
  let revoked: unknown[] = [];
  await controlRequest(path, { cmd: 'revoke', target }, timeoutMs, (m) => {
    if (!Array.isArray(m.revoked)) throw new ControlError('CONTROL_BAD_RESPONSE', `meshd at ${path} answered revoke with something else`);
    revoked = m.revoked;
    return true;
  });
  return revoked;
}

/** Asks the hub for an invite (`meshd hub invite`); resolves with what the hub issued. */
export async function requestInvite(path: string, req: InviteCommand, timeoutMs = defaultStatusTimeoutMs): Promise<unknown> {
  let issued: unknown;
  await controlRequest(path, { cmd: 'invite', ...req }, timeoutMs, (m) => {
    if (typeof m.invite !== 'object' || m.invite === null) throw new ControlError('CONTROL_BAD_RESPONSE', `meshd at ${path} answered invite with something else`);
    issued = m.invite;
    return true;
  });
  return issued;
}
