// Invites in one process (hub and redeemers on the virtual internet, ManualClock): a key with no
// secret joins by token and then registers on the psk the hub sent; the token reused, expired,
// bound to another key, for another network or unknown is refused with its reason; a forged token
// and a truncated JOIN_INIT are dropped and counted; a JOIN_INIT captured and replayed from another
// endpoint gives the replayer nothing it can open and cannot enroll its key; --invite-only keeps
// out keys that hold the psk but were never enrolled; invites.json carries the enrolment across a
// hub restart.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { finishJoin, networkIdOf, startJoin } from '../../src/crypto/invite.js';
import { generateKeyPair, type StaticKeyPair } from '../../src/crypto/keys.js';
import { InviteStore, parseInvites } from '../../src/hub/invite-store.js';
import { keyId } from '../../src/link/key-id.js';
import { udpPath } from '../../src/link/path.js';
import { createInitiation } from '../../src/crypto/handshake.js';
import type { UdpSocket } from '../../src/net/udp.js';
import { redeemInvite } from '../../src/peer/join.js';
import { decodeInviteToken, encodeInviteToken, JOIN_INIT_SIZE, type InviteToken } from '../../src/wire/invite.js';
import { testLogger } from '../fakes/logger.js';
import { HUB_ENDPOINT, World } from '../vnet/world.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function world(opts: { inviteOnly?: boolean; path?: string } = {}): World {
  const w = new World();
  w.startHub({ invites: new InviteStore(opts.path), ...(opts.inviteOnly ? { inviteOnly: true } : {}) });
  return w;
}

let hostN = 30;
function redeemer(w: World, keyPair: StaticKeyPair, token: InviteToken, wrap?: (udp: UdpSocket) => UdpSocket) {
  const raw = w.net.host(`198.51.100.${hostN++}`).open(40000);
  const udp = wrap ? wrap(raw) : raw;
  return w.settle(redeemInvite({ udp, hub: HUB_ENDPOINT, token, keyPair, clock: w.clock, wallClock: w.wall, log: testLogger('join'), attempts: 3 }), 20_000);
}

const codeOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: unknown) => (e as { code?: string }).code ?? String(e),
  );

describe('invite redemption', () => {
  it('a key without the secret joins, then registers on the psk it was sent; --invite-only refuses a psk holder that was never enrolled', async () => {
    const w = world({ inviteOnly: true });
    const issued = w.hub.invite({ name: 'laptop' });
    const token = decodeInviteToken(issued.token);
    expect(token.addresses).toEqual(['203.0.113.1:7000']);
    const k = generateKeyPair();
    const r = await redeemer(w, k, token);
    expect(Buffer.from(r.networkPsk).equals(Buffer.from(w.psk))).toBe(true);
    expect(r).toMatchObject({ name: 'laptop', prefix: 24 });
    const p = w.peer({ open: '198.51.100.20' }, '10.9.0.5', { name: r.name, keyPair: k, psk: r.networkPsk });
    await w.join(p);
    expect(w.hub.status().peers.map((x) => x.name)).toEqual(['laptop']);
    // The same psk on a key nobody invited: refused by the hub.
    const stranger = w.peer({ open: '198.51.100.21' }, '10.9.0.6', { name: 's', psk: r.networkPsk });
    await expect(w.join(stranger)).rejects.toMatchObject({ code: 'HUB_REFUSED_KEY_NOT_ALLOWED' });
  });

  it('refuses a reused token with its reason, and answers the key that used it again', async () => {
    const w = world();
    const token = decodeInviteToken(w.hub.invite({}).token);
    const first = generateKeyPair();
    expect(await codeOf(redeemer(w, first, token))).toBe('ok');
    const second = redeemer(w, generateKeyPair(), token);
    await expect(second).rejects.toMatchObject({ code: 'JOIN_USED' });
    await expect(second).rejects.toThrow(/already used/);
    // Its JOIN_RESP was lost: the key that redeemed asks again and is answered without a second use.
    expect(await codeOf(redeemer(w, first, token))).toBe('ok');
    expect(w.hub.status().controlDrops.join_refused).toBe(1);
  });

  it('refuses an expired token (ManualClock) and a token bound to another key', async () => {
    const w = world();
    const token = decodeInviteToken(w.hub.invite({ ttlMs: 5_000 }).token);
    w.run(6_000);
    await expect(redeemer(w, generateKeyPair(), token)).rejects.toMatchObject({ code: 'JOIN_EXPIRED' });
    const owner = generateKeyPair();
    const bound = decodeInviteToken(w.hub.invite({ forKey: keyId(owner.publicKey) }).token);
    await expect(redeemer(w, generateKeyPair(), bound)).rejects.toMatchObject({ code: 'JOIN_WRONG_KEY' });
    expect(await codeOf(redeemer(w, owner, bound))).toBe('ok');
  });

  it('tokens for another network, unknown invites, forged secrets and truncated messages are refused or dropped, and counted', async () => {
    const w = world();
    const token = decodeInviteToken(w.hub.invite({}).token);
    await expect(redeemer(w, generateKeyPair(), { ...token, networkId: networkIdOf(new Uint8Array(32).fill(7)) })).rejects.toMatchObject({ code: 'JOIN_OTHER_NETWORK' });
    await expect(redeemer(w, generateKeyPair(), { ...token, inviteId: new Uint8Array(8).fill(1) })).rejects.toMatchObject({ code: 'JOIN_UNKNOWN_INVITE' });
    // Right id, wrong secret: the handshake does not verify; no answer at all.
    await expect(redeemer(w, generateKeyPair(), { ...token, secret: new Uint8Array(32).fill(9) })).rejects.toMatchObject({ code: 'JOIN_TIMEOUT' });
    const sock = w.net.host('198.51.100.99').open(40000);
    const good = startJoin(generateKeyPair(), token, 1, w.wall()).datagram;
    const malformedBefore = w.hub.link.drops.malformed;
    sock.send(good.subarray(0, JOIN_INIT_SIZE - 1), HUB_ENDPOINT);
    w.run(100);
    expect(w.hub.link.drops.malformed).toBe(malformedBefore + 1);
    const d = w.hub.status().controlDrops;
    expect(d).toMatchObject({ join_other_network: 1, join_unknown_invite: 1 });
    expect(d.join_forged).toBeGreaterThanOrEqual(1);
    // The invite is still unused: the rightful redeemer gets it.
    expect(await codeOf(redeemer(w, generateKeyPair(), token))).toBe('ok');
  });

  it('a JOIN_INIT captured before use and replayed from another endpoint gets nothing it can open, and enrolls only the rightful key', async () => {
    const w = world();
    const token = decodeInviteToken(w.hub.invite({}).token);
    const victim = generateKeyPair();
    // The victim's first JOIN_INIT is captured on the way and never delivered.
    let captured: Uint8Array | undefined;
    const tap = (udp: UdpSocket): UdpSocket => ({
      local: udp.local,
      onMessage: (h) => udp.onMessage(h),
      close: () => udp.close(),
      send: (d, to) => {
        if (captured === undefined) captured = new Uint8Array(d);
        else udp.send(d, to);
      },
    });
    const attacker = w.net.host('192.0.2.66').open(40000);
    const got: Uint8Array[] = [];
    attacker.onMessage((d) => got.push(new Uint8Array(d)));
    const victimJoin = redeemer(w, victim, token, tap);
    // Before the victim retries, the attacker replays the capture from its own address.
    for (let i = 0; i < 5 && captured === undefined; i++) await new Promise<void>((r) => setImmediate(r));
    expect(captured).toBeDefined();
    attacker.send(captured!, HUB_ENDPOINT);
    w.run(50);
    // The hub answered the replay, sealed to the victim's key: the attacker's own attempts cannot open it.
    expect(got.length).toBe(1);
    const own = startJoin(generateKeyPair(), token, 5, w.wall());
    expect(() => finishJoin(own, got[0]!, w.clock.now())).toThrow();
    expect(await codeOf(victimJoin)).toBe('ok');
    // Replayed again later: dropped as a replay, no answer.
    attacker.send(captured!, HUB_ENDPOINT);
    w.run(50);
    expect(got.length).toBe(1);
    expect(w.hub.status().controlDrops.join_replayed).toBe(1);
  });

  it('redemption attempts are rate limited per source IP before any DH', () => {
    const w = world();
    const token = decodeInviteToken(w.hub.invite({}).token);
    const sock = w.net.host('198.51.100.98').open(40000);
    // Twenty initiations from one address at once: the burst passes, the rest are counted and cost nothing.
    for (let i = 0; i < 20; i++) sock.send(startJoin(generateKeyPair(), { ...token, secret: new Uint8Array(32) }, i, w.wall()).datagram, HUB_ENDPOINT);
    w.run(50);
    const d = w.hub.status().controlDrops;
    expect(d.join_rate_limited).toBe(15);
    expect(d.join_forged).toBe(5);
  });

  it('invites.json holds the enrolment across a restart, written before the token is returned', async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshd-invite-'));
    const path = join(dir, 'invites.json');
    const w = world({ inviteOnly: true, path });
    const issued = w.hub.invite({ name: 'pc', uses: 2 });
    expect(parseInvites(readFileSync(path, 'utf8'), path)).toMatchObject([{ id: issued.id, uses: 2, redeemed: [] }]);
    const k = generateKeyPair();
    const r = await redeemer(w, k, decodeInviteToken(issued.token));
    expect(parseInvites(readFileSync(path, 'utf8'), path)[0]!.redeemed.map((x) => x.key)).toEqual([keyId(k.publicKey)]);
    await w.hub.close();
    w.startHub({ invites: new InviteStore(path), inviteOnly: true });
    const p = w.peer({ open: '198.51.100.20' }, '10.9.0.5', { name: 'pc', keyPair: k, psk: r.networkPsk });
    await w.join(p);
    expect(w.hub.status().peers.map((x) => x.name)).toEqual(['pc']);
    // The text form survives a round trip through the token codec unchanged.
    expect(encodeInviteToken(decodeInviteToken(issued.token))).toBe(issued.token);
  });
});

describe('hostile: a revoked key replaying an old handshake', () => {
  it('is refused and counted, by the running hub and by one restarted on the same state', async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshd-invite-'));
    const revocationsPath = join(dir, 'revoked.json');
    const w = new World();
    w.startHub({ revocationsPath });
    const kb = generateKeyPair();
    const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { name: 'b', keyPair: kb });
    await w.join(b);
    // An initiation b made while it was a member, captured on the wire.
    const old = createInitiation({ keyPair: kb, psk: w.psk }, w.hubKeys.publicKey, 77, w.wall()).message;
    expect(w.hub.revoke('b')).toHaveLength(1);
    await w.settle(b.stop());
    const from = udpPath({ address: '192.0.2.66', port: 5555 });
    const drops = () => ({ ...w.hub.link.drops, revoked: w.hub.status().controlDrops.revoked_handshake! });
    const before = drops();
    w.hub.link.receive(old, from);
    w.run(100);
    expect(drops().not_allowed).toBe(before.not_allowed + 1);
    expect(drops().revoked).toBe(before.revoked + 1);
    await w.hub.close();
    w.startHub({ revocationsPath });
    w.hub.link.receive(old, from);
    w.run(100);
    expect(w.hub.link.drops.not_allowed).toBe(1);
    expect(w.hub.status().controlDrops.revoked_handshake).toBe(1);
    expect(w.hub.link.hasSession(kb.publicKey)).toBe(false);
    expect(w.hub.status().peers).toEqual([]);
  });
});
