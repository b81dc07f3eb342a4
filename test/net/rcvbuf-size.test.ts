// The batched socket's receive buffer grows when the kernel drops for want of room (net/rcvbuf-size.ts
// decides; net/udp-native.ts reads SO_RXQ_OVFL and asks SO_RCVBUF(FORCE)): the table, then a real
// loopback socket flooded past a tiny buffer.
import { describe, expect, it } from 'vitest';
import { maxRecvBufferBytes, nextRecvBufferBytes, recvBufferGrowIntervalMs } from '../../src/net/rcvbuf-size.js';
import { nativeUdpUnavailable, type NativeUdpCounters } from '../../src/net/udp-native.js';
import { openUdpSocket } from '../../src/net/udp-open.js';

const MiB = 1024 * 1024;

describe('nextRecvBufferBytes', () => {
  it.each([
    { why: 'no new drops: leave it', asked: 4 * MiB, seen: 10, dropped: 10, now: 5000, grownAt: -Infinity, want: undefined },
    { why: 'first drops: double', asked: 4 * MiB, seen: 0, dropped: 3, now: 5000, grownAt: -Infinity, want: 8 * MiB },
    { why: 'drops again a second later: double again', asked: 8 * MiB, seen: 3, dropped: 900, now: 5000, grownAt: 5000 - recvBufferGrowIntervalMs, want: 16 * MiB },
    { why: 'drops within the second after growing: wait (one burst grows it once)', asked: 8 * MiB, seen: 3, dropped: 900, now: 5000, grownAt: 4500, want: undefined },
    { why: 'at the cap: stays', asked: maxRecvBufferBytes, seen: 0, dropped: 50, now: 5000, grownAt: -Infinity, want: undefined },
    { why: 'near the cap: the cap, not past it', asked: 12 * MiB, seen: 0, dropped: 50, now: 5000, grownAt: -Infinity, want: maxRecvBufferBytes },
  ])('$why', ({ asked, seen, dropped, now, grownAt, want }) => {
    expect(nextRecvBufferBytes({ askedBytes: asked, droppedSeen: seen, grownAtMs: grownAt }, dropped, now)).toBe(want);
  });
});

describe.runIf(process.platform === 'linux' && nativeUdpUnavailable() === undefined)('native socket under a flood', () => {
  it('counts the kernel drops (SO_RXQ_OVFL) and grows its receive buffer', async () => {
    const rx = await openUdpSocket({ address: '127.0.0.1', port: 0 }, { impl: 'native', recvBufferBytes: 8192 });
    const tx = await openUdpSocket({ address: '127.0.0.1', port: 0 }, { impl: 'native' });
    try {
      let got = 0;
      rx.onMessage(() => got++);
      const before = (rx.counters as NativeUdpCounters).recvBufferBytes;
      expect(before).toBeGreaterThan(0);
      // 256 datagrams leave in one turn; the receiver reads nothing until the next: most overflow.
      const d = new Uint8Array(1200).fill(7);
      for (let i = 0; i < 256; i++) tx.send(d, rx.local);
      for (let t = 0; t < 200 && got === 0; t++) await new Promise((r) => setTimeout(r, 5));
      tx.send(d, rx.local); // one more after the drops: its batch reports the count
      for (let t = 0; t < 200 && (rx.counters as NativeUdpCounters).recvBufferBytes === before; t++) await new Promise((r) => setTimeout(r, 5));
      const c = rx.counters as NativeUdpCounters;
      expect(got).toBeGreaterThan(0);
      expect(c.receiveOverflows).toBeGreaterThan(0);
      expect(got).toBeLessThan(257); // (the count is of kernel buffers: a GSO run may go as one)
      expect(c.recvBufferBytes).toBeGreaterThan(before);
    } finally {
      await rx.close();
      await tx.close();
    }
  });
});
