// peer/pair-transport.ts: the one per-pair decision (transport, FEC gate, why), row by row. The first
// sixteen rows are issue 21's channel table (leg-channel-choice.ts before it merged here); then the
// FEC gate (issue 19, fec-stage.ts's old inline test), the hysteresis and the reason text.
import { describe, expect, it } from 'vitest';
import { decidePairTransport, FEC_REASON_TEXT, kcpOverStreamLeavePct, kcpOverStreamLossPct, measuredText, TRANSPORT_REASON_TEXT, type PairTransportInput } from '../../src/peer/pair-transport.js';

const relayed: PairTransportInput = { transport: 'auto', fec: 'auto', direct: false, ownLeg: 'udp', peerSpeaksFec: true };

describe('decidePairTransport: transport', () => {
  it.each<[string, Partial<PairTransportInput>, { transport: string; reason: string }]>([
    ['--transport kcp pins KCP even over a TCP leg', { transport: 'kcp', ownLeg: 'tcp' }, { transport: 'kcp', reason: 'pinned' }],
    ['--transport datagram pins datagrams even on a lossy direct path', { transport: 'datagram', direct: true, ownUdpLossPct: 30, loss: 0.1 }, { transport: 'datagram', reason: 'pinned' }],
    ['direct path: KCP (UDP end to end, loss is real)', { direct: true }, { transport: 'kcp', reason: 'direct' }],
    ['direct path while our hub leg is TCP: still KCP (the hub leg is not on the path)', { direct: true, ownLeg: 'tcp' }, { transport: 'kcp', reason: 'direct' }],
    ['direct and clean: still KCP (a datagram channel measures no loss to come back on)', { direct: true, loss: 0, rttMs: 1, goodputMbps: 900 }, { transport: 'kcp', reason: 'direct' }],
    ['direct, 10 % loss at 200 ms: KCP', { direct: true, loss: 0.1, rttMs: 200 }, { transport: 'kcp', reason: 'direct' }],
    ['relayed, our leg UDP, the remote unknown: KCP (the old default)', {}, { transport: 'kcp', reason: 'udp-legs' }],
    ['relayed, both legs UDP: KCP', { peerLeg: 'udp', ownUdpLossPct: 0 }, { transport: 'kcp', reason: 'udp-legs' }],
    ['relayed, our leg TCP, the remote unknown: datagrams (no loss known on its side)', { ownLeg: 'tcp' }, { transport: 'datagram', reason: 'stream-leg' }],
    ['relayed, our leg TLS: datagrams', { ownLeg: 'tls' }, { transport: 'datagram', reason: 'stream-leg' }],
    ['relayed, our leg TCP: our own UDP probe loss is off the path and does not count', { ownLeg: 'tcp', ownUdpLossPct: 40 }, { transport: 'datagram', reason: 'stream-leg' }],
    ['relayed, both legs streams: datagrams, nothing on the path loses', { ownLeg: 'tcp', peerLeg: 'tls', ownUdpLossPct: 40, peerUdpLossPct: 40 }, { transport: 'datagram', reason: 'stream-leg' }],
    ['relayed, the remote on TCP, our UDP leg clean: datagrams', { peerLeg: 'tcp', ownUdpLossPct: 0 }, { transport: 'datagram', reason: 'stream-leg' }],
    ['relayed, the remote on TCP, our UDP leg loss not measured yet: datagrams', { peerLeg: 'tcp' }, { transport: 'datagram', reason: 'stream-leg' }],
    ['relayed, the remote on TCP, our UDP leg one probe in 30 lost (noise): datagrams', { peerLeg: 'tcp', ownUdpLossPct: 100 / 30 }, { transport: 'datagram', reason: 'stream-leg' }],
    ['relayed, the remote on TCP, our UDP leg at the threshold: KCP', { peerLeg: 'tcp', ownUdpLossPct: kcpOverStreamLossPct }, { transport: 'kcp', reason: 'stream-leg-lossy-udp' }],
    ['relayed, the remote on TCP, our UDP leg 10 % (5 % each way): KCP', { peerLeg: 'tcp', ownUdpLossPct: 10 }, { transport: 'kcp', reason: 'stream-leg-lossy-udp' }],
    ['relayed, our leg TCP, the remote UDP leg known lossy: KCP', { ownLeg: 'tcp', peerLeg: 'udp', peerUdpLossPct: 10 }, { transport: 'kcp', reason: 'stream-leg-lossy-udp' }],
  ])('%s', (_why, over, want) => {
    expect(decidePairTransport({ ...relayed, ...over })).toMatchObject(want);
  });
});

describe('decidePairTransport: hysteresis on the lossy UDP leg', () => {
  const lossyLeg = (pct: number, held: boolean) => {
    const current = held ? decidePairTransport({ ...relayed, peerLeg: 'tcp', ownUdpLossPct: 10 }) : decidePairTransport({ ...relayed, peerLeg: 'tcp', ownUdpLossPct: 0 });
    return decidePairTransport({ ...relayed, peerLeg: 'tcp', ownUdpLossPct: pct, current }).transport;
  };
  it.each<[string, number, boolean, string]>([
    ['datagrams, one probe in 30 lost: stays datagrams', 100 / 30, false, 'datagram'],
    ['datagrams, two in 30: KCP', 200 / 30, false, 'kcp'],
    ['KCP for a lossy leg, down to one in 30: stays KCP (no flap around the threshold)', 100 / 30, true, 'kcp'],
    ['KCP for a lossy leg, none lost in 30: datagrams again', 0, true, 'datagram'],
    ['KCP for a lossy leg, just under the leave point: datagrams', kcpOverStreamLeavePct - 0.1, true, 'datagram'],
  ])('%s', (_why, pct, held, want) => {
    expect(lossyLeg(pct, held)).toBe(want);
  });

  it('a path that drifts one probe up and down around the threshold switches once, not every reading', () => {
    let current = decidePairTransport({ ...relayed, peerLeg: 'tcp', ownUdpLossPct: 0 });
    const readings = [100 / 30, 200 / 30, 100 / 30, 200 / 30, 100 / 30, 200 / 30, 100 / 30];
    let switches = 0;
    for (const pct of readings) {
      const next = decidePairTransport({ ...relayed, peerLeg: 'tcp', ownUdpLossPct: pct, current });
      if (next.transport !== current.transport) switches++;
      current = next;
    }
    expect(switches).toBe(1);
    expect(current.transport).toBe('kcp');
  });
});

describe('decidePairTransport: FEC gate', () => {
  const direct: Partial<PairTransportInput> = { direct: true, loss: 0.05, rttMs: 40 };
  it.each<[string, Partial<PairTransportInput>, boolean, string]>([
    ['direct, the peer speaks FEC: parity sized from the loss', direct, true, 'by-loss'],
    ['direct, clean path: the gate is open, the sizing adds none', { direct: true, loss: 0 }, true, 'by-loss'],
    ['--fec on: open, with the 1 % floor', { ...direct, fec: 'on' }, true, 'pinned-on'],
    ['--fec off: closed whatever the loss', { ...direct, fec: 'off', loss: 0.2 }, false, 'pinned-off'],
    ['the peer does not speak FEC: closed (it would drop kind 5)', { ...direct, peerSpeaksFec: false }, false, 'peer-no-fec'],
    ['relayed: closed (no room for 9 more bytes in a full relayed segment)', { loss: 0.05 }, false, 'relayed'],
    ['relayed with --fec on: still closed (the MTU does not care about the flag)', { loss: 0.05, fec: 'on' }, false, 'relayed'],
    ['--transport datagram on a direct path: FEC still allowed (it wraps datagrams too)', { ...direct, transport: 'datagram' }, true, 'by-loss'],
  ])('%s', (_why, over, fec, fecReason) => {
    expect(decidePairTransport({ ...relayed, ...over })).toMatchObject({ fec, fecReason });
  });
});

describe('decidePairTransport: why', () => {
  it.each<[string, Partial<PairTransportInput>, RegExp]>([
    ['names the preset under --kcp-mode and what was measured', { direct: true, kcpMode: 'fast3', loss: 0.045, rttMs: 40.4, goodputMbps: 12 }, /^kcp \(fast3\): direct UDP path.*; FEC parity sized from the measured loss \(4\.5 % loss, 40 ms RTT, 12\.0 Mbit\/s sent\)$/],
    ['says nothing was measured yet', { direct: true }, /\(not measured yet\)$/],
    ['datagram on a TCP leg with FEC off for the relay', { ownLeg: 'tcp', kcpMode: 'fast2' }, /^datagram: relayed over a TCP\/TLS hub leg.*; FEC off \(relayed/],
  ])('%s', (_why, over, re) => {
    expect(decidePairTransport({ ...relayed, ...over }).why).toMatch(re);
  });

  it('has a text for every reason', () => {
    for (const t of Object.values(TRANSPORT_REASON_TEXT)) expect(t.length).toBeGreaterThan(10);
    for (const t of Object.values(FEC_REASON_TEXT)) expect(t.length).toBeGreaterThan(10);
    expect(Object.keys(TRANSPORT_REASON_TEXT).sort()).toEqual(['direct', 'pinned', 'stream-leg', 'stream-leg-lossy-udp', 'udp-legs']);
  });

  it('measuredText leaves out what is unknown', () => {
    expect(measuredText({ rttMs: 200 })).toBe('200 ms RTT');
    expect(measuredText({ loss: 0 })).toBe('0.0 % loss');
  });
});
