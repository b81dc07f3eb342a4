// PeerPaths without I/O: punch rounds over all candidates, first PONG wins, LAN upgrades, dead
// direct paths fall back, retries are scheduled.
import { describe, expect, it } from 'vitest';
import { PeerPaths } from '../../src/peer/punch.js';

const lan = { kind: 'lan' as const, endpoint: { address: '192.168.1.3', port: 51820 } };
const pub = { kind: 'public' as const, endpoint: { address: '198.51.100.7', port: 20001 } };

describe('PeerPaths', () => {
  it('probes every candidate together on the punch schedule, ~5 s in all', () => {
    const p = new PeerPaths(0, () => 0.5);
    p.startPunch([lan, pub, pub], 0);
    const sent: number[] = [];
    for (let t = 0; t <= 6_000; t += 100) sent.push(p.due(t).length);
    expect(sent.filter((n) => n > 0).every((n) => n === 2)).toBe(true); // duplicates removed
    expect(sent.reduce((a, b) => a + b, 0)).toBe(2 * 9);
    expect(p.punching).toBe(false);
    expect(p.wantsRetry(6_000 + 30_000)).toBe(false);
    expect(p.wantsRetry(6_000 + 45_000)).toBe(true);
  });

  it('takes the first PONG, then upgrades to LAN when its PONG comes later', () => {
    const p = new PeerPaths(0, () => 0.5);
    p.startPunch([lan, pub], 0);
    const [toLan, toPub] = p.due(0);
    expect(p.onPong(toPub!.txid, pub.endpoint, 30)).toBe('upgraded');
    expect(p.current(30)?.kind).toBe('public');
    expect(p.onPong(toLan!.txid, lan.endpoint, 40)).toBe('upgraded');
    expect(p.current(40)?.kind).toBe('lan');
    expect(p.onPong(123n, pub.endpoint, 50)).toBe('unknown');
  });

  it('keeps an answered direct path, and falls back ~3 s after its pings stop being answered', () => {
    const p = new PeerPaths(0, () => 0);
    p.startPunch([pub], 0);
    let answering = true;
    let fell: number | undefined;
    let firstUnanswered: number | undefined;
    for (let t = 0; t < 20_000 && fell === undefined; t += 100) {
      if (t === 10_000) answering = false;
      p.noteData(t); // active traffic: probes every second
      for (const ping of p.due(t)) {
        if (answering) p.onPong(ping.txid, ping.endpoint, t + 20);
        else firstUnanswered ??= t;
      }
      if (!p.current(t + 20)) fell = t + 20;
    }
    expect(firstUnanswered).toBeDefined();
    expect(fell! - firstUnanswered!).toBeGreaterThanOrEqual(3_000);
    expect(fell! - firstUnanswered!).toBeLessThanOrEqual(3_200);
    expect(p.wantsRetry(fell! + 29_000)).toBe(false);
    expect(p.wantsRetry(fell! + 30_000)).toBe(true);
  });

  it('probes a peer-reflexive endpoint that a PING came from', () => {
    const p = new PeerPaths(0, () => 0.5);
    const seen = { address: '198.51.100.7', port: 30999 };
    p.sawPingFrom(seen, 'public', 100);
    expect(p.due(100).map((x) => x.endpoint)).toEqual([seen]);
  });
});
