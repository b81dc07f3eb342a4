// LinkOptions.relayFrame (issue 19 item 6, a peer's relay leg): TRANSPORT for a relay path is sealed
// straight into a RELAY_TO frame after its header; the frame decodes as the RELAY_TO encodeInner
// would make, and the other side opens its datagram. Handshakes still go through `relay`.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { Link } from '../../src/link/link.js';
import { relayPath } from '../../src/link/path.js';
import { MemoryUdpSwitch } from '../fakes/memory-udp.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { testLogger } from '../fakes/logger.js';
import { decodeInner, encodeInner, InnerKind } from '../../src/wire/inner.js';
import { MessageType } from '../../src/wire/outer.js';

const psk = derivePsk('a network secret of some length');
const overlayA = 0x0a090002;
const overlayB = 0x0a090003;

function relayedPair() {
  const clock = new ManualClock();
  const sw = new MemoryUdpSwitch(clock, { loss: 0, delayMs: 5 }, 3);
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  // What reaches "the hub": [how, overlay, outer datagram], delivered by pump() one at a time.
  const wire: Array<{ via: 'relay' | 'frame'; to: number; from: number; datagram: Uint8Array }> = [];
  const frames: Uint8Array[] = [];
  const mk = (keyPair: typeof ka, self: number, ip: string) =>
    new Link({
      udp: sw.open(ip, 1000), keyPair, psk, clock, wallClock: () => 1_700_000_000_000, log: testLogger('link'),
      relay: (to, datagram) => wire.push({ via: 'relay', to, from: self, datagram: new Uint8Array(datagram) }),
      relayFrame: (frame) => {
        frames.push(frame);
        const m = decodeInner(frame);
        if (m.kind !== InnerKind.RELAY_TO) throw new Error('not a RELAY_TO');
        wire.push({ via: 'frame', to: m.overlay, from: self, datagram: m.datagram });
      },
    });
  const a = mk(ka, overlayA, '192.0.2.1');
  const b = mk(kb, overlayB, '192.0.2.2');
  const got: string[] = [];
  b.onInner((_r, pt) => got.push(Buffer.from(pt).toString()));
  // Handshakes take their DH in a later slice (link/handshake-backlog.ts): time passes too.
  const pump = () => {
    for (let i = 0; i < 100; i++) {
      const w = wire.shift();
      if (w) (w.to === overlayB ? b : a).receive(w.datagram, relayPath(w.from));
      else clock.advance(5);
    }
  };
  return { ka, kb, a, b, got, wire, frames, pump };
}

describe('sealing into the RELAY_TO frame', () => {
  it('the handshake goes through relay, TRANSPORT through relayFrame; the frames are RELAY_TO as encodeInner makes them and arrive intact', () => {
    const t = relayedPair();
    t.a.send(t.kb.publicKey, new Uint8Array(Buffer.from('first')), relayPath(overlayB));
    expect(t.wire.map((w) => w.via)).toEqual(['relay']); // the initiation
    t.pump();
    expect(t.got).toEqual(['first']);
    for (let i = 0; i < 20; i++) t.a.send(t.kb.publicKey, new Uint8Array(Buffer.from(`n${i}`.padEnd(1 + i * 60, '.'))));
    t.pump();
    expect(t.got.slice(1)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`.padEnd(1 + i * 60, '.')));
    expect(t.frames.length).toBeGreaterThanOrEqual(20);
    for (const f of t.frames) {
      const m = decodeInner(f);
      if (m.kind !== InnerKind.RELAY_TO) throw new Error('not a RELAY_TO');
      expect(m.overlay).toBe(overlayB);
      expect(m.datagram[0]).toBe(MessageType.Transport);
      expect(Buffer.from(encodeInner({ kind: InnerKind.RELAY_TO, overlay: overlayB, datagram: m.datagram })).equals(Buffer.from(f))).toBe(true);
    }
  });
});
