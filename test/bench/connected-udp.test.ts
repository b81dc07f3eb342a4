// The load workers' socket connected to its hub (bench/load/connected-udp.mjs): it reaches the hub,
// hears only the hub, and drops (and counts) a send anywhere else. Loopback only.
import { afterEach, describe, expect, it } from 'vitest';
import { openConnectedUdp } from '../../bench/load/connected-udp.mjs';
import { openUdp } from '../../src/net/udp-node.js';
import type { Endpoint, UdpSocket } from '../../src/net/udp.js';

const open: UdpSocket[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
}

describe('openConnectedUdp', () => {
  it('exchanges datagrams with the hub, reports them from the hub endpoint, ignores other senders', async () => {
    const hub = await openUdp({ address: '127.0.0.1', port: 0 });
    const stranger = await openUdp({ address: '127.0.0.1', port: 0 });
    open.push(hub, stranger);
    const atHub: Array<[string, Endpoint]> = [];
    hub.onMessage((d, from) => atHub.push([Buffer.from(d).toString(), from]));
    const peer = await openConnectedUdp('127.0.0.1', hub.local);
    open.push(peer);
    const atPeer: Array<[string, Endpoint]> = [];
    peer.onMessage((d, from) => atPeer.push([Buffer.from(d).toString(), from]));

    peer.send(Buffer.from('register'), { ...hub.local });
    peer.send(Buffer.from('lost'), stranger.local); // not the hub: dropped, counted
    await waitFor(() => atHub.length === 1);
    expect(atHub).toEqual([['register', peer.local]]);
    expect(peer.counters).toMatchObject({ sent: 1, elsewhere: 1 });

    stranger.send(Buffer.from('spoof'), peer.local); // the kernel filters a connected socket's sources
    hub.send(Buffer.from('map'), peer.local);
    await waitFor(() => atPeer.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(atPeer).toEqual([['map', hub.local]]);
  });

  it('sends nothing and calls no handler after close', async () => {
    const hub = await openUdp({ address: '127.0.0.1', port: 0 });
    open.push(hub);
    let got = 0;
    hub.onMessage(() => got++);
    const peer = await openConnectedUdp('127.0.0.1', hub.local);
    await peer.close();
    peer.send(Buffer.from('late'), hub.local);
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toBe(0);
    expect(peer.counters.sent).toBe(0);
  });
});
