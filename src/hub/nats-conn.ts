// The NATS connection of a hub with --cluster (hub/nats-state.ts composes it): the credentials file,
// the client's PING interval for a presence TTL, opening a bucket, and the errors a hub reads from
// NATS (cannot join; lost a compare-and-set race).
import { readFileSync } from 'node:fs';
import {
  credsAuthenticator, tokenAuthenticator, usernamePasswordAuthenticator,
  type Authenticator, type KV, type NatsConnection,
} from 'nats';
import { ConfigError, MeshdError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { enc } from './nats-names.js';

/** Local tuning: a KV request unanswered this long fails (the claim is not risked). */
export const kvTimeoutMs = 5_000;
/** Local tuning: unanswered client PINGs before the NATS connection counts as down (nats.js then
 * reconnects). */
export const natsMaxPingOut = 2;

/** The client PING interval for a presence TTL (pure): a silent cut (packets dropped, no TCP reset)
 * must read as 'reconnecting' within (natsMaxPingOut + 1) PINGs, well inside one TTL, or this hub
 * would judge every other hub dead and drop their members from the map it serves (nats.js's default,
 * 2 min, noticed a cut only after minutes). At least 500 ms: a few bytes a second per hub. */
export function natsPingIntervalMs(presenceTtlMs: number): number {
  return Math.max(500, Math.floor(presenceTtlMs / (2 * (natsMaxPingOut + 1) + 1)));
}

/** The shared state cannot be joined at start: code CLUSTER_AUTH (the NATS refused the
 * --cluster-creds) or CLUSTER_UNREACHABLE (no --cluster server answered, or JetStream refused). */
export class ClusterError extends MeshdError {}

export function clusterError(e: unknown, servers: string[]): ClusterError {
  const code = String((e as { code?: unknown }).code ?? '');
  const why = (e as Error).message ?? String(e);
  if (/AUTH/i.test(code) || /authoriz|authentic/i.test(why)) {
    return new ClusterError('CLUSTER_AUTH', `--cluster: ${servers.join(', ')} refused the credentials (${why}); check --cluster-creds`, { cause: e });
  }
  return new ClusterError('CLUSTER_UNREACHABLE', `--cluster: cannot join the shared network state at ${servers.join(', ')}: ${why}`, { cause: e });
}

/** Reads --cluster-creds (never a flag value): a .creds file, `user:password`, or a token. */
export function authenticatorFrom(path: string): Authenticator {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('--cluster-creds', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (text.includes('BEGIN NATS USER JWT')) return credsAuthenticator(enc.encode(text));
  const line = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  if (!line) throw new ConfigError('--cluster-creds', `${path} is empty`);
  const colon = line.indexOf(':');
  return colon > 0 ? usernamePasswordAuthenticator(line.slice(0, colon), line.slice(colon + 1)) : tokenAuthenticator(line);
}

/** A NATS API error that means "the key exists already" (create) or "changed meanwhile" (CAS). */
export function lostRace(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string };
  return err.api_error?.err_code === 10071 || /wrong last sequence/i.test(err.message ?? '');
}

export async function openBucket(nc: NatsConnection, name: string, opts: { ttl?: number; replicas: number }, log: Logger): Promise<KV> {
  const js = nc.jetstream({ timeout: kvTimeoutMs });
  const base = { history: 1, timeout: kvTimeoutMs, ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}) };
  try {
    return await js.views.kv(name, { ...base, replicas: opts.replicas });
  } catch (e) {
    if (opts.replicas <= 1) throw e;
    // A NATS of fewer nodes than replicas (one NATS beside a hub): one copy, said loudly.
    log.warn({ bucket: name, replicas: opts.replicas, err: (e as Error).message }, 'nats: cannot create the bucket replicated; using one replica');
    return js.views.kv(name, { ...base, replicas: 1 });
  }
}
