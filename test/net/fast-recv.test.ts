// The receive half of the native fast path (src/net/native/fastrecv.c) on real native sockets over
// loopback: datagrams sealed by a real TransportSession, an entry installed from the receiving
// session's fastRecvKey, and a temporary file standing in for the TUN fd (what C writes lands there).
// What C takes never reaches JS; everything else reaches JS untouched, and the replay window is the
// session's own (JS refuses what C opened).
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastRecvEntry, FastRecvPort } from '../../src/net/fast-recv-port.js';
import { sourceWords } from '../../src/net/fast-recv-port.js';
import { nativeUdpUnavailable } from '../../src/net/udp-native.js';
import { openUdpSocket, type CountedUdpSocket } from '../../src/net/udp-open.js';
import { InnerKind } from '../../src/wire/inner.js';
import { sessionPair } from '../crypto/session-pair.js';
import { ReplayWindow } from '../../src/crypto/replay.js';
import { Rng } from '../fakes/rng.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (cond: () => boolean, ms = 2000) => {
  for (let t = 0; t < ms && !cond(); t += 5) await sleep(5);
  return cond();
};
const PEER = 0x0a090003; // 10.9.0.3
const US = 0x0a090002; // 10.9.0.2

/** An IPv4 ICMP echo of `size` bytes from src to dst (the checks read version, length, addresses). */
function ipv4(src: number, dst: number, size = 84, seq = 0): Uint8Array {
  const p = new Uint8Array(size);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, size);
  p[8] = 64;
  p[9] = 1;
  v.setUint32(12, src);
  v.setUint32(16, dst);
  p[20] = 8;
  v.setUint16(26, seq);
  return p;
}

const inner = (kind: number, packet: Uint8Array) => Uint8Array.of(kind, ...packet);

const native = process.platform === 'linux' && nativeUdpUnavailable() === undefined;

describe.runIf(native)('native receive fast path (fastrecv.c)', () => {
  const sockets: CountedUdpSocket[] = [];
  let dir = '';
  afterEach(async () => {
    for (const s of sockets.splice(0)) await s.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  async function setup(over: Partial<FastRecvEntry> = {}, vnetLen = 10) {
    const rx = await openUdpSocket({ address: '127.0.0.1', port: 0 }, { impl: 'native' });
    const tx = await openUdpSocket({ address: '127.0.0.1', port: 0 }, { impl: 'native' });
    sockets.push(rx, tx);
    const { a, b } = sessionPair();
    const toJs: Uint8Array[] = [];
    rx.onMessage((d) => toJs.push(Uint8Array.from(d)));
    const port: FastRecvPort = rx.nativeSendFd!(tx.local)!.recv!;
    expect(port).toBeDefined();
    dir = mkdtempSync(join(tmpdir(), 'meshd-fastrecv-'));
    const file = join(dir, 'tun');
    const fd = openSync(file, 'w+');
    const key = b.fastRecvKey(0)!;
    const ok = port.set({
      localIndex: key.localIndex,
      key: key.key,
      replay: key.replay,
      validMs: 60_000,
      source: sourceWords(tx.local)!,
      peerIp: PEER,
      localIp: US,
      maxBytes: 300,
      maxPps: 150,
      innerKind: InnerKind.IP,
      tunFd: fd,
      vnetLen,
      ...over,
    });
    closeSync(fd); // the addon holds its own dup
    expect(ok).toBe(true);
    let taken = 0;
    const send = async (pt: Uint8Array, from = tx) => {
      const d = Uint8Array.from(a.seal(pt, 0)!);
      const before = toJs.length + port.stats().received;
      from.send(d, rx.local);
      expect(await until(() => toJs.length + port.stats().received > before)).toBe(true);
      taken = port.stats().received;
      return d;
    };
    return { rx, tx, a, b, port, toJs, send, written: () => readFileSync(file), taken: () => taken };
  }

  it('opens a small IPv4 packet from the peer to us, writes it to the TUN after a zero virtio header, and JS sees nothing', async () => {
    const s = await setup();
    const p = ipv4(PEER, US);
    const d = await s.send(inner(InnerKind.IP, p));
    expect(s.toJs).toHaveLength(0);
    expect([...s.written()]).toEqual([...new Uint8Array(10), ...p]);
    const st = s.port.stats(true);
    expect(st.received).toBe(1);
    expect([...st.entries]).toEqual([s.b.localIndex, 1, 84, 85, 0, 0]);
    expect([...s.port.stats(true).entries]).toEqual([s.b.localIndex, 0, 0, 0, 0, 0]);
    // the session's own window was marked: JS refuses the same datagram as a replay
    expect(s.b.open(d, 0)).toBeUndefined();
    expect(s.b.drops.replay).toBe(1);
  });

  it('without offloads the packet is written alone', async () => {
    const s = await setup({}, 0);
    const p = ipv4(PEER, US, 60);
    await s.send(inner(InnerKind.IP, p));
    expect([...s.written()]).toEqual([...p]);
  });

  it('counts counters skipped and late arrivals as session.ts lastGap does', async () => {
    const s = await setup();
    await s.send(inner(InnerKind.IP, ipv4(PEER, US, 60, 0)));
    const lost = Uint8Array.from(s.a.seal(inner(InnerKind.IP, ipv4(PEER, US, 60, 1)), 0)!);
    s.a.seal(inner(InnerKind.IP, ipv4(PEER, US, 60, 2)), 0);
    await s.send(inner(InnerKind.IP, ipv4(PEER, US, 60, 3)));
    const before = s.port.stats().received;
    s.tx.send(lost, s.rx.local);
    expect(await until(() => s.port.stats().received > before)).toBe(true);
    expect([...s.port.stats(true).entries]).toEqual([s.b.localIndex, 3, 180, 183, 2, 1]);
    expect(s.toJs).toHaveLength(0);
  });

  it.each<[string, (s: Awaited<ReturnType<typeof setup>>) => Uint8Array, string]>([
    ['a KCP message', () => inner(InnerKind.KCP, new Uint8Array(40).fill(7)), 'toJsInner'],
    ['a source other than the peer (routed through it)', () => inner(InnerKind.IP, ipv4(0x0a090009, US)), 'toJsInner'],
    ['a destination other than us', () => inner(InnerKind.IP, ipv4(PEER, 0x0a090004)), 'toJsInner'],
    ['a length that is not the packet', () => inner(InnerKind.IP, ipv4(PEER, US, 84).subarray(0, 80)), 'toJsInner'],
    ['an IPv6 packet', () => inner(InnerKind.IP, Uint8Array.of(0x60, ...new Uint8Array(59))), 'toJsInner'],
    ['a packet over maxBytes', () => inner(InnerKind.IP, ipv4(PEER, US, 400)), ''],
  ])('%s goes to JS untouched, and JS opens it', async (_why, make, counter) => {
    const s = await setup();
    const pt = make(s);
    await s.send(pt);
    expect(s.toJs).toHaveLength(1);
    expect([...s.b.open(s.toJs[0]!, 0)!]).toEqual([...pt]);
    expect(s.written().byteLength).toBe(0);
    const st = s.port.stats() as unknown as Record<string, number>;
    if (counter) expect(st[counter]).toBe(1);
    expect(st.received).toBe(0);
  });

  it('a datagram from another endpoint (the peer roamed) goes to JS', async () => {
    const s = await setup();
    const other = await openUdpSocket({ address: '127.0.0.1', port: 0 }, { impl: 'native' });
    sockets.push(other);
    await s.send(inner(InnerKind.IP, ipv4(PEER, US)), other);
    expect(s.toJs).toHaveLength(1);
    expect(s.b.open(s.toJs[0]!, 0)).toBeDefined();
  });

  it('a forged tag goes to JS (which counts it), a replay of what C opened goes to JS (which refuses it)', async () => {
    const s = await setup();
    const d = Uint8Array.from(s.a.seal(inner(InnerKind.IP, ipv4(PEER, US)), 0)!);
    const forged = Uint8Array.from(d);
    forged[forged.length - 1]! ^= 1;
    s.tx.send(forged, s.rx.local);
    expect(await until(() => s.toJs.length === 1)).toBe(true);
    expect(s.port.stats().toJsAuth).toBe(1);
    expect(s.b.open(s.toJs[0]!, 0)).toBeUndefined();
    expect(s.b.drops.auth).toBe(1);
    s.tx.send(d, s.rx.local);
    expect(await until(() => s.port.stats().received === 1)).toBe(true);
    s.tx.send(d, s.rx.local);
    expect(await until(() => s.toJs.length === 2)).toBe(true);
    expect(s.b.open(s.toJs[1]!, 0)).toBeUndefined();
    expect(s.b.drops.replay).toBe(1);
  });

  it('past maxPps in a second, past its time, or deleted, the entry leaves datagrams to JS', async () => {
    const s = await setup({ maxPps: 2 });
    for (let i = 0; i < 3; i++) await s.send(inner(InnerKind.IP, ipv4(PEER, US, 60, i)));
    expect(s.port.stats().received).toBe(2);
    expect(s.port.stats().toJsRate).toBe(1);
    expect(s.toJs).toHaveLength(1);
    const t = await setup({ validMs: 1 });
    await sleep(20);
    await t.send(inner(InnerKind.IP, ipv4(PEER, US)));
    expect(t.port.stats().toJsStale).toBe(1);
    expect(t.toJs).toHaveLength(1);
    t.port.delete();
    await t.send(inner(InnerKind.IP, ipv4(PEER, US, 84, 1)));
    expect(t.toJs).toHaveLength(2);
    expect(t.port.stats(true).entries).toHaveLength(0);
  });

  it('refuses a bad entry: a key that is not 32 bytes, a replay buffer of the wrong size', async () => {
    const s = await setup();
    const key = s.b.fastRecvKey(0)!;
    const base = { localIndex: 9, key: key.key, replay: key.replay, validMs: 1000, source: Uint32Array.of(4, 1, 1, 0, 0, 0), peerIp: PEER, localIp: US, maxBytes: 300, maxPps: 150, innerKind: 2, tunFd: 1, vnetLen: 0 };
    expect(s.port.set({ ...base, key: new Uint8Array(31) })).toBe(false);
    expect(s.port.set({ ...base, replay: new Uint8Array(100) })).toBe(false);
    expect(s.port.set({ ...base, source: new Uint32Array(5) })).toBe(false);
  });

  it('takes exactly what the replay window admits: a seeded delivery order with duplicates, reordering and counters older than the window', async () => {
    const s = await setup({ maxPps: 100_000 });
    const rng = new Rng(0x5eed);
    const sealed: Uint8Array[] = [];
    for (let i = 0; i < 9_000; i++) sealed.push(Uint8Array.from(s.a.seal(inner(InnerKind.IP, ipv4(PEER, US, 60, i & 0xffff)), 0)!));
    // mostly near the front of what was delivered so far, sometimes far back or a repeat
    const order: number[] = [];
    let front = 0;
    for (let k = 0; k < 160; k++) {
      const r = rng.next();
      if (r < 0.5) front = Math.min(sealed.length - 1, front + 1 + Math.floor(rng.next() * 40));
      const pick = r < 0.5 ? front : r < 0.7 && order.length > 0 ? order[Math.floor(rng.next() * order.length)]! : r < 0.9 ? Math.max(0, front - Math.floor(rng.next() * 64)) : Math.floor(rng.next() * sealed.length);
      if (k === 80) front = 8_999; // then everything before 8999 - 8160 is too old
      order.push(k === 80 ? 8_999 : pick);
    }
    const model = new ReplayWindow();
    let want = 0;
    for (const i of order) {
      const before = s.toJs.length + s.port.stats().received;
      const took = s.port.stats().received;
      s.tx.send(sealed[i]!, s.rx.local);
      expect(await until(() => s.toJs.length + s.port.stats().received > before)).toBe(true);
      const admitted = model.update(i);
      if (admitted) want++;
      expect(s.port.stats().received - took, `counter ${i}`).toBe(admitted ? 1 : 0);
    }
    expect(s.port.stats().received).toBe(want);
    for (const d of s.toJs) expect(s.b.open(d, 0)).toBeUndefined(); // JS refuses every one C left: replays
    expect(s.b.drops.replay).toBe(s.toJs.length);
  });
});
