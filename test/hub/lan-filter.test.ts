// LAN endpoints no member may make others probe (M4, M7): the hub drops them from REGISTER and
// HEARTBEAT before they reach the map, and a peer drops them from map entries and PUNCH
// candidates (a hub that still lists them, or an older one).
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/net/udp.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { ControlType } from '../../src/wire/control.js';
import { World } from '../vnet/world.js';

const bad: Endpoint[] = [
  { address: '10.9.0.2', port: 51820 }, // its own TUN address
  { address: '127.0.0.1', port: 22 },
  { address: '169.254.1.1', port: 51820 },
  { address: '224.0.0.251', port: 5353 },
  { address: '255.255.255.255', port: 51820 },
  { address: '0.0.0.0', port: 51820 },
];
const good: Endpoint = { address: '192.168.77.7', port: 51820 };
const key = (e: Endpoint) => `${e.address}:${e.port}`;

describe('LAN endpoint filter at the hub', () => {
  it('REGISTER: only the usable LAN endpoint reaches the registry and the other peers\' map', async () => {
    const w = new World();
    const hub = w.startHub();
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { lanEndpoints: [...bad, good] });
    const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3');
    await w.join(a);
    await w.join(b);
    w.run(2_000);
    const member = hub.registry.byOverlay(ipv4ToU32('10.9.0.2'))!;
    expect(member.lan.map(key)).toEqual([key(good)]);
    expect(b.map.get(ipv4ToU32('10.9.0.2'))!.lan.map(key)).toEqual([key(good)]);
  });

  it('HEARTBEAT: the same filter applies to endpoints reported later', async () => {
    const w = new World();
    const hub = w.startHub();
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { lanEndpoints: [good] });
    await w.join(a);
    const send = (a.hubClient as unknown as { sendControl(m: unknown): void }).sendControl.bind(a.hubClient);
    send({ type: ControlType.HEARTBEAT, seq: 999, mapVersion: 0, lan: [...bad, { address: '192.168.77.8', port: 51820 }] });
    w.run(500);
    expect(hub.registry.byOverlay(ipv4ToU32('10.9.0.2'))!.lan.map(key)).toEqual(['192.168.77.8:51820']);
  });
});

describe('LAN endpoint filter at the peer', () => {
  it('map entries and PUNCH candidates: unusable endpoints are never probed', async () => {
    const w = new World();
    const hub = w.startHub();
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2');
    const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3');
    await w.join(a);
    await w.join(b);
    w.run(3_000);
    // A hub that does not filter: plant the endpoints in the registry behind its back; a asks for a
    // PUNCH, so b gets them as candidates.
    const member = hub.registry.byOverlay(ipv4ToU32('10.9.0.2'))!;
    member.lan = [...bad.slice(0, 5), good];
    const sent: string[] = [];
    const transmit = w.net.transmit.bind(w.net);
    w.net.transmit = (from, data, to) => {
      if (from.local.address === '198.51.100.20') sent.push(key(to));
      transmit(from, data, to);
    };
    a.hubClient.requestPunch(ipv4ToU32('10.9.0.3'));
    w.run(6_000);
    for (const e of bad) expect(sent).not.toContain(key(e));
    expect(sent).toContain(key(good));
    expect(b.drops.candidate).toBeGreaterThan(0);
  });
});
