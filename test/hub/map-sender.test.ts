// MapSender under load: coalesced deltas (one per member per window, not one per change), a
// window of unacked parts per member, retransmit delay that grows while nothing is acked.
import { describe, expect, it } from 'vitest';
import { MapSender, mapCoalesceMaxMs, mapCoalesceMs, mapFirstRetryMs, mapWindowParts, nextRetryMs, nextWindowMs } from '../../src/hub/map-sender.js';
import { parseNetwork, Registry, type Member } from '../../src/hub/registry.js';
import { ReliableSender } from '../../src/link/reliable.js';
import { ControlType, type ControlMessage } from '../../src/wire/control.js';
import { ManualClock } from '../fakes/manual-clock.js';

type Map_ = Extract<ControlMessage, { type: ControlType.MAP }>;

function setup() {
  const clock = new ManualClock();
  const registry = new Registry(parseNetwork('10.9.0.0/16'));
  const sent: Array<{ to: string; msg: Map_ }> = [];
  const rel = new Map<string, ReliableSender>();
  const maps = new MapSender(clock, registry, (m, msg) => sent.push({ to: m.id, msg: msg as Map_ }), (m) => {
    if (!rel.has(m.id)) rel.set(m.id, new ReliableSender(clock));
    return rel.get(m.id)!;
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
    return member;
  };
  /** Every member acks everything sent so far (repeatedly, as the window refills). */
  const ackAll = () => {
    for (let i = 0; i < sent.length; i++) {
      const m = registry.get(sent[i]!.to);
      if (m) maps.acked(m, sent[i]!.msg.seq);
    }
  };
  return { clock, registry, sent, maps, join, ackAll };
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

  it('gives a member whose map is in flight the rest once it acks', () => {
    const { clock, registry, sent, maps, join } = setup();
    const a = join();
    clock.advance(mapCoalesceMs);
    join();
    clock.advance(mapCoalesceMs);
    expect(sent.filter((s) => s.to === a.id).length).toBe(1); // still only the full map (unacked)
    maps.acked(a, sent[0]!.msg.seq);
    clock.advance(mapCoalesceMs);
    const toA = sent.filter((s) => s.to === a.id);
    expect(toA.length).toBe(2);
    expect(toA[1]!.msg).toMatchObject({ base: 1, version: registry.version });
  });

  it('keeps at most a window of parts unacked and refills it on ACKs', () => {
    const { registry, sent, maps, join } = setup();
    for (let i = 0; i < 400; i++) registry.upsert({ publicKey: new Uint8Array(32), id: `x${i}`, overlay: 0x0a091000 + i, name: `node-${i}`, bootId: 1n, reflexive: { address: '127.0.0.1', port: 1 }, lan: [] }, 0);
    const m = join();
    const mine = () => sent.filter((s) => s.to === m.id);
    const parts = mine()[0]!.msg.parts;
    expect(parts).toBeGreaterThan(mapWindowParts);
    expect(mine().length).toBe(mapWindowParts);
    for (let k = 0; k < 200 && mine().length < parts; k++) for (const s of mine()) maps.acked(m, s.msg.seq);
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

  it('lets a full map in flight carry on when its member registers again unchanged', () => {
    const { registry, sent, maps, join } = setup();
    for (let i = 0; i < 400; i++) registry.upsert({ publicKey: new Uint8Array(32), id: `x${i}`, overlay: 0x0a091000 + i, name: `node-${i}`, bootId: 1n, reflexive: { address: '127.0.0.1', port: 1 }, lan: [] }, 0);
    const m = join();
    const first = sent.filter((s) => s.to === m.id);
    for (const s of first.slice(0, 4)) maps.acked(m, s.msg.seq);
    const before = sent.length;
    maps.reregistered(m);
    const again = sent.slice(before);
    expect(again.every((s) => s.msg.base === 0 && s.msg.version === first[0]!.msg.version)).toBe(true);
    expect(again.some((s) => s.msg.part === 0)).toBe(false); // acked parts are not started over
    expect(new Set(again.map((s) => s.msg.seq)).size).toBe(again.length);
  });
});
