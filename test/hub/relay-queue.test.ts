// The relay's shaping queue (issue 19 item 6): sizes from the budget, the drain delay, admission
// against the per-sender and hub-wide caps, and the FIFO's byte count.
import { describe, expect, it } from 'vitest';
import {
  ByteFifo, relayChargeBytes, relayChargeMinBytes, relayTunnelOverheadBytes, relayShapeBurstBytes, relayShapeBurstMinBytes, relayDrainDelayMs, relayDrainMinMs, relayItemCost, relayItemOverheadBytes, relayQueueAdmits, relayQueueCapBytes, relayQueueMaxBytes, relayQueueMinBytes,
} from '../../src/hub/relay-queue.js';
import { KCP_OVERHEAD_BYTES } from '../../src/arq/constants.js';
import { INNER_HEADER_BYTES } from '../../src/wire/inner.js';
import { TRANSPORT_OVERHEAD } from '../../src/wire/outer.js';

describe('relayQueueCapBytes', () => {
  it.each([
    ['50 Mbit/s (the default budget): 200 ms of it', 6_250_000, 1_250_000],
    ['a slow budget still holds a few dozen datagrams', 12_500, relayQueueMinBytes],
    ['a huge budget is capped per sender (memory)', 1_250_000_000, relayQueueMaxBytes],
  ] as const)('%s', (_why, bytesPerSec, cap) => {
    expect(relayQueueCapBytes(bytesPerSec)).toBe(cap);
  });
});

describe('relayShapeBurstBytes', () => {
  it.each([
    ['50 Mbit/s: 20 ms of it, not the 1 s policing burst', 6_250_000, 6_250_000, 125_000],
    ['a slow budget: the floor of a dozen datagrams', 100_000, 2_000_000, relayShapeBurstMinBytes],
    ['never deeper than the policy burst', 100_000, 4_000, 4_000],
  ] as const)('%s', (_why, bytesPerSec, policy, depth) => {
    expect(relayShapeBurstBytes(bytesPerSec, policy)).toBe(depth);
  });
});

describe('relayDrainDelayMs', () => {
  it.each([
    ['the head fits: now', 2_000, 1_400, 1_000_000, 0],
    ['exactly fits: now', 1_400, 1_400, 1_000_000, 0],
    ['short by 1,000 bytes at 1 MB/s: 1 ms', 400, 1_400, 1_000_000, 1],
    ['short by 1,400 bytes at 100 kB/s: 14 ms', 0, 1_400, 100_000, 14],
    ['short by a little: not below the timer floor', 1_399, 1_400, 1_000_000, relayDrainMinMs],
    ['a debt (negative level) is waited out too', -1_000, 1_000, 1_000_000, 2],
    ['no rate: never', 0, 1_400, 0, Infinity],
  ] as const)('%s', (_why, tokens, head, rate, delay) => {
    expect(relayDrainDelayMs(tokens, head, rate)).toBeCloseTo(delay, 6);
  });
});

describe('relayQueueAdmits', () => {
  it.each([
    ['room in both', 0, 1_528, 10_000, 0, 100_000, true],
    ['fills the sender queue exactly', 8_472, 1_528, 10_000, 0, 100_000, true],
    ['one byte over the sender cap', 8_473, 1_528, 10_000, 0, 100_000, false],
    ['the hub-wide cap binds first', 0, 1_528, 10_000, 99_000, 100_000, false],
  ] as const)('%s', (_why, queued, cost, cap, total, totalCap, ok) => {
    expect(relayQueueAdmits(queued, cost, cap, total, totalCap)).toBe(ok);
  });

  it('counts an overhead per item, so tiny datagrams are bounded too', () => {
    expect(relayItemCost(0)).toBe(relayItemOverheadBytes);
    expect(relayItemCost(1_400)).toBe(1_400 + relayItemOverheadBytes);
  });
});

describe('ByteFifo', () => {
  it('keeps order and the byte count through many pushes and shifts (compaction included)', () => {
    const f = new ByteFifo<number>();
    let next = 0;
    let expectHead = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) f.push(next++, 10);
      for (let i = 0; i < 60; i++) expect(f.shift(10)).toBe(expectHead++);
    }
    expect(f.length).toBe(next - expectHead);
    expect(f.bytes).toBe(10 * f.length);
    while (f.length > 0) expect(f.shift(10)).toBe(expectHead++);
    expect(f.bytes).toBe(0);
    expect(f.shift(10)).toBeUndefined();
    expect(f.peek()).toBeUndefined();
  });
});

describe('relayChargeBytes: --relay-rate counts the packet a datagram tunnels', () => {
  it('the tunnel overhead is the seal, the kind byte and a KCP header', () => {
    expect(relayTunnelOverheadBytes).toBe(TRANSPORT_OVERHEAD + INNER_HEADER_BYTES + KCP_OVERHEAD_BYTES);
  });
  it.each([
    ['a full-size KCP datagram (TUN MTU 1358): the 1,358-byte packet', 32 + 1 + 24 + 1358, 1358],
    ['a datagram-mode packet: 24 bytes less than it carries (the hub cannot tell)', 32 + 1 + 600, 600 - 24],
    ['a bare KCP ack (57 bytes): the floor, 16 bytes (tunnel overhead only; it was 64)', 57, 16],
    ['two acks in one datagram: the second header', 57 + 24, 24],
    ['three acks: what follows the first header', 57 + 48, 48],
    ['the smallest sealed datagram: the floor', 33, relayChargeMinBytes],
  ] as const)('%s', (_why, bytes, charge) => {
    expect(relayChargeBytes(bytes)).toBe(charge);
  });
});
