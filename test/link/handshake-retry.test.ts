// When our handshake retries (src/link/handshake-retry.ts), as a table; then the behaviour it is
// for, over the memory switch: a responder whose DH backlog is full and N initiators. Refused in
// silence (main before this), each initiator kept retrying every 5 s (a rekey) or 1-5 s (a first
// handshake) for as long as the backlog stayed full; now the refusal is a cookie reply and they
// back off, and still complete (rekeys before REJECT_AFTER_TIME) once the backlog has room.
import { describe, expect, it, vi } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import * as LC from '../../src/link/constants.js';
import { handshakeRetryDelayMs } from '../../src/link/handshake-retry.js';
import { Link } from '../../src/link/link.js';
import { udpPath } from '../../src/link/path.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { MemoryUdpSwitch } from '../fakes/memory-udp.js';
import { testLogger } from '../fakes/logger.js';

describe('handshake retry delay', () => {
  it.each([
    ['first handshake, 1st attempt: retry in 1 s (registration waits on it)', 1, false, false, 1_000],
    ['first handshake, 3rd attempt: doubling', 3, false, false, 4_000],
    ['first handshake, 6th attempt: capped at REKEY_TIMEOUT', 6, false, false, 5_000],
    ['rekey of a working session: REKEY_TIMEOUT from the start, flat (WireGuard)', 1, true, false, 5_000],
    ['rekey, 4th attempt, remote not loaded: still flat', 4, true, false, 5_000],
    ['first handshake to a loaded remote, 2nd attempt: as fast as ever (the retry that carries mac2)', 2, false, true, 2_000],
    ['first handshake to a loaded remote, 5th attempt: past REKEY_TIMEOUT', 5, false, true, 16_000],
    ['first handshake to a loaded remote, 9th attempt: capped', 9, false, true, LC.handshakeLoadedMaxRetryMs],
    ['rekey to a loaded remote, 2nd attempt: 10 s', 2, true, true, 10_000],
    ['rekey to a loaded remote, 7th attempt: capped', 7, true, true, LC.handshakeLoadedMaxRetryMs],
  ])('%s', (_why, attempts, rekey, loaded, ms) => {
    expect(handshakeRetryDelayMs(attempts, rekey, loaded)).toBe(ms);
  });

  it('a loaded rekey still gets at least 4 tries between REKEY_AFTER_TIME and REJECT_AFTER_TIME (60 s)', () => {
    let at = 0;
    let tries = 0;
    for (let a = 1; at < 60_000 - LC.rekeyAfterTimeJitterMs; a++) {
      tries++;
      at += handshakeRetryDelayMs(a, true, true) + LC.handshakeRetryJitterMs;
    }
    expect(tries).toBeGreaterThanOrEqual(4);
  });
});

describe('a responder whose DH backlog is full, and N initiators', () => {
  const psk = derivePsk('a network secret of some length');
  const N = 20;

  function net() {
    const clock = new ManualClock();
    let wall = 1_700_000_000_000;
    const sw = new MemoryUdpSwitch(clock, { loss: 0, delayMs: 5 }, 7);
    const mk = (address: string, port: number) => {
      const udp = sw.open(address, port);
      const keyPair = generateKeyPair();
      return { udp, keyPair, link: new Link({ udp, keyPair, psk, clock, wallClock: () => (wall += 1), log: testLogger('link') }) };
    };
    const hub = mk('192.0.2.1', 1000);
    const peers = Array.from({ length: N }, (_, i) => mk(`198.51.100.${1 + i}`, 2000 + i));
    // The hub's backlog stays full while `full` is set: every initiation past the cheap checks is refused.
    const backlog = (hub.link as unknown as { responder: { backlog: { offer: (...a: unknown[]) => string } } }).responder.backlog;
    const offer = backlog.offer.bind(backlog);
    const state = { full: false };
    vi.spyOn(backlog, 'offer').mockImplementation((...a: unknown[]) => (state.full ? 'full' : offer(...a)));
    const hubPath = udpPath(hub.udp.local);
    const send = () => {
      for (const p of peers) p.link.send(hub.keyPair.publicKey, Uint8Array.of(1), hubPath);
    };
    const initiated = () => peers.map((p) => p.link.stats.handshakesInitiated);
    return { clock, hub, peers, state, send, initiated };
  }

  it('rekeys: the refused initiators back off (at most 3 tries each in 25-31 s, not 5-7), and every one completes before its session expires', () => {
    const t = net();
    t.send();
    t.clock.advance(100);
    expect(t.peers.every((p) => p.link.stats.handshakesCompleted === 1)).toBe(true);
    // Traffic every second (a peer's heartbeats and ACKs), up to just before the first rekey is due.
    for (let s = 0; s < 119; s++) {
      t.send();
      t.clock.advance(1_000);
    }
    const before = t.initiated();
    t.state.full = true;
    for (let s = 0; s < 31; s++) {
      t.send();
      t.clock.advance(1_000);
    }
    const tries = t.initiated().map((n, i) => n - before[i]!);
    expect(Math.max(...tries)).toBeLessThanOrEqual(3); // 0, 5, 15 s (+ jitter); refused in silence: every 5 s, 5-7
    expect(Math.min(...tries)).toBeGreaterThanOrEqual(1);
    expect(t.hub.link.drops.backlog_full).toBe(tries.reduce((a, b) => a + b, 0));
    t.state.full = false;
    for (let s = 0; s < 28; s++) {
      t.send();
      t.clock.advance(1_000);
    }
    // Session made at ~0 s; now ~178 s: every rekey done, none gave up, no session lapsed.
    expect(t.peers.map((p) => p.link.stats.handshakesCompleted)).toEqual(t.peers.map(() => 2));
    expect(t.peers.every((p) => p.link.hasSession(t.hub.keyPair.publicKey))).toBe(true);
  });

  it('first handshakes: at most 7 tries each in 60 s of a full backlog (14 in silence), then all register before giving up', () => {
    const t = net();
    t.state.full = true;
    t.send();
    t.clock.advance(60_000);
    const tries = t.initiated();
    expect(Math.max(...tries)).toBeLessThanOrEqual(7); // 0, 1, 3, 7, 15, 31, 51 s (+ jitter)
    t.state.full = false;
    t.clock.advance(LC.handshakeGiveUpMs - 60_000 - 1);
    expect(t.peers.every((p) => p.link.hasSession(t.hub.keyPair.publicKey))).toBe(true);
    expect(t.peers.reduce((s, p) => s + p.link.drops.gave_up, 0)).toBe(0);
  });
});
