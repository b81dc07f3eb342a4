// Revocation in one process (hub and peers on the virtual internet): `hub.revoke` persists the key
// (revocations.ts) before it answers, drops the member, refuses its handshakes (counted), and tells
// every ACL-capable peer, which closes its sessions with that key and refuses new ones; a hub
// restarted on the same state keeps refusing it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRevocations, revocationsText, type Revocation } from '../../src/hub/revocations.js';
import { ConfigError } from '../../src/util/errors.js';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';
import { encodeRevoked } from '../../src/wire/acl.js';
import { World } from '../vnet/world.js';
import { udpPath } from '../../src/link/path.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('revocations file', () => {
  it('round-trips and refuses a bad entry naming the file and entry', () => {
    const list: Revocation[] = [{ id: 'ab'.repeat(32), name: 'b', address: '10.9.0.3', atMs: Date.UTC(2026, 11, 4) }];
    expect(parseRevocations(revocationsText(list), 'r.json')).toEqual(list);
    expect(() => parseRevocations('{"revoked": [{"key": "nope"}]}', 'r.json')).toThrow(ConfigError);
    expect(() => parseRevocations('{"revoked": [{"key": "nope"}]}', 'r.json')).toThrow(/r\.json: entry 1/);
  });
});

describe('hub revoke', () => {
  it('drops the member, closes the peers\' sessions with it, refuses it at the hub and the peers, and a restart keeps it out', async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshd-revoke-'));
    const path = join(dir, 'revoked.json');
    const w = new World();
    w.startHub({ revocationsPath: path });
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a' });
    const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { name: 'b' });
    await w.join(a);
    await w.join(b);
    // A session between a and b (b sends a packet; the link handshakes on demand).
    b.link.send(a.link.publicKey, encodeInner({ kind: InnerKind.IP, packet: new Uint8Array(20) }));
    w.run(3_000);
    expect(a.link.hasSession(b.link.publicKey)).toBe(true);

    const aRefusedBefore = a.link.drops.not_allowed;
    const out = w.hub.revoke('b');
    expect(out).toMatchObject([{ name: 'b', overlay: '10.9.0.3', wasMember: true }]);
    expect(readFileSync(path, 'utf8')).toContain(out[0]!.publicKey);
    w.run(2_000);
    expect(w.hub.status().peers.map((p) => p.name)).toEqual(['a']);
    expect(a.revoked.size).toBe(1);
    expect(a.link.hasSession(b.link.publicKey)).toBe(false);
    // b tries again with a fresh handshake: refused by the hub and by a.
    b.link.forget(a.link.publicKey);
    b.link.send(a.link.publicKey, encodeInner({ kind: InnerKind.IP, packet: new Uint8Array(20) }), udpPath({ address: '198.51.100.10', port: 51820 }));
    w.run(30_000);
    expect(b.hubClient.state).not.toBe('registered');
    expect(b.hubClient.lastRefusal?.code).toBe('HUB_REFUSED_KEY_NOT_ALLOWED');
    expect(w.hub.status().controlDrops.revoked_handshake).toBeGreaterThan(0);
    expect(a.link.drops.not_allowed).toBeGreaterThan(aRefusedBefore);
    expect(a.link.hasSession(b.link.publicKey)).toBe(false);
    expect(w.hub.revoke('b')).toEqual([]); // already revoked

    // A hub restarted on the same state keeps b out.
    await w.hub.close();
    w.startHub({ revocationsPath: path });
    w.run(60_000);
    expect(w.hub.status().peers.map((p) => p.name)).toEqual(['a']);
    expect(w.hub.status().controlDrops.revoked_handshake).toBeGreaterThan(0);
  });

  it('a peer told REVOKED closes its session with that key and refuses its handshakes even while the key is still in its map', async () => {
    const w = new World();
    w.startHub();
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a' });
    const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { name: 'b' });
    await w.join(a);
    await w.join(b);
    const ip = () => encodeInner({ kind: InnerKind.IP, packet: new Uint8Array(20) });
    b.link.send(a.link.publicKey, ip());
    w.run(3_000);
    expect(a.link.hasSession(b.link.publicKey)).toBe(true);
    const refused = a.link.drops.not_allowed;
    a.revoked.receive(encodeRevoked({ seq: 9, keys: [b.link.publicKey] }));
    expect(a.link.hasSession(b.link.publicKey)).toBe(false);
    expect(a.map.byId(Buffer.from(b.link.publicKey).toString('hex'))).toBeDefined(); // still listed by the hub
    b.link.forget(a.link.publicKey);
    b.link.send(a.link.publicKey, ip(), udpPath({ address: '198.51.100.10', port: 51820 }));
    w.run(5_000);
    expect(a.link.hasSession(b.link.publicKey)).toBe(false);
    expect(a.link.drops.not_allowed).toBeGreaterThan(refused);
    expect(a.revoked.receive(encodeRevoked({ seq: 10, keys: [] }).subarray(0, 5))).toBeUndefined();
    expect(a.revoked.counters).toEqual({ received: 1, malformed: 1 });
  });
});
