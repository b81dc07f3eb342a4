// --hub-transport with several hubs (peer/hub-legs.ts, issue 24): each hub has its own leg. Two hubs
// on the in-memory twins (UDP switch, stream pairs, the hub's StreamHubSocket and probe responder) on
// a ManualClock; hub 2's UDP is blocked both ways: the peer reaches hub 2 over TCP within seconds
// while hub 1 stays on UDP, datagrams to each hub go on that hub's leg, and what the data plane
// reads is the home hub's leg.
import { describe, expect, it } from 'vitest';
import { transportProbeKey } from '../../src/crypto/transport-probe.js';
import { ProbeResponder } from '../../src/hub/transport-probe.js';
import { StreamHubSocket } from '../../src/net/stream-hub-socket.js';
import { endpointKey, type Endpoint } from '../../src/net/udp.js';
import { HubLegs } from '../../src/peer/hub-legs.js';
import { testLogger } from '../fakes/logger.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { MemoryUdpSwitch } from '../fakes/memory-udp.js';
import { streamPair } from '../fakes/memory-stream.js';

const hub1: Endpoint = { address: '203.0.113.2', port: 7000 };
const hub2: Endpoint = { address: '198.51.100.130', port: 7000 };
const peerEp: Endpoint = { address: '192.0.2.2', port: 5000 };
const probeKey = transportProbeKey(new Uint8Array(32).fill(7));

function hubAt(clock: ManualClock, sw: MemoryUdpSwitch, at: Endpoint) {
  const probes = new ProbeResponder(() => clock.now(), probeKey);
  const got: string[] = [];
  const hub: StreamHubSocket = new StreamHubSocket(sw.open(at.address, at.port), {
    clock,
    isProven: () => true, // the session the real link would prove
    intercept: (d, from) => probes.handle(d, from, (r, to) => hub.send(r, to)),
  });
  hub.onMessage((d, from) => got.push(`${d.toString()}@${endpointKey(from)}`));
  return { hub, got };
}

describe('hub legs, one per hub', () => {
  it("hub 2's UDP blocked: hub 2 over TCP, hub 1 still UDP, each hub's datagrams on its own leg", async () => {
    const clock = new ManualClock();
    const sw = new MemoryUdpSwitch(clock);
    const transmit = sw.transmit.bind(sw);
    sw.transmit = (from, data, to) => {
      if (to.address === hub2.address || from.local.address === hub2.address) return; // UDP to hub 2 blocked
      transmit(from, data, to);
    };
    const hubs = new Map([[endpointKey(hub1), hubAt(clock, sw, hub1)], [endpointKey(hub2), hubAt(clock, sw, hub2)]]);
    const connects: string[] = [];
    let nextPort = 40000;
    const switched: string[] = [];
    let home = hub1;
    const legs = new HubLegs({
      setting: 'auto', udp: sw.open(peerEp.address, peerEp.port), hubs: [hub1, hub2], tlsPort: 443, probeKey, clock, log: testLogger(),
      home: () => home,
      onSwitch: (hub, leg) => switched.push(`${endpointKey(hub)}:${leg}`),
      connect: async (to, kind) => {
        connects.push(`${kind}:${endpointKey(to)}`);
        const h = hubs.get(endpointKey(to))!;
        const remote = { address: peerEp.address, port: nextPort++ };
        h.hub.admit(remote);
        const { client, server } = streamPair(kind, remote, to);
        h.hub.attach(server);
        return client;
      },
    });
    const fromHubs: string[] = [];
    legs.socket.onMessage((d, from) => fromHubs.push(`${d.toString()}@${endpointKey(from)}`));
    legs.start();
    for (let i = 0; i < 10; i++) {
      clock.advance(1_000);
      await Promise.resolve();
    }
    expect(legs.transportOf(hub2)!.current).toBe('tcp');
    expect(legs.transportOf(hub1)!.current).toBe('udp');
    expect(connects).toEqual([`tcp:${endpointKey(hub2)}`]);
    expect(switched).toEqual([`${endpointKey(hub2)}:tcp`]);
    expect(legs.statusPerHub().map((s) => s.leg)).toEqual(['udp', 'tcp']);
    // The data plane reads the home hub's leg.
    expect(legs.current).toBe('udp');
    expect(legs.switches).toEqual({ udp: 0, tcp: 1, tls: 0 });
    // Each hub's datagrams go on its leg; a hub's answer arrives from its own endpoint.
    legs.socket.send(Buffer.from('to hub 1'), hub1);
    legs.socket.send(Buffer.from('to hub 2'), hub2);
    clock.advance(10);
    expect(hubs.get(endpointKey(hub1))!.got).toEqual([`to hub 1@${endpointKey(peerEp)}`]);
    expect(hubs.get(endpointKey(hub2))!.got).toEqual(['to hub 2@192.0.2.2:40000']);
    const h2 = hubs.get(endpointKey(hub2))!.hub;
    h2.send(Buffer.from('from hub 2'), { address: peerEp.address, port: 40000 });
    hubs.get(endpointKey(hub1))!.hub.send(Buffer.from('from hub 1'), peerEp);
    clock.advance(10);
    expect(fromHubs.sort()).toEqual([`from hub 1@${endpointKey(hub1)}`, `from hub 2@${endpointKey(hub2)}`]);
    // Home moves to hub 2: the data plane's leg is hub 2's now.
    home = hub2;
    expect(legs.current).toBe('tcp');
    expect(legs.status().leg).toBe('tcp');
    legs.stop();
  });
});
