// One hub of a peer with several (peer/hub-set.ts): the record the hub set keeps per hub (role,
// RTT samples, when heard, backoff, key check), a fresh one, and its line in `meshd status`. Records
// only; the decisions are hub-choice.ts's and the state machine hub-set.ts's.
import { udpPath, type Path } from '../link/path.js';
import { endpointKey, type Endpoint } from '../net/udp.js';
import type { HubSetJson } from '../ops/status-types.js';

export type HubRole = 'home' | 'standby' | 'trying' | 'idle' | 'down' | 'learning-key' | 'no-key' | 'refused';

/** One hub as `meshd status` shows it: the status JSON's hub line (ops/status-types.ts), its role
 *  typed, without the leg (hub-legs.ts adds `transport`). */
export type HubSetStatus = Omit<HubSetJson, 'role' | 'transport'> & { role: HubRole };

export interface HubEntry {
  index: number;
  endpoint: Endpoint;
  path: Path;
  key: Uint8Array | undefined;
  role: HubRole;
  rttMs: number | undefined;
  /** The last few RTT samples: the choice reads their minimum (hub-choice.ts floorRtt). */
  rttSamples: number[];
  lastHeardMs: number;
  handshakeMs: number;
  lastPingMs: number;
  homeSinceMs: number;
  failures: number;
  nextTryMs: number;
  pings: Map<bigint, { sentMs: number; timed: boolean }>;
  keyNonce: Uint8Array | undefined;
  keyAskedMs: number;
  why: string | undefined;
}

/** A hub not tried yet. */
export function newHubEntry(h: { endpoint: Endpoint; key?: Uint8Array }, index: number): HubEntry {
  return {
    index, endpoint: h.endpoint, path: udpPath(h.endpoint), key: h.key, role: 'idle', rttMs: undefined, rttSamples: [], lastHeardMs: -Infinity, handshakeMs: -Infinity,
    lastPingMs: -Infinity, homeSinceMs: -Infinity, failures: 0, nextTryMs: 0, pings: new Map(), keyNonce: undefined, keyAskedMs: -Infinity, why: undefined,
  };
}

/** One hub as `meshd status` shows it. */
export function hubStatus(h: HubEntry, now: number): HubSetStatus {
  return {
    hub: endpointKey(h.endpoint),
    role: h.role,
    rttMs: h.rttMs === undefined ? null : Math.round(h.rttMs * 10) / 10,
    lastHeardMsAgo: Number.isFinite(h.lastHeardMs) ? Math.round(now - h.lastHeardMs) : null,
    key: h.key ? Buffer.from(h.key).toString('base64') : null,
    failures: h.failures,
    retryInMs: h.role === 'down' ? Math.max(0, Math.round(h.nextTryMs - now)) : null,
    ...(h.why !== undefined ? { why: h.why } : {}),
  };
}
