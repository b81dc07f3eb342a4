// The port mapper (nat/port-mapper.ts) against the vnet's fake PCP / NAT-PMP gateway on a ManualClock:
// it maps the main socket's port, renews at half the lease, falls back from PCP to NAT-PMP, lets a
// lease go when the gateway stops answering, deletes on stop, and deletes what a crash left behind.
import { describe, expect, it } from 'vitest';
import { NatPmpClient, PcpClient, type MapProtocolClient } from '../../src/nat/port-map-client.js';
import { deleteLeftover, PortMapper, type PortMapRecord, type PortMapStore } from '../../src/nat/port-mapper.js';
import type { Endpoint } from '../../src/net/udp.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { testLogger } from '../fakes/logger.js';
import { FakePortMapGateway, type GatewayOptions } from '../vnet/port-map-gateway.js';
import { natPresets, VirtualInternet } from '../vnet/vnet.js';

class MemoryStore implements PortMapStore {
  rec: PortMapRecord | undefined;
  writes = 0;
  load() {
    return this.rec;
  }
  save(r: PortMapRecord | undefined) {
    this.writes++;
    this.rec = r ? JSON.parse(JSON.stringify(r)) : undefined;
  }
}

function setup(gw: GatewayOptions = { pcp: true, natpmp: true }, protocols: Array<'pcp' | 'natpmp'> = ['pcp', 'natpmp']) {
  const clock = new ManualClock();
  const net = new VirtualInternet(clock);
  const nat = net.addNat('home', '198.51.100.101', '192.168.1', natPresets.randomSymmetric);
  const gateway = new FakePortMapGateway(net, nat, gw);
  const host = net.host('192.168.1.2', nat);
  const main = host.open(51820);
  const outside = net.host('203.0.113.9').open(9000);
  const got: Buffer[] = [];
  main.onMessage((d) => got.push(Buffer.from(d)));
  const store = new MemoryStore();
  const changes: Array<Endpoint | undefined> = [];
  const udp = { gateway: gateway.ip, client: '192.168.1.2', openSocket: async () => host.open(), clock };
  const make = (p: 'pcp' | 'natpmp', nonce?: string): MapProtocolClient => (p === 'pcp' ? new PcpClient(udp, nonce) : new NatPmpClient(udp));
  const mapper = new PortMapper({
    gateway: gateway.ip, internalPort: 51820, clock, wallClock: () => 1_700_000_000_000 + clock.now(), log: testLogger('portmap'),
    clients: protocols.map((p) => make(p)), store, onChange: (e) => changes.push(e),
  });
  /** Advances virtual time in steps, letting awaits (socket opens, answers) run in between. */
  const drive = async (ms: number, step = 50) => {
    for (let t = 0; t < ms; t += step) {
      for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
      clock.advance(Math.min(step, ms - t));
    }
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  };
  const stop = async () => {
    const p = mapper.stop();
    await drive(2_000);
    await p;
  };
  return { clock, net, nat, gateway, main, outside, got, store, changes, mapper, drive, make, stop };
}

describe('PortMapper', () => {
  it('maps the port via PCP, advertises it, and an outside host reaches the socket through a random-port NAT', async () => {
    const t = setup();
    t.mapper.start();
    await t.drive(500);
    expect(t.gateway.requests.pcpMap).toBe(1);
    expect(t.changes).toEqual([{ address: '198.51.100.101', port: 51820 }]);
    expect(t.mapper.status().text).toMatch(/^mapped 198\.51\.100\.101:51820 via PCP, lease 7200 s, renews in 3600 s$/);
    expect(t.store.rec).toMatchObject({ protocol: 'pcp', internalPort: 51820, external: { address: '198.51.100.101', port: 51820 } });
    expect(t.store.rec!.extra.nonce).toMatch(/^[0-9a-f]{24}$/);
    t.outside.send(Buffer.from('hello'), { address: '198.51.100.101', port: 51820 });
    await t.drive(100);
    expect(t.got.map((b) => b.toString())).toEqual(['hello']);
    await t.stop();
  });

  it('renews at half the lease, keeps the port, and the mapping outlives the first lifetime', async () => {
    const t = setup();
    t.mapper.start();
    await t.drive(500);
    await t.drive(3_600_000, 60_000);
    await t.drive(2_000);
    expect(t.gateway.requests.pcpMap).toBe(2);
    await t.drive(3_600_000, 60_000);
    await t.drive(2_000);
    expect(t.gateway.requests.pcpMap).toBe(3);
    expect(t.nat.staticMappings).toBe(1);
    expect(t.changes).toHaveLength(1);
    expect(t.mapper.status().text).toMatch(/renews in 3[0-9]{3} s/);
    await t.stop();
  });

  it('falls back to NAT-PMP when the gateway speaks no PCP', async () => {
    const t = setup({ natpmp: true });
    t.mapper.start();
    await t.drive(4_000);
    expect(t.gateway.requests.natpmpMap).toBe(1);
    expect(t.gateway.requests.natpmpAddress).toBe(1);
    expect(t.mapper.status().text).toMatch(/via NAT-PMP/);
    await t.stop();
    expect(t.gateway.requests.natpmpDelete).toBe(1);
    expect(t.nat.staticMappings).toBe(0);
  });

  it('a gateway that stops answering: renewals back off, the lease is let go at its end, and asked for again later', async () => {
    const t = setup({ pcp: true }, ['pcp']);
    t.mapper.start();
    await t.drive(500);
    t.gateway.answering = false;
    await t.drive(2 * 3_600_000 + 300_000, 30_000);
    expect(t.changes.at(-1)).toBeUndefined();
    expect(t.mapper.status().state).toBe('failed');
    expect(t.mapper.status().text).toMatch(/no mapping \(PCP\): PCP: no answer/);
    expect(t.mapper.counts.renewals).toBeGreaterThanOrEqual(3);
    expect(t.mapper.counts.renewals).toBeLessThan(20);
    t.gateway.answering = true;
    await t.drive(31 * 60_000, 30_000);
    expect(t.changes.at(-1)).toEqual({ address: '198.51.100.101', port: 51820 });
    await t.stop();
  });

  it('stop() deletes the mapping on the gateway and clears the record', async () => {
    const t = setup();
    t.mapper.start();
    await t.drive(500);
    expect(t.nat.staticMappings).toBe(1);
    await t.stop();
    expect(t.gateway.requests.pcpDelete).toBe(1);
    expect(t.nat.staticMappings).toBe(0);
    expect(t.store.rec).toBeUndefined();
  });

  it('the next start deletes the mapping a crashed run left (same PCP nonce), then forgets it', async () => {
    const t = setup();
    t.mapper.start();
    await t.drive(500);
    const left = t.store.rec!;
    // A crash: no stop(). The next run reads the record and deletes with the recorded nonce.
    const next = new MemoryStore();
    next.rec = left;
    const done = deleteLeftover(next, (r) => t.make(r.protocol as 'pcp', r.extra.nonce), 1_700_000_000_000 + t.clock.now(), testLogger('portmap'));
    await t.drive(200);
    expect(await done).toEqual(left);
    expect(t.gateway.requests.pcpDelete).toBe(1);
    expect(t.nat.staticMappings).toBe(0);
    expect(next.rec).toBeUndefined();
  });

  it('a leftover record past its lease is forgotten without asking the gateway', async () => {
    const t = setup();
    const store = new MemoryStore();
    store.rec = { protocol: 'pcp', gateway: t.gateway.ip, internalPort: 51820, external: { address: '198.51.100.101', port: 51820 }, expiresAtWall: 1000, extra: {} };
    await deleteLeftover(store, () => t.make('pcp'), 2000, testLogger('portmap'));
    expect(t.gateway.requests.pcpDelete).toBe(0);
    expect(store.rec).toBeUndefined();
  });
});
