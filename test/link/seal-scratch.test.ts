// The link seals into one scratch buffer when the socket copies before send returns (net/udp.ts
// copiesOnSend: the native socket, the memory twin), and into a fresh buffer otherwise (node:dgram,
// the hub's TCP leg and the relay keep theirs): issue 19 item 7, no ArrayBuffer per datagram.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { Link } from '../../src/link/link.js';
import { udpPath } from '../../src/link/path.js';
import type { Endpoint, UdpSocket } from '../../src/net/udp.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { MemoryUdpSwitch } from '../fakes/memory-udp.js';
import { testLogger } from '../fakes/logger.js';
import { MessageType } from '../../src/wire/outer.js';

const psk = derivePsk('a network secret of some length');

/** A socket over `inner` that records what the link hands it and says whether it copies. */
function recording(inner: UdpSocket, copies: boolean | undefined) {
  const handed: Uint8Array[] = [];
  const sock: UdpSocket = {
    local: inner.local,
    send: (d: Uint8Array, to: Endpoint) => {
      handed.push(d);
      inner.send(d, to);
    },
    onMessage: (h) => inner.onMessage(h),
    close: () => inner.close(),
    ...(copies === undefined ? {} : { copiesOnSend: () => copies }),
  };
  return { sock, handed };
}

function pair(copies: boolean | undefined) {
  const clock = new ManualClock();
  const sw = new MemoryUdpSwitch(clock, { loss: 0, delayMs: 5 }, 3);
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  const ua = recording(sw.open('192.0.2.1', 1000), copies);
  const ub = sw.open('192.0.2.2', 2000);
  const mk = (udp: UdpSocket, keyPair: typeof ka) => new Link({ udp, keyPair, psk, clock, wallClock: () => 1_700_000_000_000, log: testLogger('link') });
  const a = mk(ua.sock, ka);
  const b = mk(ub, kb);
  const got: string[] = [];
  b.onInner((_r, pt) => got.push(Buffer.from(pt).toString()));
  a.send(kb.publicKey, Buffer.from('hello'), udpPath(ub.local));
  clock.advance(50);
  return { clock, a, b, kb, ub, got, handed: ua.handed };
}

describe('link seal scratch', () => {
  it.each([
    [true, 1, 'the socket copies: every datagram sealed into the one scratch buffer'],
    [false, 20, 'the socket keeps the bytes: a fresh buffer each'],
    [undefined, 20, 'a socket that does not say: a fresh buffer each'],
  ])('copiesOnSend %s: %i distinct places for 20 datagrams (%s)', (copies, places, _why) => {
    const t = pair(copies);
    t.handed.length = 0;
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      const msg = `message ${i} ${'x'.repeat(i * 70)}`; // lengths vary: the view follows
      sent.push(msg);
      expect(t.a.send(t.kb.publicKey, Buffer.from(msg))).toBe(true);
    }
    t.clock.advance(50);
    expect(t.got).toEqual(['hello', ...sent]);
    expect(t.handed.every((d) => d[0] === MessageType.Transport)).toBe(true);
    // Where each datagram's bytes live (Buffer.allocUnsafe slices a shared pool: buffer and offset).
    const ids = new Map<ArrayBufferLike, number>();
    const place = (d: Uint8Array) => `${ids.get(d.buffer) ?? ids.set(d.buffer, ids.size).size - 1}@${d.byteOffset}`;
    expect(new Set(t.handed.map(place)).size).toBe(places);
  });

  it('a datagram longer than the scratch grows it, and stays correct', () => {
    const t = pair(true);
    const big = 'y'.repeat(5000);
    t.a.send(t.kb.publicKey, Buffer.from(big));
    t.a.send(t.kb.publicKey, Buffer.from('small'));
    t.clock.advance(50);
    expect(t.got).toEqual(['hello', big, 'small']);
  });
});
