// The exact commands subnet routes and exit nodes run (peer/routes/commands.ts), as docs/ROUTES.md quotes them.
import { describe, expect, it } from 'vitest';
import { exitRulesOff, exitRulesOn, forwardingRuleset, staleCleanup, subnetRouteAdd } from '../../../src/peer/routes/commands.js';
import { maxExitHubStreams } from '../../../src/peer/routes/exit-hub-streams.js';
import { ipv4ToU32 } from '../../../src/util/ipv4.js';

const overlay = { network: ipv4ToU32('10.9.0.0'), length: 24 };
const line = (a: readonly string[]) => a.join(' ');

describe('route commands', () => {
  it('a subnet route carries the proto marker', () => {
    expect(line(subnetRouteAdd({ network: ipv4ToU32('192.168.50.0'), length: 24 }, 'meshd0'))).toBe('ip route replace 192.168.50.0/24 dev meshd0 proto 119');
  });

  it.each([
    [false, 'ip rule add pref 5271 to 10.9.0.0/24 lookup main'],
    [true, 'ip rule add pref 5271 lookup main suppress_prefixlength 0'],
  ])('exit node rules (allow LAN %s): meshd socket -> main, then %s, then table 5270', (allowLan, middle) => {
    expect(exitRulesOn({ tun: 'meshd0', udpPort: 41641, overlay, allowLan }).map(line)).toEqual([
      'ip route replace default dev meshd0 table 5270 proto 119',
      'ip rule add pref 5270 ipproto udp sport 41641 lookup main',
      middle,
      'ip rule add pref 5272 lookup 5270',
    ]);
  });

  it('with a TCP/TLS hub leg possible: the hub\'s stream ports keep the main table, before the exit table', () => {
    const rules = exitRulesOn({ tun: 'meshd0', udpPort: 41641, overlay, allowLan: false, hubStreams: [{ address: '203.0.113.1', ports: [7000, 443] }] }).map(line);
    expect(rules.slice(1, 3)).toEqual([
      'ip rule add pref 5268 to 203.0.113.1/32 ipproto tcp dport 7000 lookup main',
      'ip rule add pref 5269 to 203.0.113.1/32 ipproto tcp dport 443 lookup main',
    ]);
    expect(rules.at(-1)).toBe('ip rule add pref 5272 lookup 5270');
    // --hub-tls-port equal to the hub port: one rule.
    expect(exitRulesOn({ tun: 'meshd0', udpPort: 1, overlay, allowLan: false, hubStreams: [{ address: '203.0.113.1', ports: [443, 443] }] }).map(line).filter((l) => l.includes('ipproto tcp'))).toHaveLength(1);
  });

  it('with several hubs: each hub\'s stream ports keep the main table (issue 24), sharing the two preferences', () => {
    const rules = exitRulesOn({
      tun: 'meshd0', udpPort: 41641, overlay, allowLan: false,
      hubStreams: [{ address: '203.0.113.1', ports: [7000, 443] }, { address: '198.51.100.7', ports: [7001, 443] }],
    }).map(line);
    expect(rules.slice(1, 5)).toEqual([
      'ip rule add pref 5268 to 203.0.113.1/32 ipproto tcp dport 7000 lookup main',
      'ip rule add pref 5269 to 203.0.113.1/32 ipproto tcp dport 443 lookup main',
      'ip rule add pref 5268 to 198.51.100.7/32 ipproto tcp dport 7001 lookup main',
      'ip rule add pref 5269 to 198.51.100.7/32 ipproto tcp dport 443 lookup main',
    ]);
  });

  it('removal and the stale sweep at start: the shared hub preferences once per possible hub', () => {
    const dels = (p: number) => Array.from({ length: maxExitHubStreams }, () => `ip rule del pref ${p}`);
    expect(exitRulesOff().map(line)).toEqual([...dels(5268), ...dels(5269), 'ip rule del pref 5270', 'ip rule del pref 5271', 'ip rule del pref 5272', 'ip route flush table 5270']);
    expect(staleCleanup('meshd0').map(line).slice(2 * maxExitHubStreams + 4)).toEqual(['ip route flush proto 119 dev meshd0', 'nft delete table ip meshd_fwd_meshd0']);
  });

  it('the forwarding table masquerades the overlay and clamps the MSS', () => {
    const r = forwardingRuleset('meshd0', overlay);
    expect(r).toContain('table ip meshd_fwd_meshd0 {');
    expect(r).toContain('ip saddr 10.9.0.0/24 oifname != "meshd0" masquerade');
    expect(r).toContain('iifname "meshd0" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu');
  });
});
