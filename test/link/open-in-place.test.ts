// LinkOptions.openInPlace (issue 19 session 7): with it, TRANSPORT is decrypted inside the received
// datagram and onInner gets a view of it (no buffer per datagram); without it (the hub), a fresh
// buffer that outlives the datagram. Needs the crypto addon (node:crypto always allocates).
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { nativeAead } from '../../src/crypto/native.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { Link, type RemoteNode } from '../../src/link/link.js';
import { udpPath } from '../../src/link/path.js';
import { takeFirst } from '../../src/net/udp-demux.js';
import type { UdpSocket } from '../../src/net/udp.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { MemoryUdpSwitch } from '../fakes/memory-udp.js';
import { testLogger } from '../fakes/logger.js';

const psk = derivePsk('a network secret of some length');

describe.skipIf(nativeAead() === undefined)('Link openInPlace', () => {
  it.each([
    { inPlace: true, why: 'the plaintext is the datagram after its 16-byte header' },
    { inPlace: false, why: 'the plaintext is a buffer of its own' },
  ])('openInPlace $inPlace: $why', ({ inPlace }) => {
    const clock = new ManualClock();
    const sw = new MemoryUdpSwitch(clock, { loss: 0, delayMs: 5 }, 3);
    const ka = generateKeyPair();
    const kb = generateKeyPair();
    const ua = sw.open('192.0.2.1', 1000);
    let last: Uint8Array | undefined;
    const ub = takeFirst(sw.open('192.0.2.2', 2000), (d) => ((last = d), false));
    const mk = (udp: UdpSocket, keyPair: typeof ka, openInPlace: boolean) =>
      new Link({ udp, keyPair, psk, clock, wallClock: () => 1_700_000_000_000, log: testLogger('link'), openInPlace });
    const a = mk(ua, ka, false);
    const b = mk(ub, kb, inPlace);
    const got: Array<{ text: string; view: boolean }> = [];
    b.onInner((_r: RemoteNode, pt) => {
      const view = pt.buffer === last!.buffer && pt.byteOffset === last!.byteOffset + 16;
      got.push({ text: Buffer.from(pt).toString(), view });
    });
    a.send(kb.publicKey, new Uint8Array(Buffer.from('hello')), udpPath({ address: '192.0.2.2', port: 2000 }));
    clock.advance(50);
    a.send(kb.publicKey, new Uint8Array(Buffer.from('again')));
    clock.advance(50);
    expect(got).toEqual([
      { text: 'hello', view: inPlace },
      { text: 'again', view: inPlace },
    ]);
  });
});
