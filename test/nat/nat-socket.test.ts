// The UDP seam with extra sockets: a path moves to an extra socket only after the peer says the
// link authenticated a datagram that came on it (adopt); a forged datagram moves nothing.
import { describe, expect, it } from 'vitest';
import { NatSocket } from '../../src/nat/nat-socket.js';
import { NAT_OPEN } from '../../src/wire/nat-probe.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { VirtualInternet } from '../vnet/vnet.js';

function setup() {
  const clock = new ManualClock();
  const net = new VirtualInternet(clock);
  net.host('198.51.100.1');
  net.host('198.51.100.2');
  const seam = new NatSocket(net.open('198.51.100.1', 5000));
  const extra = net.open('198.51.100.1', 5001);
  seam.addExtra(extra);
  const partner = net.open('198.51.100.2', 6000);
  const partnerGot: number[] = [];
  partner.onMessage((_d, from) => partnerGot.push(from.port));
  const got: string[] = [];
  seam.onMessage((d) => got.push(Buffer.from(d).toString()));
  return { clock, net, seam, extra, partner, partnerGot, got };
}

describe('NatSocket', () => {
  it('delivers what extra sockets receive and answers on the socket a datagram came in on', () => {
    const { clock, seam, partner, partnerGot, got } = setup();
    seam.onMessage((d, from) => {
      got.push(Buffer.from(d).toString());
      seam.send(Buffer.from('pong'), from); // the link answering inside the handler
    });
    partner.send(Buffer.from('ping'), { address: '198.51.100.1', port: 5001 });
    clock.advance(50);
    expect(got).toEqual(['ping']);
    expect(partnerGot).toEqual([5001]);
  });

  it('a forged (never authenticated) datagram does not move the path; an adopted one does', () => {
    const { clock, seam, partner, partnerGot } = setup();
    partner.send(Buffer.from('junk'), { address: '198.51.100.1', port: 5001 });
    clock.advance(50);
    seam.send(Buffer.from('data'), partner.local);
    clock.advance(50);
    expect(partnerGot).toEqual([5000]);
    expect(seam.routeOf(partner.local)).toBeUndefined();
    expect(seam.copiesOnSend(partner.local)).toBe(true); // the main socket's answer (it copies)
    // Authenticated now (the peer calls adopt after the link opened a PING from it).
    expect(seam.adopt(partner.local)).toBeDefined();
    expect(seam.copiesOnSend(partner.local)).toBe(false); // an extra socket in play: the link keeps fresh buffers
    seam.send(Buffer.from('data'), partner.local);
    clock.advance(50);
    expect(partnerGot).toEqual([5000, 5001]);
  });

  it('the first adopted extra socket keeps the route when another one is authenticated later (birthday: both hit)', async () => {
    const { clock, net, seam, partner, partnerGot } = setup();
    seam.addExtra(net.open('198.51.100.1', 5002));
    partner.send(Buffer.from('ping1'), { address: '198.51.100.1', port: 5001 });
    clock.advance(50);
    expect(seam.adopt(partner.local)?.local.port).toBe(5001);
    partner.send(Buffer.from('ping2'), { address: '198.51.100.1', port: 5002 });
    clock.advance(50);
    expect(seam.adopt(partner.local)).toBeUndefined();
    expect(seam.routeOf(partner.local)?.local.port).toBe(5001);
    expect(await seam.releaseUnused()).toBe(1); // 5002 goes, 5001 carries the pair
    seam.send(Buffer.from('data'), partner.local);
    clock.advance(50);
    expect(partnerGot).toEqual([5001]);
  });

  it('adopt for an endpoint heard only on the main socket changes nothing', () => {
    const { clock, seam, partner } = setup();
    partner.send(Buffer.from('x'), { address: '198.51.100.1', port: 5000 });
    clock.advance(50);
    expect(seam.adopt(partner.local)).toBeUndefined();
  });

  it('drops NAT_OPEN datagrams before the link and closes unused extra sockets', async () => {
    const { clock, seam, partner, got } = setup();
    partner.send(NAT_OPEN, { address: '198.51.100.1', port: 5001 });
    clock.advance(50);
    expect(got).toEqual([]);
    expect(seam.opensDropped).toBe(1);
    expect(await seam.releaseUnused()).toBe(1);
    expect(seam.extraCount).toBe(0);
  });
});
