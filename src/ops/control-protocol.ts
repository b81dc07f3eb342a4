// The control socket's messages: newline-delimited JSON, one request per line, answered by one or
// more lines. Shared by ops/control-server.ts and ops/control-client.ts; parsing is pure and total.
//
//   -> {"cmd":"status"}
//   <- {"status": <PeerStatusJson | HubStatusJson>}
//   -> {"cmd":"ping","target":"b","count":4,"untilDirect":false,"timeoutMs":2000}
//   <- {"reply": {"seq":1,"rttMs":1.2,"path":"direct","endpoint":"198.51.100.7:41641",...}}   (0..count)
//   <- {"summary": {"target":"b","sent":4,"received":4,...}}                                  (last)
//   -> {"cmd":"release","target":"pb"}                  (hub only: free a name, address or key's binding)
//   <- {"released": [{"publicKey":"...","overlay":"10.9.0.3","name":"pb","wasMember":false}]}
//   -> {"cmd":"revoke","target":"pb"}                   (hub only: revoke a name, address or key; docs/ACL.md)
//   <- {"revoked": [{"publicKey":"...","overlay":"10.9.0.3","name":"pb","wasMember":true}]}
//   -> {"cmd":"invite","name":"laptop","ttlMs":86400000,"uses":1,"forKey":"<base64>","address":"203.0.113.1:7000"}
//   <- {"invite": {"token":"meshd1-...","id":"<hex16>","name":"laptop","expires":ISO,...}}   (hub only; issue 25)
//   <- {"error": "unknown cmd \"x\""}                    (instead of any answer; the connection stays open)
import { join } from 'node:path';
import type { UserPath } from './status-types.js';

/** Local limit: a request line longer than this is refused and the connection closed. */
export const maxRequestBytes = 4096;
/** Local limit: a response line (a status of a big network) longer than this is refused by the client. */
export const maxResponseBytes = 16 * 1024 * 1024;
/** Ping defaults when a request leaves a field out; bounds keep a typo from pinging for a day. */
export const pingDefaults = { count: 4, untilDirect: false, timeoutMs: 2000 } as const;
export const maxPingCount = 1000;
export const maxPingTimeoutMs = 60_000;

/** The socket a daemon of `role` listens on inside its state directory. */
export function defaultSocketPath(stateDir: string, role: 'peer' | 'hub'): string {
  return join(stateDir, `${role}.sock`);
}

export interface PingOptions {
  count: number;
  /** Stop at the first reply over a direct or LAN path (tailscale ping's default behaviour). */
  untilDirect: boolean;
  /** How long to wait for each reply. */
  timeoutMs: number;
}

/** One answered ping. `name`/`address` let the client print "pong from b (10.9.0.3)". */
export interface PingReply {
  seq: number;
  rttMs: number;
  path: UserPath;
  /** The endpoint the pong came from; for `relay`, the hub. */
  endpoint?: string;
  name?: string;
  address?: string;
}

export interface PingSummary {
  /** The target as the user gave it. */
  target: string;
  name?: string;
  address?: string;
  sent: number;
  received: number;
  /** True if any reply came over a direct or LAN path. */
  direct: boolean;
}

/** `meshd hub invite` (hub/invite-issue.ts): every field optional; forKey is a base64 public key. */
export interface InviteCommand {
  name?: string;
  ttlMs?: number;
  uses?: number;
  forKey?: string;
  address?: string;
}

export type ControlRequest = { cmd: 'status' } | ({ cmd: 'ping'; target: string } & PingOptions) | { cmd: 'release'; target: string } | { cmd: 'revoke'; target: string } | ({ cmd: 'invite' } & InviteCommand);

export type ControlResponse = { status: unknown } | { reply: PingReply } | { summary: PingSummary } | { released: unknown[] } | { revoked: unknown[] } | { invite: unknown } | { error: string };

/** Parses one request line; returns {error} for anything that is not a valid request. Never throws. */
export function parseRequest(line: string): ControlRequest | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { error: 'bad request: not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: 'bad request: not a JSON object' };
  const o = v as Record<string, unknown>;
  if (o.cmd === 'status') return { cmd: 'status' };
  if (o.cmd === 'release') {
    if (typeof o.target !== 'string' || o.target.trim().length === 0 || o.target.length > 253) return { error: 'release: "target" must be a name, an overlay address or a public key' };
    return { cmd: 'release', target: o.target.trim() };
  }
  if (o.cmd === 'revoke') {
    if (typeof o.target !== 'string' || o.target.trim().length === 0 || o.target.length > 253) return { error: 'revoke: "target" must be a name, an overlay address or a public key' };
    return { cmd: 'revoke', target: o.target.trim() };
  }
  if (o.cmd === 'invite') return parseInviteRequest(o);
  if (o.cmd !== 'ping') return { error: typeof o.cmd === 'string' ? `unknown cmd ${JSON.stringify(o.cmd.slice(0, 40))}` : 'bad request: missing "cmd"' };
  if (typeof o.target !== 'string' || o.target.length === 0 || o.target.length > 253) return { error: 'ping: "target" must be a peer name or overlay address' };
  const count = o.count ?? pingDefaults.count;
  if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > maxPingCount) return { error: `ping: "count" must be an integer 1..${maxPingCount}` };
  const untilDirect = o.untilDirect ?? pingDefaults.untilDirect;
  if (typeof untilDirect !== 'boolean') return { error: 'ping: "untilDirect" must be true or false' };
  const timeoutMs = o.timeoutMs ?? pingDefaults.timeoutMs;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 1 || timeoutMs > maxPingTimeoutMs) {
    return { error: `ping: "timeoutMs" must be 1..${maxPingTimeoutMs}` };
  }
  return { cmd: 'ping', target: o.target, count: count as number, untilDirect, timeoutMs };
}

/** Local policy: an invite lives at most a year and is good for at most 1000 machines. */
export const maxInviteTtlMs = 365 * 24 * 3_600_000;
export const maxInviteUses = 1000;

function parseInviteRequest(o: Record<string, unknown>): ControlRequest | { error: string } {
  const r: { cmd: 'invite' } & InviteCommand = { cmd: 'invite' };
  if (o.name !== undefined) {
    if (typeof o.name !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(o.name)) return { error: 'invite: "name" must be 1-32 letters, digits, - or _' };
    r.name = o.name;
  }
  if (o.ttlMs !== undefined) {
    if (typeof o.ttlMs !== 'number' || !Number.isInteger(o.ttlMs) || o.ttlMs < 1000 || o.ttlMs > maxInviteTtlMs) return { error: 'invite: "ttlMs" must be 1 s to 365 days' };
    r.ttlMs = o.ttlMs;
  }
  if (o.uses !== undefined) {
    if (typeof o.uses !== 'number' || !Number.isInteger(o.uses) || o.uses < 1 || o.uses > maxInviteUses) return { error: `invite: "uses" must be an integer 1..${maxInviteUses}` };
    r.uses = o.uses;
  }
  if (o.forKey !== undefined) {
    if (typeof o.forKey !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(o.forKey)) return { error: 'invite: "forKey" must be a base64 public key' };
    r.forKey = o.forKey;
  }
  if (o.address !== undefined) {
    if (typeof o.address !== 'string' || !/^[A-Za-z0-9.-]{1,58}:\d{1,5}$/.test(o.address)) return { error: 'invite: "address" must be host:port' };
    r.address = o.address;
  }
  return r;
}
