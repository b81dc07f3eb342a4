// The stream transport's composite sockets over the in-memory twins (test/fakes/memory-udp.ts,
// memory-stream.ts) on a ManualClock: the hub's StreamHubSocket (pseudo-endpoints, routing both
// ways, per-IP limit, unproven and idle deadlines, bad frames, backpressure, probes on each leg,
// a fuzzed accept path), the peer's HubLegSocket, and HubTransport moving a peer whose UDP is
// blocked to TCP and back when UDP returns.
import { describe, expect, it } from 'vitest';
import { ProbeResponder } from '../../src/hub/transport-probe.js';
import { HubLegSocket } from '../../src/net/hub-leg-socket.js';
import { StreamHubSocket } from '../../src/net/stream-hub-socket.js';
import { endpointKey, type Endpoint } from '../../src/net/udp.js';
import { HubTransport } from '../../src/peer/hub-transport.js';
import { PROBE_REPLY_SIZE } from '../../src/wire/probe.js';
import { openProbe, sealProbe, sealProbeReply, transportProbeKey } from '../../src/crypto/transport-probe.js';
import { testLogger } from '../fakes/logger.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { MemoryUdpSwitch } from '../fakes/memory-udp.js';
import { streamPair, type MemoryStreamConn } from '../fakes/memory-stream.js';
import { Rng } from '../fakes/rng.js';

const hubEp: Endpoint = { address: '203.0.113.2', port: 7000 };
const probeKey = transportProbeKey(new Uint8Array(32).fill(7));
const otherKey = transportProbeKey(new Uint8Array(32).fill(8));

function hubRig() {
  const clock = new ManualClock();
  const sw = new MemoryUdpSwitch(clock);
  const udp = sw.open(hubEp.address, hubEp.port);
  const proven = new Set<string>();
  const probes = new ProbeResponder(() => clock.now(), probeKey);
  const got: Array<{ data: string; from: string }> = [];
  const hub: StreamHubSocket = new StreamHubSocket(udp, {
    clock,
    isProven: (e) => proven.has(endpointKey(e)),
    intercept: (d, from) => probes.handle(d, from, (r, to) => hub.send(r, to)),
  });
  hub.onMessage((d, from) => got.push({ data: d.toString(), from: endpointKey(from) }));
  /** A client connection from `remote`, admitted and attached like the listener does. */
  const connect = (remote: Endpoint, seed = 1): MemoryStreamConn | undefined => {
    if (!hub.admit(remote)) return undefined;
    const { client, server } = streamPair('tcp', remote, hubEp, seed);
    hub.attach(server);
    return client;
  };
  return { clock, sw, udp, hub, got, proven, probes, connect };
}

describe('StreamHubSocket (hub)', () => {
  it.each([
    ['a member on a TCP leg (the frame is a copy)', 'stream', true, true],
    ['a UDP member: what the socket below says (memory twin: copies)', 'udp', true, true],
    ['a UDP member over a socket that promises nothing (node:dgram)', 'udp', false, false],
  ] as const)('copiesOnSend: %s', (_name, leg, below, want) => {
    const r = hubRig();
    r.udp.copiesOnSend = () => below;
    const remote = { address: '198.51.100.3', port: 41000 };
    if (leg === 'stream') r.connect(remote);
    expect(r.hub.copiesOnSend(remote)).toBe(want);
  });

  it('a stream member is one more endpoint: datagrams both ways, relay to and from a UDP member', () => {
    const r = hubRig();
    const udpMember = r.sw.open('198.51.100.10', 5000);
    const udpGot: string[] = [];
    udpMember.onMessage((d) => udpGot.push(d.toString()));
    const c = r.connect({ address: '198.51.100.3', port: 41000 })!;
    const fromStream: string[] = [];
    c.onDatagram((d) => fromStream.push(d.toString()));
    c.send(Buffer.from('hello over tcp'));
    udpMember.send(Buffer.from('hello over udp'), hubEp);
    r.clock.advance(5);
    expect(r.got).toEqual([
      { data: 'hello over tcp', from: '198.51.100.3:41000' },
      { data: 'hello over udp', from: '198.51.100.10:5000' },
    ]);
    // The relay sends to whatever endpoint a member's path has: one leg each way.
    r.hub.send(Buffer.from('relayed to tcp'), { address: '198.51.100.3', port: 41000 });
    r.hub.send(Buffer.from('relayed to udp'), { address: '198.51.100.10', port: 5000 });
    r.clock.advance(5);
    expect(fromStream).toEqual(['relayed to tcp']);
    expect(udpGot).toEqual(['relayed to udp']);
  });

  it('two connections from one address and port (TCP and TLS through one NAT mapping) get distinct endpoints', () => {
    const r = hubRig();
    const a = r.connect({ address: '198.51.100.3', port: 41000 })!;
    const b = r.connect({ address: '198.51.100.3', port: 41000 }, 2)!;
    a.send(Buffer.from('a'));
    b.send(Buffer.from('b'));
    expect(r.got.map((g) => g.from)).toEqual(['198.51.100.3:41000', '198.51.100.3:41001']);
  });

  it('per-IP limit: 8 connections from one address, the 9th refused until one closes', () => {
    const r = hubRig();
    const conns = Array.from({ length: 8 }, (_, i) => r.connect({ address: '198.51.100.66', port: 1000 + i }));
    expect(conns.every((c) => c !== undefined)).toBe(true);
    expect(r.connect({ address: '198.51.100.66', port: 2000 })).toBeUndefined();
    expect(r.connect({ address: '198.51.100.67', port: 2000 })).toBeDefined();
    conns[0]!.close();
    r.clock.advance(1_000); // the accept rate (4/s, burst 8) refills
    expect(r.connect({ address: '198.51.100.66', port: 2001 })).toBeDefined();
    expect(r.hub.counters.refusedPerIp).toBe(1);
  });

  it('accept rate per IP: reconnecting in a loop is refused past 8 at once and 4 a second', () => {
    const r = hubRig();
    let admitted = 0;
    for (let i = 0; i < 40; i++) {
      const c = r.connect({ address: '198.51.100.66', port: 1000 + i });
      if (c) admitted++;
      c?.close();
      r.clock.advance(50);
    }
    // 2 s: a burst of 8 plus 4 a second.
    expect(admitted).toBeGreaterThanOrEqual(15);
    expect(admitted).toBeLessThanOrEqual(17);
    expect(r.hub.counters.refusedRate).toBe(40 - admitted);
  });

  it('unproven deadline: a connection no session owns is closed after 10 s; an owned one stays, then idles out', () => {
    const r = hubRig();
    const stranger = r.connect({ address: '198.51.100.3', port: 1 })!;
    const member = r.connect({ address: '198.51.100.4', port: 2 })!;
    r.proven.add('198.51.100.4:2');
    r.clock.advance(9_999);
    expect(stranger.closed).toBe(false);
    r.clock.advance(1);
    expect(stranger.closed).toBe(true);
    expect(member.closed).toBe(false);
    expect(r.hub.counters.closedUnproven).toBe(1);
    // A member that keeps talking stays; silent for the idle period, it is closed.
    for (let i = 0; i < 3; i++) {
      member.send(Buffer.from('heartbeat'));
      r.clock.advance(60_000);
    }
    expect(member.closed).toBe(false);
    r.clock.advance(200_000);
    expect(member.closed).toBe(true);
    expect(r.hub.counters.closedIdle).toBe(1);
    expect(r.hub.connections).toBe(0);
  });

  it('a bad frame closes the connection and frees its slot; a full send buffer drops and counts', () => {
    const r = hubRig();
    const c = r.connect({ address: '198.51.100.3', port: 1 })!;
    c.rawWrite(Buffer.from([0xff, 0xff, 1, 2, 3]));
    expect(c.closed).toBe(true);
    expect(r.hub.counters.closedBadFrame).toBe(1);
    expect(r.hub.connections).toBe(0);
    const d = r.connect({ address: '198.51.100.3', port: 2 })!;
    d.other.full = true;
    r.hub.send(Buffer.from('x'), { address: '198.51.100.3', port: 2 });
    expect(r.hub.counters.sendFull).toBe(1);
  });

  it('probes are answered on the leg they came from and never reach the link', () => {
    const r = hubRig();
    const c = r.connect({ address: '198.51.100.3', port: 1 })!;
    const replies: number[] = [];
    c.onDatagram((d) => replies.push(d.byteLength));
    c.send(sealProbe(probeKey, 1, 9));
    const u = r.sw.open('198.51.100.10', 5000);
    const udpReplies: number[] = [];
    u.onMessage((d) => udpReplies.push(d.byteLength));
    u.send(sealProbe(probeKey, 2, 9), hubEp);
    r.clock.advance(5);
    expect(replies).toEqual([PROBE_REPLY_SIZE]);
    expect(udpReplies).toEqual([PROBE_REPLY_SIZE]);
    expect(r.got).toEqual([]);
    expect(r.probes.counters.answered).toBe(2);
  });

  it('hostile: probes without the network secret get no answer, on either leg, and never reach the link', () => {
    // Before the MAC any 64-byte probe-shaped datagram was answered: anyone could use the hub as a
    // (16-byte) reflector and tell a UDP leg alive.
    const r = hubRig();
    const c = r.connect({ address: '198.51.100.3', port: 1 })!;
    const replies: number[] = [];
    c.onDatagram((d) => replies.push(d.byteLength));
    const u = r.sw.open('198.51.100.10', 5000);
    u.onMessage((d) => replies.push(d.byteLength));
    const unsealed = new Uint8Array(64);
    unsealed[0] = 0x50;
    unsealed[7] = 1;
    const flipped = sealProbe(probeKey, 3, 9);
    flipped[63]! ^= 1;
    for (const d of [unsealed, sealProbe(otherKey, 2, 9), flipped]) {
      c.send(d);
      u.send(d, hubEp);
    }
    r.clock.advance(5);
    expect(replies).toEqual([]);
    expect(r.got).toEqual([]);
    expect(r.probes.counters).toMatchObject({ answered: 0, badMac: 6 });
    // A flood of forged probes does not use up the members' answer budget.
    for (let i = 0; i < 10_000; i++) u.send(sealProbe(otherKey, i, 1), hubEp);
    u.send(sealProbe(probeKey, 1, 9), hubEp);
    r.clock.advance(5);
    expect(replies).toEqual([PROBE_REPLY_SIZE]);
    expect(r.probes.counters.rateLimited).toBe(0);
  });

  it('a reply counts only with the hub\'s MAC (a middlebox cannot fake a live leg)', () => {
    const reply = sealProbeReply(probeKey, { seq: 4, token: 9 });
    expect(openProbe(probeKey, reply)).toMatchObject({ seq: 4, token: 9 });
    expect(openProbe(otherKey, reply)).toBe('bad_mac');
    expect(openProbe(probeKey, reply.subarray(0, 31))).toBe('malformed');
  });

  it('fuzz: 3,000 connections of random bytes and frames never throw, and leave no state behind', () => {
    const r = hubRig();
    const rng = new Rng(2121);
    let delivered = 0;
    r.hub.onMessage(() => delivered++);
    for (let i = 0; i < 3000; i++) {
      const c = r.connect({ address: `198.51.100.${1 + rng.int(20)}`, port: 1 + rng.int(65535) }, i);
      if (!c) continue;
      const kind = rng.int(3);
      if (kind === 0) c.rawWrite(rng.bytes(1 + rng.int(300)));
      else if (kind === 1) for (let k = 0; k < 5; k++) c.send(rng.bytes(1 + rng.int(1500)));
      else c.rawWrite(Buffer.from([0, rng.int(3), ...rng.bytes(rng.int(4))]));
      if (rng.chance(0.5)) c.close();
      r.clock.advance(100);
    }
    r.clock.advance(100_000);
    expect(delivered).toBeGreaterThan(1000);
    expect(r.hub.connections).toBe(0);
    // Every slot came back: each address may hold its 8 again.
    for (let i = 0; i < 8; i++) expect(r.connect({ address: '198.51.100.1', port: 60000 + i })).toBeDefined();
  });
});

describe('HubLegSocket (peer)', () => {
  it('hub datagrams go over the chosen leg; peer-to-peer stays UDP; stream datagrams arrive from the hub endpoint', () => {
    const clock = new ManualClock();
    const sw = new MemoryUdpSwitch(clock);
    const hubUdp = sw.open(hubEp.address, hubEp.port);
    const other = sw.open('198.51.100.20', 6000);
    const atHub: string[] = [];
    hubUdp.onMessage((d) => atHub.push(`udp:${d.toString()}`));
    const atOther: string[] = [];
    other.onMessage((d) => atOther.push(d.toString()));
    const leg = new HubLegSocket(sw.open('192.0.2.2', 5000), hubEp);
    const got: string[] = [];
    leg.onMessage((d, from) => got.push(`${d.toString()}@${endpointKey(from)}`));
    const { client, server } = streamPair('tcp', { address: '192.0.2.2', port: 40000 }, hubEp);
    server.onDatagram((d) => atHub.push(`tcp:${d.toString()}`));
    leg.setStream(client);
    leg.send(Buffer.from('1'), hubEp);
    expect(leg.copiesOnSend(hubEp)).toBe(true); // the UDP socket below copies: the link may seal into scratch
    leg.useStream = true;
    expect(leg.copiesOnSend(hubEp)).toBe(false); // the stream keeps the bytes until written
    expect(leg.copiesOnSend(other.local)).toBe(true);
    leg.send(Buffer.from('2'), hubEp);
    leg.send(Buffer.from('p2p'), { address: '198.51.100.20', port: 6000 });
    server.send(Buffer.from('from hub over tcp'));
    clock.advance(5);
    expect(atHub).toEqual(['tcp:2', 'udp:1']);
    expect(atOther).toEqual(['p2p']);
    expect(got).toEqual(['from hub over tcp@203.0.113.2:7000']);
    leg.setStream(undefined);
    leg.send(Buffer.from('3'), hubEp);
    expect(leg.counters.streamDropped).toBe(1);
  });
});

describe('HubTransport (auto) over the twins', () => {
  it('UDP blocked: moves to TCP within ~6 s; UDP back: returns within 30 s, each switch logged and counted', async () => {
    const r = hubRig();
    r.sw.quality = { loss: 1 };
    let transport: HubTransport | undefined;
    const leg = new HubLegSocket(r.sw.open('192.0.2.2', 5000), hubEp, (d, l) => transport?.intercept(d, l) ?? false);
    const connects: string[] = [];
    transport = new HubTransport({
      setting: 'auto',
      socket: leg,
      tcp: hubEp,
      tls: { address: hubEp.address, port: 443 },
      probeKey,
      clock: r.clock,
      log: testLogger(),
      connect: async (to, kind) => {
        connects.push(`${kind}:${endpointKey(to)}`);
        r.hub.admit({ address: '192.0.2.2', port: 40000 });
        const { client, server } = streamPair(kind, { address: '192.0.2.2', port: 40000 }, to);
        r.hub.attach(server);
        r.proven.add('192.0.2.2:40000'); // the session the real link would prove
        return client;
      },
    });
    transport.start();
    const tick = async (n: number) => {
      for (let i = 0; i < n; i++) {
        r.clock.advance(1_000);
        await Promise.resolve();
      }
    };
    await tick(4);
    expect(transport.current).toBe('udp');
    await tick(3);
    expect(transport.current).toBe('tcp');
    expect(transport.status().reason).toMatch(/did not answer over UDP/);
    expect(connects).toEqual(['tcp:203.0.113.2:7000']);
    await tick(20);
    expect(transport.current).toBe('tcp');
    expect(transport.status().stream.lossPct).toBe(0);
    r.sw.quality = {};
    await tick(15);
    expect(transport.current).toBe('udp');
    expect(transport.status().reason).toMatch(/works again/);
    expect(transport.switches).toEqual({ udp: 1, tcp: 1, tls: 0 });
    // The stream is closed after its grace period once UDP is the leg again.
    await tick(40);
    expect(leg.stream).toBeUndefined();
    transport.stop();
  });
});

describe('HubTransport with an older hub (no probe answers, no TCP)', () => {
  it('stays on UDP while the hub talks over UDP, and never tries TCP', async () => {
    const clock = new ManualClock();
    const sw = new MemoryUdpSwitch(clock);
    const hubUdp = sw.open(hubEp.address, hubEp.port); // answers nothing by itself
    let transport: HubTransport | undefined;
    const leg = new HubLegSocket(sw.open('192.0.2.2', 5000), hubEp, (d, l) => transport?.intercept(d, l) ?? false);
    leg.onMessage(() => {});
    let connects = 0;
    transport = new HubTransport({
      setting: 'auto', socket: leg, tcp: hubEp, tls: { address: hubEp.address, port: 443 }, clock, log: testLogger(), probeKey,
      connect: () => {
        connects++;
        return Promise.reject(new Error('ECONNREFUSED'));
      },
    });
    transport.start();
    for (let i = 0; i < 120; i++) {
      if (i % 20 === 0) hubUdp.send(Buffer.from('a sealed heartbeat answer'), { address: '192.0.2.2', port: 5000 });
      clock.advance(1_000);
      await Promise.resolve();
    }
    expect(transport.current).toBe('udp');
    expect(connects).toBe(0);
    transport.stop();
  });
});

describe('HubTransport with a stalled hub (nothing answers on either leg)', () => {
  it('does not move to a stream that never answered a probe', async () => {
    const clock = new ManualClock();
    const sw = new MemoryUdpSwitch(clock);
    sw.quality = { loss: 1 };
    let transport: HubTransport | undefined;
    const leg = new HubLegSocket(sw.open('192.0.2.2', 5000), hubEp, (d, l) => transport?.intercept(d, l) ?? false);
    let connects = 0;
    transport = new HubTransport({
      setting: 'auto', socket: leg, tcp: hubEp, tls: { address: hubEp.address, port: 443 }, clock, log: testLogger(), probeKey,
      // The kernel completes the connection; the hub's event loop never reads it.
      connect: async (to, kind) => {
        connects++;
        return streamPair(kind, { address: '192.0.2.2', port: 40000 }, to).client;
      },
    });
    transport.start();
    for (let i = 0; i < 30; i++) {
      clock.advance(1_000);
      await Promise.resolve();
    }
    expect(transport.current).toBe('udp');
    expect(transport.switches).toEqual({ udp: 0, tcp: 0, tls: 0 });
    expect(connects).toBeGreaterThan(1); // each silent stream closed after 4 s, retried with backoff
    transport.stop();
  });
});
