// The link runtime over the memory switch: handshake, traffic, roaming, mac1 before DH, rate limit,
// retransmit and give-up, rekey (and its jitter), hub key answer, cookie replies under load.
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { cookieReplyKey, initiationMac1, openCookieReply, writeMac2 } from '../../src/crypto/cookie.js';
import { createInitiation } from '../../src/crypto/handshake.js';
import type { CryptoBackends } from '../../src/crypto/backends.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { Noise } from '../../src/crypto/noise.js';
import { nodeNoise } from '../../src/crypto/noise-node.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { buildHubKeyRequest, verifyHubKeyResponse } from '../../src/crypto/hub-key.js';
import * as LC from '../../src/link/constants.js';
import { Link, type LinkOptions, type RemoteNode } from '../../src/link/link.js';
import { udpPath, type Path } from '../../src/link/path.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { MemoryUdpSwitch } from '../fakes/memory-udp.js';
import { testLogger } from '../fakes/logger.js';
import { INIT_MAC2_OFFSET } from '../../src/wire/handshake.js';
import { MessageType, messageTypeOf } from '../../src/wire/outer.js';

const psk = derivePsk('a network secret of some length');

type Extra = Pick<LinkOptions, 'underLoad' | 'randomU32'>;

function pair(opts: { loss?: number; pskB?: Uint8Array; rehandshakeAfterSilenceMs?: number; a?: Extra; b?: Extra } = {}) {
  const clock = new ManualClock();
  let wall = 1_700_000_000_000;
  const sw = new MemoryUdpSwitch(clock, { loss: opts.loss ?? 0, delayMs: 5 }, 3);
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  const ua = sw.open('192.0.2.1', 1000);
  const ub = sw.open('192.0.2.2', 2000);
  const mk = (udp: typeof ua, keyPair: typeof ka, p = psk, extra: Extra = {}) =>
    new Link({
      ...extra,
      udp,
      keyPair,
      psk: p,
      clock,
      wallClock: () => (wall += 1),
      log: testLogger('link'),
      answerHubKey: true,
      ...(opts.rehandshakeAfterSilenceMs !== undefined ? { rehandshakeAfterSilenceMs: opts.rehandshakeAfterSilenceMs } : {}),
    });
  const a = mk(ua, ka, psk, opts.a);
  const b = mk(ub, kb, opts.pskB ?? psk, opts.b);
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
    t.clock.advance(120_000 + LC.rekeyAfterTimeJitterMs); // the initiator's key is due for a rekey, whatever its jitter
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
    const good = buildHubKeyRequest(psk, 1_700_000_000_000);
    t.ua.send(good.message, t.ub.local);
    t.ua.send(buildHubKeyRequest(derivePsk('wrong wrong wrong wrong'), 1_700_000_000_000).message, t.ub.local);
    t.clock.advance(50);
    expect(seen.length).toBe(1);
    expect(verifyHubKeyResponse(psk, seen[0]!, good.nonce)).toEqual(t.kb.publicKey);
  });

  it('answers a captured HUB_KEY_REQ once: a replay, from any source, is ignored and counted', () => {
    const t = pair();
    const answers: string[] = [];
    const good = buildHubKeyRequest(psk, 1_700_000_000_000);
    const sockets = [t.ua, t.sw.open('192.0.2.1', 1001), t.sw.open('198.51.100.7', 3000)];
    for (const u of sockets) u.onMessage((_d, from) => answers.push(`${u.local.address}:${u.local.port}<-${from.port}`));
    for (const u of sockets) u.send(good.message, t.ub.local);
    t.clock.advance(60_000);
    t.ua.send(good.message, t.ub.local); // a minute later: still fresh, still a replay
    t.clock.advance(50);
    expect(answers).toEqual(['192.0.2.1:1000<-2000']);
    expect(t.b.drops.hub_key_replayed).toBe(3);
  });

  it.each([
    ['captured 10 minutes ago', -600_000],
    ['captured a day ago', -86_400_000],
    ['stamped 4 minutes ahead', 240_000],
  ])('ignores a HUB_KEY_REQ %s (outside the 3-minute window), before its MAC', (_why, offsetMs) => {
    const t = pair();
    const seen: Uint8Array[] = [];
    t.ua.onMessage((d) => seen.push(new Uint8Array(d)));
    t.ua.send(buildHubKeyRequest(psk, 1_700_000_000_000 + offsetMs).message, t.ub.local);
    t.clock.advance(50);
    expect(seen.length).toBe(0);
    expect(t.b.drops.hub_key_stale).toBe(1);
    expect(t.b.drops.bad_mac1).toBe(0);
  });

  it('limits HUB_KEY_REQ per source IP, whatever the port: 200 fresh requests from rotating ports get the burst', () => {
    const t = pair();
    let answers = 0;
    for (let i = 0; i < 200; i++) {
      const u = t.sw.open('203.0.113.9', 10_000 + i);
      u.onMessage(() => answers++);
      u.send(buildHubKeyRequest(psk, 1_700_000_000_000).message, t.ub.local);
    }
    t.clock.advance(50);
    expect(answers).toBe(LC.hubKeyRequestBurst);
    expect(t.b.drops.rate_limited).toBe(200 - LC.hubKeyRequestBurst);
    // Another address is not held up by that one.
    const other = t.sw.open('198.51.100.20', 5000);
    let otherAnswers = 0;
    other.onMessage(() => otherAnswers++);
    other.send(buildHubKeyRequest(psk, 1_700_000_000_000).message, t.ub.local);
    t.clock.advance(50);
    expect(otherAnswers).toBe(1);
  });

  it('logs a handshake refused as stale at warn with the measured skew, once per remote per minute', () => {
    const clock = new ManualClock();
    const sw = new MemoryUdpSwitch(clock, { delayMs: 1 }, 9);
    const lines: Array<{ level: number; msg: string; skewS?: number }> = [];
    const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const kb = generateKeyPair();
    const wallB = 1_700_000_000_000;
    const b = new Link({ udp: sw.open('192.0.2.2', 2000), keyPair: kb, psk, clock, wallClock: () => wallB + clock.now(), log });
    const ka = generateKeyPair();
    const ua = sw.open('192.0.2.1', 1000);
    // a's clock is 5 minutes behind b's: every initiation it makes is stale at b.
    const send = (i: number) => ua.send(createInitiation({ keyPair: ka, psk }, kb.publicKey, i, wallB + clock.now() - 300_000 + i).message, { address: '192.0.2.2', port: 2000 });
    send(1);
    clock.advance(10);
    send(2);
    clock.advance(10);
    const warns = () => lines.filter((l) => l.level === 40);
    expect(warns()).toHaveLength(1);
    expect(warns()[0]!.skewS).toBe(-300);
    expect(warns()[0]!.msg).toMatch(/refused as stale: the remote's clock is 300 s behind ours/);
    expect(b.lastStaleHandshake?.remote).toBe(Buffer.from(ka.publicKey).toString('base64'));
    expect(Math.round(b.lastStaleHandshake!.skewMs / 1000)).toBe(-300);
    expect(b.drops.handshake_failed).toBe(2);
    clock.advance(61_000);
    send(3);
    clock.advance(10);
    expect(warns()).toHaveLength(2);
  });

  it('sends no more bytes than a HUB_KEY_REQ carried', () => {
    const t = pair();
    const sizes: number[] = [];
    t.ua.onMessage((d) => sizes.push(d.byteLength));
    const req = buildHubKeyRequest(psk, 1_700_000_000_000).message;
    t.ua.send(req, t.ub.local);
    t.clock.advance(50);
    expect(sizes).toEqual([64]);
    expect(sizes[0]).toBeLessThanOrEqual(req.byteLength);
  });
});

/** Every jitter draw is `j` (value % (max + 1)), and indices stay distinct. */
const drawing = (j: number) => {
  let n = 1;
  return () => (n++ * (LC.rekeyAfterTimeJitterMs + 1) + j) >>> 0;
};

describe('link: rekey jitter', () => {
  it.each([
    ['no jitter drawn: rekeys at REKEY_AFTER_TIME', 0],
    ['3 s drawn: rekeys 3 s later', 3_000],
    ['the largest draw', LC.rekeyAfterTimeJitterMs],
  ])('%s', (_why, j) => {
    const t = pair({ a: { randomU32: drawing(j) } });
    t.a.send(t.kb.publicKey, text('start'), udpPath(t.ub.local));
    t.clock.advance(10); // the session is made at +10 ms (5 ms each way)
    t.clock.advance(120_000 + j - 1);
    t.a.send(t.kb.publicKey, text('not yet'));
    expect(t.a.stats.handshakesInitiated).toBe(1);
    t.clock.advance(1);
    t.a.send(t.kb.publicKey, text('due'));
    expect(t.a.stats.handshakesInitiated).toBe(2);
  });
});

describe('link: a remote in use rekeys on time', () => {
  // a sends to b every 20 s (as a peer heartbeats the hub); the session is made at +10 ms.
  function inUse(j: number, beats = 5) {
    const t = pair({ a: { randomU32: drawing(j) } });
    t.a.send(t.kb.publicKey, text('start'), udpPath(t.ub.local));
    t.clock.advance(10);
    for (let i = 1; i <= beats; i++) {
      t.clock.advance(20_000);
      t.a.send(t.kb.publicKey, text(`hb${i}`));
    }
    return t; // at +10 + beats * 20,000: last send now
  }

  it.each([0, 3_000, LC.rekeyAfterTimeJitterMs])('jitter %i ms: the handshake starts the moment the session is due, with nothing sent then', (j) => {
    const t = inUse(j);
    t.clock.advance(20_000 + j - 1);
    expect(t.a.stats.handshakesInitiated).toBe(1);
    t.clock.advance(1);
    expect(t.a.stats.handshakesInitiated).toBe(2);
    t.clock.advance(20);
    // A broadcast now (every peer ACKs a map change) finds the new session: no handshake on send.
    for (let i = 0; i < 10; i++) t.a.send(t.kb.publicKey, text(`ack${i}`));
    t.clock.advance(20);
    expect(t.a.stats.handshakesInitiated).toBe(2);
    expect(t.got.b.map(([s]) => s)).toContain('ack9');
  });

  it(`a remote not sent to for over ${LC.rekeyInUseWithinMs / 1000} s is left alone until its next send (WireGuard's rule)`, () => {
    const t = inUse(0, 4); // a stops sending at +80,010; the session is due at +120,010
    t.clock.advance(40_000);
    expect(t.a.stats.handshakesInitiated).toBe(1);
    t.clock.advance(50_000); // +170,010: still inside REJECT_AFTER_TIME
    expect(t.a.stats.handshakesInitiated).toBe(1);
    t.a.send(t.kb.publicKey, text('late'));
    expect(t.a.stats.handshakesInitiated).toBe(2);
  });

  it('the timer follows the session: re-armed by each rekey, gone after forget and close', () => {
    const t = inUse(0);
    for (let i = 0; i < 12; i++) {
      t.clock.advance(20_000);
      t.a.send(t.kb.publicKey, text(`more${i}`));
    }
    // Sessions at +10, +120,010(+rtt) and +240,020(+rtt): two rekeys on time in 340 s.
    expect(t.a.stats.handshakesInitiated).toBe(3);
    t.a.forget(t.kb.publicKey);
    t.b.forget(t.ka.publicKey);
    t.clock.advance(20); // nothing in flight
    expect(t.clock.pending).toBe(2); // the two housekeeping timers: forget took a's rekey timer
    t.a.send(t.kb.publicKey, text('again'), udpPath(t.ub.local));
    t.clock.advance(20);
    expect(t.got.b.map(([s]) => s)).toContain('again');
    expect(t.clock.pending).toBe(3); // and the new session's rekey timer
    void t.a.close();
    void t.b.close();
    expect(t.clock.pending).toBe(0);
  });
});

describe('link: cookie replies under load', () => {
  // b is permanently under load: its gauge has no tokens (every initiation passing mac1 finds it dry).
  const alwaysLoaded = { underLoad: { initiationsPerSec: 0, burst: 0 } };

  /** What reaches a socket, by outer type, while the link still handles it. */
  function tap(link: Link, at: { type: string; ms: number; d: Uint8Array }[], clock: ManualClock) {
    const receive = link.receive.bind(link);
    link.receive = (d, from) => {
      at.push({ type: MessageType[messageTypeOf(d) ?? 0] ?? 'unknown', ms: clock.now(), d: new Uint8Array(d) });
      receive(d, from);
    };
  }

  it('under load: an initiation without mac2 gets exactly one COOKIE_REPLY and no DH; the retry carries a valid mac2 and completes', () => {
    const t = pair({ b: alwaysLoaded });
    const dh = vi.spyOn((t.b as unknown as { responder: { handshake: { consumeInitiation: (...a: unknown[]) => unknown } } }).responder.handshake, 'consumeInitiation');
    const atA: { type: string; ms: number; d: Uint8Array }[] = [];
    const atB: typeof atA = [];
    tap(t.a, atA, t.clock);
    tap(t.b, atB, t.clock);
    const t0 = t.clock.now();
    t.a.send(t.kb.publicKey, text('hello'), udpPath(t.ub.local));
    t.clock.advance(50);
    expect(atB.map((x) => x.type)).toEqual(['HandshakeInit']);
    expect(atB[0]!.d.subarray(INIT_MAC2_OFFSET).every((b) => b === 0)).toBe(true);
    expect(atA.map((x) => x.type)).toEqual(['CookieReply']);
    expect(atA[0]!.d.byteLength).toBeLessThan(atB[0]!.d.byteLength);
    expect(dh).not.toHaveBeenCalled();
    expect(t.b.drops.cookie_sent).toBe(1);
    expect(t.b.underLoad).toBe(true);
    expect(t.a.stats.cookiesReceived).toBe(1);
    expect(t.a.hasSession(t.kb.publicKey)).toBe(false);
    // No new storm: nothing more is sent until the usual first retry (1 s + up to 333 ms jitter).
    t.clock.advance(LC.handshakeFirstRetryMs - 60);
    expect(t.a.stats.handshakesInitiated).toBe(1);
    t.clock.advance(LC.handshakeRetryJitterMs + 100);
    expect(t.a.stats.handshakesInitiated).toBe(2);
    const retry = atB.filter((x) => x.type === 'HandshakeInit')[1]!;
    expect(retry.ms - t0).toBeGreaterThanOrEqual(LC.handshakeFirstRetryMs);
    expect(retry.d.subarray(INIT_MAC2_OFFSET).some((b) => b !== 0)).toBe(true);
    expect(dh).toHaveBeenCalledTimes(1);
    expect(t.b.drops.cookie_sent).toBe(1);
    expect(t.got.b.map(([s]) => s)).toEqual(['hello']);
    expect(t.a.hasSession(t.kb.publicKey)).toBe(true);
    expect(atA.filter((x) => x.type === 'CookieReply')).toHaveLength(1);
  });

  it('not under load: mac2 stays zero, no cookie reply, one round trip as before', () => {
    const t = pair();
    const atA: { type: string; ms: number; d: Uint8Array }[] = [];
    const atB: typeof atA = [];
    tap(t.a, atA, t.clock);
    tap(t.b, atB, t.clock);
    t.a.send(t.kb.publicKey, text('hello'), udpPath(t.ub.local));
    t.clock.advance(50);
    expect(atA.map((x) => x.type)).toEqual(['HandshakeResp']);
    expect(atB[0]!.d.subarray(INIT_MAC2_OFFSET).every((b) => b === 0)).toBe(true);
    expect(t.got.b.map(([s]) => s)).toEqual(['hello']);
    expect(t.b.underLoad).toBe(false);
    expect([t.b.drops.cookie_sent, t.a.stats.cookiesReceived, t.a.stats.handshakesInitiated]).toEqual([0, 0, 1]);
  });

  it('not under load: a wrong mac2 is ignored (behaviour as today)', () => {
    const t = pair();
    const dh = vi.spyOn((t.b as unknown as { responder: { handshake: { consumeInitiation: (...a: unknown[]) => unknown } } }).responder.handshake, 'consumeInitiation');
    const init = createInitiation({ keyPair: t.ka, psk }, t.kb.publicKey, 77, 1_700_000_100_000).message;
    writeMac2(init, new Uint8Array(16).fill(1)); // a cookie b never issued
    t.b.receive(init, udpPath(t.ua.local));
    t.clock.advance(0); // the DH backlog's turn
    expect(dh).toHaveBeenCalledTimes(1);
    expect(t.b.drops.cookie_sent).toBe(0);
  });

  it('the gauge decides: a burst over the threshold puts the node under load, and it ends a second after the last excess', () => {
    const t = pair({ b: { underLoad: { initiationsPerSec: 2, burst: 3 } } });
    const dh = vi.spyOn((t.b as unknown as { responder: { handshake: { consumeInitiation: (...a: unknown[]) => unknown } } }).responder.handshake, 'consumeInitiation');
    const init = createInitiation({ keyPair: t.ka, psk }, t.kb.publicKey, 77, 1_700_000_100_000).message;
    for (let i = 0; i < 5; i++) t.b.receive(init, udpPath({ address: '203.0.113.5', port: 1000 + i }));
    t.clock.advance(0); // the DH backlog's turn
    expect(dh).toHaveBeenCalledTimes(3); // the burst; the 4th ran the bucket dry
    expect(t.b.drops.cookie_sent).toBe(2);
    t.clock.advance(999);
    expect(t.b.underLoad).toBe(true);
    t.clock.advance(1);
    expect(t.b.underLoad).toBe(false);
  });

  it('under load, a valid mac2 proves the address and the limit is per IP: 40 ports of one address share one budget', () => {
    const t = pair({ b: alwaysLoaded });
    const dh = vi.spyOn((t.b as unknown as { responder: { handshake: { consumeInitiation: (...a: unknown[]) => unknown } } }).responder.handshake, 'consumeInitiation');
    const key = cookieReplyKey(psk, t.kb.publicKey);
    const ports = 40;
    let wall = 1_700_000_100_000;
    // An attacker that really owns 198.51.100.7: it receives a cookie at every port...
    const firsts = Array.from({ length: ports }, (_, i) => {
      const sock = t.sw.open('198.51.100.7', 3000 + i);
      const got = { sock, reply: undefined as Uint8Array | undefined, first: createInitiation({ keyPair: t.ka, psk }, t.kb.publicKey, 100 + i, (wall += 1)).message };
      sock.onMessage((d) => (got.reply = new Uint8Array(d)));
      t.b.receive(got.first, udpPath(sock.local));
      return got;
    });
    t.clock.advance(10);
    expect(t.b.drops.cookie_sent).toBe(ports);
    // ...and then proves every one of them at the same instant: one budget for the address.
    for (const [i, f] of firsts.entries()) {
      const next = createInitiation({ keyPair: t.ka, psk }, t.kb.publicKey, 200 + i, (wall += 1)).message;
      writeMac2(next, openCookieReply(key, f.reply!, initiationMac1(f.first))!);
      t.b.receive(next, udpPath(f.sock.local));
    }
    t.clock.advance(0); // the DH backlog's turn
    expect(dh).toHaveBeenCalledTimes(LC.underLoadIpBurst);
    expect(t.b.drops.rate_limited).toBe(ports - LC.underLoadIpBurst);
    expect(t.b.drops.cookie_sent).toBe(ports);
    // Another address has its own budget.
    const other = t.sw.open('198.51.100.8', 3000);
    let reply: Uint8Array | undefined;
    other.onMessage((d) => (reply = new Uint8Array(d)));
    const first = createInitiation({ keyPair: t.ka, psk }, t.kb.publicKey, 999, (wall += 1)).message;
    t.b.receive(first, udpPath(other.local));
    t.clock.advance(10);
    const next = createInitiation({ keyPair: t.ka, psk }, t.kb.publicKey, 1000, (wall += 1)).message;
    writeMac2(next, openCookieReply(key, reply!, initiationMac1(first))!);
    const calls = dh.mock.calls.length;
    t.b.receive(next, udpPath(other.local));
    t.clock.advance(0);
    expect(dh).toHaveBeenCalledTimes(calls + 1);
  });

  it('under load, a mac2 made for another source gets a cookie again, not the DH', () => {
    const t = pair({ b: alwaysLoaded });
    const dh = vi.spyOn((t.b as unknown as { responder: { handshake: { consumeInitiation: (...a: unknown[]) => unknown } } }).responder.handshake, 'consumeInitiation');
    const real = t.sw.open('198.51.100.7', 3000);
    let reply: Uint8Array | undefined;
    real.onMessage((d) => (reply = new Uint8Array(d)));
    const first = createInitiation({ keyPair: t.ka, psk }, t.kb.publicKey, 1, 1_700_000_100_000).message;
    t.b.receive(first, udpPath(real.local));
    t.clock.advance(10);
    const next = createInitiation({ keyPair: t.ka, psk }, t.kb.publicKey, 2, 1_700_000_100_001).message;
    writeMac2(next, openCookieReply(cookieReplyKey(psk, t.kb.publicKey), reply!, initiationMac1(first))!);
    t.b.receive(next, udpPath({ address: '203.0.113.9', port: 3000 })); // the same bytes from a spoofed source
    t.b.receive(next, udpPath({ address: '198.51.100.7', port: 3001 })); // same IP, another port
    expect(dh).not.toHaveBeenCalled();
    expect(t.b.drops.cookie_sent).toBe(3);
  });

  it('the initiator refuses a cookie reply it did not ask for, a tampered one, and a second one for the same initiation', () => {
    const t = pair({ b: alwaysLoaded });
    const replies: Uint8Array[] = [];
    const receive = t.a.receive.bind(t.a);
    t.a.receive = (d, from) => {
      if (messageTypeOf(d) === MessageType.CookieReply) replies.push(new Uint8Array(d));
      receive(d, from);
    };
    t.a.send(t.kb.publicKey, text('x'), udpPath(t.ub.local));
    t.clock.advance(50);
    expect([replies.length, t.a.stats.cookiesReceived]).toEqual([1, 1]);
    const reply = replies[0]!;
    t.a.receive(reply, udpPath(t.ub.local)); // a second reply for the same initiation
    expect(t.a.drops.bad_cookie).toBe(1);
    const other = new Uint8Array(reply);
    other[4]! ^= 1; // another receiver index: no pending initiation
    t.a.receive(other, udpPath(t.ub.local));
    expect(t.a.drops.unknown_index).toBe(1);
    t.clock.advance(LC.handshakeFirstRetryMs + LC.handshakeRetryJitterMs); // the retry, with mac2, completes the handshake
    expect(t.a.hasSession(t.kb.publicKey)).toBe(true);
    t.a.rehandshake(t.kb.publicKey); // a new initiation, with mac2 from the cookie a still holds
    const pendingIdx = [...t.a.table.pendingByIndex.keys()][0]!;
    const forged = new Uint8Array(reply);
    new DataView(forged.buffer).setUint32(4, pendingIdx, true);
    t.a.receive(forged, udpPath(t.ub.local)); // the pending index, but sealed for the first initiation's mac1
    expect(t.a.drops.bad_cookie).toBe(2);
    expect(t.a.stats.cookiesReceived).toBe(1);
    t.clock.advance(50);
    expect(t.b.drops.cookie_sent).toBe(1); // the rehandshake's mac2 was valid: no new cookie needed
    expect(t.a.hasSession(t.kb.publicKey)).toBe(true);
  });
});

describe('link: the DH backlog', () => {
  const spyDh = (l: Link) => vi.spyOn((l as unknown as { responder: { handshake: { consumeInitiation: (...a: unknown[]) => unknown } } }).responder.handshake, 'consumeInitiation');
  let wall = 1_700_000_050_000; // initiators' TAI64N, near the responder's wall clock
  /** n initiations to b from n fresh initiators, each on its own socket, all arriving at the same instant. */
  function burst(t: ReturnType<typeof pair>, n: number, address = '203.0.113.9') {
    const socks = Array.from({ length: n }, (_, i) => {
      const sock = t.sw.open(address, 5000 + i);
      const got: Uint8Array[] = [];
      sock.onMessage((d) => got.push(new Uint8Array(d)));
      sock.send(createInitiation({ keyPair: generateKeyPair(), psk }, t.kb.publicKey, 1 + i, (wall += 1)).message, t.ub.local);
      return got;
    });
    return socks;
  }

  it('a burst of initiations waits for its DH behind TRANSPORT that arrived with it, and is answered on the next turn', () => {
    const t = pair();
    t.a.send(t.kb.publicKey, text('first'), udpPath(t.ub.local));
    t.clock.advance(50);
    expect(t.got.b.map(([s]) => s)).toEqual(['first']);
    const dh = spyDh(t.b);
    const replies = burst(t, 50);
    t.a.send(t.kb.publicKey, text('during'), udpPath(t.ub.local)); // arrives together with the burst
    let dhWhenDelivered = -1;
    t.b.onInner((_r, pt) => {
      if (Buffer.from(pt).toString() === 'during') dhWhenDelivered = dh.mock.calls.length;
    });
    t.clock.advance(5); // every datagram is in: 50 initiations queued, the TRANSPORT handled at once
    expect(dhWhenDelivered).toBe(0);
    expect(t.b.handshakeBacklog).toBe(0); // and then worked through in the same instant (a test clock does not move)
    expect(dh).toHaveBeenCalledTimes(50);
    t.clock.advance(10);
    expect(replies.map((r) => r.map((d) => MessageType[messageTypeOf(d) ?? 0]))).toEqual(Array.from({ length: 50 }, () => ['HandshakeResp']));
    expect(t.b.drops.cookie_sent).toBe(0);
  });

  it('a retry from the same source replaces its waiting initiation in place (one DH, one answer, to the newer)', () => {
    const t = pair();
    const dh = spyDh(t.b);
    const sock = t.sw.open('203.0.113.10', 6000);
    const got: Uint8Array[] = [];
    sock.onMessage((d) => got.push(new Uint8Array(d)));
    const key = generateKeyPair();
    const first = createInitiation({ keyPair: key, psk }, t.kb.publicKey, 11, (wall += 1));
    const retry = createInitiation({ keyPair: key, psk }, t.kb.publicKey, 12, (wall += 1));
    sock.send(first.message, t.ub.local);
    sock.send(retry.message, t.ub.local);
    t.clock.advance(20);
    expect(t.b.drops.superseded).toBe(1);
    expect(dh).toHaveBeenCalledTimes(1);
    expect(got).toHaveLength(1);
    expect(new DataView(got[0]!.buffer, got[0]!.byteOffset).getUint32(8, true)).toBe(12); // receiver_index: the retry's sender index
  });

  it(`a backlog of ${LC.handshakeBacklogUnderLoad} puts the node under load: later unproven initiations get cookie replies, no DH`, () => {
    const t = pair();
    const dh = spyDh(t.b);
    const n = LC.handshakeBacklogUnderLoad + 72;
    expect(n).toBeLessThan(LC.underLoadBurst); // the rate gauge alone would not have tripped
    const replies = burst(t, n);
    t.clock.advance(20);
    expect(dh).toHaveBeenCalledTimes(LC.handshakeBacklogUnderLoad);
    expect(t.b.drops.cookie_sent).toBe(72);
    expect(t.b.underLoad).toBe(true);
    const types = replies.map((r) => MessageType[messageTypeOf(r[0]!) ?? 0]);
    expect(types.filter((x) => x === 'HandshakeResp')).toHaveLength(LC.handshakeBacklogUnderLoad);
    expect(types.filter((x) => x === 'CookieReply')).toHaveLength(72);
    t.clock.advance(LC.underLoadHoldMs);
    expect(t.b.underLoad).toBe(false);
  });
});

describe('link: the hot path and the crypto it is given', () => {
  it('TRANSPORT from where the remote already is keeps its Path object (none made per datagram)', () => {
    const t = pair();
    t.a.send(t.kb.publicKey, text('one'), udpPath(t.ub.local));
    t.clock.advance(50);
    const first = t.b.remote(t.ka.publicKey)!.path;
    for (let i = 0; i < 5; i++) t.a.send(t.kb.publicKey, text(`more ${i}`));
    t.clock.advance(50);
    expect(t.got.b).toHaveLength(6);
    expect(t.b.remote(t.ka.publicKey)!.path).toBe(first);
    expect(t.got.b.every(([, from]) => from === first)).toBe(true);
  });

  it('udpPath gives one Path per Endpoint object', () => {
    const e = { address: '192.0.2.9', port: 9 };
    const other = { address: '192.0.2.9', port: 9 };
    const p = udpPath(e);
    udpPath(other); // another endpoint asked for in between
    expect(udpPath(e)).toBe(p);
    expect(udpPath(other)).not.toBe(p);
    expect(udpPath(other)).toEqual(udpPath(e));
  });

  it('handshakes and sessions run on the crypto passed in (LinkOptions.crypto), not a process-wide one', () => {
    let dh = 0;
    let sealed = 0;
    const noise = new Noise({ ...nodeNoise, x25519: (priv, pub) => (dh++, nodeNoise.x25519(priv, pub)) });
    const crypto: CryptoBackends = {
      noise,
      aead: { aeadSeal: () => (sealed++, false), aeadOpen: () => -1 }, // declines: node:crypto does the work, same bytes
      names: { aead: 'node', noise: 'node' },
    };
    const clock = new ManualClock();
    const sw = new MemoryUdpSwitch(clock, { loss: 0, delayMs: 5 }, 3);
    const ka = generateKeyPair();
    const kb = generateKeyPair();
    const ub = sw.open('192.0.2.2', 2000);
    const a = new Link({ udp: sw.open('192.0.2.1', 1000), keyPair: ka, psk, clock, wallClock: () => 1_700_000_000_000 + clock.now(), log: testLogger('a'), crypto });
    const b = new Link({ udp: ub, keyPair: kb, psk, clock, wallClock: () => 1_700_000_000_000 + clock.now(), log: testLogger('b') });
    const got: string[] = [];
    b.onInner((_r, pt) => got.push(Buffer.from(pt).toString()));
    a.send(kb.publicKey, text('hi'), udpPath(ub.local));
    clock.advance(50);
    expect(got).toEqual(['hi']);
    expect(dh).toBeGreaterThanOrEqual(3); // the initiator's es, ss and the response's ee/se: a's DHs went through its backend
    expect(sealed).toBeGreaterThan(0);
    expect(b.crypto).not.toBe(crypto);
  });
});
