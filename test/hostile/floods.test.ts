// Issue 10, floods in process: initiations with a bad mac1 are refused before any Diffie-Hellman
// (and what each costs), valid-looking replayed initiations are rate-limited per source, replays
// from spoofed sources get cookie replies once the hub is under load (no DH; what each costs) while
// a real peer still gets through with the cookie, and a relay flood from a non-member (with or
// without the network secret) moves nothing.
import { describe, expect, it, vi } from 'vitest';
import { createInitiation } from '../../src/crypto/handshake.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import * as LC from '../../src/link/constants.js';
import { Link } from '../../src/link/link.js';
import { udpPath } from '../../src/link/path.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';
import { MessageType, messageTypeOf } from '../../src/wire/outer.js';
import { testLogger } from '../fakes/logger.js';
import { capturedMesh, ipMsg, snapshot } from './harness.js';
import { HUB_ENDPOINT } from '../vnet/world.js';

const attacker = { address: '203.0.113.66', port: 4444 };

type Responder = { consumeInitiation: (...a: unknown[]) => unknown };

describe('handshake floods', () => {
  it('initiations with a bad mac1 are dropped before any Diffie-Hellman; the cost per packet is one HMAC', async () => {
    const m = await capturedMesh();
    const hub = m.w.hub.link;
    const spy = vi.spyOn((hub as unknown as { responder: { handshake: Responder } }).responder.handshake, 'consumeInitiation');
    const wrong = { keyPair: generateKeyPair(), psk: derivePsk('an attacker without the network secret') };
    const n = 20_000;
    const inits = Array.from({ length: 200 }, (_, i) => createInitiation(wrong, m.w.hubKeys.publicKey, i + 1, Date.now()).message);
    const before = { ...hub.drops };
    const t0 = performance.now();
    for (let i = 0; i < n; i++) hub.receive(inits[i % inits.length]!, udpPath({ address: '203.0.113.66', port: 1024 + (i % 60000) }));
    const badMacUs = ((performance.now() - t0) * 1000) / n;
    expect(hub.drops.bad_mac1 - before.bad_mac1).toBe(n);
    expect(spy).not.toHaveBeenCalled();

    // For scale: initiations that pass mac1 from fresh sources (each does the DH, its backlog drained
    // after each); fewer than the under-load burst, so none of them gets a cookie reply instead.
    const good = { keyPair: generateKeyPair(), psk: m.w.psk };
    const k = 200;
    expect(k).toBeLessThan(LC.underLoadBurst);
    const valid = Array.from({ length: k }, (_, i) => createInitiation(good, m.w.hubKeys.publicKey, i + 1, m.w.wall() + i).message);
    const t1 = performance.now();
    for (let i = 0; i < k; i++) {
      hub.receive(valid[i]!, udpPath({ address: '203.0.113.67', port: 2000 + i }));
      m.w.clock.advance(0);
    }
    const dhUs = ((performance.now() - t1) * 1000) / k;
    expect(spy).toHaveBeenCalledTimes(k);
    console.log(`bad-mac1 initiation: ${badMacUs.toFixed(1)} us each (no DH); an initiation that passes mac1: ${dhUs.toFixed(0)} us (DH + response); ratio ${(dhUs / badMacUs).toFixed(0)}x`);
    // The costs are printed, not asserted (a timing depends on the box; bench/ measures speed):
    // what the test pins is that no bad-mac1 initiation reached the Diffie-Hellman (the spy above).
  });

  it('byte-exact replays of a captured valid initiation are rate-limited per source and never make a session', async () => {
    const m = await capturedMesh();
    const hub = m.w.hub.link;
    const init = m.captured.find((c) => c.label === 'HandshakeInit/to-hub')!.data;
    const spy = vi.spyOn((hub as unknown as { responder: { handshake: Responder } }).responder.handshake, 'consumeInitiation');
    const before = { ...hub.drops };
    const snap = snapshot(m);
    const n = 10_000;
    // 10,000 replays over 2 simulated seconds from one source.
    for (let i = 0; i < n; i++) {
      hub.receive(init, udpPath(attacker));
      if (i % 1000 === 999) m.w.clock.advance(200);
    }
    m.w.clock.advance(0); // the DH backlog's turn
    const limited = hub.drops.rate_limited - before.rate_limited;
    const cookies = hub.drops.cookie_sent - before.cookie_sent;
    // Copies that passed the limiter while an earlier one still waited for its DH replace it.
    const superseded = hub.drops.superseded - before.superseded;
    const dh = spy.mock.calls.length;
    // Past the under-load burst the hub answers with cookie replies (the replayer cannot open them:
    // their key needs the network secret) instead of counting against the source's bucket.
    console.log(`replayed valid initiation x${n} from one source in 2 s: ${dh} reached the DH (burst ${LC.initiationBurst} + ${LC.initiationsPerSec}/s), ${superseded} replaced by a later copy while waiting, ${limited} rate-limited, ${cookies} cookie replies once under load, ${hub.drops.handshake_failed - before.handshake_failed} refused as replays`);
    expect(dh).toBeLessThanOrEqual(LC.initiationBurst + 2 * LC.initiationsPerSec + 1);
    expect(dh).toBeGreaterThanOrEqual(1);
    expect(limited + cookies + superseded).toBe(n - dh);
    expect(cookies).toBeGreaterThan(n - LC.underLoadBurst - 2 * LC.underLoadInitiationsPerSec - 1);
    expect(hub.drops.handshake_failed - before.handshake_failed).toBe(dh);
    expect(snapshot(m)).toEqual(snap);
  });

  it('the same replay from spoofed source endpoints: once under load, no DH, a cookie reply each; a real peer still handshakes', async () => {
    const m = await capturedMesh();
    const { w, a } = m;
    const hub = w.hub.link;
    const init = m.captured.find((c) => c.label === 'HandshakeInit/to-hub')!.data;
    const spy = vi.spyOn((hub as unknown as { responder: { handshake: Responder } }).responder.handshake, 'consumeInitiation');
    const before = { ...hub.drops };
    const snap = snapshot(m);
    const spoofed = (i: number) => udpPath({ address: `203.0.${113 + ((i >> 16) & 7)}.${(i >> 8) & 255}`, port: 1024 + (i & 0xffff) });

    // 1,000 sources at once: each has a fresh per-source bucket, so before the cookie replies every
    // one cost the DH (842 us each, docs/RELIABILITY.md). Now the under-load gauge runs dry first.
    const t0 = performance.now();
    for (let i = 0; i < 1_000; i++) hub.receive(init, spoofed(i));
    w.clock.advance(0); // the DH backlog's turn
    const burstMs = performance.now() - t0;
    const dhBurst = spy.mock.calls.length;
    const cookiesBurst = hub.drops.cookie_sent - before.cookie_sent;
    console.log(`replayed valid initiation from 1000 spoofed sources at once: ${dhBurst} reached the DH (under-load burst ${LC.underLoadBurst}), ${cookiesBurst} got a cookie reply; ${burstMs.toFixed(0)} ms in all`);
    expect(dhBurst).toBeLessThanOrEqual(LC.underLoadBurst);
    expect(cookiesBurst).toBe(1_000 - dhBurst);
    expect(hub.underLoad).toBe(true);
    expect(hub.drops.handshake_failed - before.handshake_failed).toBe(dhBurst); // all refused as replays

    // A sustained flood, 5,000 a second from ever new spoofed sources for 4 simulated seconds, while
    // peer a starts a fresh handshake with the hub: its first initiation gets a cookie, its retry
    // carries mac2 and is the only initiation of the flood that reaches the DH.
    const aCookies = a.link.stats.cookiesReceived;
    const aDone = a.link.stats.handshakesCompleted;
    a.link.rehandshake(w.hubKeys.publicKey);
    const perStep = 500;
    const steps = 40; // of 100 ms
    let floodNs = 0n;
    let sent = 0;
    for (let s = 0; s < steps; s++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < perStep; i++) hub.receive(init, spoofed(1_000 + sent++));
      floodNs += process.hrtime.bigint() - t;
      w.run(100);
    }
    const cookieUs = Number(floodNs) / 1000 / sent;
    const dhFlood = spy.mock.calls.length - dhBurst;
    const cookiesFlood = hub.drops.cookie_sent - before.cookie_sent - cookiesBurst;
    console.log(`sustained flood, ${sent} spoofed replays in ${(steps * 100) / 1000} s while under load: ${cookiesFlood} cookie replies (${sent} to spoofed sources, ${cookiesFlood - sent} to peer a), ${dhFlood} DH (peer a's proven retry); a cookie reply costs ${cookieUs.toFixed(1)} us (mac1 + mac2 check + seal), no DH`);
    expect(a.link.stats.cookiesReceived - aCookies).toBeGreaterThanOrEqual(1);
    expect(a.link.stats.handshakesCompleted - aDone).toBe(1);
    expect(a.link.hasSession(w.hubKeys.publicKey)).toBe(true);
    expect(dhFlood).toBe(1);
    // Every spoofed replay got a cookie reply; the hub sent one more to peer a.
    expect(cookiesFlood).toBe(sent + (a.link.stats.cookiesReceived - aCookies));
    expect(hub.underLoad).toBe(true);
    // a is still a member, and talks to the hub on its new session.
    const registered = w.hub.status().peers.map((p) => p.overlay);
    expect(registered).toContain('10.9.0.2');
    const { hubSessions: _h, aSessions: _a, ...rest } = snap as Record<string, unknown>;
    const { hubSessions: _h2, aSessions: _a2, ...restNow } = snapshot(m) as Record<string, unknown>;
    expect(restNow).toEqual(rest); // only the a <-> hub session indices changed (a's own rehandshake)
  });
});

describe('relay floods', () => {
  it('a non-member that knows the network secret (a session with the hub, no REGISTER) relays nothing', async () => {
    const m = await capturedMesh();
    const { w, a, b } = m;
    const sock = w.net.host('203.0.113.66').open(4444);
    const intruder = new Link({ udp: sock, keyPair: generateKeyPair(), psk: w.psk, clock: w.clock, wallClock: w.wall, log: testLogger('intruder') });
    const gotAtB = m.atB.length;
    const bReceived = b.link.stats.received;
    const relayBefore = w.hub.status();
    // A sealed peer-peer-looking datagram addressed to b, 2,000 times, plus to a and outside the network.
    const payload = new Uint8Array(1000).fill(7);
    for (let i = 0; i < 2_000; i++) {
      for (const dst of ['10.9.0.3', '10.9.0.2', '203.0.113.9']) {
        intruder.send(w.hubKeys.publicKey, encodeInner({ kind: InnerKind.RELAY_TO, overlay: ipv4ToU32(dst), datagram: payload }), udpPath(HUB_ENDPOINT));
      }
      if (i % 100 === 99) w.clock.advance(10);
    }
    w.run(2_000);
    expect(intruder.hasSession(w.hubKeys.publicKey), 'the hub accepts the handshake (it knows the secret)').toBe(true);
    const after = w.hub.status();
    console.log(`non-member relay flood: 6000 RELAY_TO, hub relay drops ${JSON.stringify(after.relayDrops)}, relayed ${after.relayedPackets - relayBefore.relayedPackets} packets`);
    // What the intruder's link queued beyond 64 while its handshake ran never left it.
    expect(after.relayDrops.unknown_sender! - relayBefore.relayDrops.unknown_sender!).toBe(6_000 - intruder.drops.queue_full);
    expect(after.relayedPackets).toBe(relayBefore.relayedPackets);
    expect(after.relayedBytes).toBe(relayBefore.relayedBytes);
    expect(after.peers.map((p) => p.overlay).sort()).toEqual(['10.9.0.2', '10.9.0.3', '10.9.0.4']);
    expect(m.atB.length).toBe(gotAtB);
    // b saw only its own traffic with the hub and a (no RELAY_FROM carrying the intruder's bytes).
    expect(b.link.drops.unknown_index + b.link.drops.auth_failed).toBe(0);
    expect(b.link.stats.received - bReceived).toBeLessThan(200);
    // and the members still talk.
    a.sendTo(ipv4ToU32('10.9.0.3'), ipMsg('still here'));
    w.run(500);
    expect(m.atB.at(-1)).toBe('still here');
    await intruder.close();
  });

  it('a node without the network secret gets no session and no answer at all', async () => {
    const m = await capturedMesh();
    const { w } = m;
    const sock = w.net.host('203.0.113.66').open(4444);
    let answers = 0;
    const outsider = new Link({ udp: sock, keyPair: generateKeyPair(), psk: derivePsk('guessing the secret, wrongly'), clock: w.clock, wallClock: w.wall, log: testLogger('outsider') });
    const seen: string[] = [];
    sock.onMessage((d, from) => {
      answers++; // replaces the link's handler: count whatever comes back
      seen.push(`${messageTypeOf(d)} from ${from.address}:${from.port}`);
    });
    const before = w.hub.status().linkDrops.bad_mac1!;
    const relayedBefore = w.hub.status().relayedPackets;
    for (let i = 0; i < 100; i++) {
      outsider.send(w.hubKeys.publicKey, encodeInner({ kind: InnerKind.RELAY_TO, overlay: ipv4ToU32('10.9.0.3'), datagram: new Uint8Array(100) }), udpPath(HUB_ENDPOINT));
      w.run(1_000);
    }
    expect(answers, seen.join(', ')).toBe(0);
    expect(w.hub.status().linkDrops.bad_mac1! - before).toBeGreaterThan(0);
    expect(w.hub.status().relayedPackets).toBe(relayedBefore);
    await outsider.close();
  });
});

describe('what each captured kind is', () => {
  it('the capture holds every outer type the floods replay', async () => {
    const m = await capturedMesh();
    const types = new Set(m.captured.map((c) => messageTypeOf(c.data)));
    for (const t of [MessageType.HandshakeInit, MessageType.HandshakeResp, MessageType.Transport, MessageType.HubKeyReq, MessageType.HubKeyResp]) expect(types.has(t)).toBe(true);
  });
});
