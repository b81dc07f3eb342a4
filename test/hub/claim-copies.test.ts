// A REGISTER copy (the peer's retry) that arrives while the first copy's claim is on its way to the
// shared state is dropped before it reaches the state: the state is asked once, and a claim that
// fails (NATS answering 503 under load) fails once, handled. Found by bench/load/cluster-load.mjs:
// both hubs of a 2,000-peer run exited on the unhandled rejection of a copy's claim.
import { describe, expect, it } from 'vitest';
import { BindingTable } from '../../src/hub/bindings.js';
import { memoryState, type NetworkState } from '../../src/hub/network-state.js';
import { parseNetwork } from '../../src/hub/registry.js';
import { NETWORK, World } from '../vnet/world.js';

/** The in-memory state whose claims stay pending until fail() rejects them all (a NATS that does not answer). */
function unansweredClaims(): { state: NetworkState; calls: () => number; fail: () => void } {
  const base = memoryState(parseNetwork(NETWORK), new BindingTable([]));
  const pending: Array<(e: Error) => void> = [];
  const state: NetworkState = { ...base, claim: () => new Promise<true>((_ok, reject) => void pending.push(reject)) };
  let failed = 0;
  return {
    state,
    calls: () => pending.length + failed,
    fail: () => {
      for (const reject of pending.splice(0)) {
        failed++;
        reject(new Error('503'));
      }
    },
  };
}

describe('a REGISTER copy while its claim is pending', () => {
  it('asks the shared state once, and its failure is handled (no unhandled rejection)', async () => {
    const w = new World();
    const s = unansweredClaims();
    const hub = w.startHub({ state: s.state });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const a = w.peer({ open: '192.0.2.10' }, '10.9.0.2');
      a.start().catch(() => undefined);
      // The peer resends its unanswered REGISTER (hub-client's retry) several times meanwhile.
      for (let i = 0; i < 40; i++) {
        w.run(100);
        await new Promise((r) => setImmediate(r));
      }
      expect(a.hubClient.state).not.toBe('registered');
      expect(s.calls()).toBe(1);
      s.fail();
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
      expect(hub.status().peers).toEqual([]);
      await a.stop();
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await hub.close();
    }
  });
});
