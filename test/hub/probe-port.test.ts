// The hub's NAT probe port is not a reflector (issue 20): it answers only authenticated, fresh,
// first-seen probes, only to their source, with no more bytes than it got, at a bounded rate.
import { describe, expect, it } from 'vitest';
import { natProbeKey, sealNatProbe, sealNatProbeReply } from '../../src/crypto/nat-probe.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { Prober } from '../../src/nat/prober.js';
import { probeBurst } from '../../src/hub/probe-port.js';
import { NAT_PROBE_SIZE } from '../../src/wire/nat-probe.js';
import type { Endpoint } from '../../src/net/udp.js';
import { HUB_ENDPOINT, HUB_PROBE_PORT, World } from '../vnet/world.js';

const probeEp: Endpoint = { address: HUB_ENDPOINT.address, port: HUB_PROBE_PORT };

function setup() {
  const w = new World(5);
  w.startHub();
  const sock = w.net.host('198.51.100.10').open(40000);
  const got: Array<{ d: Buffer; from: Endpoint }> = [];
  sock.onMessage((d, from) => got.push({ d: Buffer.from(d), from }));
  const victim = w.net.host('198.51.100.66').open(40000);
  const victimGot: Buffer[] = [];
  victim.onMessage((d) => victimGot.push(Buffer.from(d)));
  const key = natProbeKey(w.psk);
  let n = 0;
  const probe = (flags = 0, k = key, ts = Math.floor(w.wall())) => sealNatProbe(k, { flags, txid: new Uint8Array(12).fill(++n), timestampMs: ts });
  return { w, sock, got, victim, victimGot, probe, key };
}

describe('hub probe port', () => {
  it('answers a probe on either port, to its source only, with as many bytes as it got', () => {
    const { w, sock, got, probe } = setup();
    sock.send(probe(), probeEp);
    sock.send(probe(), HUB_ENDPOINT);
    w.run(100);
    expect(got.map((g) => g.from.port).sort()).toEqual([HUB_ENDPOINT.port, HUB_PROBE_PORT]);
    expect(got.every((g) => g.d.byteLength === NAT_PROBE_SIZE)).toBe(true);
    expect(w.hub.status().probes?.answered).toEqual({ main: 1, probe: 1 });
  });

  it('answers from the other port when asked (the filtering question), still to the source', () => {
    const { w, sock, got, probe } = setup();
    sock.send(probe(1), probeEp);
    w.run(100);
    expect(got.map((g) => g.from)).toEqual([HUB_ENDPOINT]);
  });

  it.each([
    ['a wrong key (not a member)', 'bad_mac'],
    ['a stale timestamp (an old capture)', 'stale'],
    ['the same probe again (a replay, e.g. from a spoofed source)', 'replayed'],
  ])('refuses %s', (why, drop) => {
    const { w, sock, got, probe, key } = setup();
    if (drop === 'bad_mac') sock.send(probe(0, natProbeKey(derivePsk('another network secret!!'))), probeEp);
    if (drop === 'stale') sock.send(probe(0, key, Math.floor(w.wall()) - 3_600_000), probeEp);
    if (drop === 'replayed') {
      const p = probe();
      sock.send(p, probeEp);
      sock.send(p, probeEp);
    }
    w.run(100);
    expect(got.length, why).toBe(drop === 'replayed' ? 1 : 0);
    expect(w.hub.status().probes?.drops[drop as 'stale']).toBe(1);
  });

  it('limits answers per source: a flood gets a burst, then a trickle', () => {
    const { w, sock, got, probe } = setup();
    for (let i = 0; i < 500; i++) sock.send(probe(), probeEp);
    w.run(100);
    expect(got.length).toBeGreaterThanOrEqual(probeBurst);
    expect(got.length).toBeLessThanOrEqual(probeBurst + 2);
    expect(w.hub.status().probes?.drops.rate_limited).toBeGreaterThan(400);
  });

  it('a peer cannot aim replies at a third address: nothing in a probe names a destination', () => {
    // The only address the hub answers is the datagram's source; the victim gets nothing even when
    // the attacker probes "for" it with every flag.
    const { w, sock, victimGot, probe } = setup();
    for (const flags of [0, 1]) sock.send(probe(flags), probeEp);
    w.run(100);
    expect(victimGot).toEqual([]);
  });

  it('the prober drops forged and replayed replies', async () => {
    const { w, sock } = setup();
    const prober = new Prober(w.psk, w.clock, w.wall);
    const hubSays: Buffer[] = [];
    sock.onMessage((d, from) => {
      hubSays.push(Buffer.from(d));
      prober.onReply(d, from);
    });
    const answer = w.settle(prober.ask((d, to) => sock.send(d, to), probeEp));
    const a = await answer;
    expect(a?.observed).toEqual({ address: '198.51.100.10', port: 40000 });
    // Replayed: the txid was answered already.
    prober.onReply(hubSays[0]!, probeEp);
    expect(prober.drops.unknown_txid).toBe(1);
    // Forged: made without the key.
    const forged = sealNatProbeReply(natProbeKey(derivePsk('another network secret!!')), { flags: 0, txid: new Uint8Array(12), observed: { address: '192.0.2.9', port: 9 }, hubPort: HUB_PROBE_PORT });
    prober.onReply(forged, probeEp);
    expect(prober.drops.bad_mac).toBe(1);
  });
});
