// UdpSocket.copiesOnSend (issue 19 items 6-7, the hub's relay path and the peer's send path):
// TRANSPORT to a UDP path is sealed into one reused buffer when the socket copies before send
// returns, and every datagram still arrives intact, whatever its size; without that promise each
// datagram gets its own buffer (node:dgram).
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { Link } from '../../src/link/link.js';
import { udpPath } from '../../src/link/path.js';
import type { Endpoint } from '../../src/net/udp.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { MemoryUdpSwitch } from '../fakes/memory-udp.js';
import { testLogger } from '../fakes/logger.js';
import { MessageType } from '../../src/wire/outer.js';

const psk = derivePsk('a network secret of some length');

function pair(copies: boolean) {
  const clock = new ManualClock();
  const sw = new MemoryUdpSwitch(clock, { loss: 0, delayMs: 5 }, 3);
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  const ua = sw.open('192.0.2.1', 1000);
  const ub = sw.open('192.0.2.2', 2000);
  // What A's link hands its socket (the memory socket copies, as the native one does).
  const handed: Uint8Array[] = [];
  // The promise under test (the memory twin answers true, as the native socket does).
  ua.copiesOnSend = () => copies;
  const send = ua.send.bind(ua);
  ua.send = (d: Uint8Array, to: Endpoint) => {
    handed.push(d);
    send(d, to);
  };
  const mk = (udp: typeof ua, keyPair: typeof ka) => new Link({ udp, keyPair, psk, clock, wallClock: () => 1_700_000_000_000, log: testLogger('link') });
  const a = mk(ua, ka);
  const b = mk(ub, kb);
  const got: string[] = [];
  b.onInner((_r, pt) => got.push(Buffer.from(pt).toString()));
  a.send(kb.publicKey, Uint8Array.of(1), udpPath(ub.local));
  clock.advance(50);
  got.length = 0;
  handed.length = 0;
  return { clock, kb, a, got, handed };
}

describe('sealing into a reused buffer', () => {
  it.each([
    ['the socket copies (copiesOnSend): one buffer for every TRANSPORT', true, 1],
    ['no promise from the socket: a buffer per datagram', false, 50],
  ])('%s; 50 datagrams of mixed sizes sent in one turn all arrive intact and in order', (_why, copies, buffers) => {
    const t = pair(copies);
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      const s = `${i}:`.padEnd(1 + ((i * 97) % 1400), String.fromCharCode(97 + (i % 26)));
      sent.push(s);
      t.a.send(t.kb.publicKey, new Uint8Array(Buffer.from(s)));
    }
    t.clock.advance(50);
    expect(t.got).toEqual(sent);
    expect(t.handed.every((d) => d[0] === MessageType.Transport)).toBe(true);
    // Distinct memory: node's Buffer pool puts several fresh buffers in one ArrayBuffer, so count places.
    const places = new Map<ArrayBufferLike, Set<number>>();
    for (const d of t.handed) places.set(d.buffer, (places.get(d.buffer) ?? new Set()).add(d.byteOffset));
    expect([...places.values()].reduce((n, offsets) => n + offsets.size, 0)).toBe(buffers);
  });

  it('a plaintext larger than the buffer grows it', () => {
    const t = pair(true);
    const big = 'x'.repeat(3000);
    t.a.send(t.kb.publicKey, new Uint8Array(Buffer.from('small')));
    t.a.send(t.kb.publicKey, new Uint8Array(Buffer.from(big)));
    t.a.send(t.kb.publicKey, new Uint8Array(Buffer.from('small again')));
    t.clock.advance(50);
    expect(t.got).toEqual(['small', big, 'small again']);
  });
});
