// interactive-datagram.ts: which packets of a pair whose channel is KCP leave as plain datagrams.
import { describe, expect, it } from 'vitest';
import {
  cleanForDatagrams,
  interactiveCleanMaxLoss,
  interactiveLossHoldMs,
  interactiveMaxBytes,
  interactiveMaxLanePps,
  interactiveMinCleanRx,
  interactiveRoute,
  type InteractiveInput,
  type InteractiveWhy,
} from '../../src/peer/interactive-datagram.js';
import { decidePairTransport, type PairTransportInput } from '../../src/peer/pair-transport.js';

describe('cleanForDatagrams: the pair may send small messages plain at all', () => {
  it.each<[string, 'kcp' | 'datagram', boolean, number | undefined, boolean]>([
    ['KCP on a direct path, no loss reading yet: the counters decide per packet', 'kcp', true, undefined, true],
    ['KCP on a direct path, reading 0 %', 'kcp', true, 0, true],
    ['KCP on a direct path, reading just under the line', 'kcp', true, interactiveCleanMaxLoss - 1e-6, true],
    ['KCP on a direct path, one retransmit in 200 segments: lossy', 'kcp', true, interactiveCleanMaxLoss, false],
    ['KCP on a direct path, 5 % loss', 'kcp', true, 0.05, false],
    ['relayed: KCP for everything (the relay budget and the hub leg are not measured here)', 'kcp', false, 0, false],
    ['datagram transport: everything is plain already, nothing to decide', 'datagram', true, 0, false],
  ])('%s', (_why, transport, direct, loss, want) => {
    expect(cleanForDatagrams(transport, direct, loss)).toBe(want);
  });
});

describe('interactiveRoute: one packet of a clean pair', () => {
  const ping: InteractiveInput = { clean: true, bytes: 84, lanePps: 5, sinceLossMs: undefined, cleanRx: 1000 };
  it.each<[string, Partial<InteractiveInput>, InteractiveWhy]>([
    ['an idle ping on a path proven clean: plain', {}, 'datagram'],
    ['the pair is not clean (reading lossy, relayed, or datagram transport)', { clean: false }, 'not-clean'],
    ['a full-size packet: KCP (a transfer, or a burst that must be repaired)', { bytes: 1378 }, 'large'],
    ['just at the size line: plain', { bytes: interactiveMaxBytes }, 'datagram'],
    ['a busy lane (a transfer\'s own TCP ACKs): KCP with the rest of its lane', { lanePps: interactiveMaxLanePps + 1 }, 'busy-lane'],
    ['a loss a moment ago: KCP', { sinceLossMs: 500, cleanRx: 1000 }, 'recent-loss'],
    ['the hold is over and the path proved clean again: plain', { sinceLossMs: interactiveLossHoldMs, cleanRx: interactiveMinCleanRx }, 'datagram'],
    ['the hold is over but too few clean datagrams since the loss: KCP', { sinceLossMs: interactiveLossHoldMs, cleanRx: interactiveMinCleanRx - 1 }, 'unproven'],
    ['a fresh channel: KCP until the peer\'s datagrams proved the path', { cleanRx: 0 }, 'unproven'],
  ])('%s', (_why, over, want) => {
    expect(interactiveRoute({ ...ping, ...over })).toBe(want);
  });
});

describe('decidePairTransport carries it (smallAsDatagrams)', () => {
  const base: PairTransportInput = { transport: 'auto', fec: 'auto', direct: true, ownLeg: 'udp', peerSpeaksFec: true };
  it.each<[string, Partial<PairTransportInput>, boolean]>([
    ['auto, direct, no reading yet', {}, true],
    ['--transport kcp, direct, clean (the bench pins kcp)', { transport: 'kcp', loss: 0 }, true],
    ['direct, 5 % loss: KCP for all', { loss: 0.05 }, false],
    ['relayed over UDP legs: KCP for all', { direct: false }, false],
    ['relayed over a TCP leg: datagrams already', { direct: false, ownLeg: 'tcp' }, false],
    ['--transport datagram', { transport: 'datagram' }, false],
  ])('%s', (_why, over, want) => {
    expect(decidePairTransport({ ...base, ...over }).smallAsDatagrams).toBe(want);
  });
});
