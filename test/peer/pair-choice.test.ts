// The per-pair choice of transport and FEC (pair-choice.ts, issue 19 item 5): a table of paths and
// settings, each row saying why.
import { describe, expect, it } from 'vitest';
import { choosePair, type PairPath, type PairSettings } from '../../src/peer/pair-choice.js';

const auto: PairSettings = { transport: 'auto', fec: 'auto' };

describe('choosePair', () => {
  it.each<[string, PairPath, PairSettings, 'kcp' | 'datagram', boolean, RegExp]>([
    ['unmeasured: KCP, the safe default under unknown loss', { rttMs: undefined, loss: undefined, goodputMbps: undefined }, auto, 'kcp', false, /until the path is measured/],
    ['a clean LAN: datagram, no FEC', { rttMs: 1, loss: 0, goodputMbps: 900 }, auto, 'datagram', false, /clean path.*0.0 % loss, 1 ms RTT, 900.0 Mbit\/s/],
    ['a clean long path: datagram too (nothing to repair)', { rttMs: 200, loss: 0.0005, goodputMbps: 30 }, auto, 'datagram', false, /datagram/],
    ['5 % at 40 ms: KCP with FEC', { rttMs: 40, loss: 0.05, goodputMbps: 100 }, auto, 'kcp', true, /kcp: the path loses, .*FEC \d+\+\d+ \(5.0 % loss/],
    ['10 % at 200 ms: KCP with FEC', { rttMs: 200, loss: 0.1, goodputMbps: 20 }, auto, 'kcp', true, /FEC/],
    ['--transport datagram pins it even under loss; FEC still helps', { rttMs: 40, loss: 0.05, goodputMbps: 50 }, { transport: 'datagram', fec: 'auto' }, 'datagram', true, /datagram \(--transport\)/],
    ['--transport kcp on a clean path: KCP, no FEC', { rttMs: 40, loss: 0, goodputMbps: 50 }, { transport: 'kcp', fec: 'auto' }, 'kcp', false, /kcp \(--transport\), no FEC/],
    ['--fec off under loss', { rttMs: 40, loss: 0.05, goodputMbps: 50 }, { transport: 'auto', fec: 'off' }, 'kcp', false, /FEC off \(--fec off\)/],
    ['--fec on on a clean path with --transport kcp', { rttMs: 40, loss: 0, goodputMbps: 50 }, { transport: 'kcp', fec: 'on' }, 'kcp', true, /--fec on/],
  ])('%s', (_why, path, set, transport, fecOn, why) => {
    const c = choosePair(path, set);
    expect(c.transport).toBe(transport);
    expect(c.fec.m > 0).toBe(fecOn);
    expect(c.why).toMatch(why);
  });
});
