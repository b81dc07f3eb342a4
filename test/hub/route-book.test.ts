// The hub's routes state (hub/route-book.ts): MAP_EXT only to members that asked (flag 0x02), on
// every change of verdicts; a new boot or a removal drops the member's offers.
import { describe, expect, it } from 'vitest';
import { RouteBook } from '../../src/hub/route-book.js';
import type { Member } from '../../src/hub/registry.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { RouteVerdict as V, type ExtRoute } from '../../src/wire/routes.js';
import { testLogger } from '../fakes/logger.js';

function member(name: string, last: number): Member {
  return {
    publicKey: new Uint8Array(32).fill(last), id: name, overlay: ipv4ToU32(`10.9.0.${last}`), name, bootId: 1n,
    reflexive: { address: '198.51.100.2', port: 1 }, lan: [], registeredMs: 0, lastHeartbeatMs: 0, relayedBytes: 0,
  };
}

describe('RouteBook', () => {
  const a = member('a', 2);
  const b = member('b', 3);
  const old = member('old', 4);
  const lan = { network: ipv4ToU32('192.168.50.0'), length: 24 };

  function setup() {
    const sent: Array<[string, number, ExtRoute[]]> = [];
    const members = [a, b, old];
    const book = new RouteBook({
      rules: [{ who: 'a', ...lan }],
      overlay: { network: ipv4ToU32('10.9.0.0'), length: 24 },
      log: testLogger(),
      member: (id) => members.find((m) => m.id === id),
      send: (m, v, routes) => sent.push([m.name, v, routes]),
    });
    return { book, sent };
  }

  it('sends MAP_EXT to members that asked, at registration and on each change; never to others', () => {
    const { book, sent } = setup();
    book.registered(b, true, true);
    book.registered(old, false, true);
    book.registered(a, false, true);
    expect(sent.map((s) => s[0])).toEqual(['b']);
    const v0 = sent[0]![1];
    book.offered(a, [lan]);
    expect(sent.at(-1)).toEqual(['b', v0 + 1, [{ owner: a.overlay, ...lan, verdict: V.ADMITTED }]]);
    book.offered(a, [lan]); // no change: nothing sent
    expect(sent.length).toBe(2);
  });

  it('a new boot and a removal drop the offers (and tell who asked)', () => {
    const { book, sent } = setup();
    book.registered(b, true, true);
    book.offered(a, [lan]);
    book.registered(a, false, true);
    expect(sent.at(-1)![2]).toEqual([]);
    book.offered(a, [lan]);
    book.removed(a);
    expect(sent.at(-1)![2]).toEqual([]);
    expect(book.current).toEqual([]);
  });
});
