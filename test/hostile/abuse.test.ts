// Issue 17 M2, M3 and map fairness, in process: a member holding the network secret (a real
// PeerNode whose link speaks to the hub directly, as a modified client would) must not grow the
// hub's state without bound nor turn it into an amplifier.
import { describe, expect, it } from 'vitest';
import { punchRequestBurst, punchRequestsPerSec, reliableMaxPendingPerMember } from '../../src/hub/control-budget.js';
import type { PeerNode } from '../../src/peer/node.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { ControlType, encodeControl, type ControlMessage } from '../../src/wire/control.js';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';
import { World } from '../vnet/world.js';

/** An authenticated control message from member `n` to the hub. */
function control(w: World, n: PeerNode, msg: ControlMessage): void {
  n.link.send(w.hubKeys.publicKey, encodeInner({ kind: InnerKind.CONTROL, body: encodeControl(msg) }));
}

async function mesh(members: number): Promise<{ w: World; nodes: PeerNode[] }> {
  const w = new World(11);
  w.startHub();
  const nodes: PeerNode[] = [];
  for (let i = 0; i < members; i++) {
    const n = w.peer({ open: `198.51.100.${10 + i}` }, `10.9.0.${10 + i}`);
    await w.join(n, 500);
    nodes.push(n);
  }
  w.run(2_000);
  return { w, nodes };
}

describe('M3: PUNCH_REQUEST floods', () => {
  it('10,000 PUNCH_REQUESTs/s from one member leave bounded pending state and bounded PUNCHes', async () => {
    const { w, nodes } = await mesh(3);
    const [attacker, , muted] = nodes as [PeerNode, PeerNode, PeerNode];
    const hub = w.hub;
    const sentBefore = hub.link.stats.sent;
    // 10.9.0.11 ACKs its PUNCHes; 10.9.0.12 never does (its hub client is muted), so what the hub
    // sends it stays pending until it gives up.
    (muted.hubClient as unknown as { onControl: (m: unknown) => void }).onControl = () => undefined;
    let seq = 1_000;
    let maxPending = 0;
    let maxPairs = 0;
    const seconds = 3;
    const n = seconds * 10_000;
    for (let i = 0; i < n; i++) {
      control(w, attacker, { type: ControlType.PUNCH_REQUEST, seq: seq++, target: ipv4ToU32(i % 2 ? '10.9.0.11' : '10.9.0.12') });
      if (i % 100 === 99) {
        w.clock.advance(10);
        maxPending = Math.max(maxPending, ...nodes.map((x) => hub.server.pendingFor(idOf(x))));
        maxPairs = Math.max(maxPairs, hub.server.punchPairsInFlight);
      }
    }
    const d = hub.status().controlDrops;
    const refused = d.punch_rate_limited! + d.punch_in_flight!;
    const hubSent = hub.link.stats.sent - sentBefore;
    console.log(`M3: ${n} PUNCH_REQUESTs in ${seconds} s: max pending per member ${maxPending}, pairs in flight ${maxPairs}, drops ${JSON.stringify(d)}, hub datagrams sent ${hubSent} (${(hubSent / n).toFixed(2)} per request)`);
    expect(maxPairs).toBeLessThanOrEqual(2);
    expect(maxPending).toBeLessThanOrEqual(4);
    // Exchanges started: at most the burst plus the rate (and the muted pair stays in flight).
    expect(n - refused).toBeLessThanOrEqual(punchRequestBurst + seconds * punchRequestsPerSec + 1);
    expect(d.punch_rate_limited).toBeGreaterThan(0);
    expect(d.punch_in_flight).toBeGreaterThan(0);
    // One ACK per request plus the bounded PUNCH traffic (each request used to start two PUNCHes).
    expect(hubSent).toBeLessThan(n * 1.1);
    // A reliable message to a member past its pending cap is dropped and counted.
    expect(reliableMaxPendingPerMember).toBeGreaterThan(maxPending);
  });
});

function idOf(n: PeerNode): string {
  return Buffer.from(n.link.publicKey).toString('hex');
}
