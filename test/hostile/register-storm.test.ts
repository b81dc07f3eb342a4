// Issue 10, hub load: a REGISTER retransmitted because its answer was lost (or the hub was slow)
// must not make the hub send the whole map again per copy. Found by bench/load: an overloaded hub
// answered each retransmission with a full map, O(members) datagrams, and never caught up.
import { describe, expect, it } from 'vitest';
import { decodeControl, ControlType } from '../../src/wire/control.js';
import { decodeInner, InnerKind } from '../../src/wire/inner.js';
import { HUB_ENDPOINT, World } from '../vnet/world.js';

describe('register storm', () => {
  it('retransmitted REGISTERs get REGISTER_OK again but only one full map', async () => {
    const w = new World(5);
    w.startHub();
    for (let i = 0; i < 20; i++) await w.join(w.peer({ open: `198.51.100.${10 + i}` }, `10.9.0.${10 + i}`), 200);
    const late = w.peer({ open: '198.51.100.200' }, '10.9.0.200');
    const lateKey = Buffer.from(late.link.publicKey).toString('hex');
    const mapSeqs = new Set<number>();
    let registerOks = 0;
    const send = w.hub.link.send.bind(w.hub.link);
    w.hub.link.send = (key, pt, to) => {
      if (Buffer.from(key).toString('hex') === lateKey) {
        const inner = decodeInner(pt);
        if (inner.kind === InnerKind.CONTROL) {
          const msg = decodeControl(inner.body);
          if (msg.type === ControlType.MAP && msg.base === 0) mapSeqs.add(msg.seq);
          if (msg.type === ControlType.REGISTER_OK) registerOks++;
        }
      }
      return send(key, pt, to);
    };
    // Everything from the hub to the late peer is lost for 3.2 s: it retransmits REGISTER (0.5 s doubling).
    w.net.dropIf = (src, dst) => src.address === HUB_ENDPOINT.address && dst.address === '198.51.100.200' && w.clock.now() < until;
    const until = w.clock.now() + 3_200;
    await w.join(late, 10_000);
    expect(late.hubClient.state).toBe('registered');
    expect(registerOks).toBeGreaterThanOrEqual(3);
    // One full map of 21 members is 2 parts: its seqs, however often retransmitted, are one set.
    expect(mapSeqs.size).toBeLessThanOrEqual(4);
    expect(late.map.all().length).toBe(20);
  });
});
