// What a hub tells its shared state (hub/network-state.ts), in one process on the virtual internet:
// a claim the state cannot confirm (cut from NATS, a request timed out) is refused with UNAVAILABLE
// and the reason, not left unanswered, and the peer's retry registers once the state answers; a NAT
// class that arrives in a HEARTBEAT is written to the state (found by test/e2e/cluster-mesh.test.ts).
import { describe, expect, it } from 'vitest';
import { BindingTable } from '../../src/hub/bindings.js';
import { ClusterError } from '../../src/hub/nats-state.js';
import { memoryState } from '../../src/hub/network-state.js';
import { parseNetwork } from '../../src/hub/registry.js';
import { HubRefusedError } from '../../src/peer/hub-client.js';
import { natPresets } from '../vnet/vnet.js';
import { NETWORK, World } from '../vnet/world.js';

/** Runs the clock in 100 ms steps, letting promise continuations run between them, until `ok` (bounded: 60 s). */
async function steps(w: World, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !ok(); i++) {
    w.run(100);
    for (let j = 0; j < 3; j++) await new Promise<void>((r) => setImmediate(r));
  }
}

describe('a claim the shared state cannot confirm', () => {
  it('is refused with UNAVAILABLE and a reason, and the retry registers once the state answers', async () => {
    const w = new World();
    const state = memoryState(parseNetwork(NETWORK), new BindingTable());
    let reachable = false;
    const claim = state.claim.bind(state);
    const cut = { ...state, claim: (...a: Parameters<typeof claim>) => (reachable ? claim(...a) : Promise.reject(new ClusterError('CLUSTER_UNREACHABLE', 'the NATS connection is down'))) };
    const hub = w.startHub({ state: cut });
    const node = w.peer({ nat: 'natA', config: natPresets.home, lanIp: '192.168.1.2' }, '10.9.0.5', { name: 'late' });
    node.start().catch(() => undefined);
    await steps(w, () => node.hubClient.lastRefusal !== undefined);
    const err = node.hubClient.lastRefusal;
    expect(err).toBeInstanceOf(HubRefusedError);
    expect((err as HubRefusedError).code).toBe('HUB_REFUSED_UNAVAILABLE');
    expect((err as HubRefusedError).message).toMatch(/shared state \(NATS\)/);
    expect(hub.status().peers).toHaveLength(0);
    reachable = true;
    await steps(w, () => node.hubClient.state === 'registered');
    expect(node.hubClient.state).toBe('registered');
    expect(hub.status().peers.map((p) => p.name)).toEqual(['late']);
  });
});

describe('a NAT class reported in a HEARTBEAT', () => {
  it('is written to the shared state (other hubs pass it in PUNCH) though the map does not change', async () => {
    const w = new World();
    const state = memoryState(parseNetwork(NETWORK), new BindingTable());
    const written: Array<string | undefined> = [];
    w.startHub({ state: { ...state, memberChanged: (m, gone) => void (!gone && written.push(m.nat?.mapping)) } });
    const node = w.peer({ nat: 'natA', config: natPresets.home, lanIp: '192.168.1.2' }, '10.9.0.5', { nat: true });
    await w.join(node);
    await w.settle(w.natAgents.get(node)!.classify());
    node.natClassified();
    await steps(w, () => written.includes('eim'));
    expect(written).toContain('eim');
  });
});
