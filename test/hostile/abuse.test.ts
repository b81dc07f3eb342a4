// Issue 17 M2, M3 and map fairness, in process: a member holding the network secret (a real
// PeerNode whose link speaks to the hub directly, as a modified client would) must not grow the
// hub's state without bound nor turn it into an amplifier.
import { describe, expect, it } from 'vitest';
import { punchRequestBurst, punchRequestsPerSec, reliableMaxPendingPerMember } from '../../src/hub/control-budget.js';
import type { PeerNode } from '../../src/peer/node.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { ControlType, encodeControl, type ControlMessage } from '../../src/wire/control.js';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';
import { udpPath } from '../../src/link/path.js';
import type { Endpoint } from '../../src/net/udp.js';
import type { MemorySocket } from '../fakes/memory-udp.js';
import { MessageType, messageTypeOf } from '../../src/wire/outer.js';
import { HUB_ENDPOINT, World } from '../vnet/world.js';

/** An authenticated control message from member `n` to the hub. */
function control(w: World, n: PeerNode, msg: ControlMessage): void {
  n.link.send(w.hubKeys.publicKey, encodeInner({ kind: InnerKind.CONTROL, body: encodeControl(msg) }));
}

async function mesh(members: number): Promise<{ w: World; nodes: PeerNode[] }> {
  const w = new World(11);
  w.startHub();
  const nodes: PeerNode[] = [];
  // All join at once: one at a time (500 ms of virtual time each for every member already in) made
  // the 60-member test cost ~11 s of CPU, past vitest's 30 s under a loaded parallel run.
  for (let i = 0; i < members; i++) nodes.push(w.peer({ open: `198.51.100.${10 + i}` }, `10.9.0.${10 + i}`));
  await w.settle(Promise.all(nodes.map((n) => n.start())), 10_000);
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

const VICTIM: Endpoint = { address: '192.0.2.99', port: 53 };

describe('M2: a member forging its source address', () => {
  it('gets the hub to send the forged endpoint at most 3x the bytes it sent there (REGISTER again, heartbeats, relay to it)', async () => {
    const { w, nodes } = await mesh(60);
    const attacker = nodes[0]!;
    const helper = nodes[1]!; // an honest member that keeps relaying to the attacker's overlay
    const hub = w.hub;
    const me = hub.registry.get(idOf(attacker))!;
    let forging = false;
    let bytesIn = 0;
    let bytesOut = 0;
    const transmit = w.net.transmit.bind(w.net);
    w.net.transmit = (from: MemorySocket, data: Buffer, to: Endpoint) => {
      if (to.address === VICTIM.address) bytesOut += data.length;
      if (forging && from.local.address === '198.51.100.10' && to.address === HUB_ENDPOINT.address) {
        bytesIn += data.length;
        hub.link.receive(new Uint8Array(data), udpPath(VICTIM)); // the attacker's datagram, source forged
        return;
      }
      transmit(from, data, to);
    };
    forging = true;
    let seq = 50_000;
    for (let i = 0; i < 40; i++) {
      // The same key and boot id registering again (nothing else changes), and heartbeats.
      control(w, attacker, { type: ControlType.REGISTER, seq: seq++, overlay: me.overlay, prefix: 24, name: me.name, lan: me.lan, bootId: me.bootId });
      control(w, attacker, { type: ControlType.HEARTBEAT, seq: seq++, mapVersion: 0, lan: me.lan });
      for (let k = 0; k < 20; k++) (helper.hubClient as unknown as { relay(o: number, d: Uint8Array): void }).relay(me.overlay, new Uint8Array(1_000).fill(k));
      w.clock.advance(100);
    }
    w.run(20_000); // every retransmission the hub would make
    forging = false;
    const ratio = bytesOut / bytesIn;
    const d = hub.status().controlDrops;
    console.log(`M2: attacker sent ${bytesIn} B from a forged source (40 REGISTER + 40 HEARTBEAT, 60 members), victim got ${bytesOut} B from the hub: ${ratio.toFixed(2)}x; blocked ${d.unproven_endpoint} sends`);
    expect(bytesIn).toBeGreaterThan(0);
    expect(ratio).toBeLessThanOrEqual(3);
    // The attacker gains nothing back at its real endpoint (proven before): it is served at once.
    control(w, attacker, { type: ControlType.HEARTBEAT, seq: seq++, mapVersion: attacker.map.version, lan: me.lan });
    w.run(10_000); // (a handshake it started while forging may have to be retried first)
    expect(hub.registry.get(idOf(attacker))!.reflexive).toEqual({ address: '198.51.100.10', port: 51820 });
    expect(hub.server.guard.proven(idOf(attacker))).toBe(true);
  });

  it('a handshake proves only where its response went: the first packet on the new keys from a forged source proves nothing', async () => {
    const { w, nodes } = await mesh(2);
    const x = nodes[0]!;
    const hub = w.hub;
    const transmit = w.net.transmit.bind(w.net);
    w.net.transmit = (from: MemorySocket, data: Buffer, to: Endpoint) => {
      // Initiations go out from the real endpoint (the response comes back there), transport is forged.
      if (from.local.address === '198.51.100.10' && to.address === HUB_ENDPOINT.address && messageTypeOf(data) === MessageType.Transport) {
        return void hub.link.receive(new Uint8Array(data), udpPath(VICTIM));
      }
      transmit(from, data, to);
    };
    x.link.rehandshake(w.hubKeys.publicKey);
    w.run(500);
    control(w, x, { type: ControlType.HEARTBEAT, seq: 90_000, mapVersion: x.map.version, lan: [] });
    w.run(500);
    const remote = hub.link.remote(x.link.publicKey)!;
    expect(remote.path).toEqual(udpPath(VICTIM)); // the hub follows the latest authenticated source
    expect(remote.provenPath).toEqual(udpPath({ address: '198.51.100.10', port: 51820 }));
    expect(hub.server.guard.proven(idOf(x))).toBe(false);
  });

  it('an honest member whose NAT mapping moves proves the new endpoint with one echo and keeps its map', async () => {
    const { w, nodes } = await mesh(3);
    const roamer = nodes[2]!;
    const hub = w.hub;
    // Its datagrams to the hub now arrive from a new port (a NAT rebinding), and replies reach it.
    const NEW: Endpoint = { address: '198.51.100.12', port: 40_000 };
    const transmit = w.net.transmit.bind(w.net);
    w.net.transmit = (from: MemorySocket, data: Buffer, to: Endpoint) => {
      if (from.local.address === '198.51.100.12' && to.address === HUB_ENDPOINT.address) return void hub.link.receive(new Uint8Array(data), udpPath(NEW));
      if (to.address === NEW.address && to.port === NEW.port) return void roamer.link.receive(new Uint8Array(data), udpPath(HUB_ENDPOINT));
      transmit(from, data, to);
    };
    // Registration needed no challenge: the endpoint the handshake response reached is proven.
    expect(hub.server.guard.counters.challenges).toBe(0);
    expect(nodes.every((x) => hub.server.guard.proven(idOf(x)))).toBe(true);
    const validated = hub.server.guard.counters.validated;
    w.run(25_000); // a heartbeat from the new endpoint
    expect(hub.registry.get(idOf(roamer))!.reflexive).toEqual(NEW);
    expect(hub.server.guard.proven(idOf(roamer))).toBe(true);
    expect(hub.server.guard.counters.validated).toBe(validated + 1);
    // A change reaches it at the new endpoint without limit.
    const late = w.peer({ open: '198.51.100.50' }, '10.9.0.50');
    await w.join(late, 2_000);
    w.run(2_000);
    expect(roamer.map.all().length).toBe(3);
  });
});

function idOf(n: PeerNode): string {
  return Buffer.from(n.link.publicKey).toString('hex');
}
