// The native fast path's owner (src/peer/fast-path.ts): the per-pair verdict as a table, the
// destination bytes for each socket family, and the once-a-second look against a fake addon port:
// which entries it sets and removes, and how it books what the addon sent.
import { describe, expect, it } from 'vitest';
import { destinationBytes, entryValidMs, FastPath, fastPathVerdict, type FastPathFacts } from '../../src/peer/fast-path.js';
import { DataCounters } from '../../src/peer/counters.js';
import { PeerTraffic } from '../../src/peer/traffic.js';
import type { RemotePeer } from '../../src/peer/remote-peer.js';
import type { FastPathEntry, FastPathPort, FastPathStats } from '../../src/tun/fast-path-port.js';
import type { FastRecvEntry, FastRecvPort, FastRecvStats } from '../../src/net/fast-recv-port.js';
import { udpPath } from '../../src/link/path.js';
import { InnerKind } from '../../src/wire/inner.js';

const ok: FastPathFacts = { listed: true, smallPlain: true, direct: true, fec: false, copies: false, aclEnforcing: false, key: true, socket: true };

describe('fastPathVerdict', () => {
  it.each([
    [{}, 'install'],
    [{ listed: false }, 'unlisted'],
    [{ smallPlain: false }, 'not-plain'],
    [{ direct: false }, 'relayed'],
    [{ fec: true }, 'fec'],
    [{ copies: true }, 'copies'],
    [{ aclEnforcing: true }, 'acl'],
    [{ key: false }, 'no-key'],
    [{ socket: false }, 'no-socket'],
    [{ listed: false, smallPlain: false, direct: false }, 'unlisted'],
    [{ fec: true, key: false }, 'fec'],
  ] as [Partial<FastPathFacts>, string][])('%o -> %s', (over, want) => {
    expect(fastPathVerdict({ ...ok, ...over })).toBe(want);
  });
});

describe('destinationBytes', () => {
  it('IPv4 on an IPv4 socket: 4 bytes, network order', () => {
    expect([...destinationBytes({ address: '198.51.100.7', port: 1 }, 4)!]).toEqual([198, 51, 100, 7]);
  });
  it('IPv4 on an IPv6 (dual-stack) socket: v4-mapped', () => {
    expect([...destinationBytes({ address: '198.51.100.7', port: 1 }, 6)!]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 198, 51, 100, 7]);
  });
  it('IPv6 on an IPv6 socket: 16 bytes; on an IPv4 socket: none', () => {
    expect(destinationBytes({ address: '2001:db8::5', port: 1 }, 6)?.byteLength).toBe(16);
    expect(destinationBytes({ address: '2001:db8::5', port: 1 }, 4)).toBeUndefined();
  });
});

/** An addon port that records what it is told and reports `pending` as sent. */
class FakePort implements FastPathPort {
  readonly entries = new Map<number, FastPathEntry>();
  pending: [number, number, number][] = [];
  full = false;
  set(e: FastPathEntry): boolean {
    if (this.full) return false;
    this.entries.set(e.dst, e);
    return true;
  }
  delete(dst?: number): void {
    if (dst === undefined) this.entries.clear();
    else this.entries.delete(dst);
  }
  stats(take = false): FastPathStats {
    const entries = new Float64Array(take ? this.pending.flat() : []);
    if (take) this.pending = [];
    return { sent: 0, refusedRate: 0, refusedStale: 0, refusedLimit: 0, sendErrors: 0, entries };
  }
  tun: { fd: number; vnetLen: number } | undefined = { fd: 23, vnetLen: 10 };
  writeFd(): { fd: number; vnetLen: number } | undefined {
    return this.tun;
  }
}

/** A socket's receive table that records entries and reports `pending` rows as received. */
class FakeRecv implements FastRecvPort {
  readonly entries = new Map<number, FastRecvEntry>();
  pending: number[][] = [];
  deletes: (number | undefined)[] = [];
  set(e: FastRecvEntry): boolean {
    this.entries.set(e.localIndex, e);
    return true;
  }
  delete(localIndex?: number): void {
    this.deletes.push(localIndex);
    if (localIndex === undefined) this.entries.clear();
    else this.entries.delete(localIndex);
  }
  stats(take = false): FastRecvStats {
    const entries = new Float64Array(take ? this.pending.flat() : []);
    if (take) this.pending = [];
    return { received: 0, toJsRate: 0, toJsStale: 0, toJsInner: 0, toJsAuth: 0, tunErrors: 0, entries };
  }
}

function setup(receive = true) {
  let now = 1_000;
  const calls: string[] = [];
  const recv = new FakeRecv();
  const replay = new Uint8Array(1032);
  const recvKey = { localIndex: 0x77, validMs: 60_000 };
  const fastReceived: unknown[] = [];
  const endpoint = { address: '198.51.100.9', port: 7001 };
  const via = udpPath(endpoint);
  const cell = new Float64Array(1);
  const noted: number[] = [];
  const fastSent: { count: number; path: unknown }[] = [];
  const peer = {
    overlay: 0x0a090003,
    publicKey: new Uint8Array(32).fill(3),
    listed: true,
    traffic: new PeerTraffic(),
    paths: { current: () => ({ kind: 'direct', endpoint, via }), noteData: (t: number) => noted.push(t) },
    channel: { smallPlainNow: () => true, small: 0, noteFastSent(n: number) { this.small += n; } },
  };
  const port = new FakePort();
  const counters = new DataCounters();
  const flags = { fec: false, copies: false, acl: false, key: true };
  const fast = new FastPath({
    port,
    table: { values: () => [peer as unknown as RemotePeer].values(), lookup: (d) => (d === peer.overlay ? (peer as unknown as RemotePeer) : undefined) },
    socket: { nativeSendFd: () => ({ fd: 17, family: 4, recv }) },
    link: {
      fastSendKey: () => (flags.key ? { remoteIndex: 0x1234, key: new Uint8Array(32).fill(9), counterCell: cell, counterLimit: 1e9, validMs: 60_000 } : undefined),
      noteFastSent: (_k, path, count) => {
        calls.push('sent');
        fastSent.push({ count, path });
      },
      fastRecvKey: () => (flags.key ? { localIndex: recvKey.localIndex, key: new Uint8Array(32).fill(8), replay, validMs: recvKey.validMs } : undefined),
      noteFastReceived: (_k, localIndex, rx, t) => {
        calls.push('received');
        fastReceived.push({ localIndex, rx, t });
      },
    },
    localAddress: 0x0a090002,
    receive,
    fecWraps: () => flags.fec,
    copiesSmall: () => flags.copies,
    aclEnforcing: () => flags.acl,
    counters,
    clock: { now: () => now },
  });
  return { fast, port, peer, counters, flags, cell, via, noted, fastSent, recv, replay, recvKey, fastReceived, calls, advance: (ms: number) => (now += ms) };
}

describe('FastPath', () => {
  it('installs a qualifying pair with its key, counter cell, socket and destination', () => {
    const s = setup();
    s.fast.tick();
    const e = s.port.entries.get(s.peer.overlay)!;
    expect(e).toBeDefined();
    expect(e.remoteIndex).toBe(0x1234);
    expect(e.counterCell).toBe(s.cell);
    expect(e.fd).toBe(17);
    expect([...e.address]).toEqual([198, 51, 100, 9]);
    expect(e.port).toBe(7001);
    expect(e.validMs).toBe(entryValidMs);
    expect(e.innerKind).toBe(InnerKind.IP);
    expect(s.fast.stats.last).toEqual({ install: 1 });
  });

  it('removes the entry at the next look once the pair stops qualifying, for each reason', () => {
    for (const k of ['fec', 'copies', 'acl'] as const) {
      const s = setup();
      s.fast.tick();
      s.flags[k] = true;
      s.fast.tick();
      expect(s.port.entries.size, k).toBe(0);
      expect(s.fast.stats.removals).toBe(1);
    }
    const s = setup();
    s.fast.tick();
    s.flags.key = false;
    s.fast.tick();
    expect(s.port.entries.size).toBe(0);
    expect(s.fast.stats.last).toEqual({ 'no-key': 1 });
  });

  it('books what the addon sent on the counters, the pair and the link', () => {
    const s = setup();
    s.fast.tick();
    s.port.pending = [[s.peer.overlay, 3, 252]];
    s.advance(1_000);
    s.fast.tick();
    expect(s.counters.txPackets).toBe(3);
    expect(s.counters.txBytes).toBe(252);
    expect(s.peer.traffic.txPackets).toBe(3);
    expect([...s.peer.traffic.samples()]).toEqual([{ direction: 'out', path: 'direct', packets: 3, bytes: 255 }]);
    expect(s.peer.channel.small).toBe(3);
    expect(s.noted).toEqual([2_000]);
    expect(s.fastSent).toEqual([{ count: 3, path: s.via }]);
    expect(s.fast.stats.sent).toBe(3);
  });

  it('clearAll books, then removes every entry at once', () => {
    const s = setup();
    s.fast.tick();
    s.port.pending = [[s.peer.overlay, 2, 100]];
    s.fast.clearAll();
    expect(s.port.entries.size).toBe(0);
    expect(s.counters.txPackets).toBe(2);
  });

  it('a full addon table leaves the pair to JS', () => {
    const s = setup();
    s.port.full = true;
    s.fast.tick();
    expect(s.port.entries.size).toBe(0);
    expect(s.fast.stats.last).toEqual({ 'table-full': 1 });
  });

  it('installs the receive half on the socket that sends to the pair, with the session and the TUN', () => {
    const s = setup();
    s.fast.tick();
    const e = s.recv.entries.get(0x77)!;
    expect(e).toBeDefined();
    expect(e.replay).toBe(s.replay);
    expect([...e.source]).toEqual([4, 7001, 0xc6336409, 0, 0, 0]);
    expect(e.peerIp).toBe(s.peer.overlay);
    expect(e.localIp).toBe(0x0a090002);
    expect([e.tunFd, e.vnetLen]).toEqual([23, 10]);
    expect(e.validMs).toBe(entryValidMs);
    expect(e.innerKind).toBe(InnerKind.IP);
    expect(s.fast.stats.recvSets).toBe(1);
  });

  it('the receive half is bounded by its key, and absent without a TUN fd or when switched off', () => {
    const s = setup();
    s.recvKey.validMs = 500;
    s.fast.tick();
    expect(s.recv.entries.get(0x77)!.validMs).toBe(500);
    const t = setup();
    t.port.tun = undefined;
    t.fast.tick();
    expect(t.port.entries.size).toBe(1);
    expect(t.recv.entries.size).toBe(0);
    const u = setup(false);
    u.fast.tick();
    expect(u.port.entries.size).toBe(1);
    expect(u.recv.entries.size).toBe(0);
  });

  it('books what the receive half opened before what the send half sent', () => {
    const s = setup();
    s.fast.tick();
    s.recv.pending = [[0x77, 4, 336, 340, 2, 1]];
    s.port.pending = [[s.peer.overlay, 3, 252]];
    s.advance(1_000);
    s.fast.tick();
    expect(s.calls).toEqual(['received', 'sent']);
    expect(s.fastReceived).toEqual([{ localIndex: 0x77, rx: { received: 4, skipped: 2, late: 1 }, t: 2_000 }]);
    expect(s.counters.rxPackets).toBe(4);
    expect(s.counters.rxBytes).toBe(336);
    expect(s.peer.traffic.rxPackets).toBe(4);
    expect([...s.peer.traffic.samples()]).toContainEqual({ direction: 'in', path: 'direct', packets: 4, bytes: 340 });
    expect(s.fast.stats.received).toBe(4);
  });

  it('removes the receive entry with the pair, and replaces it when the session changes', () => {
    const s = setup();
    s.fast.tick();
    s.recvKey.localIndex = 0x78;
    s.fast.tick();
    expect([...s.recv.entries.keys()]).toEqual([0x78]);
    expect(s.recv.deletes).toEqual([0x77]);
    s.flags.fec = true;
    s.fast.tick();
    expect(s.recv.entries.size).toBe(0);
    const t = setup();
    t.fast.tick();
    t.recv.pending = [[0x77, 1, 84, 85, 0, 0]];
    t.fast.clearAll();
    expect(t.recv.entries.size).toBe(0);
    expect(t.counters.rxPackets).toBe(1);
  });
});
