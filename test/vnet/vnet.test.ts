// The virtual internet's NATs behave as RFC 4787 names them.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../fakes/manual-clock.js';
import { natPresets, VirtualInternet, type NatConfig } from './vnet.js';
import type { Endpoint } from '../../src/net/udp.js';

function setup(cfg: NatConfig) {
  const clock = new ManualClock();
  const net = new VirtualInternet(clock);
  const nat = net.addNat('nat', '198.51.100.1', '192.168.1', cfg);
  const inside = net.host('192.168.1.2', nat).open(5000);
  const s1 = net.host('203.0.113.1').open(7000);
  const s2 = net.host('203.0.113.1').open(7001);
  const other = net.host('203.0.113.2').open(7000);
  const seen = new Map<string, Endpoint[]>();
  for (const [n, s] of [['s1', s1], ['s2', s2], ['other', other], ['inside', inside]] as const) {
    seen.set(n, []);
    s.onMessage((_d, from) => seen.get(n)!.push(from));
  }
  return { clock, net, nat, inside, s1, s2, other, seen };
}

describe('RFC 4787 NATs', () => {
  it.each([
    ['endpoint-independent mapping keeps one port for all destinations', natPresets.easy, true, true],
    ['address-dependent mapping keeps the port per destination IP', natPresets.addressDependent, true, false],
    ['address-and-port-dependent mapping uses a new port per destination', natPresets.symmetric, false, false],
  ])('%s', (_why, cfg, samePortSameIp, samePortOtherIp) => {
    const t = setup(cfg);
    t.inside.send(Buffer.from('x'), t.s1.local);
    t.inside.send(Buffer.from('x'), t.s2.local);
    t.inside.send(Buffer.from('x'), t.other.local);
    t.clock.advance(50);
    const p1 = t.seen.get('s1')![0]!.port;
    const p2 = t.seen.get('s2')![0]!.port;
    const p3 = t.seen.get('other')![0]!.port;
    expect(t.seen.get('s1')![0]!.address).toBe('198.51.100.1');
    expect(p1 === p2).toBe(samePortSameIp);
    expect(p1 === p3).toBe(samePortOtherIp);
  });

  it.each([
    ['endpoint-independent filtering admits anyone', natPresets.easy, true, true],
    ['address-dependent filtering admits other ports of a contacted IP only', natPresets.addressDependent, true, false],
    ['address-and-port-dependent filtering admits the contacted endpoint only', natPresets.home, false, false],
  ])('%s', (_why, cfg, fromSameIp, fromOtherIp) => {
    const t = setup(cfg);
    t.inside.send(Buffer.from('x'), t.s1.local);
    t.clock.advance(50);
    const mapped = t.seen.get('s1')![0]!;
    t.s1.send(Buffer.from('reply'), mapped);
    t.s2.send(Buffer.from('reply'), mapped);
    t.other.send(Buffer.from('reply'), mapped);
    t.clock.advance(50);
    const from = t.seen.get('inside')!.map((e) => e.port);
    expect(from.includes(7000) && t.seen.get('inside')!.some((e) => e.address === '203.0.113.1' && e.port === 7000)).toBe(true);
    expect(t.seen.get('inside')!.some((e) => e.port === 7001)).toBe(fromSameIp);
    expect(t.seen.get('inside')!.some((e) => e.address === '203.0.113.2')).toBe(fromOtherIp);
  });

  it('expires an idle mapping and does not hairpin', () => {
    const t = setup({ ...natPresets.easy, mappingTimeoutMs: 30_000 });
    t.inside.send(Buffer.from('x'), t.s1.local);
    t.clock.advance(50);
    const mapped = t.seen.get('s1')![0]!;
    t.clock.advance(31_000);
    t.s1.send(Buffer.from('late'), mapped);
    t.clock.advance(50);
    expect(t.seen.get('inside')).toEqual([]);
    const lan2 = t.net.host('192.168.1.3', t.nat).open(5000);
    lan2.send(Buffer.from('hairpin'), mapped);
    lan2.send(Buffer.from('lan'), t.inside.local);
    t.clock.advance(50);
    expect(t.net.drops.hairpin).toBe(1);
    expect(t.seen.get('inside')).toEqual([{ address: '192.168.1.3', port: 5000 }]);
  });
});
