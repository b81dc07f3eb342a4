import { describe, expect, it } from 'vitest';
import { classify, type ProbeObservations } from '../../src/nat/classify.js';

const pub = (port: number) => ({ address: '198.51.100.7', port });
const fresh = (...pairs: Array<[number, number | undefined]>) => pairs.map(([localPort, p]) => ({ localPort, ...(p === undefined ? {} : { observed: pub(p) }) }));
const base = (o: Partial<ProbeObservations>): ProbeObservations => ({ primary: { localPort: 5000 }, fresh: [], portMap: [], ...o });

describe('classify', () => {
  it.each<[string, ProbeObservations, object]>([
    ['same public endpoint toward both hub ports: EIM', base({ primary: { localPort: 5000, viaMain: pub(5000), viaProbe: pub(5000) } }), { mapping: 'eim' }],
    ['another port toward the probe port: EDM', base({ primary: { localPort: 5000, viaMain: pub(20000), viaProbe: pub(20001) } }), { mapping: 'edm' }],
    ['the probe port never answered (firewall, old hub): unknown', base({ primary: { localPort: 5000, viaMain: pub(5000) } }), { mapping: 'unknown' }],
    ['fresh sockets keep their local ports: preserved', base({ fresh: fresh([4001, 4001], [4002, 4002], [4003, 4003]) }), { allocation: 'preserved', delta: 0 }],
    ['fresh mappings step by 1: sequential', base({ fresh: fresh([4001, 20005], [4002, 20006], [4003, 20007]) }), { allocation: 'sequential', delta: 1 }],
    ['step 2 with another host\'s mapping in between: sequential, the smaller step', base({ fresh: fresh([4001, 20005], [4002, 20007], [4003, 20011]) }), { allocation: 'sequential', delta: 2 }],
    ['a NAT counting down: sequential, negative delta', base({ fresh: fresh([4001, 30000], [4002, 29999], [4003, 29998]) }), { allocation: 'sequential', delta: -1 }],
    ['large jumps: random', base({ fresh: fresh([4001, 20005], [4002, 51312], [4003, 1377]) }), { allocation: 'random', delta: 0 }],
    ['steps of both signs: random', base({ fresh: fresh([4001, 20005], [4002, 20009], [4003, 20001]) }), { allocation: 'random', delta: 0 }],
    ['only one fresh socket answered: unknown', base({ fresh: fresh([4001, 20005], [4002, undefined]) }), { allocation: 'unknown' }],
    ['reply from the other hub port arrived: address-dependent or looser', base({ filtering: { sameReply: true, otherReply: true } }), { filtering: 'address' }],
    ['only the same-port reply arrived: address-and-port-dependent', base({ filtering: { sameReply: true, otherReply: false } }), { filtering: 'address-port' }],
    ['no reply at all says nothing about filtering', base({ filtering: { sameReply: false, otherReply: false } }), { filtering: 'unknown' }],
    ['port-mapping protocols pass through', base({ portMap: ['natpmp', 'pcp'] }), { portMap: ['natpmp', 'pcp'] }],
  ])('%s', (_why, obs, want) => {
    expect(classify(obs)).toMatchObject(want);
  });
});
