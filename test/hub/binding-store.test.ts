// hub/binding-store.ts: round trip, atomic replacement, symlinks not followed, corrupt files refused.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendJournal, applyJournal, BindingStoreError, formatBindings, journalPath, loadBindings, parseBindings, saveBindings } from '../../src/hub/binding-store.js';
import { appendFileSync, existsSync } from 'node:fs';
import type { Binding } from '../../src/hub/bindings.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'meshd-bind-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const id = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
const bindings: Binding[] = [
  { id: id(1), overlay: ipv4ToU32('10.9.0.3'), name: 'pb', lastSeenMs: Date.parse('2026-12-01T10:00:00.000Z'), pinned: false },
  { id: id(2), overlay: ipv4ToU32('10.9.0.2'), name: '', lastSeenMs: Date.parse('2026-12-02T10:00:00.000Z'), pinned: false },
];

describe('binding store', () => {
  it('round-trips through the file (pinned bindings are not stored)', () => {
    const p = join(tmp(), 'bindings.json');
    saveBindings(p, [...bindings, { id: id(3), overlay: ipv4ToU32('10.9.0.9'), name: 'l', lastSeenMs: 0, pinned: true }]);
    expect(loadBindings(p).sort((a, b) => a.overlay - b.overlay)).toEqual([bindings[1], bindings[0]]);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(p, '..'))).toEqual(['bindings.json']); // no tmp file left
  });

  it('a claim journaled after the last snapshot survives a crash (no snapshot written since)', () => {
    const p = join(tmp(), 'bindings.json');
    saveBindings(p, [bindings[1]!]);
    appendJournal(p, { op: 'set', binding: bindings[0]! });
    expect(loadBindings(p).sort((a, b) => a.overlay - b.overlay)).toEqual([bindings[1], bindings[0]]);
    expect(statSync(journalPath(p)).mode & 0o777).toBe(0o600);
    // With no snapshot at all (the hub was killed before its first one).
    const q = join(tmp(), 'bindings.json');
    appendJournal(q, { op: 'set', binding: bindings[0]! });
    expect(loadBindings(q)).toEqual([bindings[0]]);
  });

  it('the next snapshot folds the journal in and removes it', () => {
    const p = join(tmp(), 'bindings.json');
    appendJournal(p, { op: 'set', binding: bindings[0]! });
    saveBindings(p, bindings);
    expect(existsSync(journalPath(p))).toBe(false);
    expect(loadBindings(p).length).toBe(2);
  });

  it.each([
    ['a release removes the key', [{ op: 'del' as const, id: id(1) }], [id(2)]],
    ['a later claim of the same address evicts its earlier holder', [{ op: 'del' as const, id: id(1) }, { op: 'set' as const, binding: { ...bindings[0]!, id: id(5) } }], [id(2), id(5)]],
  ])('journal replay: %s', (_why, entries, ids) => {
    const p = join(tmp(), 'bindings.json');
    saveBindings(p, bindings);
    for (const e of entries) appendJournal(p, e);
    expect(loadBindings(p).map((b) => b.id).sort()).toEqual(ids.sort());
  });

  it('a torn last journal line is ignored; a bad line before it is an error', () => {
    const p = join(tmp(), 'bindings.json');
    appendJournal(p, { op: 'set', binding: bindings[0]! });
    appendFileSync(journalPath(p), '{"op":"set","key":"AAAA');
    expect(loadBindings(p)).toEqual([bindings[0]]);
    appendFileSync(journalPath(p), '\n{"op":"set"}\n');
    expect(() => loadBindings(p)).toThrow(BindingStoreError);
    expect(() => applyJournal([], 'nonsense\n{"op":"del","key":"x"}\n')).toThrow(BindingStoreError);
  });

  it('an existing empty file is corrupt, not an empty table', () => {
    const p = join(tmp(), 'bindings.json');
    writeFileSync(p, '');
    expect(() => loadBindings(p)).toThrow(BindingStoreError);
  });

  it('an absent file is an empty table', () => {
    expect(loadBindings(join(tmp(), 'bindings.json'))).toEqual([]);
  });

  it('replaces the file by rename, leaving a stale tmp file of a crash harmless', () => {
    const p = join(tmp(), 'bindings.json');
    saveBindings(p, bindings);
    writeFileSync(`${p}.tmp-${process.pid}`, 'half a write');
    saveBindings(p, bindings.slice(0, 1));
    expect(loadBindings(p)).toEqual(bindings.slice(0, 1));
  });

  it('does not write through a symlink planted at the tmp path', () => {
    const d = tmp();
    const p = join(d, 'bindings.json');
    const victim = join(d, 'victim');
    writeFileSync(victim, 'keep');
    symlinkSync(victim, `${p}.tmp-${process.pid}`);
    saveBindings(p, bindings); // the stale link is removed, not followed
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(loadBindings(p)).toHaveLength(2);
  });

  it('refuses to read a symlinked bindings file', () => {
    const d = tmp();
    writeFileSync(join(d, 'elsewhere'), formatBindings(bindings));
    symlinkSync(join(d, 'elsewhere'), join(d, 'bindings.json'));
    expect(() => loadBindings(join(d, 'bindings.json'))).toThrow(BindingStoreError);
  });

  it.each([
    ['not JSON', '{"version":1,'],
    ['another version', '{"version":9,"bindings":[]}'],
    ['a bad key', '{"version":1,"bindings":[{"key":"x","address":"10.9.0.2","name":"","lastSeen":"2026-01-01T00:00:00Z"}]}'],
    ['a bad address', `{"version":1,"bindings":[{"key":"${'A'.repeat(43)}=","address":"ten","name":"","lastSeen":"2026-01-01T00:00:00Z"}]}`],
    ['a bad time', `{"version":1,"bindings":[{"key":"${'A'.repeat(43)}=","address":"10.9.0.2","name":"","lastSeen":"soon"}]}`],
    [
      'one address twice',
      `{"version":1,"bindings":[{"key":"${'A'.repeat(43)}=","address":"10.9.0.2","name":"","lastSeen":"2026-01-01T00:00:00Z"},{"key":"${'B'.repeat(43)}=","address":"10.9.0.2","name":"","lastSeen":"2026-01-01T00:00:00Z"}]}`,
    ],
  ])('a corrupt file (%s) is a clear error with a code, never an empty table', (_why, text) => {
    try {
      parseBindings(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BindingStoreError);
      expect((e as BindingStoreError).code).toBe('BINDINGS_CORRUPT');
    }
  });
});
