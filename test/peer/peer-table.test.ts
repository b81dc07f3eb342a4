// The RemotePeer records and their table: one record per key, routed by its prefixes, a conv from
// both boot ids, a channel that survives a re-listing with the same boot id and not a restart, a
// departed record kept (with its channel) for departedChannelKeepMs, and the source check.
import { describe, expect, it } from 'vitest';
import type { DataChannel } from '../../src/peer/channel.js';
import { pairConv } from '../../src/peer/conv.js';
import type { PeerInfo } from '../../src/peer/peer-map.js';
import { departedChannelKeepMs, RemotePeers } from '../../src/peer/peer-table.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { ManualClock } from '../fakes/manual-clock.js';

const ip = ipv4ToU32;

function info(overlay: string, key: number, bootId = 7n): PeerInfo {
  const publicKey = new Uint8Array(32).fill(key);
  return { publicKey, id: Buffer.from(publicKey).toString('hex'), overlay: ip(overlay), name: `k${key}`, bootId, reflexive: { address: '0.0.0.0', port: 0 }, lan: [] };
}

/** A channel that only records whether it was closed. */
function fakeChannel(conv: number): DataChannel & { closed: boolean } {
  return {
    conv, closed: false,
    send: () => true, input: () => 'ok', receive: () => undefined, flush: () => {},
    stats: () => ({ retransmits: 0, waitSnd: 0, srttMs: 0, lanes: 0 }),
    close() {
      this.closed = true;
    },
  };
}

function setup() {
  const clock = new ManualClock();
  const table = new RemotePeers({ bootId: 1n, clock, random01: () => 0.5 });
  return { clock, table };
}

describe('RemotePeers', () => {
  it('routes a listed peer\'s overlay address to its record and gives it the pair\'s conv', () => {
    const { table } = setup();
    const b = table.upsert(info('10.9.0.3', 3));
    expect(table.lookup(ip('10.9.0.3'))).toBe(b);
    expect(table.lookup(ip('10.9.0.4'))).toBeUndefined();
    expect(table.get(b.id)).toBe(b);
    expect(b.conv).toBe(pairConv(1n, 7n));
    expect(b.relay).toEqual({ kind: 'relay', overlay: ip('10.9.0.3') });
  });

  it.each([
    ['the same boot id (a restarted hub lists it again): the channel stays', 7n, false],
    ['a new boot id (the peer restarted): new conv, the channel closes', 8n, true],
  ])('re-listed with %s', (_why, bootId, closed) => {
    const { table } = setup();
    const b = table.upsert(info('10.9.0.3', 3));
    const ch = (b.channel = fakeChannel(b.conv));
    expect(table.upsert(info('10.9.0.3', 3, bootId))).toBe(b);
    expect(ch.closed).toBe(closed);
    expect(b.channel === undefined).toBe(closed);
    expect(b.conv).toBe(pairConv(1n, bootId));
  });

  it('forgets a departed peer without a channel at once', () => {
    const { table } = setup();
    const b = table.upsert(info('10.9.0.3', 3));
    table.remove(b.id);
    expect(table.get(b.id)).toBeUndefined();
    expect(table.lookup(ip('10.9.0.3'))).toBeUndefined();
  });

  it('keeps a departed peer with a channel, unlisted, for departedChannelKeepMs; listed again it is the same record', () => {
    const { clock, table } = setup();
    const b = table.upsert(info('10.9.0.3', 3));
    const ch = (b.channel = fakeChannel(b.conv));
    const paths = b.paths;
    table.remove(b.id);
    expect(b.listed).toBe(false);
    expect(b.paths).not.toBe(paths); // path state starts over, as when the peer left before
    expect(table.lookup(ip('10.9.0.3'))).toBe(b);
    expect(table.upsert(info('10.9.0.3', 3))).toBe(b);
    expect(b.listed).toBe(true);
    clock.advance(departedChannelKeepMs);
    expect(ch.closed).toBe(false);
    table.remove(b.id);
    clock.advance(departedChannelKeepMs);
    expect(ch.closed).toBe(true);
    expect(table.get(b.id)).toBeUndefined();
    expect(table.lookup(ip('10.9.0.3'))).toBeUndefined();
  });

  it('a new key taking a departed peer\'s address takes its route, and the old record goes', () => {
    const { table } = setup();
    const old = table.upsert(info('10.9.0.3', 3));
    const ch = (old.channel = fakeChannel(old.conv));
    table.remove(old.id);
    const next = table.upsert(info('10.9.0.3', 4));
    expect(table.lookup(ip('10.9.0.3'))).toBe(next);
    expect(ch.closed).toBe(true);
    expect(table.get(old.id)).toBeUndefined();
  });

  it('a peer whose address changed keeps its record; the route and relay path follow it', () => {
    const { table } = setup();
    const b = table.upsert(info('10.9.0.3', 3));
    table.upsert(info('10.9.0.5', 3));
    expect(table.lookup(ip('10.9.0.3'))).toBeUndefined();
    expect(table.lookup(ip('10.9.0.5'))).toBe(b);
    expect(b.relay).toEqual({ kind: 'relay', overlay: ip('10.9.0.5') });
  });
});

describe('RemotePeer.admits (the inbound source check)', () => {
  const { table } = setup();
  const b = table.upsert(info('10.9.0.3', 3));
  const withSubnet = table.upsert(info('10.9.0.4', 4));
  // What the routes work adds: an advertised subnet is one more prefix and one more route.
  table.setPrefixes(withSubnet, [...withSubnet.prefixes, { network: ip('192.168.50.0'), length: 24 }]);
  it.each([
    ['its own overlay address', b, '10.9.0.3', true],
    ['another peer\'s overlay address (spoofed)', b, '10.9.0.4', false],
    ['an address outside the overlay', b, '192.0.2.50', false],
    ['its advertised subnet', withSubnet, '192.168.50.7', true],
    ['its own address next to the subnet', withSubnet, '10.9.0.4', true],
    ['beside the advertised subnet', withSubnet, '192.168.51.7', false],
  ])('%s', (_why, peer, src, ok) => {
    expect(peer.admits(ip(src))).toBe(ok);
  });
  it('routes the advertised subnet to its record', () => {
    expect(table.lookup(ip('192.168.50.200'))).toBe(withSubnet);
  });
});
