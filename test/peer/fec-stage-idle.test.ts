// fec-stage.ts's tick (issue 19 item 7, session 8): it runs once a second while a pair sends, takes
// frames or has FEC on, and an idle clean stage sleeps until the next message instead of waking the
// daemon every second for nothing. Before, it ticked for as long as a pair existed.
import { describe, expect, it } from 'vitest';
import { FecStage, fecTickMs } from '../../src/peer/fec-stage.js';
import { PEER_CAP_FEC } from '../../src/peer/fec-caps.js';
import type { RemotePeer } from '../../src/peer/remote-peer.js';
import { ManualClock } from '../fakes/manual-clock.js';

describe('FecStage tick while idle', () => {
  it('an idle clean pair leaves no timer; the next message brings the tick back', () => {
    const clock = new ManualClock();
    const peer = { caps: PEER_CAP_FEC, conv: 7, listed: true, channel: undefined, paths: { current: () => ({ rttMs: 40 }) } } as unknown as RemotePeer;
    let sent = 0;
    const stage = new FecStage({ sender: { send: () => (sent++, true) }, clock, setting: 'auto', deliver: () => {} });
    const ping = new Uint8Array(85).fill(0x45);
    stage.send(peer, ping);
    expect(clock.pending).toBe(1);
    clock.advance(fecTickMs); // the tick reads the second that had a message: again
    expect(clock.pending).toBe(1);
    clock.advance(fecTickMs); // a second with nothing: sleeps
    expect(clock.pending).toBe(0);
    clock.advance(10 * fecTickMs);
    stage.send(peer, ping);
    expect(clock.pending).toBe(1);
    expect(sent).toBe(2);
    stage.close();
    expect(clock.pending).toBe(0);
  });

  it('--fec on keeps ticking while parity is on, traffic or not', () => {
    const clock = new ManualClock();
    const peer = { caps: PEER_CAP_FEC, conv: 7, listed: true, channel: undefined, paths: { current: () => ({ rttMs: 40 }) } } as unknown as RemotePeer;
    const stage = new FecStage({ sender: { send: () => true }, clock, setting: 'on', deliver: () => {} });
    stage.send(peer, new Uint8Array(1200).fill(0x45));
    clock.advance(5 * fecTickMs);
    expect(clock.pending).toBeGreaterThan(0);
    stage.close();
  });
});
