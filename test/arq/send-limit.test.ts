// Kcp stats.limitMs (issue 19 diagnosis): the time between rate-controlled flushes is charged to
// what held the sender at the end of the earlier flush: nothing queued, the sn span, the
// controller's bytes-in-flight cap, or pacing. No ACKs come back here, so the state stays put.
import { describe, expect, it } from 'vitest';
import { Kcp } from '../../src/arq/kcp.js';

function sender(sndWnd: number): Kcp {
  const k = new Kcp(1, () => {}, { reservedBytes: 0 });
  k.setMtu(1424);
  k.setWndSize(sndWnd, 1024);
  k.usePreset('fast2');
  return k;
}

describe('Kcp send-limit time (stats.limitMs)', () => {
  it.each([
    { why: 'nothing queued', sndWnd: 1024, queued: 0, expect: 'idle' },
    { why: 'the sn span (snd_wnd 16) is full, data waits', sndWnd: 16, queued: 200, expect: 'span' },
    { why: 'the initial window of 32 segments is in flight, data waits', sndWnd: 1024, queued: 200, expect: 'cwnd' },
  ] as const)('$why: the 100 ms to the next flush count as $expect', ({ sndWnd, queued, expect: state }) => {
    const k = sender(sndWnd);
    const pkt = new Uint8Array(1400);
    for (let i = 0; i < queued; i++) k.send(pkt);
    k.flush(1000);
    expect(k.stats.limitMs).toEqual({ pacing: 0, cwnd: 0, span: 0, idle: 0 });
    k.flush(1100);
    expect(k.stats.limitMs[state]).toBe(100);
    const others = Object.entries(k.stats.limitMs).filter(([s]) => s !== state);
    expect(others.every(([, v]) => v === 0)).toBe(true);
  });

  it('the default preset (no rate control) counts nothing', () => {
    const k = new Kcp(1, () => {}, { reservedBytes: 0 });
    k.send(new Uint8Array(100));
    k.flush(0);
    k.flush(100);
    expect(k.stats.limitMs).toEqual({ pacing: 0, cwnd: 0, span: 0, idle: 0 });
  });
});
