// Issue 17 (Low): members that never ACK MAP parts must not delay everyone's map. With 200 silent
// members a new member's full map took 17.6 s on a real hub (0.1 s without them): their unacked
// parts filled the hub-wide in-flight limit until each gave up (~15 s). Simulated time on the
// ManualClock (deterministic, not a wall-clock timing).
import { describe, expect, it } from 'vitest';
import { mapFirstRetryMs, mapFullConcurrent, mapInflightParts, MapSender } from '../../src/hub/map-sender.js';
import { parseNetwork, Registry, type Member } from '../../src/hub/registry.js';
import { ReliableSender } from '../../src/link/reliable.js';
import { ControlType, decodeControl } from '../../src/wire/control.js';
import { decodeInner, InnerKind } from '../../src/wire/inner.js';
import { ManualClock } from '../fakes/manual-clock.js';

function seqOf(inner: Uint8Array): number {
  const m = decodeInner(inner);
  if (m.kind !== InnerKind.CONTROL) throw new Error('not CONTROL');
  return decodeControl(m.body).seq;
}

/** Ms until a member joining after `silent` silent members has its whole full map acked (it ACKs
 * every part 20 ms after it is sent), and the in-flight parts the silent ones hold by then. */
function joinDelay(silent: number): { delayMs: number; inflight: number; silentParts: number } {
  const clock = new ManualClock();
  const registry = new Registry(parseNetwork('10.9.0.0/16'));
  const quiet = new Set<string>();
  const toAck: Array<{ m: Member; seq: number; at: number }> = [];
  let silentParts = 0;
  const rel = new Map<string, ReliableSender>();
  const maps = new MapSender({
    clock,
    registry,
    send: (m, inner) => {
      if (quiet.has(m.id)) silentParts++;
      else toAck.push({ m, seq: seqOf(inner), at: clock.now() + 20 });
    },
    reliableOf: (m: Member) => rel.get(m.id) ?? rel.set(m.id, new ReliableSender(clock)).get(m.id)!,
  });
  let n = 0;
  const join = (isQuiet: boolean): Member => {
    n++;
    const id = n.toString(16).padStart(64, '0');
    if (isQuiet) quiet.add(id);
    const { member } = registry.upsert(
      { publicKey: new Uint8Array(32).fill(n & 255), id, overlay: 0x0a090000 + n, name: `member-${n}`, bootId: BigInt(n), reflexive: { address: '198.51.100.1', port: 40000 + n }, lan: [] },
      clock.now(),
    );
    maps.sendFull(member);
    maps.changed();
    clock.advance(1);
    return member;
  };
  const step = () => {
    clock.advance(10);
    while (toAck.length > 0 && toAck[0]!.at <= clock.now()) {
      const a = toAck.shift()!;
      maps.acked(a.m, a.seq);
    }
  };
  // 300 members already there (no map state needed): every full map is ~20 parts, more than a window.
  for (let i = 0; i < 300; i++) {
    registry.upsert({ publicKey: new Uint8Array(32), id: `x${i}`, overlay: 0x0a091000 + i, name: `node-${i}`, bootId: 1n, reflexive: { address: '198.51.100.2', port: 1 }, lan: [] }, clock.now());
  }
  clock.advance(2_000); // the next full map is cut from a fresh snapshot
  for (let i = 0; i < 20; i++) join(false);
  for (let i = 0; i < silent; i++) join(true);
  for (let i = 0; i < 20; i++) step();
  const t0 = clock.now();
  const honest = join(false);
  for (let i = 0; i < 6_000 && maps.ackedVersion(honest) === 0; i++) step();
  const delayMs = clock.now() - t0;
  maps.close();
  return { delayMs, inflight: maps.inFlight, silentParts };
}

describe('map fairness', () => {
  it('200 silent members (their full maps more than the in-flight limit at a full window) do not delay a new member at all', () => {
    const base = joinDelay(0);
    const r = joinDelay(200);
    console.log(`map fairness: a new member's full map acked after ${base.delayMs} ms alone, ${r.delayMs} ms after 200 silent members (simulated); parts in flight ${r.inflight} of ${mapInflightParts}; parts sent to the silent ones ${r.silentParts}`);
    expect(r.delayMs).toBe(base.delayMs);
    expect(r.inflight).toBeLessThan(mapInflightParts / 2);
  });

  it('more silent joiners than full-map slots ahead of it delay a new member by at most one first retry per slot-full of them', () => {
    const base = joinDelay(0);
    const r = joinDelay(600);
    console.log(`map fairness: after 600 silent joiners: ${r.delayMs} ms (simulated); parts sent to the silent ones ${r.silentParts}`);
    expect(r.delayMs - base.delayMs).toBeLessThanOrEqual(Math.ceil(600 / mapFullConcurrent) * mapFirstRetryMs);
  });
});
