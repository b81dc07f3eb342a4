// Red-team finding M5 in process: --allow-keys-file was checked only at REGISTER, so any key with the
// network secret completed handshakes with the hub and with peers, and every such key left a few KB
// (its Remote: sessions, handshake state, the responder's replay record) that was never freed. Now
// the hub refuses an unlisted key at the handshake (a handshake response and one sealed
// REGISTER_REFUSED, nothing kept), a peer accepts handshakes only from its hub and the keys in its
// map, and a key that handshakes without ever registering is forgotten after a grace period.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import * as LC from '../../src/link/constants.js';
import { Link, strangerExpired } from '../../src/link/link.js';
import { udpPath } from '../../src/link/path.js';
import type { Endpoint } from '../../src/net/udp.js';
import { HubRefusedError } from '../../src/peer/hub-client.js';
import { ControlType, decodeControl } from '../../src/wire/control.js';
import { decodeInner, encodeInner, InnerKind } from '../../src/wire/inner.js';
import { testLogger } from '../fakes/logger.js';
import { HUB_ENDPOINT, World } from '../vnet/world.js';

const KEEPALIVE = encodeInner({ kind: InnerKind.KEEPALIVE });
/** What the responder keeps per initiator key (replay records): private, read for the count. */
const knownKeys = (l: Link) => (l as unknown as { responder: { handshake: { known: Map<string, unknown> } } }).responder.handshake.known.size;

/** `n` keys with the network secret, each on its own source, each handshaking with `to` (key, endpoint) at 50/s. */
function strangers(w: World, n: number, to: { key: Uint8Array; endpoint: Endpoint }): { links: Link[]; refusals: () => number } {
  const links: Link[] = [];
  let refusals = 0;
  for (let i = 0; i < n; i++) {
    const sock = w.net.host(`203.0.113.${10 + (i % 200)}`).open(20_000 + i);
    const l = new Link({ udp: sock, keyPair: generateKeyPair(), psk: w.psk, clock: w.clock, wallClock: w.wall, log: testLogger('stranger') });
    l.onInner((_r, pt) => {
      const inner = decodeInner(pt);
      if (inner.kind === InnerKind.CONTROL && decodeControl(inner.body).type === ControlType.REGISTER_REFUSED) refusals++;
    });
    l.send(to.key, KEEPALIVE, udpPath(to.endpoint));
    links.push(l);
    w.clock.advance(20);
  }
  return { links, refusals: () => refusals };
}

describe('M5: the allow-list at the handshake', () => {
  it('400 unlisted keys: each gets a sealed refusal at the handshake, and the hub keeps nothing for any of them', async () => {
    const w = new World();
    const listed = generateKeyPair();
    const hub = w.startHub({ allowedKeys: [listed.publicKey] });
    const member = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { keyPair: listed });
    await w.join(member);
    const before = { remotes: hub.link.remoteCount, known: knownKeys(hub.link) };
    const s = strangers(w, 400, { key: w.hubKeys.publicKey, endpoint: HUB_ENDPOINT });
    w.run(3_000);
    const after = { remotes: hub.link.remoteCount, known: knownKeys(hub.link) };
    console.log(`[M5] 400 unlisted keys: hub remotes ${before.remotes} -> ${after.remotes}, replay records ${before.known} -> ${after.known}, refusals received ${s.refusals()}, hub not_allowed drops ${hub.link.drops.not_allowed}`);
    expect(after).toEqual(before);
    expect(hub.link.drops.not_allowed).toBeGreaterThanOrEqual(400);
    expect(s.refusals()).toBeGreaterThanOrEqual(400);
    expect(hub.registry.all()).toHaveLength(1);
    for (const l of s.links) await l.close();
  });

  it('a real peer daemon with an unlisted key learns why at once (HUB_REFUSED_KEY_NOT_ALLOWED), the hub keeps no state', async () => {
    const w = new World();
    const hub = w.startHub({ allowedKeys: [generateKeyPair().publicKey] });
    const before = hub.link.remoteCount;
    const p = w.peer({ open: '198.51.100.20' }, '10.9.0.3');
    const err = await w.join(p).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(HubRefusedError);
    expect((err as HubRefusedError).code).toBe('HUB_REFUSED_KEY_NOT_ALLOWED');
    expect(hub.link.remoteCount).toBe(before);
    expect(hub.link.stats.refusalsSent).toBeGreaterThanOrEqual(1);
  });
});

describe('M5: peers accept handshakes only from the hub and the keys in their map', () => {
  it('a key with the network secret that is not in the map gets no session with a peer; members still connect', async () => {
    const w = new World();
    w.startHub();
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2');
    const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3');
    await w.join(a);
    await w.join(b);
    w.run(3_000);
    expect(a.link.hasSession(b.link.publicKey)).toBe(true);
    const bSock = (b as unknown as { o: { udp: { local: Endpoint } } }).o.udp.local;
    const before = b.link.remoteCount;
    const s = strangers(w, 20, { key: b.link.publicKey, endpoint: bSock });
    w.run(3_000);
    expect(s.links.some((l) => l.hasSession(b.link.publicKey))).toBe(false);
    expect(b.link.drops.not_allowed).toBeGreaterThanOrEqual(20);
    expect(b.link.remoteCount).toBe(before);
    for (const l of s.links) await l.close();
  });
});

describe('M5: remotes that never join are forgotten', () => {
  it.each<[number, boolean]>([
    [0, false],
    [LC.strangerGraceMs - 1, false],
    [LC.strangerGraceMs, true],
  ])('strangerExpired after %i ms: %s', (ms, want) => {
    expect(strangerExpired(1_000, 1_000 + ms)).toBe(want);
  });

  it('without an allow-list: 400 keys that handshake and never register are gone after the grace period; members stay', async () => {
    const w = new World();
    const hub = w.startHub();
    const member = w.peer({ open: '198.51.100.10' }, '10.9.0.2');
    await w.join(member);
    const base = hub.link.remoteCount;
    const s = strangers(w, 400, { key: w.hubKeys.publicKey, endpoint: HUB_ENDPOINT });
    w.run(1_000);
    const during = hub.link.remoteCount;
    w.run(LC.strangerGraceMs - 20 * 400 - 1_000 - LC.housekeepingIntervalMs);
    const beforeGrace = hub.link.remoteCount;
    w.run(2 * LC.housekeepingIntervalMs + 20 * 400);
    const after = hub.link.remoteCount;
    console.log(`[M5] 400 strangers, no allow-list: hub remotes ${base} -> ${during} -> ${after} after ${LC.strangerGraceMs / 1000} s (+ housekeeping), evicted ${hub.link.stats.strangersEvicted}, replay records ${knownKeys(hub.link)}`);
    expect(during).toBe(base + 400);
    expect(beforeGrace).toBeGreaterThan(base);
    expect(after).toBe(base);
    expect(knownKeys(hub.link)).toBe(base);
    expect(hub.registry.all()).toHaveLength(1);
    expect(hub.link.hasSession(member.link.publicKey)).toBe(true);
    for (const l of s.links) await l.close();
  });

  it(`at most ${LC.maxStrangers} strangers at once: past it the oldest is forgotten at once`, async () => {
    const w = new World();
    const hub = w.startHub();
    const member = w.peer({ open: '198.51.100.10' }, '10.9.0.2');
    await w.join(member);
    const base = hub.link.remoteCount;
    const n = LC.maxStrangers + 50;
    const s = strangers(w, n, { key: w.hubKeys.publicKey, endpoint: HUB_ENDPOINT });
    w.run(1_000);
    expect(hub.link.strangerCount).toBeLessThanOrEqual(LC.maxStrangers);
    expect(hub.link.remoteCount).toBeLessThanOrEqual(base + LC.maxStrangers);
    expect(hub.registry.all()).toHaveLength(1);
    for (const l of s.links) await l.close();
  }, 60_000);
});
