// Classification end to end on the virtual internet: the hub's probe responder (hub/probe-port.ts),
// the prober and classifier (src/nat) and the RFC 4787 NATs of test/vnet, one row per NAT type.
import { describe, expect, it } from 'vitest';
import { runClassification } from '../../src/nat/classifier.js';
import { Prober } from '../../src/nat/prober.js';
import { natPresets, type NatConfig } from '../vnet/vnet.js';
import { HUB_ENDPOINT, HUB_PROBE_PORT, World } from '../vnet/world.js';

async function classifyBehind(config: NatConfig | undefined, opts: { probePort?: boolean } = {}) {
  const w = new World(3);
  w.startHub(opts);
  const placement = config ? { nat: 'n', config, lanIp: '192.168.1.2' } : { open: '198.51.100.10' };
  const primary = w.socketAt(placement, 40000);
  const prober = new Prober(w.psk, w.clock, w.wall);
  primary.onMessage((d, from) => prober.onReply(d, from));
  const hostIp = primary.local.address;
  const result = await w.settle(
    runClassification({
      prober,
      primary: { send: (d, to) => primary.send(d, to), localPort: primary.local.port },
      openFresh: async () => w.net.open(hostIp),
      hub: HUB_ENDPOINT,
      probePort: HUB_PROBE_PORT,
    }),
  );
  await w.hub.close();
  return { result, w, prober };
}

describe('NAT classification on the virtual internet', () => {
  it.each<[string, NatConfig | undefined, object]>([
    ['open internet: EIM, ports preserved', undefined, { mapping: 'eim', allocation: 'preserved', filtering: 'address' }],
    ['Linux masquerade (EIM, APDF, preserving)', natPresets.preserving, { mapping: 'eim', allocation: 'preserved', filtering: 'address-port' }],
    ['full cone (EIM, EIF, sequential)', natPresets.easy, { mapping: 'eim', allocation: 'sequential', delta: 1, filtering: 'address' }],
    ['address-dependent mapping (ADM, ADF): the hub has one address, so it looks EIM', natPresets.addressDependent, { mapping: 'eim', filtering: 'address' }],
    ['sequential symmetric (APDM, delta 1)', natPresets.sequential, { mapping: 'edm', allocation: 'sequential', delta: 1, filtering: 'address-port' }],
    ['sequential symmetric, delta 4', { ...natPresets.sequential, delta: 4 }, { mapping: 'edm', allocation: 'sequential', delta: 4 }],
    ['random symmetric (fully-random)', natPresets.randomSymmetric, { mapping: 'edm', allocation: 'random', filtering: 'address-port' }],
  ])('%s', async (_why, config, want) => {
    const { result } = await classifyBehind(config);
    expect(result.udp).toBe(true);
    expect(result.nat).toMatchObject(want);
    expect(result.hubRttMs.main).toBeGreaterThan(0);
    expect(result.hubRttMs.probe).toBeGreaterThan(0);
  });

  it('a hub without a probe port (an older hub): mapping unknown, nothing breaks', async () => {
    const { result } = await classifyBehind(natPresets.home, { probePort: false });
    expect(result.nat).toMatchObject({ mapping: 'unknown', allocation: 'unknown' });
  });
});
