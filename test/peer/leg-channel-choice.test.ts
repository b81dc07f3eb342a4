// peer/leg-channel-choice.ts: KCP or datagrams for one pair, row by row with the reason.
import { describe, expect, it } from 'vitest';
import { CHANNEL_MODE_REASON_TEXT, chooseChannelMode, kcpOverStreamLossPct, type ChannelModeInput } from '../../src/peer/leg-channel-choice.js';

const relayed: ChannelModeInput = { setting: 'auto', direct: false, ownLeg: 'udp' };

describe('chooseChannelMode', () => {
  it.each<[string, Partial<ChannelModeInput>, { mode: string; reason: string }]>([
    ['--transport kcp pins KCP even over a TCP leg', { setting: 'kcp', ownLeg: 'tcp' }, { mode: 'kcp', reason: 'pinned' }],
    ['--transport datagram pins datagrams even on a lossy direct path', { setting: 'datagram', direct: true, ownUdpLossPct: 30 }, { mode: 'datagram', reason: 'pinned' }],
    ['direct path: KCP (UDP end to end, loss is real)', { direct: true }, { mode: 'kcp', reason: 'direct' }],
    ['direct path while our hub leg is TCP: still KCP (the hub leg is not on the path)', { direct: true, ownLeg: 'tcp' }, { mode: 'kcp', reason: 'direct' }],
    ['relayed, our leg UDP, the remote unknown: KCP (the old default)', {}, { mode: 'kcp', reason: 'udp-legs' }],
    ['relayed, both legs UDP: KCP', { peerLeg: 'udp', ownUdpLossPct: 0 }, { mode: 'kcp', reason: 'udp-legs' }],
    ['relayed, our leg TCP, the remote unknown: datagrams (no loss known on its side)', { ownLeg: 'tcp' }, { mode: 'datagram', reason: 'stream-leg' }],
    ['relayed, our leg TLS: datagrams', { ownLeg: 'tls' }, { mode: 'datagram', reason: 'stream-leg' }],
    ['relayed, our leg TCP: our own UDP probe loss is off the path and does not count', { ownLeg: 'tcp', ownUdpLossPct: 40 }, { mode: 'datagram', reason: 'stream-leg' }],
    ['relayed, both legs streams: datagrams, nothing on the path loses', { ownLeg: 'tcp', peerLeg: 'tls', ownUdpLossPct: 40, peerUdpLossPct: 40 }, { mode: 'datagram', reason: 'stream-leg' }],
    ['relayed, the remote on TCP, our UDP leg clean: datagrams', { peerLeg: 'tcp', ownUdpLossPct: 0 }, { mode: 'datagram', reason: 'stream-leg' }],
    ['relayed, the remote on TCP, our UDP leg loss not measured yet: datagrams', { peerLeg: 'tcp' }, { mode: 'datagram', reason: 'stream-leg' }],
    ['relayed, the remote on TCP, our UDP leg one probe in 30 lost (noise): datagrams', { peerLeg: 'tcp', ownUdpLossPct: 100 / 30 }, { mode: 'datagram', reason: 'stream-leg' }],
    ['relayed, the remote on TCP, our UDP leg at the threshold: KCP', { peerLeg: 'tcp', ownUdpLossPct: kcpOverStreamLossPct }, { mode: 'kcp', reason: 'stream-leg-lossy-udp' }],
    ['relayed, the remote on TCP, our UDP leg 10 % (5 % each way): KCP', { peerLeg: 'tcp', ownUdpLossPct: 10 }, { mode: 'kcp', reason: 'stream-leg-lossy-udp' }],
    ['relayed, our leg TCP, the remote UDP leg known lossy: KCP', { ownLeg: 'tcp', peerLeg: 'udp', peerUdpLossPct: 10 }, { mode: 'kcp', reason: 'stream-leg-lossy-udp' }],
  ])('%s', (_why, over, want) => {
    expect(chooseChannelMode({ ...relayed, ...over })).toEqual(want);
  });

  it('has a text for every reason', () => {
    for (const r of ['pinned', 'direct', 'udp-legs', 'stream-leg', 'stream-leg-lossy-udp'] as const) expect(CHANNEL_MODE_REASON_TEXT[r].length).toBeGreaterThan(10);
  });
});
