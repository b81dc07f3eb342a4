// Issue #8, bad-link half, on virtual time: a 200 Mbit/s bottleneck with a 1 MB drop-tail queue,
// 20 ms each way and random loss after it (the shape of bench/vpn's delay bridge), with a
// saturating sender held at kcp-channel's queue limit. Without rate control KCP's nc = 1 sends
// whole windows into the queue and collapses; with it goodput stays near what the loss leaves and
// the queue stays short. Simulated-time properties only (seeded, no wall clock).
import { describe, expect, it } from 'vitest';
import type { Kcp } from '../../src/arq/kcp.js';
import type { KcpPresetName } from '../../src/arq/constants.js';
import { runBulk, runEcho, type PathConfig } from './bottleneck.js';

/** 200 Mbit/s, 1 MB queue (~1 BDP at 40 ms), 60 bytes of IP/UDP/AEAD per datagram. */
const path = (loss: number, queueBytes = 1_000_000): PathConfig => ({ rateBytesPerMs: 25_000, queueBytes, delayMs: 20, loss, overheadBytes: 60 });
/** Payload share of the wire: 1375-byte packets in 1375 + 25 (KCP + kind) + 60 bytes. */
const payloadShare = 1375 / 1460;
const baseRttMs = 40;

function meshd(preset: KcpPresetName, window = 4096): (k: Kcp) => void {
  return (k) => {
    k.usePreset(preset);
    k.setWndSize(window, window);
  };
}
function ikcp(preset: KcpPresetName, window: number): (k: Kcp) => void {
  return (k) => {
    k.usePreset(preset);
    k.setRateControl(false);
    k.setWndSize(window, window);
  };
}
const bulk = (loss: number, setup: (k: Kcp) => void, seed = 1, queueBytes?: number) =>
  runBulk({ path: path(loss, queueBytes), seed, durationMs: 4000, warmupMs: 1000, backlogSegs: 2048, setup });

describe('long lossy path (200 Mbit/s, 1 MB queue, 20 ms each way)', () => {
  // Floors are a margin below the measured figures (0.94 / 0.80 / 0.61 of the rate): headers
  // cost 6 %, each loss is resent, a segment whose ACK was lost is resent too, and the delivery
  // rate (what the controller paces at) does not count what random loss after the bottleneck ate.
  it.each([
    { loss: 0, floor: 0.88 },
    { loss: 0.05, floor: 0.72 },
    { loss: 0.1, floor: 0.55 },
  ])('rate control, loss $loss: goodput >= $floor of the bottleneck, queue delay bounded, no queue drops', ({ loss, floor }) => {
    const r = bulk(loss, meshd('fast3'));
    expect(r.inOrder).toBe(true);
    expect(r.utilisation).toBeGreaterThanOrEqual(floor);
    expect(r.utilisation).toBeLessThanOrEqual(payloadShare * 1.01); // (queued bytes delivered after the warm-up)
    // The queue never fills (no self-made loss) and stays well under a base RTT.
    expect(r.fwd.stats.queueDrops).toBe(0);
    expect(r.fwd.queueDelayQuantileMs(0.99)).toBeLessThanOrEqual(0.75 * baseRttMs);
    expect(r.fwd.stats.queueDelaySumMs / r.fwd.stats.sent).toBeLessThanOrEqual(0.4 * baseRttMs);
    // Random loss is repaired, not read as congestion: no stall of a second.
    expect(r.maxStallMs).toBeLessThan(500);
  });

  it.each([0.05, 0.1])('without rate control (ikcp nc = 1), loss %s: the queue overflows and goodput collapses', (loss) => {
    const with_ = bulk(loss, meshd('fast3'));
    const sameWindow = bulk(loss, ikcp('fast3', 4096));
    const before = bulk(loss, ikcp('fast3', 1024)); // meshd's configuration before rate control
    expect(sameWindow.inOrder && before.inOrder).toBe(true);
    // Self-made congestion: whole windows overflow the queue, and timeouts resend what was queued.
    expect(sameWindow.fwd.stats.queueDrops).toBeGreaterThan(with_.fwd.stats.queueDrops + 1000);
    expect(sameWindow.a.stats.retransTimeout).toBeGreaterThan(5 * with_.a.stats.retransTimeout);
    expect(sameWindow.utilisation).toBeLessThan(with_.utilisation / 1.3);
    expect(before.utilisation).toBeLessThan(with_.utilisation / 1.5);
  });

  it('the old 1024-segment window caps even rate control at 5 % loss: a lost resend holds snd_una', () => {
    const narrow = bulk(0.05, meshd('fast3', 1024));
    const wide = bulk(0.05, meshd('fast3', 4096));
    expect(narrow.utilisation).toBeLessThan(wide.utilisation * 0.7);
  });

  it.each(['normal', 'fast', 'fast2'] as const)('preset %s with rate control, 5 percent loss: >= 0.7 of the bottleneck, no queue drops', (preset) => {
    const r = bulk(0.05, meshd(preset), 2);
    expect(r.inOrder).toBe(true);
    expect(r.utilisation).toBeGreaterThanOrEqual(0.7);
    expect(r.fwd.stats.queueDrops).toBe(0);
  });

  it('a queue of a quarter BDP (250 KB): full rate, and under 1 % of datagrams lost to it (probing, not a standing overflow)', () => {
    const small = bulk(0, meshd('fast3'), 3, 250_000);
    expect(small.utilisation).toBeGreaterThanOrEqual(0.85);
    expect(small.fwd.stats.queueDrops).toBeLessThanOrEqual(small.fwd.stats.sent * 0.01);
    const old = bulk(0, ikcp('fast3', 4096), 3, 250_000);
    expect(old.fwd.stats.queueDrops).toBeGreaterThan(10 * small.fwd.stats.queueDrops);
  });
});

describe('interactive echo over the same path at 5 % loss (one 32-byte request per round trip)', () => {
  it.each(['fast2', 'fast3'] as const)('%s with rate control: average within 10 percent of the base RTT, worst case bounded', (preset) => {
    const r = runEcho({ path: path(0.05), seed: 4, setup: meshd(preset), rounds: 400 });
    expect(r.rounds).toBe(400);
    expect(r.avgMs).toBeLessThanOrEqual(1.1 * (baseRttMs + 1));
    // A lost request or reply costs one retransmission timeout; two in a row, a backed-off one.
    expect(r.maxMs).toBeLessThanOrEqual(4 * baseRttMs);
    // The thin-stream copies are what keeps a single loss from costing an RTO: ikcp's (same
    // preset, no rate control) pays ~one RTO per lost request or reply.
    const old = runEcho({ path: path(0.05), seed: 4, setup: ikcp(preset, 4096), rounds: 400 });
    expect(old.avgMs).toBeGreaterThan(r.avgMs + 3);
    expect(old.maxMs).toBeGreaterThan(2 * r.maxMs);
  });
});
