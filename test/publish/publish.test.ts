// A hub and a peer in one process (vnet, ManualClock) publishing a real loopback TCP service: echo
// through the public port with checksums, half-close, refusal with a reason, offline refusal,
// the connection limit, a target that is down, re-publish after the peer restarts.
import { createHash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { startHub, type Hub } from '../../src/hub/hub.js';
import { PeerNode } from '../../src/peer/node.js';
import type { PublishLimits } from '../../src/publish/hub-publisher.js';
import { parsePortRanges, type PublishSpec } from '../../src/publish/spec.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { pino } from 'pino';
import type { Logger } from '../../src/util/log.js';
import { testLogger } from '../fakes/logger.js';
import { Rng } from '../fakes/rng.js';
import { HUB_ENDPOINT, NETWORK, World } from '../vnet/world.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

/** An echo server that half-closes after its client does. */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { server, port: (server.address() as AddressInfo).port };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Runs the manual clock in small steps, yielding to real I/O, until cond() or the step budget. */
async function until(w: World, cond: () => boolean, maxSteps = 20_000, stepMs = 2): Promise<void> {
  for (let i = 0; i < maxSteps && !cond(); i++) {
    w.clock.advance(stepMs);
    await tick();
  }
}

async function setup(publish: PublishSpec[], allow = '1-65535', maxConns?: number, extra: { limits?: PublishLimits; peerBufferBytes?: number; hubLog?: Logger } = {}) {
  const w = new World();
  const hub: Hub = startHub({
    listen: HUB_ENDPOINT, network: NETWORK, psk: w.psk, keyPair: w.hubKeys, clock: w.clock, wallClock: w.wall, log: extra.hubLog ?? testLogger('hub'),
    udp: w.net.open(HUB_ENDPOINT.address, HUB_ENDPOINT.port), allowPublish: parsePortRanges(allow), publishListenHost: '127.0.0.1',
    ...(maxConns !== undefined ? { publishMaxConns: maxConns } : {}),
    ...(extra.limits ? { publishLimits: extra.limits } : {}),
  });
  w.hub = hub;
  cleanups.push(() => hub.close());
  const keyPair = generateKeyPair();
  let n = 0;
  const mkPeer = () => {
    const node = new PeerNode({
      udp: w.socketAt({ open: '198.51.100.10' }, 51820 + n++), keyPair, psk: w.psk, clock: w.clock, wallClock: w.wall, log: testLogger('peer'),
      hub: HUB_ENDPOINT, hubKey: w.hubKeys.publicKey, overlay: ipv4ToU32('10.9.0.2'), prefix: 24, name: 'svc-host', publish,
      ...(extra.peerBufferBytes !== undefined ? { publishBufferBytes: extra.peerBufferBytes } : {}),
    });
    cleanups.push(() => {
      const s = node.stop();
      w.run(2_000);
      return s;
    });
    return node;
  };
  const peer = mkPeer();
  await w.join(peer);
  return { w, hub, peer, mkPeer };
}

interface Visit {
  sock: Socket;
  got: Buffer[];
  ended: boolean;
  closed: boolean;
  error: string | undefined;
}

function visit(port: number, from = '127.0.0.1'): Visit {
  const sock = connect({ host: '127.0.0.1', port, allowHalfOpen: true, localAddress: from });
  const v: Visit = { sock, got: [], ended: false, closed: false, error: undefined };
  sock.on('data', (d) => v.got.push(d));
  sock.on('end', () => (v.ended = true));
  sock.on('close', () => (v.closed = true));
  sock.on('error', (e: NodeJS.ErrnoException) => (v.error = e.code ?? e.message));
  cleanups.push(() => sock.destroy());
  return v;
}

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('publish through the hub (in process)', () => {
  it('echoes 8 concurrent 256 KB transfers intact, with half-close each way', async () => {
    const echo = await echoServer();
    const pub = await freePort();
    const { w, hub, peer } = await setup([{ name: 'echo', publicPort: pub, targetHost: '127.0.0.1', targetPort: echo.port }]);
    await until(w, () => peer.publishStatus()[0]?.state === 'published');
    expect(peer.publishStatus()[0]).toMatchObject({ name: 'echo', state: 'published' });
    const rng = new Rng(3);
    const payloads = Array.from({ length: 8 }, () => Buffer.from(rng.bytes(256 * 1024)));
    const visits = payloads.map((p) => {
      const v = visit(pub);
      v.sock.end(p); // write everything, then half-close: the echo ends after echoing
      return v;
    });
    await until(w, () => visits.every((v) => v.closed), 50_000);
    for (let i = 0; i < visits.length; i++) {
      expect(visits[i]!.error).toBeUndefined();
      expect(visits[i]!.ended).toBe(true);
      expect(sha(Buffer.concat(visits[i]!.got))).toBe(sha(payloads[i]!));
    }
    const st = hub.status().published[0]!;
    expect(st).toMatchObject({ name: 'echo', port: pub, ownerName: 'svc-host', totalConnections: 8, bytesIn: 8 * 256 * 1024, bytesOut: 8 * 256 * 1024 });
    expect(peer.publishStatus()[0]).toMatchObject({ totalConnections: 8, bytesIn: 8 * 256 * 1024 });
  }, 60_000);

  it('refuses a port outside --allow-publish with a reason; the peer keeps running', async () => {
    const { w, hub, peer } = await setup([{ name: 'ssh', publicPort: 2222, targetHost: '127.0.0.1', targetPort: 22 }], '8000-8999');
    await until(w, () => peer.publishStatus()[0]?.state !== 'pending');
    expect(peer.publishStatus()[0]).toMatchObject({ state: 'refused', reason: "port 2222 is outside the hub's --allow-publish 8000-8999" });
    expect(hub.status().published).toEqual([]);
    expect(peer.hubClient.state).toBe('registered');
  });

  it('refuses a name another peer holds', async () => {
    const echo = await echoServer();
    const pub = await freePort();
    const { w, peer } = await setup([{ name: 'web', publicPort: pub, targetHost: '127.0.0.1', targetPort: echo.port }]);
    await until(w, () => peer.publishStatus()[0]?.state === 'published');
    const other = new PeerNode({
      udp: w.socketAt({ open: '198.51.100.20' }), keyPair: generateKeyPair(), psk: w.psk, clock: w.clock, wallClock: w.wall, log: testLogger('p2'),
      hub: HUB_ENDPOINT, hubKey: w.hubKeys.publicKey, overlay: ipv4ToU32('10.9.0.3'), prefix: 24, publish: [{ name: 'web', publicPort: pub + 1, targetHost: 'h', targetPort: 1 }],
    });
    cleanups.push(() => {
      const s = other.stop();
      w.run(2_000);
      return s;
    });
    await w.join(other);
    await until(w, () => other.publishStatus()[0]?.state !== 'pending');
    expect(other.publishStatus()[0]).toMatchObject({ state: 'refused', reason: 'service name "web" is published by another peer' });
  });

  it('refuses visitors at once while the peer is gone, and serves again when it comes back', async () => {
    const echo = await echoServer();
    const pub = await freePort();
    const specs = [{ name: 'echo', publicPort: pub, targetHost: '127.0.0.1', targetPort: echo.port }];
    const { w, peer, mkPeer } = await setup(specs);
    await until(w, () => peer.publishStatus()[0]?.state === 'published');
    const stopping = peer.stop();
    w.run(500);
    await stopping;
    const refused = visit(pub);
    await until(w, () => refused.closed, 2_000);
    expect(refused.error).toBe('ECONNREFUSED');
    const again = mkPeer(); // same key, new boot id: a restart
    await w.join(again);
    await until(w, () => again.publishStatus()[0]?.state === 'published');
    const v = visit(pub);
    v.sock.end('hello again');
    await until(w, () => v.closed);
    expect(Buffer.concat(v.got).toString()).toBe('hello again');
  });

  it('resets visitors beyond the per-service connection limit, and reports a target that is down', async () => {
    const echo = await echoServer();
    const down = await freePort();
    const pub = await freePort();
    const pub2 = await freePort();
    const { w, hub, peer } = await setup(
      [
        { name: 'echo', publicPort: pub, targetHost: '127.0.0.1', targetPort: echo.port },
        { name: 'down', publicPort: pub2, targetHost: '127.0.0.1', targetPort: down },
      ],
      '1-65535',
      2,
    );
    await until(w, () => peer.publishStatus().every((s) => s.state === 'published'));
    const held = [visit(pub), visit(pub)];
    await until(w, () => hub.status().published.find((s) => s.name === 'echo')!.connections === 2, 2_000);
    const third = visit(pub);
    await until(w, () => third.closed, 2_000);
    expect(third.error).toBe('ECONNRESET');
    expect(hub.status().published.find((s) => s.name === 'echo')!.refusedConnections).toBe(1);
    for (const h of held) h.sock.end();
    const d = visit(pub2);
    d.sock.write('anyone?');
    await until(w, () => d.closed, 5_000);
    expect(d.got.length).toBe(0);
    expect(peer.services!.counters.targetErrors).toBe(1);
  });

  it('M6: one visitor opening 256 connections and never reading gets its cap; others still connect; buffers stay in budget', async () => {
    // A target that writes as fast as it may to whoever connects (the visitor never reads it).
    const chunk = Buffer.alloc(64 * 1024, 7);
    const firehose = createServer((s) => {
      const pump = () => {
        while (s.writable && s.write(chunk));
      };
      s.on('drain', pump);
      s.on('error', () => {});
      pump();
    });
    await new Promise<void>((r) => firehose.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => { firehose.close(r); }));
    const echo = await echoServer();
    const pub = await freePort();
    const pub2 = await freePort();
    const budget = 8 * 1024 * 1024;
    const { w, hub, peer } = await setup(
      [
        { name: 'hose', publicPort: pub, targetHost: '127.0.0.1', targetPort: (firehose.address() as AddressInfo).port },
        { name: 'echo', publicPort: pub2, targetHost: '127.0.0.1', targetPort: echo.port },
      ],
      '1-65535',
      undefined,
      { limits: { bufferBytes: budget }, peerBufferBytes: budget },
    );
    await until(w, () => peer.publishStatus().every((s) => s.state === 'published'));
    const flood: Visit[] = [];
    for (let i = 0; i < 256; i++) {
      const v = visit(pub, '127.0.0.1');
      v.sock.pause(); // never reads: the kernel buffers fill, then the hub's stream
      flood.push(v);
    }
    const svc = () => hub.status().published.find((s) => s.name === 'hose')!;
    let maxOpen = 0;
    const watch = (done: () => boolean) => () => {
      maxOpen = Math.max(maxOpen, svc().connections);
      return done();
    };
    await until(w, watch(() => svc().totalConnections + svc().refusedConnections >= 256), 5_000);
    await until(w, watch(() => false), 3_500); // 7 s of manual time with the firehose running (past budgetStallMs)
    const st = svc();
    expect(st.totalConnections + st.refusedConnections).toBe(256);
    expect(maxOpen).toBeLessThanOrEqual(16); // never more than its per-IP cap at once
    expect(st.refusedConnections).toBeGreaterThanOrEqual(200); // by ip-full, then rate as budget resets free slots
    const ev = hub.publisher.visitorEvents(); // the metrics counters (no log line per refusal)
    expect(ev.opened).toBe(st.totalConnections);
    expect((ev.refused_ip_full ?? 0) + (ev.refused_rate ?? 0)).toBe(st.refusedConnections);
    // Another visitor still gets through, to this service and to another one.
    const other = visit(pub2, '127.0.0.2');
    other.sock.end('still here');
    await until(w, () => other.closed, 5_000);
    expect(Buffer.concat(other.got).toString()).toBe('still here');
    // What the hub and the peer buffered for the flood stayed within the budget (plus one turn's input).
    const slack = 2 * 1024 * 1024;
    expect(hub.publisher.budget.peakBytes).toBeLessThanOrEqual(budget + slack);
    expect(peer.services!.budget.peakBytes).toBeLessThanOrEqual(budget + slack);
    expect(hub.publisher.budget.bytes).toBeLessThanOrEqual(budget);
    for (const v of flood) v.sock.destroy();
  });

  it('refuses a member publishing past --publish-max-services with a named reason', async () => {
    const echo = await echoServer();
    const ports = [await freePort(), await freePort(), await freePort()];
    const specs = ports.map((p, i) => ({ name: `s${i}`, publicPort: p, targetHost: '127.0.0.1', targetPort: echo.port }));
    const { w, hub, peer } = await setup(specs, '1-65535', undefined, { limits: { maxServicesPerMember: 2 } });
    await until(w, () => peer.publishStatus().every((s) => s.state !== 'pending'));
    const states = peer.publishStatus().map((s) => s.state);
    expect(states.filter((x) => x === 'published')).toHaveLength(2);
    const refused = peer.publishStatus().find((s) => s.state === 'refused')!;
    expect(refused.reason).toMatch(/--publish-max-services/);
    expect(hub.status().published).toHaveLength(2);
  });

  it('closes a visitor connection idle (no bytes either way) for the idle timeout, not a busy one', async () => {
    const echo = await echoServer();
    const pub = await freePort();
    const { w, hub, peer } = await setup([{ name: 'echo', publicPort: pub, targetHost: '127.0.0.1', targetPort: echo.port }], '1-65535', undefined, {
      limits: { idleTimeoutMs: 4_000 },
    });
    await until(w, () => peer.publishStatus()[0]?.state === 'published');
    const idle = visit(pub);
    const busy = visit(pub, '127.0.0.2');
    await until(w, () => hub.status().published[0]!.connections === 2, 2_000);
    const t0 = w.clock.now();
    await until(w, () => {
      if (!busy.closed && w.clock.now() % 500 === 0) busy.sock.write('x'); // a byte every 0.5 s
      return idle.ended; // the hub closed its side (allowHalfOpen: the visitor sees end)
    }, 10_000);
    expect(idle.ended).toBe(true);
    expect(w.clock.now() - t0).toBeGreaterThanOrEqual(3_900); // t0 is a few ms after the accept
    expect(busy.ended).toBe(false);
    expect(hub.status().published[0]!.idleClosed).toBe(1);
    busy.sock.destroy();
  });

  it('logs one summary line per service per minute instead of a line per visitor connection', async () => {
    const echo = await echoServer();
    const pub = await freePort();
    const lines: Array<{ msg: string; service?: string; opened?: number; closed?: number }> = [];
    const hubLog = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const { w, peer } = await setup([{ name: 'echo', publicPort: pub, targetHost: '127.0.0.1', targetPort: echo.port }], '1-65535', undefined, {
      hubLog, limits: { acceptsPerSec: 1000 },
    });
    await until(w, () => peer.publishStatus()[0]?.state === 'published');
    for (let i = 0; i < 20; i++) {
      const v = visit(pub);
      v.sock.end(`hello ${i}`);
      await until(w, () => v.closed, 5_000);
    }
    await until(w, () => false, 1_300, 100); // 130 s: two summary intervals, the second one quiet
    const summaries = lines.filter((l) => l.msg === 'visitor connections');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ service: 'echo', opened: 20, closed: 20 });
    expect(lines.filter((l) => /visitor connect/.test(l.msg) && l.msg !== 'visitor connections')).toHaveLength(0);
  });
});
