// invites.json (hub/invite-store.ts): text round trip, refusal of a bad file naming the entry,
// every change on disk before the call returns (a failed write leaves memory as it was), no symlink
// followed; and the refusal decision table (hub/invite-decide.ts).
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decideRedemption } from '../../src/hub/invite-decide.js';
import { InviteStore, invitesText, parseInvites, type Invite } from '../../src/hub/invite-store.js';
import { ConfigError } from '../../src/util/errors.js';
import { JoinRefusal } from '../../src/wire/invite.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const T0 = Date.UTC(2026, 11, 4, 12);
const K1 = 'aa'.repeat(32);
const K2 = 'bb'.repeat(32);
const inv = (o: Partial<Invite> = {}): Invite => ({ id: '0123456789abcdef', psk: new Uint8Array(32).fill(3), name: 'pc', createdMs: T0, expiresMs: T0 + 3_600_000, uses: 1, redeemed: [], ...o });

describe('invites.json', () => {
  it('round-trips, and refuses a bad entry naming the file and the entry', () => {
    const list = [inv(), inv({ id: 'fedcba9876543210', forKey: K1, uses: 3, redeemed: [{ key: K1, atMs: T0 + 5 }] })];
    expect(parseInvites(invitesText(list), 'i.json')).toEqual(list);
    expect(() => parseInvites('{"invites": [{"id": "xyz"}]}', 'i.json')).toThrow(ConfigError);
    expect(() => parseInvites('{"invites": [{"id": "xyz"}]}', 'i.json')).toThrow(/i\.json: entry 1/);
    expect(() => parseInvites('{"invites": [', 'i.json')).toThrow(/not JSON/);
  });

  it('writes each change before returning, atomically, and keeps memory unchanged when the write fails', () => {
    dir = mkdtempSync(join(tmpdir(), 'meshd-invites-'));
    const path = join(dir, 'invites.json');
    const s = new InviteStore(path);
    s.add(inv());
    expect(parseInvites(readFileSync(path, 'utf8'), path)).toHaveLength(1);
    s.redeem('0123456789abcdef', K1, T0 + 1);
    expect(new InviteStore(path).enrolled(K1)).toBe(true);
    expect(readdirSync(dir)).toEqual(['invites.json']); // no temporary file left behind
    // A directory where the temporary file would go makes the write fail: nothing changes in memory.
    rmSync(dir, { recursive: true });
    expect(() => s.redeem('0123456789abcdef', K2, T0 + 2)).toThrow();
    expect(s.enrolled(K2)).toBe(false);
    expect(s.get('0123456789abcdef')!.redeemed).toHaveLength(1);
  });

  it('refuses to read through a symlink planted at the path', () => {
    const d = (dir = mkdtempSync(join(tmpdir(), 'meshd-invites-')));
    mkdirSync(join(d, 'elsewhere'));
    writeFileSync(join(d, 'elsewhere', 'x.json'), invitesText([inv()]));
    symlinkSync(join(d, 'elsewhere', 'x.json'), join(d, 'invites.json'));
    expect(() => new InviteStore(join(d, 'invites.json'))).toThrow(/ELOOP/);
  });
});

describe('decideRedemption', () => {
  it.each([
    ['no such invite', undefined, K1, false, T0, { kind: 'refuse', reason: JoinRefusal.UNKNOWN_INVITE }],
    ['a fresh invite for anyone', inv(), K1, false, T0, { kind: 'redeem' }],
    ['a revoked key, even with a fresh invite', inv(), K1, true, T0, { kind: 'refuse', reason: JoinRefusal.REVOKED }],
    ['the key that redeemed asks again (lost answer)', inv({ redeemed: [{ key: K1, atMs: T0 }] }), K1, false, T0, { kind: 'again' }],
    ['it asks again after expiry: still its own', inv({ redeemed: [{ key: K1, atMs: T0 }] }), K1, false, T0 + 7_200_000, { kind: 'again' }],
    ['another key after the only use', inv({ redeemed: [{ key: K1, atMs: T0 }] }), K2, false, T0, { kind: 'refuse', reason: JoinRefusal.USED }],
    ['a second key while uses are left', inv({ uses: 2, redeemed: [{ key: K1, atMs: T0 }] }), K2, false, T0, { kind: 'redeem' }],
    ['expired, unused', inv(), K1, false, T0 + 3_600_000, { kind: 'refuse', reason: JoinRefusal.EXPIRED }],
    ['used and expired: "used" is what the redeemer needs to hear', inv({ redeemed: [{ key: K1, atMs: T0 }] }), K2, false, T0 + 7_200_000, { kind: 'refuse', reason: JoinRefusal.USED }],
    ['bound to another key', inv({ forKey: K1 }), K2, false, T0, { kind: 'refuse', reason: JoinRefusal.WRONG_KEY }],
    ['bound to this key', inv({ forKey: K1 }), K1, false, T0, { kind: 'redeem' }],
  ] as const)('%s', (_why, invite, key, revoked, now, want) => {
    expect(decideRedemption(invite as Invite | undefined, key, revoked, now)).toMatchObject(want);
  });
});
