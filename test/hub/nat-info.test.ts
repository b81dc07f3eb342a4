// The hub passes a member's NAT class in PUNCH only to members that sent one (NAT_INFO): an older
// peer, whose decoder refuses trailing bytes, gets the PUNCH it always got.
import { describe, expect, it } from 'vitest';
import type { PeerNode } from '../../src/peer/node.js';
import { ControlType, type ControlMessage } from '../../src/wire/control.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { natPresets } from '../vnet/vnet.js';
import { World } from '../vnet/world.js';

function punches(node: PeerNode): Array<Extract<ControlMessage, { type: ControlType.PUNCH }>> {
  const got: Array<Extract<ControlMessage, { type: ControlType.PUNCH }>> = [];
  const orig = node.hubClient.onControl.bind(node.hubClient);
  node.hubClient.onControl = (m: ControlMessage) => {
    if (m.type === ControlType.PUNCH) got.push(m);
    orig(m);
  };
  return got;
}

describe('hub: NAT class in PUNCH', () => {
  it('goes to members that sent a class, never to an older peer', async () => {
    const w = new World(11);
    w.startHub();
    const pa = w.peer({ nat: 'a', config: natPresets.home, lanIp: '192.168.1.2' }, '10.9.0.2', { nat: true });
    const pb = w.peer({ nat: 'b', config: natPresets.randomSymmetric, lanIp: '192.168.2.2' }, '10.9.0.3', { nat: true });
    const old = w.peer({ nat: 'c', config: natPresets.home, lanIp: '192.168.3.2' }, '10.9.0.4');
    for (const p of [pa, pb, old]) await w.join(p);
    await w.settle(Promise.all([w.natAgents.get(pa)!.classify(), w.natAgents.get(pb)!.classify()]));
    pa.natClassified();
    pb.natClassified();
    const toA = punches(pa);
    const toB = punches(pb);
    const toOld = punches(old);
    w.run(1_000);
    const member = (o: string) => w.hub.registry.byOverlay(ipv4ToU32(o))!;
    expect(member('10.9.0.2')).toMatchObject({ natInfo: true, nat: { mapping: 'eim' } });
    expect(member('10.9.0.3')).toMatchObject({ natInfo: true, nat: { mapping: 'edm', allocation: 'random' } });
    expect(member('10.9.0.4').natInfo).toBeFalsy();
    pa.hubClient.requestPunch(ipv4ToU32('10.9.0.4'));
    w.run(3_000);
    pa.hubClient.requestPunch(ipv4ToU32('10.9.0.3'));
    w.run(3_000);
    expect(toOld.length).toBeGreaterThan(0);
    expect(toOld.every((m) => m.nat === undefined)).toBe(true);
    expect(toA.find((m) => m.overlay === ipv4ToU32('10.9.0.4'))?.nat).toBeUndefined();
    expect(toA.find((m) => m.overlay === ipv4ToU32('10.9.0.3'))?.nat).toMatchObject({ mapping: 'edm', allocation: 'random' });
    expect(toB.find((m) => m.overlay === ipv4ToU32('10.9.0.2'))?.nat).toMatchObject({ mapping: 'eim' });
  });
});
