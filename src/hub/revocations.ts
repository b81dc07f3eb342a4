// Keys the hub operator revoked (`meshd hub revoke NAME|ADDRESS|KEY`), kept in
// <state-dir>/revoked.json, written atomically (write tmp, fsync, rename: a crash leaves the old or
// the new file, never half of one) before the command answers, so a revocation survives restarts.
// Parse and text are pure; the hub refuses these keys' handshakes and tells ACL-capable peers.
//   {"revoked": [{"key": "<base64>", "name": "b", "address": "10.9.0.3", "at": "2026-12-04T15:00:00Z"}]}
import { join } from 'node:path';
import { readFileNoFollow, writeFileAtomic } from '../config/write-atomic.js';
import { ConfigError } from '../util/errors.js';

export interface Revocation {
  /** Key id (hex of the public key). */
  id: string;
  name: string;
  address: string;
  atMs: number;
}

export function revocationsPath(stateDir: string): string {
  return join(stateDir, 'revoked.json');
}

/** Pure: the file's text -> revocations; throws ConfigError naming the file and the entry. */
export function parseRevocations(text: string, path: string): Revocation[] {
  const bad = (why: string): never => {
    throw new ConfigError('revoked.json', `${path}: ${why}`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return bad('not JSON');
  }
  const list = (doc as { revoked?: unknown } | null)?.revoked;
  if (!Array.isArray(list)) return bad('expected {"revoked": [...]}');
  return list.map((e: unknown, i: number) => {
    const o = e as Record<string, unknown> | null;
    const key = o?.key;
    if (typeof key !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(key)) return bad(`entry ${i + 1}: "key" must be a base64 public key`);
    const at = typeof o!.at === 'string' ? Date.parse(o!.at) : NaN;
    return { id: Buffer.from(key, 'base64').toString('hex'), name: typeof o!.name === 'string' ? o!.name : '', address: typeof o!.address === 'string' ? o!.address : '', atMs: Number.isFinite(at) ? at : 0 };
  });
}

/** Pure: revocations -> the file's text. */
export function revocationsText(list: readonly Revocation[]): string {
  const revoked = list.map((r) => ({ key: Buffer.from(r.id, 'hex').toString('base64'), name: r.name, address: r.address, at: new Date(r.atMs).toISOString() }));
  return `${JSON.stringify({ revoked }, null, 1)}\n`;
}

/** The file's revocations; none when it does not exist. */
export function loadRevocations(path: string): Revocation[] {
  const text = readFileNoFollow(path);
  return text === undefined ? [] : parseRevocations(text, path);
}

export function saveRevocations(path: string, list: readonly Revocation[]): void {
  writeFileAtomic(path, revocationsText(list));
}
