// hub/cluster-forward.ts without NATS: a fake bus, a fake hub-to-hub channel and two registries (our
// members, the served map). What another hub sends is trusted no more than a peer: every malformed or
// inconsistent signal or datagram is dropped and counted, never thrown; good ones become a RELAY_FROM
// or a PUNCH to our member. Cross-hub relay is shaped like local relay (queued, not dropped, over
// the budget), both ways.
import { describe, expect, it } from 'vitest';
import { CrossHub } from '../../src/hub/cluster-forward.js';
import type { HubChannel } from '../../src/hub/hub-channel.js';
import { encodeSignal, SignalType } from '../../src/hub/cluster-signal.js';
import type { MemberSender } from '../../src/hub/member-sender.js';
import { memoryState, type ClusterBus, type NetworkState } from '../../src/hub/network-state.js';
import { BindingTable } from '../../src/hub/bindings.js';
import { parseNetwork, Registry, type Member } from '../../src/hub/registry.js';
import { Relay } from '../../src/hub/relay.js';
import { fromHex } from '../../src/util/bytes.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { ControlType, type ControlMessage } from '../../src/wire/control.js';
import { decodeInner, InnerKind } from '../../src/wire/inner.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { testLogger } from '../fakes/logger.js';

const network = parseNetwork('10.9.0.0/24');
const keyOf = (n: number) => new Uint8Array(32).fill(n);
const idOf = (n: number) => Buffer.from(keyOf(n)).toString('hex');
const entry = (n: number, overlay: string) => ({
  publicKey: keyOf(n), id: idOf(n), overlay: ipv4ToU32(overlay), name: `p${n}`, bootId: 1n, reflexive: { address: '198.51.100.1', port: 1000 + n }, lan: [],
});

function setup(o: { bytesPerSec?: number; burstBytes?: number; noChannel?: boolean } = {}) {
  const clock = new ManualClock();
  const members = new Registry(network);
  const map = new Registry(network);
  // Ours: 10.9.0.2 (key 2). Of hub "h2": 10.9.0.3 (key 3). In the map without a live hub: 10.9.0.4.
  for (const r of [members, map]) r.upsert(entry(2, '10.9.0.2'), 0);
  map.upsert(entry(3, '10.9.0.3'), 0);
  map.upsert(entry(4, '10.9.0.4'), 0);
  const sent: Array<{ hub: string; bytes: Uint8Array }> = [];
  let deliver: (b: Uint8Array) => void = () => undefined;
  let busUp = true;
  const bus: ClusterBus = {
    homeOf: (id) => (id === idOf(3) ? 'h2' : undefined),
    send: (hub, bytes) => busUp && sent.push({ hub, bytes }) > 0,
    onSignal: (fn) => (deliver = fn),
    advertise: () => undefined,
    hubPath: () => undefined,
    hubByEpoch: () => undefined,
  };
  // The hub-to-hub UDP channel: what was sent, and a way to hand in what another hub sent.
  const overUdp: Array<{ hub: string; from: number; to: number; datagram: Uint8Array }> = [];
  let fromHub: (hub: string, from: number, to: number, d: Uint8Array) => void = () => undefined;
  const channel = {
    send: (hub: string, from: number, to: number, datagram: Uint8Array) => overUdp.push({ hub, from, to, datagram }) > 0,
    onData: (fn: typeof fromHub) => (fromHub = fn),
  } as unknown as HubChannel;
  const state: NetworkState = { ...memoryState(network, new BindingTable([])), members, map, bus };
  const toMember: Array<{ id: string; inner?: Uint8Array; msg?: ControlMessage }> = [];
  const sender = {
    sendTo: (id: string, _k: Uint8Array, inner: Uint8Array) => toMember.push({ id, inner }) > 0,
    sendReliable: (m: Member, make: (seq: number) => ControlMessage) => void toMember.push({ id: m.id, msg: make(9) }),
  } as unknown as MemberSender;
  // The hub's relay as hub.ts builds it: shaping, RELAY_FROM to our members through the sender.
  const relay = new Relay(o.bytesPerSec, o.burstBytes, { clock, send: (t, inner) => void sender.sendTo(t.id, t.publicKey, inner) });
  const x = new CrossHub({ state, bus, ...(o.noChannel ? {} : { channel }), sender, relay, clock, log: testLogger('cluster') });
  return {
    x, relay, clock, sent, overUdp, toMember, members, map,
    deliver: (b: Uint8Array) => deliver(b),
    fromHub: (hub: string, from: string, to: string, d = fromHex('0400aa')) => fromHub(hub, ipv4ToU32(from), ipv4ToU32(to), d),
    down: () => (busUp = false),
  };
}

const punchSignal = (from: string, to: string, key: number) =>
  encodeSignal({ type: SignalType.PUNCH_FORWARD, from: ipv4ToU32(from), to: ipv4ToU32(to), punch: { type: ControlType.PUNCH, seq: 0, publicKey: keyOf(key), overlay: ipv4ToU32(from), candidates: [] } });

describe('signals from other hubs', () => {
  it.each([
    ['bytes that are no signal', fromHex('ff00'), 'malformed'],
    ['a relayed datagram on the bus (retired type 51: data goes over UDP)', fromHex('330a0900030a0900020400aa'), 'malformed'],
    ['a PUNCH for an overlay not ours', punchSignal('10.9.0.3', '10.9.0.9', 3), 'unknown_target'],
    ['a PUNCH whose key is not the map\'s for that overlay', punchSignal('10.9.0.3', '10.9.0.2', 7), 'key_mismatch'],
  ])('drops %s and counts it', (_why, bytes, drop) => {
    const s = setup();
    s.deliver(bytes);
    expect(s.toMember).toEqual([]);
    expect(Object.entries(s.x.drops).filter(([, n]) => n > 0)).toEqual([[drop, 1]]);
  });

  it.each([
    ['a datagram for an overlay not ours (left, or re-homed meanwhile)', 'h2', '10.9.0.3', '10.9.0.9', 'unknown_target'],
    ['a datagram from an overlay not in our map', 'h2', '10.9.0.9', '10.9.0.2', 'unknown_sender'],
    ['a datagram "from" our own member (another hub cannot have it)', 'h2', '10.9.0.2', '10.9.0.2', 'sender_is_ours'],
    ['a datagram from a member of h2 sent by another hub (a hub speaks for its own members only)', 'h3', '10.9.0.3', '10.9.0.2', 'wrong_home'],
  ])('drops, from the hub-to-hub channel, %s and counts it', (_why, hub, from, to, drop) => {
    const s = setup();
    s.fromHub(hub, from, to);
    s.clock.advance(1_000);
    expect(s.toMember).toEqual([]);
    expect(Object.entries(s.x.drops).filter(([, n]) => n > 0)).toEqual([[drop, 1]]);
  });

  it('delivers a relayed datagram from the hub-to-hub channel as RELAY_FROM with the sender\'s overlay', () => {
    const s = setup();
    s.fromHub('h2', '10.9.0.3', '10.9.0.2');
    expect(s.toMember).toHaveLength(1);
    expect(s.toMember[0]!.id).toBe(idOf(2));
    expect(decodeInner(s.toMember[0]!.inner!)).toEqual({ kind: InnerKind.RELAY_FROM, overlay: ipv4ToU32('10.9.0.3'), datagram: fromHex('0400aa') });
    expect(s.x.counters.relayedIn).toBe(1);
  });

  it('passes a PUNCH on under our own sequence number, and at most a burst of them per member', () => {
    const s = setup();
    for (let i = 0; i < 30; i++) s.deliver(punchSignal('10.9.0.3', '10.9.0.2', 3));
    expect(s.toMember[0]!.msg).toMatchObject({ type: ControlType.PUNCH, seq: 9, overlay: ipv4ToU32('10.9.0.3') });
    expect(s.x.counters.punchesIn).toBe(20);
    expect(s.x.drops.punch_rate_limited).toBe(10);
  });
});

describe('to members of other hubs', () => {
  it('sends RELAY_TO over UDP to the target\'s home hub, never on the bus; leaves ours and unknown overlays to the caller', () => {
    const s = setup();
    const me = s.members.get(idOf(2))!;
    expect(s.x.relay(me, ipv4ToU32('10.9.0.3'), fromHex('01'))).toBe(true);
    expect(s.overUdp.map((m) => [m.hub, m.from, m.to])).toEqual([['h2', ipv4ToU32('10.9.0.2'), ipv4ToU32('10.9.0.3')]]);
    expect(s.sent).toEqual([]); // nothing relayed crosses the bus
    expect(s.x.relay(me, ipv4ToU32('10.9.0.2'), fromHex('01'))).toBe(false); // ours: the local relay decides
    expect(s.x.relay(me, ipv4ToU32('10.9.0.99'), fromHex('01'))).toBe(false); // unknown: the local relay counts it
    expect(s.x.relay(me, ipv4ToU32('10.9.0.4'), fromHex('01'))).toBe(true); // its hub is unseen: dropped
    expect(s.x.drops.no_home).toBe(1);
    s.down(); // the bus does not carry data: a cut from NATS changes nothing here
    expect(s.x.relay(me, ipv4ToU32('10.9.0.3'), fromHex('01'))).toBe(true);
    expect(s.overUdp).toHaveLength(2);
    expect(s.x.drops.bus_refused).toBe(0);
  });

  it('drops and counts RELAY_TO for another hub\'s member when there is no hub-to-hub channel', () => {
    const s = setup({ noChannel: true });
    expect(s.x.relay(s.members.get(idOf(2))!, ipv4ToU32('10.9.0.3'), fromHex('01'))).toBe(true);
    expect(s.sent).toEqual([]);
    expect(s.x.drops.no_hub_path).toBe(1);
  });

  it('answers a PUNCH_REQUEST with a PUNCH to our member and one signal to the other hub', () => {
    const s = setup();
    expect(s.x.punch(s.members.get(idOf(2))!, ipv4ToU32('10.9.0.3'))).toBe(true);
    expect(s.toMember.map((m) => m.msg?.type === ControlType.PUNCH && m.msg.overlay)).toEqual([ipv4ToU32('10.9.0.3')]);
    expect(s.sent).toHaveLength(1);
    expect(s.sent[0]!.bytes[0]).toBe(SignalType.PUNCH_FORWARD);
  });
});

describe('cross-hub relay is shaped like local relay (virtual time)', () => {
  // Budget 100 kB/s. The sender bursts 40 datagrams of 1,000 bytes every 400 ms: 100 kB/s on
  // average, exactly its budget, in bursts a shaping bucket (16 kB) cannot pay at once. Policed
  // (Relay.decide, what cross-hub relay did before) the rest of each burst is dropped; shaped
  // (Relay.offer) it waits in the sender's queue and leaves at the budget.
  const budget = 100_000;
  const rounds = 10;
  const burst = 40;
  const size = 1_000;

  it('policing drops most of each burst; the cross-hub path delivers all of it, both ways, in order', () => {
    const s = setup({ bytesPerSec: budget, burstBytes: 2 * budget });
    const me = s.members.get(idOf(2))!;
    const them = s.map.get(idOf(3))!;
    let policed = 0;
    const p = setup({ bytesPerSec: budget, burstBytes: 2 * budget });
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < burst; i++) {
        const d = new Uint8Array(size).fill(i);
        s.x.relay(me, them.overlay, d);
        s.fromHub('h2', '10.9.0.3', '10.9.0.2', d);
        if (p.relay.decide(me, them, size, p.clock.now()) === 'forward') policed++;
      }
      s.clock.advance(400);
      p.clock.advance(400);
    }
    s.clock.advance(1_000);
    const sent = rounds * burst;
    // Policing: the shaping bucket (16 kB) pays 16 of each 40; the rest is lost.
    expect(policed).toBeLessThan(sent / 2);
    expect(p.relay.drops.over_budget).toBe(sent - policed);
    // Shaped out to the other hub and in to our member: nothing lost, the queues took the bursts.
    expect(s.overUdp).toHaveLength(sent);
    expect(s.toMember).toHaveLength(sent);
    expect(s.relay.drops).toEqual({ unknown_sender: 0, unknown_target: 0, to_self: 0, over_budget: 0, target_over_budget: 0, total_over_budget: 0 });
    expect(s.relay.delayedPackets).toBeGreaterThan(sent / 2);
    expect(s.overUdp.map((m) => m.datagram[0])).toEqual(Array.from({ length: sent }, (_, i) => i % burst));
    expect(Object.values(s.x.drops).every((n) => n === 0)).toBe(true);
  });
});
