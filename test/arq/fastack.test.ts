// Fast-retransmit skip counting (src/arq/fastack.ts, kcp.ts parseFastack and DEPARTURE 14).
import { describe, expect, it } from 'vitest';
import { skipsSegment } from '../../src/arq/fastack.js';

describe('skipsSegment', () => {
  it.each([
    ['without conserve (ikcp.c default) every segment below the acked sn counts', 90, 100, 1, false, false, true],
    ['conserve: an ACK of an older transmission does not count', 99, 100, 1, true, false, false],
    ['conserve: a first transmission counts an equal ms (every higher sn left after it)', 100, 100, 1, true, true, true],
    ['conserve: a later ms counts', 101, 100, 1, true, true, true],
    ['conserve, repair, not strict: an equal ms counts (IKCP_FASTACK_CONSERVE)', 100, 100, 2, true, false, true],
    ['conserve, repair, strict: an equal ms may be a segment sent before the repair', 100, 100, 2, true, true, false],
    ['conserve, repair, strict: a later ms counts', 101, 100, 3, true, true, true],
    ['conserve, repair, strict: an older ms does not', 99, 100, 2, true, true, false],
    ['the u32 clock wraps', 1, 0xffff_ffff, 2, true, true, true],
    ['the u32 clock wraps, equal across it', 0xffff_ffff, 0xffff_ffff, 2, true, true, false],
  ] as const)('%s', (_why, ackTs, segTs, xmit, conserve, strict, want) => {
    expect(skipsSegment(ackTs, segTs, xmit, conserve, strict)).toBe(want);
  });
});
