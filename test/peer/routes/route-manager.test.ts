// RouteManager against a recording RouteSystem: kernel routes follow MAP_EXT and the map, the exit
// rules come and go with the exit node, everything is removed on close, and the data-plane hooks.
import { describe, expect, it } from 'vitest';
import { exitRulesOff, type Argv } from '../../../src/peer/routes/commands.js';
import type { RouteSystem } from '../../../src/peer/routes/linux-runner.js';
import { RouteManager, type RouteManagerOptions } from '../../../src/peer/routes/route-manager.js';
import { ipv4ToU32 } from '../../../src/util/ipv4.js';
import { RouteVerdict as V, type ExtRoute } from '../../../src/wire/routes.js';
import { testLogger } from '../../fakes/logger.js';

const A = ipv4ToU32('10.9.0.2');
const B = ipv4ToU32('10.9.0.3');
const overlay = { network: ipv4ToU32('10.9.0.0'), length: 24 };
const r = (owner: number, cidr: string, verdict = V.ADMITTED): ExtRoute => {
  const [ip, len] = cidr.split('/');
  return { owner, network: ipv4ToU32(ip!), length: Number(len), verdict };
};

function setup(o: Partial<RouteManagerOptions> = {}) {
  const ran: string[] = [];
  const system: RouteSystem = {
    run: async (cmds: readonly Argv[]) => {
      for (const c of cmds) ran.push(c.join(' '));
      return true;
    },
    nft: async () => {
      ran.push('nft -f -');
      return true;
    },
    enableForwarding: () => true,
  };
  const names = new Map([[A, 'a']]);
  const mgr = new RouteManager({ advertise: [], advertiseExitNode: false, acceptRoutes: true, exitNodeAllowLan: false, nameOf: (x) => names.get(x), log: testLogger(), system, ...o });
  return { mgr, ran, names };
}
const settle = () => new Promise((res) => setTimeout(res, 0));

describe('RouteManager', () => {
  it('installs admitted routes, removes them when the hub withdraws them, and on close', async () => {
    const { mgr, ran } = setup();
    await mgr.attach('meshd0', B, overlay, 41641);
    mgr.onMapExt(1, [r(A, '192.168.50.0/24'), r(A, '192.168.60.0/24', V.NOT_ALLOWED)]);
    await settle();
    expect(ran).toEqual(['ip route replace 192.168.50.0/24 dev meshd0 proto 119']);
    mgr.onMapExt(1, []); // a stale (same) version is ignored
    mgr.onMapExt(2, []);
    await settle();
    expect(ran.at(-1)).toBe('ip route del 192.168.50.0/24 dev meshd0 proto 119');
    mgr.onMapExt(3, [r(A, '192.168.50.0/24')]);
    await mgr.close();
    expect(ran.at(-1)).toBe('ip route del 192.168.50.0/24 dev meshd0 proto 119');
  });

  it('the exit rules come with the exit node and go when it leaves the map', async () => {
    const { mgr, ran, names } = setup({ exitNode: 'a', acceptRoutes: false });
    await mgr.attach('meshd0', B, overlay, 41641);
    mgr.onMapExt(1, [r(A, '0.0.0.0/0')]);
    await settle();
    expect(ran).toContain('ip rule add pref 5272 lookup 5270');
    expect(mgr.status().exitNode).toBe('a');
    ran.length = 0;
    names.delete(A);
    mgr.refresh();
    await settle();
    expect(ran).toEqual(exitRulesOff().map((a) => a.join(' ')));
    expect(mgr.status()).toMatchObject({ exitNode: null, exitNodeWhy: 'a offers no exit node or is not in the map' });
  });

  it('the exit rules keep every hub\'s TCP/TLS leg on the main table when attach gave their ports', async () => {
    const { mgr, ran } = setup({ exitNode: 'a', acceptRoutes: false });
    await mgr.attach('meshd0', B, overlay, 41641, [{ address: '203.0.113.1', ports: [7000, 443] }, { address: '198.51.100.7', ports: [7001, 443] }]);
    mgr.onMapExt(1, [r(A, '0.0.0.0/0')]);
    await settle();
    const at = (l: string) => ran.indexOf(l);
    expect(at('ip rule add pref 5268 to 203.0.113.1/32 ipproto tcp dport 7000 lookup main')).toBeGreaterThan(-1);
    expect(at('ip rule add pref 5269 to 203.0.113.1/32 ipproto tcp dport 443 lookup main')).toBeGreaterThan(-1);
    expect(at('ip rule add pref 5268 to 198.51.100.7/32 ipproto tcp dport 7001 lookup main')).toBeGreaterThan(-1);
    expect(at('ip rule add pref 5269 to 198.51.100.7/32 ipproto tcp dport 443 lookup main')).toBeGreaterThan(-1);
    await mgr.close();
    expect(ran).toContain('ip rule del pref 5268');
  });

  it('data-plane hooks: longest prefix, sources per peer, own prefixes forwarded, counters', async () => {
    const { mgr } = setup({ exitNode: 'a' });
    await mgr.attach('meshd0', B, overlay, 41641);
    const C = ipv4ToU32('10.9.0.4');
    mgr.onMapExt(1, [r(A, '0.0.0.0/0'), r(A, '192.168.0.0/16'), r(B, '172.16.0.0/12'), r(C, '192.168.50.0/24')]);
    expect(mgr.routeVia(ipv4ToU32('192.168.1.1'), 100)).toBe(A);
    expect(mgr.routeVia(ipv4ToU32('8.8.8.8'), 100)).toBe(A); // exit node
    expect(mgr.sourceAllowed(A, ipv4ToU32('203.0.113.9'))).toBe(true); // the exit node in use: any source
    expect(mgr.sourceAllowed(C, ipv4ToU32('192.168.50.1'))).toBe(false); // C is not in the map: not installed
    expect(mgr.forwardAllowed(ipv4ToU32('172.16.5.5'), 60)).toBe(true);
    expect(mgr.forwardAllowed(ipv4ToU32('192.168.1.1'), 60)).toBe(false);
    expect(mgr.metrics()).toEqual(
      expect.arrayContaining([
        { route: '192.168.0.0/16', via: '10.9.0.2', packets: 1, bytes: 100 },
        { route: '0.0.0.0/0', via: '10.9.0.2', packets: 1, bytes: 100 },
        { route: '172.16.0.0/12', via: 'self', packets: 1, bytes: 60 },
      ]),
    );
  });

  it('sets up forwarding only when it offers something, and offers the exit node as 0.0.0.0/0', async () => {
    const { mgr, ran } = setup({ advertise: [{ network: ipv4ToU32('192.168.50.0'), length: 24 }], advertiseExitNode: true });
    expect(mgr.offer()).toEqual([{ network: ipv4ToU32('192.168.50.0'), length: 24 }, { network: 0, length: 0 }]);
    await mgr.attach('meshd0', A, overlay, 41641);
    expect(ran).toEqual(['nft delete table ip meshd_fwd_meshd0', 'nft -f -']);
    await mgr.close();
    expect(ran.at(-1)).toBe('nft delete table ip meshd_fwd_meshd0');
  });
});
