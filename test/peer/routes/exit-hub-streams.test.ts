// Which hubs' TCP/TLS legs --exit-node keeps off the tunnel (issue 24): every --hub, not the first only.
import { describe, expect, it } from 'vitest';
import { exitHubStreams, maxExitHubStreams } from '../../../src/peer/routes/exit-hub-streams.js';

const h = (address: string, port = 7000) => ({ address, port });

describe('exitHubStreams', () => {
  it.each([
    ['one hub, auto: its TCP and TLS ports', [h('203.0.113.1')], 'auto', [{ address: '203.0.113.1', ports: [7000, 443] }]],
    ['two hubs: both exempted, in --hub order (the second used to ride the exit tunnel)', [h('203.0.113.1'), h('198.51.100.7', 7001)], 'auto',
      [{ address: '203.0.113.1', ports: [7000, 443] }, { address: '198.51.100.7', ports: [7001, 443] }]],
    ['--hub-transport udp: no stream leg, no rule (the UDP socket\'s own rule covers every hub)', [h('203.0.113.1'), h('198.51.100.7')], 'udp', []],
    ['tcp or tls pinned: the same rules (the leg may use either port)', [h('203.0.113.1'), h('198.51.100.7')], 'tls',
      [{ address: '203.0.113.1', ports: [7000, 443] }, { address: '198.51.100.7', ports: [7000, 443] }]],
    ['an IPv6 hub left out (the exit route is IPv4 only), the IPv4 one kept', [h('2001:db8::1'), h('203.0.113.1')], 'auto', [{ address: '203.0.113.1', ports: [7000, 443] }]],
    ['two hubs on one address: one entry, ports merged', [h('203.0.113.1', 7000), h('203.0.113.1', 7001)], 'auto', [{ address: '203.0.113.1', ports: [7000, 443, 7001] }]],
    ['the hub port equal to the TLS port: one port', [h('203.0.113.1', 443)], 'tcp', [{ address: '203.0.113.1', ports: [443] }]],
  ] as const)('%s', (_why, hubs, setting, want) => {
    expect(exitHubStreams(hubs, setting, 443)).toEqual(want);
  });

  it(`exempts at most ${maxExitHubStreams} hubs (the stale sweep deletes that many)`, () => {
    const many = Array.from({ length: maxExitHubStreams + 3 }, (_, i) => h(`203.0.113.${i + 1}`));
    expect(exitHubStreams(many, 'auto', 443).map((s) => s.address)).toEqual(many.slice(0, maxExitHubStreams).map((x) => x.address));
  });
});
