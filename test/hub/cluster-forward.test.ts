// hub/cluster-forward.ts without NATS: a fake bus and two registries (our members, the served map).
// What another hub sends is trusted no more than a peer: every malformed or inconsistent signal is
// dropped and counted, never thrown; good ones become a RELAY_FROM or a PUNCH to our member.
import { describe, expect, it } from 'vitest';
import { CrossHub } from '../../src/hub/cluster-forward.js';
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

function setup() {
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
  };
  const state: NetworkState = { ...memoryState(network, new BindingTable([])), members, map, bus };
  const toMember: Array<{ id: string; inner?: Uint8Array; msg?: ControlMessage }> = [];
  const sender = {
    sendTo: (id: string, _k: Uint8Array, inner: Uint8Array) => toMember.push({ id, inner }) > 0,
    sendReliable: (m: Member, make: (seq: number) => ControlMessage) => void toMember.push({ id: m.id, msg: make(9) }),
  } as unknown as MemberSender;
  const x = new CrossHub({ state, bus, sender, relay: new Relay(), clock, log: testLogger('cluster') });
  return { x, sent, toMember, deliver: (b: Uint8Array) => deliver(b), members, map, down: () => (busUp = false) };
}

const relaySignal = (from: string, to: string) => encodeSignal({ type: SignalType.RELAY_FORWARD, from: ipv4ToU32(from), to: ipv4ToU32(to), datagram: fromHex('0400aa') });
const punchSignal = (from: string, to: string, key: number) =>
  encodeSignal({ type: SignalType.PUNCH_FORWARD, from: ipv4ToU32(from), to: ipv4ToU32(to), punch: { type: ControlType.PUNCH, seq: 0, publicKey: keyOf(key), overlay: ipv4ToU32(from), candidates: [] } });

describe('signals from other hubs', () => {
  it.each([
    ['bytes that are no signal', fromHex('ff00'), 'malformed'],
    ['a datagram for an overlay not ours (left, or re-homed meanwhile)', relaySignal('10.9.0.3', '10.9.0.9'), 'unknown_target'],
    ['a datagram from an overlay not in our map', relaySignal('10.9.0.9', '10.9.0.2'), 'unknown_sender'],
    ['a datagram "from" our own member (another hub cannot have it)', relaySignal('10.9.0.2', '10.9.0.2'), 'sender_is_ours'],
    ['a PUNCH whose key is not the map\'s for that overlay', punchSignal('10.9.0.3', '10.9.0.2', 7), 'key_mismatch'],
  ])('drops %s and counts it', (_why, bytes, drop) => {
    const s = setup();
    s.deliver(bytes);
    expect(s.toMember).toEqual([]);
    expect(Object.entries(s.x.drops).filter(([, n]) => n > 0)).toEqual([[drop, 1]]);
  });

  it('delivers a relayed datagram as RELAY_FROM with the sender\'s overlay', () => {
    const s = setup();
    s.deliver(relaySignal('10.9.0.3', '10.9.0.2'));
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
  it('forwards RELAY_TO to the target\'s home hub; leaves ours and unknown overlays to the caller', () => {
    const s = setup();
    const me = s.members.get(idOf(2))!;
    expect(s.x.relay(me, ipv4ToU32('10.9.0.3'), fromHex('01'))).toBe(true);
    expect(s.sent.map((m) => m.hub)).toEqual(['h2']);
    expect(s.x.relay(me, ipv4ToU32('10.9.0.2'), fromHex('01'))).toBe(false); // ours: the local relay decides
    expect(s.x.relay(me, ipv4ToU32('10.9.0.99'), fromHex('01'))).toBe(false); // unknown: the local relay counts it
    expect(s.x.relay(me, ipv4ToU32('10.9.0.4'), fromHex('01'))).toBe(true); // its hub is unseen: dropped
    expect(s.x.drops.no_home).toBe(1);
    s.down();
    expect(s.x.relay(me, ipv4ToU32('10.9.0.3'), fromHex('01'))).toBe(true);
    expect(s.x.drops.bus_refused).toBe(1);
  });

  it('answers a PUNCH_REQUEST with a PUNCH to our member and one signal to the other hub', () => {
    const s = setup();
    expect(s.x.punch(s.members.get(idOf(2))!, ipv4ToU32('10.9.0.3'))).toBe(true);
    expect(s.toMember.map((m) => m.msg?.type === ControlType.PUNCH && m.msg.overlay)).toEqual([ipv4ToU32('10.9.0.3')]);
    expect(s.sent).toHaveLength(1);
    expect(s.sent[0]!.bytes[0]).toBe(SignalType.PUNCH_FORWARD);
  });
});
