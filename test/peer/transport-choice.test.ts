// peer/transport-choice.ts: which leg carries the hub session, row by row with the reason.
import { describe, expect, it } from 'vitest';
import { chooseHubLeg, type ChoiceInput } from '../../src/peer/transport-choice.js';

const ok = (n: number) => Array<boolean>(n).fill(true);
/** n outcomes with `lostN` losses spread through them. */
const lossy = (n: number, lostN: number) => Array.from({ length: n }, (_, i) => !(i % Math.round(n / lostN) === 0 && i / Math.round(n / lostN) < lostN));

const base: ChoiceInput = {
  setting: 'auto',
  current: 'udp',
  currentReason: 'udp-ok',
  streamKind: 'tcp',
  streamUp: false,
  udpProbes: ok(30),
  streamProbes: [],
  udpSilentMs: 500,
  sinceSwitchMs: 100_000,
};

describe('chooseHubLeg', () => {
  it.each<[string, Partial<ChoiceInput>, { leg: string; reason: string; wantStream: boolean }]>([
    ['pinned udp never opens a stream', { setting: 'udp', udpSilentMs: 60_000 }, { leg: 'udp', reason: 'pinned', wantStream: false }],
    ['pinned tls uses TLS even when UDP is fine', { setting: 'tls' }, { leg: 'tls', reason: 'pinned', wantStream: true }],
    ['UDP answers: stay, no stream', {}, { leg: 'udp', reason: 'udp-ok', wantStream: false }],
    ['UDP silent 1.9 s: nothing yet', { udpSilentMs: 1_900, udpProbes: [] }, { leg: 'udp', reason: 'udp-ok', wantStream: false }],
    ['UDP silent 4.9 s: stream opened ahead, not used yet', { udpSilentMs: 4_900, udpProbes: [false, false, false, false] }, { leg: 'udp', reason: 'udp-ok', wantStream: true }],
    ['UDP silent 5 s, stream not up yet: open one, stay', { udpSilentMs: 5_000, udpProbes: [] }, { leg: 'udp', reason: 'udp-ok', wantStream: true }],
    ['UDP silent 5 s, stream up: move to it', { udpSilentMs: 5_000, streamUp: true }, { leg: 'tcp', reason: 'udp-silent', wantStream: true }],
    ['UDP silent, TCP failed before: TLS', { udpSilentMs: 9_000, streamUp: true, streamKind: 'tls' }, { leg: 'tls', reason: 'udp-silent', wantStream: true }],
    ['UDP 30 % loss, no stream yet: open one to compare', { udpProbes: lossy(30, 9) }, { leg: 'udp', reason: 'udp-ok', wantStream: true }],
    ['UDP 30 % loss, stream 0 %: move', { udpProbes: lossy(30, 9), streamUp: true, streamProbes: ok(5) }, { leg: 'tcp', reason: 'udp-lossy', wantStream: true }],
    ['UDP 30 % loss, stream 27 %: not worth it', { udpProbes: lossy(30, 9), streamUp: true, streamProbes: lossy(30, 8) }, { leg: 'udp', reason: 'udp-ok', wantStream: true }],
    ['UDP 20 % loss: below the threshold', { udpProbes: lossy(30, 6), streamUp: true, streamProbes: ok(30) }, { leg: 'udp', reason: 'udp-ok', wantStream: false }],
    ['UDP loss over fewer than 30 probes is not judged', { udpProbes: [false, false, true], streamUp: true, streamProbes: ok(5) }, { leg: 'udp', reason: 'udp-ok', wantStream: false }],
    ['on TCP after silence, UDP answers 5 in a row after 10 s: back', { current: 'tcp', currentReason: 'udp-silent', streamUp: true, udpProbes: [false, false, ...ok(5)] }, { leg: 'udp', reason: 'udp-recovered', wantStream: true }],
    ['on TCP after silence, UDP answers but only 8 s on TCP: dwell', { current: 'tcp', currentReason: 'udp-silent', streamUp: true, udpProbes: ok(5), sinceSwitchMs: 8_000 }, { leg: 'tcp', reason: 'udp-silent', wantStream: true }],
    ['on TCP after silence, one of the last 5 UDP probes lost: stay', { current: 'tcp', currentReason: 'udp-silent', streamUp: true, udpProbes: [true, true, false, true, true] }, { leg: 'tcp', reason: 'udp-silent', wantStream: true }],
    ['on TCP after loss, UDP still 30 %: stay (no flapping)', { current: 'tcp', currentReason: 'udp-lossy', streamUp: true, udpProbes: lossy(30, 9) }, { leg: 'tcp', reason: 'udp-lossy', wantStream: true }],
    ['on TCP after loss, UDP 2 of 30 lost and 60 s: back', { current: 'tcp', currentReason: 'udp-lossy', streamUp: true, udpProbes: lossy(30, 2), sinceSwitchMs: 60_000 }, { leg: 'udp', reason: 'udp-recovered', wantStream: true }],
    ['on TCP after loss, UDP clean but 30 s: dwell', { current: 'tcp', currentReason: 'udp-lossy', streamUp: true, udpProbes: ok(30), sinceSwitchMs: 30_000 }, { leg: 'tcp', reason: 'udp-lossy', wantStream: true }],
    ['on TCP, stream dropped, UDP answers: UDP', { current: 'tcp', currentReason: 'udp-silent', streamUp: false }, { leg: 'udp', reason: 'stream-down', wantStream: false }],
    ['on TCP, stream dropped, UDP silent: stay and reconnect', { current: 'tcp', currentReason: 'udp-silent', streamUp: false, udpSilentMs: 30_000 }, { leg: 'tcp', reason: 'udp-silent', wantStream: true }],
  ])('%s', (_why, over, want) => {
    expect(chooseHubLeg({ ...base, ...over })).toEqual(want);
  });
});
