import { describe, expect, it } from 'vitest';
import { choosePlan } from '../../src/nat/technique.js';
import type { NatClass } from '../../src/wire/nat-class.js';

const c = (mapping: NatClass['mapping'], allocation: NatClass['allocation'] = 'preserved', delta = 0): NatClass => ({ mapping, filtering: 'address-port', allocation, delta, portMap: [] });
const eim = c('eim');
const seq = c('edm', 'sequential', 1);
const rnd = c('edm', 'random');
const unk = c('unknown', 'unknown');
const rndPcp: NatClass = { ...rnd, portMap: ['pcp'] };
const eimUpnp: NatClass = { ...eim, portMap: ['upnp'] };

describe('choosePlan', () => {
  it.each<[string, NatClass | undefined, NatClass | undefined, string, string | undefined]>([
    ['both EIM: today\'s direct probing', eim, eim, 'direct', undefined],
    ['partner class unknown (an older peer): direct probing', eim, undefined, 'direct', undefined],
    ['own class unknown (old hub, no probe port): direct probing', unk, rnd, 'direct', undefined],
    ['sequential <-> sequential: both sweep (mirrored)', seq, seq, 'prediction', 'both'],
    ['sequential here, EIM there: just ping, the next port is the predicted one', seq, eim, 'prediction', 'hard'],
    ['EIM here, sequential there: sweep its window', eim, seq, 'prediction', 'easy'],
    ['random here, EIM there: open the birthday sockets', rnd, eim, 'birthday', 'hard'],
    ['EIM here, random there: send the paced birthday probes', eim, rnd, 'birthday', 'easy'],
    ['a zero-delta "sequential" is no prediction: random', c('edm', 'sequential', 0), eim, 'birthday', 'hard'],
    ['random <-> random: relay', rnd, rnd, 'relay', undefined],
    ['random <-> sequential: relay (a meeting needs ~250k packets)', rnd, seq, 'relay', undefined],
    ['sequential <-> random: relay, from the other side too', seq, rnd, 'relay', undefined],
    ['random behind a PCP gateway <-> random: the partner probes our mapping', rndPcp, rnd, 'portmap', undefined],
    ['random <-> random behind a PCP gateway: probe its mapping', rnd, rndPcp, 'portmap', undefined],
    ['sequential <-> random behind a PCP gateway: probe its mapping', seq, rndPcp, 'portmap', undefined],
    ['EIM <-> random behind a gateway: birthday stays (proven 20/20; no wait on a mapping)', eim, rndPcp, 'birthday', 'easy'],
    ['EIM behind a UPnP gateway <-> EIM: direct probing as before', eimUpnp, eim, 'direct', undefined],
  ])('%s', (_why, own, partner, technique, role) => {
    const p = choosePlan(own, partner);
    expect(p.technique).toBe(technique);
    expect(p.role).toBe(role);
    expect(p.reason.length).toBeGreaterThan(0);
  });

  it('says why a random <-> random pair is relayed', () => {
    expect(choosePlan(rnd, rnd).reason).toMatch(/both sides random-port EDM/);
    expect(choosePlan(rnd, seq).reason).toMatch(/sequential EDM \(~252k packets for 98 %\)/);
  });
});
