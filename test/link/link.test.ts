// The link runtime over the memory switch: handshake, traffic, roaming, mac1 before DH, rate limit,
// retransmit and give-up, rekey, hub key answer.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { buildHubKeyRequest, verifyHubKeyResponse } from '../../src/crypto/hub-key.js';
import { Link, type RemoteNode } from '../../src/link/link.js';
import { udpPath, type Path } from '../../src/link/path.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { MemoryUdpSwitch } from '../fakes/memory-udp.js';
import { testLogger } from '../fakes/logger.js';

const psk = derivePsk('a network secret of some length');

function pair(opts: { loss?: number; pskB?: Uint8Array; rehandshakeAfterSilenceMs?: number } = {}) {
  const clock = new ManualClock();
  let wall = 1_700_000_000_000;
  const sw = new MemoryUdpSwitch(clock, { loss: opts.loss ?? 0, delayMs: 5 }, 3);
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  const ua = sw.open('192.0.2.1', 1000);
  const ub = sw.open('192.0.2.2', 2000);
  const mk = (udp: typeof ua, keyPair: typeof ka, p = psk) =>
    new Link({
      udp,
      keyPair,
      psk: p,
      clock,
      wallClock: () => (wall += 1),
      log: testLogger('link'),
      answerHubKey: true,
      ...(opts.rehandshakeAfterSilenceMs !== undefined ? { rehandshakeAfterSilenceMs: opts.rehandshakeAfterSilenceMs } : {}),
    });
  const a = mk(ua, ka);
  const b = mk(ub, kb, opts.pskB ?? psk);
  const got = { a: [] as Array<[string, Path]>, b: [] as Array<[string, Path]> };
  a.onInner((_r: RemoteNode, pt, from) => got.a.push([Buffer.from(pt).toString(), from]));
  b.onInner((_r: RemoteNode, pt, from) => got.b.push([Buffer.from(pt).toString(), from]));
  return { clock, sw, ka, kb, ua, ub, a, b, got };
}

const text = (s: string) => new Uint8Array(Buffer.from(s));

describe('link', () => {
  it.each([
    ['a peer (rule on): a remote that forgot the session gets a new handshake after 15 s unanswered', 15_000, true],
    ['the hub (rule off): no handshake of its own, members speak every heartbeat', undefined, false],
  ])('%s', (_why, quietMs, heals) => {
    const t = pair(quietMs === undefined ? {} : { rehandshakeAfterSilenceMs: quietMs });
    t.a.send(t.kb.publicKey, text('first'), udpPath(t.ub.local));
    t.clock.advance(50);
    t.clock.advance(20_000); // the session is older than the quiet period
    t.b.forget(t.ka.publicKey); // b lost its session (e.g. a restarted hub's map left a out)
    for (let i = 0; i < 25; i++) {
      t.a.send(t.kb.publicKey, text(`n${i}`));
      t.clock.advance(1000);
    }
    const delivered = t.got.b.map(([s]) => s).filter((s) => s.startsWith('n'));
    expect(t.a.stats.handshakesInitiated).toBe(heals ? 2 : 1);
    expect(delivered.length > 0).toBe(heals);
  });

  it('queues during the handshake, then delivers both ways', () => {
    const t = pair();
    t.a.send(t.kb.publicKey, text('hello'), udpPath(t.ub.local));
    t.clock.advance(50);
    expect(t.got.b.map(([s]) => s)).toEqual(['hello']);
    t.b.send(t.ka.publicKey, text('back'));
    t.clock.advance(50);
    expect(t.got.a.map(([s]) => s)).toEqual(['back']);
    expect(t.a.stats.handshakesInitiated).toBe(1);
    expect(t.b.hasSession(t.ka.publicKey)).toBe(true);
  });

  it('retransmits a lost initiation with backoff and gives up after REKEY_ATTEMPT_TIME', () => {
    const t = pair({ loss: 1 });
    t.a.send(t.kb.publicKey, text('x'), udpPath(t.ub.local));
    t.clock.advance(10_000);
    expect(t.a.stats.handshakesInitiated).toBe(4); // 0, 1 s, 3 s, 7 s
    t.clock.advance(90_000);
    expect(t.a.drops.gave_up).toBe(1);
    const n = t.a.stats.handshakesInitiated;
    t.clock.advance(60_000);
    expect(t.a.stats.handshakesInitiated).toBe(n);
  });

  it('retries a rekey of a working session at REKEY_TIMEOUT (5 s + jitter), not every second, while the session keeps carrying traffic', () => {
    const t = pair();
    t.a.send(t.kb.publicKey, text('start'), udpPath(t.ub.local));
    t.clock.advance(100);
    expect(t.a.stats.handshakesInitiated).toBe(1);
    t.clock.advance(120_000); // the initiator's key is due for a rekey
    t.sw.quality = { loss: 1, delayMs: 5 }; // nothing gets through for a while
    t.a.send(t.kb.publicKey, text('due'));
    expect(t.a.stats.handshakesInitiated).toBe(2);
    t.clock.advance(4_900);
    expect(t.a.stats.handshakesInitiated).toBe(2); // a first handshake would have retried at 1 s and 3 s
    t.clock.advance(500);
    expect(t.a.stats.handshakesInitiated).toBe(3);
    t.sw.quality = { delayMs: 5 };
    t.clock.advance(6_000);
    t.a.send(t.kb.publicKey, text('after'));
    t.clock.advance(100);
    expect(t.got.b.map(([s]) => s)).toContain('after');
  });

  it('drops an initiation with the wrong network secret at mac1, before any DH, and never answers', () => {
    const t = pair({ pskB: derivePsk('another secret entirely!!') });
    t.a.send(t.kb.publicKey, text('x'), udpPath(t.ub.local));
    t.clock.advance(3000);
    expect(t.b.drops.bad_mac1).toBeGreaterThan(0);
    expect(t.b.drops.handshake_failed).toBe(0);
    expect(t.ua.received).toBe(0);
  });

  it('follows the remote to a new endpoint once a packet from there authenticates (roaming)', () => {
    const t = pair();
    t.a.send(t.kb.publicKey, text('one'), udpPath(t.ub.local));
    t.clock.advance(50);
    // a moves: a second socket carries its later packets.
    const moved = t.sw.open('192.0.2.9', 3000);
    const d: Uint8Array[] = [];
    t.ua.onMessage(() => undefined);
    // Re-home a's socket: send through the new socket by swapping in a link over it is not possible,
    // so forward a's next datagram from the new address by hand.
    const orig = t.ua.send.bind(t.ua);
    t.ua.send = (data, to) => {
      d.push(data);
      moved.send(data, to);
    };
    t.a.send(t.kb.publicKey, text('two'));
    t.clock.advance(50);
    expect(t.got.b.map(([s]) => s)).toEqual(['one', 'two']);
    expect(t.b.remote(t.ka.publicKey)?.path).toEqual(udpPath(moved.local));
    t.ua.send = orig;
  });

  it('rate-limits initiations per source after mac1', () => {
    const t = pair();
    for (let i = 0; i < 30; i++) t.a.rehandshake(t.kb.publicKey, udpPath(t.ub.local));
    t.clock.advance(20);
    expect(t.b.drops.rate_limited).toBeGreaterThan(0);
  });

  it('rekeys before REKEY_AFTER_TIME and keeps traffic flowing across the change', () => {
    const t = pair();
    t.a.send(t.kb.publicKey, text('start'), udpPath(t.ub.local));
    for (let i = 0; i < 40; i++) {
      t.clock.advance(5_000);
      t.a.send(t.kb.publicKey, text(`a${i}`));
      t.b.send(t.ka.publicKey, text(`b${i}`));
    }
    t.clock.advance(100);
    expect(t.a.stats.handshakesInitiated).toBeGreaterThanOrEqual(2);
    expect(t.got.b.length).toBe(41);
    expect(t.got.a.length).toBeGreaterThanOrEqual(39);
  });

  it('answers HUB_KEY_REQ only with the right secret', () => {
    const t = pair();
    const seen: Uint8Array[] = [];
    t.ua.onMessage((d) => seen.push(new Uint8Array(d)));
    const good = buildHubKeyRequest(psk);
    t.ua.send(good.message, t.ub.local);
    t.ua.send(buildHubKeyRequest(derivePsk('wrong wrong wrong wrong')).message, t.ub.local);
    t.clock.advance(50);
    expect(seen.length).toBe(1);
    expect(verifyHubKeyResponse(psk, seen[0]!, good.nonce)).toEqual(t.kb.publicKey);
  });
});
