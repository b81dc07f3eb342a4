// Two hubs' shared states on one real NATS node, for tests of what crosses between hubs
// (test/hub/nats-rehome.test.ts, nats-nat-class.test.ts): call inside a describe; the node starts
// before the tests and is stopped, with every state, after them.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { startNatsState, type NatsStateOptions } from '../../src/hub/nats-state.js';
import type { NetworkState } from '../../src/hub/network-state.js';
import { parseNetwork } from '../../src/hub/registry.js';
import { systemClock } from '../../src/util/clock.js';
import { testLogger } from '../fakes/logger.js';
import { startNatsCluster, type NatsCluster } from './nats.js';

/** Returns `pair()`: two fresh states ('hub-a', 'hub-b') of one new network (own secret) on the node. */
export function natsPairs(): { pair(extra?: (hubId: string) => Partial<NatsStateOptions>): Promise<[NetworkState, NetworkState]> } {
  let cluster: NatsCluster | undefined;
  const states: NetworkState[] = [];
  beforeAll(async () => {
    cluster = await startNatsCluster(1);
  }, 30_000);
  afterAll(async () => {
    await Promise.allSettled(states.map((s) => s.close()));
    await cluster?.stop();
  });
  return {
    async pair(extra = () => ({})) {
      const psk = randomBytes(32);
      const network = parseNetwork('10.9.0.0/24');
      const open = async (hubId: string) => {
        const s = await startNatsState({ servers: cluster!.urls, network, psk, hubId, clock: systemClock, log: testLogger(`nats ${hubId}`), replicas: 1, ...extra(hubId) });
        states.push(s);
        return s;
      };
      return [await open('hub-a'), await open('hub-b')];
    },
  };
}

/** Waits for `ok` with real time (the states' NATS I/O is real), bounded by `ms`. */
export async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
