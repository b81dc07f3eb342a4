// The hub's bindings file (<state-dir>/bindings.json): key -> overlay address and name, kept across
// restarts (hub/bindings.ts holds the decisions). Written atomically (tmp file, fsync, rename; the
// tmp file opened O_EXCL|O_NOFOLLOW so a planted symlink is not followed). A file that does not
// parse is a startup error (BindingStoreError), never silently replaced by an empty table.
// Every new claim and every release is also appended to bindings.json.journal (one JSON line,
// fdatasync'd) before the hub answers, so a kill -9 right after REGISTER_OK loses nothing; the next
// snapshot (batched, at most once a second) folds the journal in and removes it.
import { closeSync, constants, fdatasyncSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readFileNoFollow } from '../config/write-atomic.js';
import { MeshdError } from '../util/errors.js';
import { ipv4ToU32, u32ToIpv4 } from '../util/ipv4.js';
import type { Binding } from './bindings.js';

export class BindingStoreError extends MeshdError {
  constructor(path: string, why: string) {
    super('BINDINGS_CORRUPT', `bindings file ${path}: ${why} (fix or move it away; the hub will not start with it, so no address is handed to another key)`);
  }
}

/** The file name inside --state-dir. */
export const bindingsFileName = 'bindings.json';
/** The format's version, so a later hub can tell an older file. */
const formatVersion = 1;

interface FileRecord {
  key: string; // base64 public key
  address: string;
  name: string;
  lastSeen: string; // ISO time
}

export function bindingsPath(stateDir: string): string {
  return join(stateDir, bindingsFileName);
}

export function journalPath(path: string): string {
  return `${path}.journal`;
}

/** One journal line: a claim (set) or a release (del) of a key's binding. */
export type JournalEntry = { op: 'set'; binding: Binding } | { op: 'del'; id: string };

/** Appends one entry to the journal and syncs it (O_APPEND|O_NOFOLLOW, 0600). */
export function appendJournal(path: string, e: JournalEntry): void {
  const line = e.op === 'set'
    ? { op: 'set', key: Buffer.from(e.binding.id, 'hex').toString('base64'), address: u32ToIpv4(e.binding.overlay), name: e.binding.name, lastSeen: new Date(e.binding.lastSeenMs).toISOString() }
    : { op: 'del', key: Buffer.from(e.id, 'hex').toString('base64') };
  const fd = openSync(journalPath(path), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, `${JSON.stringify(line)}\n`);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Pure: applies journal text to a snapshot. Later lines win; a key, address or name claimed again
 * leaves its earlier holder. A torn last line (a crash mid-append) is ignored; any other bad line is
 * a BindingStoreError. */
export function applyJournal(snapshot: readonly Binding[], text: string, path = journalPath(bindingsFileName)): Binding[] {
  const byId = new Map(snapshot.map((b) => [b.id, { ...b }]));
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let rec: { op?: unknown; key?: unknown; address?: unknown; name?: unknown; lastSeen?: unknown };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      if (i === lines.length - 1 || (i === lines.length - 2 && lines[lines.length - 1] === '')) return; // torn tail
      throw new BindingStoreError(path, `line ${i + 1}: not JSON`);
    }
    if (typeof rec.key !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(rec.key)) throw new BindingStoreError(path, `line ${i + 1}: key is not a base64 public key`);
    const id = Buffer.from(rec.key, 'base64').toString('hex');
    if (rec.op === 'del') {
      byId.delete(id);
      return;
    }
    if (rec.op !== 'set') throw new BindingStoreError(path, `line ${i + 1}: unknown op`);
    const [b] = parseBindings(JSON.stringify({ version: formatVersion, bindings: [{ key: rec.key, address: rec.address, name: rec.name, lastSeen: rec.lastSeen }] }), path);
    for (const [other, o] of byId) if (other !== id && (o.overlay === b!.overlay || (b!.name !== '' && o.name === b!.name))) byId.delete(other);
    byId.set(id, b!);
  });
  return [...byId.values()];
}

/** Reads the bindings (pinned ones are not stored); an absent file is an empty table. */
export function loadBindings(path: string): Binding[] {
  let text: string | undefined;
  try {
    text = readFileNoFollow(path);
  } catch (e) {
    throw new BindingStoreError(path, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const snapshot = text === undefined ? [] : parseBindings(text, path);
  let journal: string | undefined;
  try {
    journal = readFileNoFollow(journalPath(path));
  } catch (e) {
    throw new BindingStoreError(journalPath(path), `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return journal === undefined || journal === '' ? snapshot : applyJournal(snapshot, journal, journalPath(path));
}

/** Pure: the file's text -> bindings, or BindingStoreError. */
export function parseBindings(text: string, path = bindingsFileName): Binding[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new BindingStoreError(path, 'not JSON');
  }
  const o = v as { version?: unknown; bindings?: unknown };
  if (typeof o !== 'object' || o === null || o.version !== formatVersion || !Array.isArray(o.bindings)) {
    throw new BindingStoreError(path, `not a version ${formatVersion} bindings file`);
  }
  const seenAddr = new Set<number>();
  const seenName = new Set<string>();
  const seenKey = new Set<string>();
  return o.bindings.map((r: unknown, i: number): Binding => {
    const rec = r as Partial<FileRecord>;
    const bad = (why: string) => new BindingStoreError(path, `entry ${i}: ${why}`);
    if (typeof rec !== 'object' || rec === null) throw bad('not an object');
    if (typeof rec.key !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(rec.key)) throw bad('key is not a base64 public key');
    let overlay: number;
    try {
      overlay = ipv4ToU32(String(rec.address));
    } catch {
      throw bad('address is not an IPv4 address');
    }
    if (typeof rec.name !== 'string') throw bad('name is not a string');
    const lastSeenMs = typeof rec.lastSeen === 'string' ? Date.parse(rec.lastSeen) : NaN;
    if (!Number.isFinite(lastSeenMs)) throw bad('lastSeen is not a time');
    const id = Buffer.from(rec.key, 'base64').toString('hex');
    if (seenKey.has(id) || seenAddr.has(overlay) || (rec.name !== '' && seenName.has(rec.name))) throw bad('duplicate key, address or name');
    seenKey.add(id);
    seenAddr.add(overlay);
    if (rec.name !== '') seenName.add(rec.name);
    return { id, overlay, name: rec.name, lastSeenMs, pinned: false };
  });
}

/** Pure: bindings -> the file's text (pinned ones are left out: the allow-list is their source). */
export function formatBindings(bindings: readonly Binding[]): string {
  const records: FileRecord[] = bindings
    .filter((b) => !b.pinned)
    .sort((a, b) => a.overlay - b.overlay)
    .map((b) => ({ key: Buffer.from(b.id, 'hex').toString('base64'), address: u32ToIpv4(b.overlay), name: b.name, lastSeen: new Date(b.lastSeenMs).toISOString() }));
  return `${JSON.stringify({ version: formatVersion, bindings: records }, null, 1)}\n`;
}

/** Writes the bindings atomically: tmp file (O_EXCL|O_NOFOLLOW, 0600), fsync, rename, fsync the directory. */
export function saveBindings(path: string, bindings: readonly Binding[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    unlinkSync(tmp); // a leftover of a crash between write and rename
  } catch {
    // none
  }
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, formatBindings(bindings));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  try {
    unlinkSync(journalPath(path)); // folded into the snapshot just written
  } catch {
    // none
  }
  try {
    const dfd = openSync(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // the rename is done; a directory fsync is best effort
  }
}
