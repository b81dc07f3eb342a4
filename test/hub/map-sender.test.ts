// MapSender under load: coalesced deltas (one per member per window, not one per change), a
// window of unacked parts per member, retransmit delay that grows while nothing is acked.
import { describe, expect, it } from 'vitest';
import {
  MapSender, holdRetransmit, mapAckFlowMs, mapBusyHoldMs, mapCoalesceMaxMs, mapCoalesceMs, mapFirstRetryMs, mapFirstWindowParts, mapLateTimerMs, mapMaxRetryMs, mapSnapshotMaxAgeMs, mapWindowParts, nextRetryMs, nextSrttMs,
  nextWindowMs, retryFloorMs,
} from '../../src/hub/map-sender.js';
import type { FanoutReport } from '../../src/hub/fanout.js';
import type { Clock } from '../../src/util/clock.js';
import { parseNetwork, Registry, type Member } from '../../src/hub/registry.js';
import { ReliableSender } from '../../src/link/reliable.js';
import { ControlType, decodeControl, type ControlMessage } from '../../src/wire/control.js';
import { decodeInner, InnerKind } from '../../src/wire/inner.js';
import { ManualClock } from '../fakes/manual-clock.js';

type Map_ = Extract<ControlMessage, { type: ControlType.MAP }>;

/** What a peer would read from the sealed bytes: inner CONTROL -> MAP. */
function decodeMap(inner: Uint8Array): Map_ {
  const m = decodeInner(inner);
  if (m.kind !== InnerKind.CONTROL) throw new Error('not CONTROL');
  const c = decodeControl(m.body);
  if (c.type !== ControlType.MAP) throw new Error('not MAP');
  return c;
}

/** A ManualClock whose now() can run ahead of the timers, as a busy event loop makes them fire late. */
class LateClock extends ManualClock implements Clock {
  lateMs = 0;
  override now(): number {
    return super.now() + this.lateMs;
  }
}

function setup(inflightLimit?: number, fullConcurrent?: number) {
  const clock = new LateClock();
  const registry = new Registry(parseNetwork('10.9.0.0/16'));
  const sent: Array<{ to: string; msg: Map_ }> = [];
  const rel = new Map<string, ReliableSender>();
  const fanouts: FanoutReport[] = [];
  const maps = new MapSender({
    clock,
    registry,
    send: (m, inner) => sent.push({ to: m.id, msg: decodeMap(inner) }),
    reliableOf: (m) => {
      if (!rel.has(m.id)) rel.set(m.id, new ReliableSender(clock));
      return rel.get(m.id)!;
    },
    coalesceMs: mapCoalesceMs,
    inflightLimit,
    fullConcurrent,
    onFanout: (r) => fanouts.push(r),
  });
  let n = 0;
  const join = (): Member => {
    n++;
    const id = n.toString(16).padStart(64, '0');
    const { member } = registry.upsert(
      { publicKey: new Uint8Array(32).fill(n & 255), id, overlay: 0x0a090000 + n, name: '', bootId: BigInt(n), reflexive: { address: '127.0.0.1', port: 40000 + n }, lan: [] },
      clock.now(),
    );
    maps.sendFull(member);
    maps.changed();
    clock.advance(0); // the pump's turn of the event loop
    return member;
  };
  /** Every member acks everything sent so far (repeatedly, as the window refills). */
  const ackAll = () => {
    for (let i = 0; i < sent.length; i++) {
      const m = registry.get(sent[i]!.to);
      if (m) maps.acked(m, sent[i]!.msg.seq);
    }
    clock.advance(0);
  };
  return { clock, registry, sent, maps, join, ackAll, fanouts };
}

describe('map sender', () => {
  it('sends each member one delta covering all changes in the window, not one per change', () => {
    const { clock, registry, sent, join, ackAll } = setup();
    const first = Array.from({ length: 20 }, join);
    ackAll();
    clock.advance(mapCoalesceMs);
    ackAll();
    clock.advance(2_000); // quiet: the next change waits the base window
    sent.length = 0;
    for (let i = 0; i < 10; i++) join(); // 10 joins inside one window
    const fulls = sent.length;
    expect(new Set(sent.map((s) => s.to)).size).toBe(10); // each joiner's full map, sent at once
    expect(sent.every((s) => s.msg.base === 0)).toBe(true);
    clock.advance(mapCoalesceMs);
    const deltas = sent.slice(fulls).filter((s) => s.msg.base !== 0);
    expect(deltas.length).toBe(first.length); // 20 deltas, not 200
    for (const d of deltas) {
      expect(d.msg.version).toBe(registry.version);
      expect(d.msg.entries.length).toBe(10);
    }
  });

  it('reports each flush once: members queued, the window waited, when the last map was sent and acked, and those never acked', () => {
    const { clock, registry, sent, maps, join, ackAll, fanouts } = setup();
    const [a, b, c] = [join(), join(), join()];
    ackAll();
    clock.advance(mapCoalesceMs);
    ackAll();
    clock.advance(2_000);
    fanouts.length = 0;
    sent.length = 0;
    join(); // the change: a, b and c each get one delta after the window; the joiner its full map
    clock.advance(mapCoalesceMs);
    clock.advance(0);
    const deltaTo = (m: Member) => sent.find((s) => s.to === m.id && s.msg.base !== 0)!;
    expect([a, b, c].map((m) => deltaTo(m).msg.version)).toEqual([registry.version, registry.version, registry.version]);
    clock.advance(10);
    maps.acked(a, deltaTo(a).msg.seq);
    clock.advance(15);
    maps.acked(b, deltaTo(b).msg.seq);
    expect(fanouts).toEqual([]); // c has not acked yet
    maps.forget(c); // c left before acking: the fan-out is complete, with one map unfinished
    expect(fanouts).toEqual([{ version: registry.version, members: 3, waitedMs: mapCoalesceMs, sentMs: mapCoalesceMs, deliveredMs: mapCoalesceMs + 25, unfinished: 1, pump: { slices: 1, parts: 3, busyMs: 0, waitMs: 0, inflightStops: 0 } }]);
    maps.forget(a);
    maps.forget(b);
    expect(fanouts.length).toBe(1); // reported once
    expect(maps.lastFanout).toEqual(fanouts[0]);
  });

  it('gives a member whose map is in flight the rest once it acks', () => {
    const { clock, registry, sent, maps, join } = setup();
    const a = join();
    clock.advance(mapCoalesceMs);
    join();
    clock.advance(mapCoalesceMs);
    expect(sent.filter((s) => s.to === a.id).length).toBe(1); // still only the full map (unacked)
    maps.acked(a, sent[0]!.msg.seq);
    clock.advance(mapCoalesceMs);
    clock.advance(0);
    const toA = sent.filter((s) => s.to === a.id);
    expect(toA.length).toBe(2);
    expect(toA[1]!.msg).toMatchObject({ base: 1, version: registry.version });
  });

  it('keeps at most a window of parts unacked and refills it on ACKs', () => {
    const { clock, registry, sent, maps, join } = setup();
    for (let i = 0; i < 400; i++) registry.upsert({ publicKey: new Uint8Array(32), id: `x${i}`, overlay: 0x0a091000 + i, name: `node-${i}`, bootId: 1n, reflexive: { address: '127.0.0.1', port: 1 }, lan: [] }, 0);
    const m = join();
    const mine = () => sent.filter((s) => s.to === m.id);
    const parts = mine()[0]!.msg.parts;
    expect(parts).toBeGreaterThan(mapWindowParts);
    expect(mine().length).toBe(mapFirstWindowParts); // a small first window until the member answers
    maps.acked(m, mine()[0]!.msg.seq);
    clock.advance(0);
    expect(mine().length).toBe(1 + mapWindowParts); // then the full window
    for (let k = 0; k < 200 && mine().length < parts; k++) {
      for (const s of mine()) maps.acked(m, s.msg.seq);
      clock.advance(0);
    }
    expect(new Set(mine().map((s) => s.msg.part)).size).toBe(parts);
    for (const s of mine()) maps.acked(m, s.msg.seq);
    expect(maps.ackedVersion(m)).toBe(registry.version);
  });

  it('retransmits unacked parts at a delay that doubles while nothing is acked, then gives up', () => {
    const { clock, sent, maps, join } = setup();
    join();
    const times: number[] = [];
    const t0 = clock.now();
    for (let ms = 0; ms < 40_000; ms += 100) {
      const before = sent.length;
      clock.advance(100);
      if (sent.length > before) times.push(clock.now() - t0);
    }
    expect(times).toEqual([500, 1500, 3500, 7500, 15500]);
    expect(maps.counters.giveUps).toBe(1);
  });

  it.each([
    ['a timeout doubles the delay', mapFirstRetryMs, 'timeout', 2 * mapFirstRetryMs],
    ['the delay is capped at 8 s', 8_000, 'timeout', 8_000],
    ['an ACK halves it back', 4_000, 'ack', 2_000],
    ['never below the first retry', mapFirstRetryMs, 'ack', mapFirstRetryMs],
  ] as const)('%s', (_why, current, event, want) => {
    expect(nextRetryMs(current, event)).toBe(want);
  });

  it.each([
    ['a change after a quiet second waits the base window', 400, 1_500, 10_000, mapCoalesceMs],
    ['a change soon after a flush (a storm) doubles it', mapCoalesceMs, 10, 100, 2 * mapCoalesceMs],
    ['it stops doubling at the cap', mapCoalesceMaxMs, 10, 100, mapCoalesceMaxMs],
    ['the cap grows with the members (10,000: 2.5 s)', 2_000, 10, 10_000, 2_500],
  ])('%s', (_why, windowMs, since, members, want) => {
    expect(nextWindowMs(windowMs, since, members)).toBe(want);
  });

  it('keeps at most the in-flight limit of parts unacked over all members, and refills as ACKs come', () => {
    const limit = 40;
    const { clock, registry, sent, maps, join } = setup(limit);
    for (let i = 0; i < 400; i++) registry.upsert({ publicKey: new Uint8Array(32), id: `x${i}`, overlay: 0x0a091000 + i, name: `node-${i}`, bootId: 1n, reflexive: { address: '127.0.0.1', port: 1 }, lan: [] }, 0);
    const joiners = Array.from({ length: 12 }, join); // 12 full maps of ~30 parts: 48 would fit their first windows
    expect(sent.length).toBe(limit);
    expect(maps.inFlight).toBe(limit);
    const done = new Set<number>();
    for (let round = 0; round < 100 && done.size < sent.length; round++) {
      const before = sent.length;
      for (let i = 0; i < before; i++) {
        if (done.has(i)) continue;
        done.add(i);
        maps.acked(registry.get(sent[i]!.to)!, sent[i]!.msg.seq);
      }
      clock.advance(0);
      expect(maps.inFlight).toBeLessThanOrEqual(limit);
    }
    for (const m of joiners) expect(maps.ackedVersion(m)).toBeGreaterThan(0); // every full map completed
    expect(maps.inFlight).toBe(0);
  });

  it('keeps pumping while parts are queued and in-flight room is left: slice after slice on the next turns, no time passing', () => {
    const { clock, registry, sent, maps, join, ackAll, fanouts } = setup();
    const members = Array.from({ length: 200 }, join);
    for (let i = 0; i < 4; i++) {
      ackAll();
      clock.advance(mapCoalesceMs);
    }
    ackAll();
    clock.advance(2_000);
    sent.length = 0;
    fanouts.length = 0;
    // Each send costs 0.5 ms of the hub's time: a slice (mapPumpSliceMs) sends ~8 parts, then the
    // pump gives the loop a turn and goes on. advance(0): only 0 ms turns, no timer's delay.
    const send = (maps as unknown as { send: (m: Member, b: Uint8Array) => void }).send;
    (maps as unknown as { send: (m: Member, b: Uint8Array) => void }).send = (m, b) => {
      clock.lateMs += 0.5;
      send(m, b);
    };
    join(); // the change: every member gets one delta
    const t0 = clock.now();
    clock.advance(mapCoalesceMs);
    const deltas = sent.filter((x) => x.msg.base !== 0);
    expect(deltas.length).toBe(members.length); // every delta out within the window's turn
    expect(maps.queued).toEqual({ delta: 0, full: 0, fullWaiting: 0 });
    ackAll();
    const r = fanouts.find((f) => f.members === members.length)!;
    expect(r.pump!.parts).toBe(members.length);
    expect(r.pump!.slices).toBeGreaterThanOrEqual(members.length / 20); // cut into slices...
    expect(r.pump!.waitMs).toBe(0); // ...each run on the next turn, none waiting on a timer
    expect(r.pump!.inflightStops).toBe(0);
    expect(clock.now() - t0).toBeLessThan(mapCoalesceMs + members.length * 0.5 + 5);
  });

  it('sends a member that holds a map its delta before the full maps of new members', () => {
    const { clock, registry, sent, maps, join, ackAll } = setup(4);
    const old = join();
    ackAll();
    clock.advance(2 * mapSnapshotMaxAgeMs); // quiet; the next full map is cut from a new snapshot
    expect(maps.ackedVersion(old)).toBe(registry.version);
    for (let i = 0; i < 400; i++) registry.upsert({ publicKey: new Uint8Array(32), id: `x${i}`, overlay: 0x0a091000 + i, name: `node-${i}`, bootId: 1n, reflexive: { address: '127.0.0.1', port: 1 }, lan: [] }, 0);
    sent.length = 0;
    const fresh = join(); // takes the 4 in-flight slots with its full map
    expect(sent.every((x) => x.to === fresh.id)).toBe(true);
    maps.changed();
    clock.advance(4 * mapCoalesceMs); // flush (before fresh's first retransmission): `old` is behind and queued for a delta
    for (const x of sent.splice(0)) maps.acked(fresh, x.msg.seq);
    clock.advance(0);
    expect(sent[0]).toMatchObject({ to: old.id, msg: { base: 1, version: registry.version } });
  });

  it('cuts full maps for joiners within the snapshot age from one snapshot, then brings each up to date with a delta', () => {
    const { clock, registry, sent, maps, join } = setup();
    const a = join();
    const b = join(); // 0 ms later: a's snapshot (version 1), which does not hold b
    expect(maps.counters.snapshots).toBe(1);
    const toB = sent.filter((x) => x.to === b.id);
    expect(toB.map((x) => x.msg.version)).toEqual([1]);
    for (const x of sent.splice(0)) maps.acked(registry.get(x.to)!, x.msg.seq);
    clock.advance(mapCoalesceMaxMs);
    clock.advance(0);
    for (const x of sent.splice(0)) maps.acked(registry.get(x.to)!, x.msg.seq);
    expect(maps.ackedVersion(a)).toBe(registry.version);
    expect(maps.ackedVersion(b)).toBe(registry.version);
    clock.advance(mapSnapshotMaxAgeMs);
    join();
    expect(maps.counters.snapshots).toBe(2); // older than the age: cut again
  });
});

describe('map repair from heartbeats', () => {
  it('queues members that report an old version for the next flush, which cuts one delta for all of them', () => {
    const { clock, registry, sent, maps, join, ackAll } = setup();
    const members = Array.from({ length: 5 }, join);
    ackAll();
    clock.advance(2 * mapCoalesceMaxMs);
    ackAll();
    const v = registry.version;
    for (const m of members) expect(maps.ackedVersion(m)).toBe(v);
    clock.advance(2_000);
    for (let i = 0; i < 3; i++) registry.upsert({ publicKey: new Uint8Array(32).fill(200 + i), id: `y${i}`, overlay: 0x0a092000 + i, name: '', bootId: 1n, reflexive: { address: '127.0.0.1', port: 2 }, lan: [] }, 0);
    sent.length = 0;
    for (const m of members) maps.reported(m, v); // they lost the news (no changed() was called)
    clock.advance(0);
    expect(sent).toEqual([]); // not one delta cut per heartbeat
    clock.advance(mapCoalesceMs);
    const ids = new Set(members.map((m) => m.id));
    const toMembers = sent.filter((x) => ids.has(x.to)); // (the 3 new ones get full maps)
    expect(toMembers.map((x) => x.to).sort()).toEqual([...ids].sort());
    for (const x of toMembers) expect(x.msg).toMatchObject({ base: v, version: registry.version, entries: expect.any(Array) });
    expect(new Set(toMembers.map((x) => x.msg.entries.length))).toEqual(new Set([3]));
  });
});

describe('retransmission under load', () => {
  it.each([
    ['no sample yet: the first retry', undefined, mapFirstRetryMs],
    ['a fast round trip: never below the first retry', 20, mapFirstRetryMs],
    ['busy peers answering in 1.5 s: 3 s', 1_500, 3_000],
    ['capped at the largest retry', 60_000, mapMaxRetryMs],
  ])('retry floor: %s', (_why, srtt, want) => {
    expect(retryFloorMs(srtt)).toBe(want);
  });

  it.each([
    ['the first sample is taken as is', undefined, 800, 800],
    ['later ones move it an eighth of the way', 800, 1_600, 900],
  ])('smoothed round trip: %s', (_why, srtt, sample, want) => {
    expect(nextSrttMs(srtt, sample)).toBe(want);
  });

  it('learns a round trip longer than the first retry and then waits twice it before resending', () => {
    const { clock, registry, sent, maps, join } = setup();
    for (let i = 0; i < 6; i++) {
      join();
      clock.advance(1_200); // busy peers: each part acked 1.2 s after it was sent
      for (const x of sent.splice(0)) maps.acked(registry.get(x.to)!, x.msg.seq);
      clock.advance(5_000);
      for (const x of sent.splice(0)) maps.acked(registry.get(x.to)!, x.msg.seq);
    }
    const floor = retryFloorMs(maps.srttMs);
    expect(maps.srttMs).toBeGreaterThan(mapFirstRetryMs);
    expect(maps.srttMs).toBeLessThanOrEqual(1_200); // timed from the last send: never above the truth
    sent.length = 0;
    const m = join();
    const toM = () => sent.filter((x) => x.to === m.id).length; // (the others get a delta meanwhile)
    const first = toM();
    clock.advance(floor - 10);
    expect(toM()).toBe(first); // the fixed 500 ms would have resent by now
    clock.advance(20);
    expect(toM()).toBeGreaterThan(first);
  });

  it('puts off a retransmission once when its timer fires late (the hub itself is behind)', () => {
    const { clock, sent, maps, join } = setup();
    join();
    const first = sent.length;
    clock.lateMs = mapLateTimerMs + 50; // the loop ran the timer 150 ms late
    clock.advance(mapFirstRetryMs);
    expect(sent.length).toBe(first);
    expect(maps.counters.putOff).toBe(1);
    clock.advance(mapFirstRetryMs); // late again, but only once is put off
    expect(sent.length).toBe(2 * first);
  });
});

describe('full maps in a join storm', () => {
  it('streams a few full maps at once and starts the others in order of arrival, so joiners finish one after another', () => {
    const { clock, registry, sent, maps, join } = setup(undefined, 2);
    for (let i = 0; i < 400; i++) registry.upsert({ publicKey: new Uint8Array(32), id: `x${i}`, overlay: 0x0a091000 + i, name: `node-${i}`, bootId: 1n, reflexive: { address: '127.0.0.1', port: 1 }, lan: [] }, 0);
    const joiners = Array.from({ length: 5 }, join);
    const started = () => joiners.filter((m) => sent.some((x) => x.to === m.id)).map((m) => joiners.indexOf(m));
    expect(started()).toEqual([0, 1]);
    const finished: number[] = [];
    for (let round = 0; round < 500 && finished.length < joiners.length; round++) {
      const batch = sent.splice(0);
      for (const x of batch) {
        const m = registry.get(x.to)!;
        const j = joiners.indexOf(m);
        maps.acked(m, x.msg.seq);
        if (j >= 0 && maps.ackedVersion(m) > 0 && !finished.includes(j)) finished.push(j);
      }
      clock.advance(0);
      expect(maps.queued.full).toBeLessThanOrEqual(2);
    }
    expect(finished).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('retransmission while the members answer slowly (a long fan-out)', () => {
  it.each([
    ['ACKs from others just now, part sent 600 ms ago: queued behind theirs, wait', 1_000, 990, 400, true],
    ['an ACK exactly mapAckFlowMs ago still counts as flowing', 1_000, 1_000 - mapAckFlowMs, 400, true],
    ['no ACK for longer than mapAckFlowMs: the receivers went quiet, resend', 1_000, 1_000 - mapAckFlowMs - 1, 400, false],
    ['never any ACK: resend', 1_000, -Infinity, 400, false],
    ['ACKs flowing but the part was sent mapBusyHoldMs ago: a real loss, resend', 10_000, 9_990, 10_000 - mapBusyHoldMs, false],
  ])('%s', (_why, now, lastAck, sentMs, want) => {
    expect(holdRetransmit(now, lastAck, sentMs)).toBe(want);
  });

  it('resends nothing to members whose ACKs come after the first retry while others keep acking, and resends a lost part once they stop', () => {
    const { clock, registry, sent, maps, join, ackAll } = setup();
    for (let i = 0; i < 40; i++) join();
    for (let i = 0; i < 30; i++) {
      ackAll();
      clock.advance(100);
    }
    sent.length = 0;
    const retransmitsBefore = maps.counters.retransmits;
    const joiner = join(); // one change: a delta to each of the 40
    const deltas = () => sent.filter((x) => x.to !== joiner.id && x.msg.base > 0);
    for (let i = 0; i < 200 && deltas().length < 40; i++) {
      for (const x of sent.filter((y) => y.to === joiner.id)) maps.acked(joiner, x.msg.seq);
      clock.advance(5);
    }
    expect(deltas().length).toBe(40);
    const order = deltas();
    const lost = order[10]!; // its part never reaches the member
    const t0 = clock.now();
    // Receivers working through a backlog: half the members ack at once, the rest from 450 ms on,
    // one every 40 ms (the last ~1.2 s after its send): the round trip estimate stays low meanwhile.
    const ack = (x: (typeof order)[number]) => {
      if (x !== lost) maps.acked(registry.get(x.to)!, x.msg.seq);
    };
    for (const x of order.slice(0, 20)) {
      clock.advance(1);
      ack(x);
    }
    clock.advance(450 - (clock.now() - t0));
    for (const x of order.slice(20)) {
      ack(x);
      clock.advance(40);
    }
    const resentTo = (id: string) => deltas().filter((x) => x.to === id).length - 1;
    expect(order.filter((x) => x !== lost && resentTo(x.to) > 0).length).toBe(0); // waited in a queue: not resent
    expect(maps.counters.retransmits - retransmitsBefore).toBe(0);
    expect(maps.counters.held).toBeGreaterThan(0);
    clock.advance(600); // the ACKs stopped: the lost part goes again (at twice the round trip learnt meanwhile)
    expect(resentTo(lost.to)).toBe(1);
    expect(clock.now() - t0).toBeLessThan(mapBusyHoldMs);
  });
});
