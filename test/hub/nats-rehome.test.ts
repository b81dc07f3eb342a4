// A member that registers on another hub of the network is let go by its old home (hub/nats-state.ts
// onRehomed; hub/server.ts removes it): found by test/e2e/cluster-mesh.test.ts, where a peer that
// moved hubs stayed the old hub's own member until its heartbeats expired, and the old hub relayed
// its partner's datagrams to it there (a relayed pair broken for a minute). One real NATS node.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { keyId } from '../../src/link/key-id.js';
import { systemClock } from '../../src/util/clock.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { natsSkipReason } from '../helpers/nats.js';
import { natsPairs, until } from '../helpers/nats-pair.js';

const skip = natsSkipReason();

describe.skipIf(skip !== undefined)('a member re-homed to another hub', () => {
  const nats = natsPairs();

  it('is let go by its old home once the new home writes its entry, and not before', async () => {
    const [a, b] = await nats.pair();
    const let_go: string[] = [];
    a.onRehomed?.((id) => let_go.push(id));
    const kp = generateKeyPair();
    const id = keyId(kp.publicKey);
    const entry = { publicKey: kp.publicKey, id, overlay: ipv4ToU32('10.9.0.9'), name: 'x', bootId: 1n, reflexive: { address: '198.51.100.10', port: 40000 }, lan: [] };
    a.memberChanged(a.members.upsert(entry, systemClock.now()).member, false);
    await until(() => b.map.get(id) !== undefined);
    a.memberChanged(a.members.get(id)!, false); // its own writes never let it go
    await new Promise((r) => setTimeout(r, 300));
    expect(let_go).toEqual([]);
    b.memberChanged(b.members.upsert({ ...entry, reflexive: { address: '198.51.100.10', port: 40001 } }, systemClock.now()).member, false);
    await until(() => let_go.length > 0);
    expect(let_go).toEqual([id]);
  }, 30_000);
});
