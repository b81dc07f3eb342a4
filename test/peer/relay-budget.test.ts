// peer/relay-budget.ts: the pacing ceiling a relayed pair takes from the hub's relay budget (table),
// the holder RELAY_BUDGET feeds, and through a data plane (manual clock): a relayed pair's KCP
// controller gets the ceiling, a direct one never does, and a pair that goes direct drops it.
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/arq/constants.js';
import type { PeerSender } from '../../src/peer/channel.js';
import { DataPlane } from '../../src/peer/dataplane.js';
import { LegChannel, ceilingCheckIntervalMs } from '../../src/peer/leg-channel.js';
import { RemotePeers } from '../../src/peer/peer-table.js';
import { controllerCeiling, RelayBudget, relayCeilingMaxBytesPerSec, relayCeilingMaxLoss, relayCeilingShare, relayPacingCeiling, type RelayCeilingInput } from '../../src/peer/relay-budget.js';
import { fromHex } from '../../src/util/bytes.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { encodeRelayBudget } from '../../src/wire/relay-budget.js';
import { ChannelTun } from '../fakes/channel-tun.js';
import { testLogger } from '../fakes/logger.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { infoOf } from '../fakes/peer-info.js';
import { ipv4TestPacket, IPPROTO_UDP } from '../fakes/ipv4-packet.js';

const budget = 6_250_000; // --relay-rate 50

describe('relayPacingCeiling', () => {
  it('pins the local tuning', () => {
    expect([relayCeilingShare, relayCeilingMaxLoss, relayCeilingMaxBytesPerSec]).toEqual([1, 0.2, 25_000_000]);
  });

  it.each<[string, RelayCeilingInput, number | undefined]>([
    ['direct: no budget applies, the controller finds the path itself', { direct: true, budgetBytesPerSec: budget, loss: 0.05 }, undefined],
    ['relayed by an older hub (never told): no ceiling, as before', { direct: false, budgetBytesPerSec: undefined, loss: 0 }, undefined],
    ['relayed, no loss reading yet: the budget', { direct: false, budgetBytesPerSec: budget, loss: undefined }, budget],
    ['relayed, clean: the budget', { direct: false, budgetBytesPerSec: budget, loss: 0 }, budget],
    ['relayed, 5 % of our sends lost before the hub: 1/0.95 of it reaches the hub as the budget', { direct: false, budgetBytesPerSec: budget, loss: 0.05 }, budget / 0.95],
    ['relayed, 60 % loss: made up only to 20 % (more is not the budget\'s doing)', { direct: false, budgetBytesPerSec: budget, loss: 0.6 }, budget / 0.8],
    ['a negative reading is no loss', { direct: false, budgetBytesPerSec: budget, loss: -0.1 }, budget],
    ['a zero budget is none', { direct: false, budgetBytesPerSec: 0, loss: 0 }, undefined],
    ['200 Mbit/s: still a ceiling', { direct: false, budgetBytesPerSec: 25_000_000, loss: 0 }, 25_000_000],
    ['above 200 Mbit/s (uncapped in the bench): not what limits a pair, no ceiling', { direct: false, budgetBytesPerSec: 25_000_001, loss: 0 }, undefined],
  ])('%s', (_why, i, want) => {
    const got = relayPacingCeiling(i);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toBeCloseTo(want, 6);
  });

  it.each<[string, number, number, number]>([
    // The hub charges a full segment's payload; the controller counts it with the 24-byte KCP header.
    ['a full 1378-byte segment (TUN MTU 1378)', budget, 1378, (6_250 * 1402) / 1378],
    ['a small mss pays more header per byte', 1_000_000, 476, (1_000 * 500) / 476],
  ])('controllerCeiling: %s', (_why, bps, mss, want) => {
    expect(controllerCeiling(bps, mss)).toBeCloseTo(want, 6);
  });
});

describe('RelayBudget (what RELAY_BUDGET says)', () => {
  it('takes a budget, acks its seq, and a new registration forgets it', () => {
    const b = new RelayBudget();
    const acks: number[] = [];
    expect(b.receive(encodeRelayBudget({ seq: 9, kbitPerSec: 50_000 }), (s) => acks.push(s))).toBe(true);
    expect([b.bytesPerSec, acks, b.received]).toEqual([budget, [9], 1]);
    b.forget();
    expect(b.bytesPerSec).toBeUndefined();
  });

  it('0 kbit/s: relayed without a budget (no ceiling)', () => {
    const b = new RelayBudget();
    b.receive(encodeRelayBudget({ seq: 1, kbitPerSec: 0 }), () => undefined);
    expect(b.bytesPerSec).toBeUndefined();
  });

  it('a malformed one is counted, not acked, and changes nothing', () => {
    const b = new RelayBudget();
    const acks: number[] = [];
    expect(b.receive(fromHex('4001000000'), (s) => acks.push(s))).toBe(false);
    expect([b.bytesPerSec, acks, b.malformed]).toEqual([undefined, [], 1]);
  });
});

describe('a pair\'s controller and the relay budget (data plane, manual clock)', () => {
  const A = ipv4ToU32('10.9.0.2');
  const B = ipv4ToU32('10.9.0.3');

  function plane(direct: { now: boolean }, withBudget = true) {
    const clock = new ManualClock();
    const table = new RemotePeers({ bootId: 1n, clock, random01: () => 0.5 });
    table.upsert(infoOf(B, 2n));
    const sender: PeerSender & { isDirect(p: unknown): boolean } = { isDirect: () => direct.now, send: () => true };
    const relayBudget = new RelayBudget();
    relayBudget.bytesPerSec = budget;
    const tun = new ChannelTun({ mtu: 1378 });
    const deferred: (() => void)[] = [];
    const dp = new DataPlane({
      tun, localAddress: A, prefixLength: 24, mtu: 1378, transport: 'kcp', preset: presets.fast2, clock, defer: (fn) => deferred.push(fn),
      log: testLogger(), table, sender, ...(withBudget ? { relayBudget } : {}),
    });
    tun.onPackets((b) => dp.outbound.onTunBatch(b));
    const packet = () => ipv4TestPacket(A, B, IPPROTO_UDP, 100, 0).p;
    const send = (advanceMs = 0) => {
      clock.advance(advanceMs);
      tun.inject(packet());
      while (deferred.length) deferred.shift()!();
    };
    const peer = [...table.values()][0]!;
    /** The ceiling the pair's first KCP lane's controller holds (bytes/ms, 0 = none). */
    const ceiling = () => {
      // The lanes are private to the channel: read the first lane's controller as the test's own view.
      const lanes = (peer.channel as unknown as { kcp?: { lanes: Array<{ kcp: { rateControl: { ceiling: number } } } | undefined> } }).kcp?.lanes;
      return lanes?.find((l) => l !== undefined)?.kcp.rateControl.ceiling;
    };
    return { send, ceiling, peer };
  }

  it.each<[string, boolean, boolean, number]>([
    ['relayed, told the budget: the controller paces at most at it', false, true, controllerCeiling(budget, 1378)],
    ['direct: untouched (no ceiling), even with a budget known', true, true, 0],
    ['relayed by an older hub (no relayBudget): untouched', false, false, 0],
  ])('%s', (_why, isDirect, withBudget, want) => {
    const { send, ceiling } = plane({ now: isDirect }, withBudget);
    send();
    expect(ceiling()).toBeCloseTo(want, 6);
  });

  it('a relayed pair that goes direct drops the ceiling within ceilingCheckIntervalMs, and takes it again going back', () => {
    const direct = { now: false };
    const { send, ceiling } = plane(direct);
    send();
    expect(ceiling()).toBeGreaterThan(0);
    direct.now = true;
    send(ceilingCheckIntervalMs);
    expect(ceiling()).toBe(0);
    direct.now = false;
    send(ceilingCheckIntervalMs);
    expect(ceiling()).toBeCloseTo(controllerCeiling(budget, 1378), 6);
  });
});
