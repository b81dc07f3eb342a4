import { describe, expect, it, vi } from 'vitest';
import { presets } from '../../src/arq/constants.js';
import { DataPlane } from '../../src/peer/dataplane.js';
import type { PeerInfo } from '../../src/peer/peer-map.js';
import { RemotePeers } from '../../src/peer/peer-table.js';
import type { PacketBatch } from '../../src/tun/device.js';
import { testLogger } from '../fakes/logger.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { internetChecksum } from '../../src/tun/ip-packet.js';
import { ipv6UpperChecksum } from '../../src/tun/ip6-packet.js';
import {
  clampFlowLimit,
  defaultClampBytes,
  clampWindowField,
  TcpWindowClamp,
  tcpAt,
  wscaleOption,
} from '../../src/peer/tcp-window-clamp.js';

const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
const A = [10, 9, 0, 2];
const B = [10, 9, 0, 3];
const C = [10, 9, 0, 4];
const A6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const B6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3];

/** TCP checksum over the IPv4 pseudo-header: 0 when the packet's checksum is right. */
function v4TcpCheck(p: Uint8Array): number {
  const t = (p[0]! & 0x0f) * 4;
  const len = p.length - t;
  const ph = new Uint8Array(12 + len + (len & 1));
  ph.set(p.subarray(12, 20), 0);
  ph[9] = 6;
  ph[10] = len >> 8;
  ph[11] = len & 0xff;
  ph.set(p.subarray(t), 12);
  return internetChecksum(ph, 0, 12 + len);
}

function tcpCheck(p: Uint8Array): number {
  return p[0]! >> 4 === 6 ? ipv6UpperChecksum(p, 6, 40) : v4TcpCheck(p);
}

interface Seg {
  src?: number[];
  dst?: number[];
  sport?: number;
  dport?: number;
  flags: number;
  win?: number;
  opts?: number[];
  v6?: boolean;
  payload?: number;
}

/** A TCP segment with a correct checksum. */
function seg(s: Seg): Uint8Array {
  const v6 = s.v6 === true;
  const opts = s.opts ?? [];
  const ol = (opts.length + 3) & ~3;
  const ip = v6 ? 40 : 20;
  const p = new Uint8Array(ip + 20 + ol + (s.payload ?? 0));
  if (v6) {
    p[0] = 0x60;
    const plen = p.length - 40;
    p[4] = plen >> 8;
    p[5] = plen & 0xff;
    p[6] = 6;
    p[7] = 64;
    p.set(s.src ?? B6, 8);
    p.set(s.dst ?? A6, 24);
  } else {
    p[0] = 0x45;
    p[2] = p.length >> 8;
    p[3] = p.length & 0xff;
    p[8] = 64;
    p[9] = 6;
    p.set(s.src ?? B, 12);
    p.set(s.dst ?? A, 16);
  }
  const t = ip;
  const sport = s.sport ?? 5201;
  const dport = s.dport ?? 40000;
  p[t] = sport >> 8;
  p[t + 1] = sport & 0xff;
  p[t + 2] = dport >> 8;
  p[t + 3] = dport & 0xff;
  p[t + 12] = ((20 + ol) / 4) << 4;
  p[t + 13] = s.flags;
  const win = s.win ?? 0;
  p[t + 14] = win >> 8;
  p[t + 15] = win & 0xff;
  p.set(opts, t + 20);
  for (let i = opts.length; i < ol; i++) p[t + 20 + i] = 1;
  const c = tcpCheck(p);
  p[t + 16] = c >> 8;
  p[t + 17] = c & 0xff;
  return p;
}

/** A pair this peer sends to over KCP, and one it sends datagrams to (inbound.ts passes the channel). */
const kcpPair = { holdsWindow: () => true };
const dgramPair = { holdsWindow: () => false };
const wsOpt = (shift: number) => [2, 4, 5, 0xb4, 1, 3, 3, shift];
const winOf = (p: Uint8Array) => {
  const t = p[0]! >> 4 === 6 ? 40 : (p[0]! & 0x0f) * 4;
  return (p[t + 14]! << 8) | p[t + 15]!;
};

/** Our end (A) opened a connection to B:5201, both offering window scaling. */
function handshake(clamp: TcpWindowClamp, ours: number, theirs: number, v6 = false): void {
  const far = v6 ? { src: A6, dst: B6 } : { src: A, dst: B };
  clamp.noteOutbound(seg({ ...far, sport: 40000, dport: 5201, flags: SYN, win: 64240, opts: ours >= 0 ? wsOpt(ours) : [2, 4, 5, 0xb4], v6 }));
  clamp.inbound(seg({ src: v6 ? B6 : B, dst: v6 ? A6 : A, flags: SYN | ACK, win: 65160, opts: theirs >= 0 ? wsOpt(theirs) : [2, 4, 5, 0xb4], v6 }), kcpPair);
}

describe('the cap', () => {
  it('is the constructor’s, 18 MB by default, at the flow’s own scale', () => {
    for (const [cap, shift] of [[undefined, 9], [5_000_000, 7], [64_000_000, 14]] as const) {
      const c = new TcpWindowClamp(cap);
      handshake(c, 7, shift);
      const ack = seg({ flags: ACK, win: 65535 });
      c.inbound(ack, kcpPair);
      expect(winOf(ack)).toBe(Math.min(65535, Math.floor((cap ?? 18_000_000) / 2 ** shift)));
      expect(tcpCheck(ack)).toBe(0);
    }
  });
});

describe('tcpAt', () => {
  it('finds the TCP header of IPv4 and IPv6 segments', () => {
    expect(tcpAt(seg({ flags: ACK }))).toEqual({ tcp: 20, headerBytes: 20, flags: ACK });
    expect(tcpAt(seg({ flags: SYN, opts: wsOpt(7) }))).toEqual({ tcp: 20, headerBytes: 28, flags: SYN });
    expect(tcpAt(seg({ flags: ACK, v6: true }))).toEqual({ tcp: 40, headerBytes: 20, flags: ACK });
  });

  it('refuses what is not a whole TCP header in place', () => {
    const udp = seg({ flags: ACK });
    udp[9] = 17;
    const frag = seg({ flags: ACK });
    frag[7] = 8; // fragment offset 64
    const more = seg({ flags: ACK });
    more[6] = 0x20; // more fragments
    const ext = seg({ flags: ACK, v6: true });
    ext[6] = 0; // hop-by-hop options first
    const badOffset = seg({ flags: ACK });
    badOffset[32] = 0x40; // data offset 16 bytes
    const longOffset = seg({ flags: ACK });
    longOffset[32] = 0xf0; // 60 bytes of header in a 40-byte packet
    for (const p of [udp, frag, more, ext, badOffset, longOffset, new Uint8Array(0), seg({ flags: ACK }).subarray(0, 39), Uint8Array.of(0x15)]) {
      expect(tcpAt(p)).toBeUndefined();
    }
  });
});

describe('wscaleOption', () => {
  it.each([
    ['present after MSS and a NOP', wsOpt(7), 7],
    ['absent', [2, 4, 5, 0xb4], -1],
    ['shift above 14 read as 14', wsOpt(15), 14],
    ['end of options first', [0, 3, 3, 7], -1],
    ['length 0', [2, 0, 3, 3, 7], -1],
    ['wrong length', [3, 4, 7, 0], -1],
    ['running past the header', [2, 40], -1],
  ])('%s', (_name, opts, want) => {
    const p = seg({ flags: SYN, opts });
    expect(wscaleOption(p, tcpAt(p)!)).toBe(want);
  });
});

describe('clampWindowField', () => {
  it('lowers the window to the limit at the shift and keeps the checksum right (v4 and v6)', () => {
    for (const v6 of [false, true]) {
      for (const [win, shift, limit, want] of [
        [60000, 9, 18_750_000, 36621],
        [65535, 14, 8 * 1024 * 1024, 512],
        [65535, 0, 1000, 1000],
        [9, 7, 10, 1],
      ] as const) {
        const p = seg({ flags: ACK, win, v6, payload: 3 });
        expect(clampWindowField(p, tcpAt(p)!, shift, limit)).toBe(true);
        expect(winOf(p)).toBe(want);
        expect(tcpCheck(p)).toBe(0);
      }
    }
  });

  it('never raises a window', () => {
    const p = seg({ flags: ACK, win: 1000 });
    const before = Uint8Array.from(p);
    expect(clampWindowField(p, tcpAt(p)!, 9, 1000 * 512)).toBe(false);
    expect(clampWindowField(p, tcpAt(p)!, 9, 1e12)).toBe(false);
    expect(p).toEqual(before);
  });

  it('keeps random checksums right (seeded)', () => {
    let s = 0x2545f491;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
    for (let i = 0; i < 500; i++) {
      const p = seg({ flags: ACK, win: Math.floor(rnd() * 65536), sport: Math.floor(rnd() * 65536), payload: Math.floor(rnd() * 30), v6: rnd() < 0.5 });
      clampWindowField(p, tcpAt(p)!, Math.floor(rnd() * 15), Math.floor(rnd() * 2 ** 24));
      expect(tcpCheck(p)).toBe(0);
    }
  });
});

describe('TcpWindowClamp', () => {
  const limit = defaultClampBytes;

  it('clamps the far end’s ACKs once both SYNs offered scaling (our end opened)', () => {
    const c = new TcpWindowClamp();
    handshake(c, 7, 9);
    const ack = seg({ flags: ACK, win: 60000 });
    c.inbound(ack, kcpPair);
    expect(winOf(ack)).toBe(Math.floor(limit / 512));
    expect(tcpCheck(ack)).toBe(0);
    expect(c.counters).toEqual({ clamped: 1, flows: 1 });
  });

  it('clamps when the far end opened (its SYN first, our SYN-ACK after)', () => {
    const c = new TcpWindowClamp();
    c.inbound(seg({ sport: 33000, dport: 22, flags: SYN, win: 64240, opts: wsOpt(10) }), kcpPair);
    c.noteOutbound(seg({ src: A, dst: B, sport: 22, dport: 33000, flags: SYN | ACK, win: 65160, opts: wsOpt(7) }));
    const ack = seg({ sport: 33000, dport: 22, flags: ACK, win: 60000, payload: 10 });
    c.inbound(ack, kcpPair);
    expect(winOf(ack)).toBe(Math.floor(limit / 1024));
    expect(tcpCheck(ack)).toBe(0);
  });

  it('clamps IPv6 flows', () => {
    const c = new TcpWindowClamp();
    handshake(c, 7, 9, true);
    const ack = seg({ flags: ACK, win: 60000, v6: true });
    c.inbound(ack, kcpPair);
    expect(winOf(ack)).toBe(Math.floor(limit / 512));
    expect(tcpCheck(ack)).toBe(0);
  });

  it.each([
    ['our SYN offered no scaling', 7, -1],
    ['their SYN offered no scaling', -1, 9],
  ])('leaves a flow alone when %s', (_n, theirs, ours) => {
    const c = new TcpWindowClamp();
    handshake(c, ours, theirs);
    const ack = seg({ flags: ACK, win: 65535 });
    c.inbound(ack, kcpPair);
    expect(winOf(ack)).toBe(65535);
    expect(c.counters.clamped).toBe(0);
  });

  it('leaves alone: an unseen handshake, another address on the same ports, a pair sent datagrams, a window under the limit, a non-ACK', () => {
    const c = new TcpWindowClamp();
    const unseen = seg({ sport: 1234, flags: ACK, win: 65535 });
    c.inbound(unseen, kcpPair);
    expect(winOf(unseen)).toBe(65535);
    handshake(c, 7, 9);
    const other = seg({ src: C, flags: ACK, win: 65535 });
    c.inbound(other, kcpPair);
    expect(winOf(other)).toBe(65535);
    const toDgramPair = seg({ flags: ACK, win: 65535 });
    c.inbound(toDgramPair, dgramPair);
    expect(winOf(toDgramPair)).toBe(65535);
    const small = seg({ flags: ACK, win: 1000 });
    c.inbound(small, kcpPair);
    expect(winOf(small)).toBe(1000);
    const rst = seg({ flags: RST, win: 65535 });
    c.inbound(rst, kcpPair);
    expect(winOf(rst)).toBe(65535);
    expect(c.counters.clamped).toBe(0);
  });

  it('a new handshake on the same ports from another address replaces the flow', () => {
    const c = new TcpWindowClamp();
    handshake(c, 7, 9);
    c.inbound(seg({ src: C, flags: SYN | ACK, win: 65160, opts: wsOpt(9) }), kcpPair);
    const fromB = seg({ flags: ACK, win: 65535 });
    c.inbound(fromB, kcpPair);
    expect(winOf(fromB)).toBe(65535);
  });

  it(`forgets the oldest flow past ${clampFlowLimit}`, () => {
    const c = new TcpWindowClamp();
    for (let i = 0; i <= clampFlowLimit; i++) {
      c.noteOutbound(seg({ src: A, dst: B, sport: 1000 + i, dport: 5201, flags: SYN, opts: wsOpt(7) }));
      c.inbound(seg({ sport: 5201, dport: 1000 + i, flags: SYN | ACK, opts: wsOpt(9) }), kcpPair);
    }
    const first = seg({ sport: 5201, dport: 1000, flags: ACK, win: 65535 });
    c.inbound(first, kcpPair);
    expect(winOf(first)).toBe(65535);
    const last = seg({ sport: 5201, dport: 1000 + clampFlowLimit, flags: ACK, win: 65535 });
    c.inbound(last, kcpPair);
    expect(winOf(last)).toBe(Math.floor(limit / 512));
  });

  it('never throws on random bytes (seeded)', () => {
    const c = new TcpWindowClamp();
    handshake(c, 7, 9);
    let s = 7;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) / 2 ** 24;
    for (let i = 0; i < 3000; i++) {
      const p = new Uint8Array(Math.floor(rnd() * 90));
      for (let j = 0; j < p.length; j++) p[j] = Math.floor(rnd() * 256);
      if (p.length > 0 && rnd() < 0.5) p[0] = rnd() < 0.5 ? 0x45 : 0x60;
      if (p.length > 9 && rnd() < 0.5) p[p[0]! >> 4 === 6 ? 6 : 9] = 6;
      expect(() => c.inbound(p, kcpPair)).not.toThrow();
      expect(() => c.noteOutbound(p)).not.toThrow();
    }
  });
});

describe('the clamp as a data path stage (outbound.ts notes our SYN, inbound.ts lowers the ACK before the TUN write)', () => {
  const peerB = (): PeerInfo => {
    const publicKey = new Uint8Array(32).fill(3);
    return { publicKey, id: Buffer.from(publicKey).toString('hex'), overlay: 0x0a090003, name: 'b', bootId: 9n, reflexive: { address: '0.0.0.0', port: 0 }, lan: [] };
  };
  const batchOf = (p: Uint8Array) => ({ data: p, lengths: Uint32Array.of(p.byteLength), count: 1, slotSize: p.byteLength }) as unknown as PacketBatch;

  function run(tcpWindowClampBytes: number | undefined, kcp: boolean): Uint8Array {
    const clock = new ManualClock();
    const table = new RemotePeers({ bootId: 1n, clock, random01: () => 0.5 });
    const b = table.upsert(peerB());
    const written: Uint8Array[] = [];
    const dp = new DataPlane({
      tun: { write: (p: Uint8Array) => (written.push(p.slice()), true) },
      localAddress: 0x0a090002, prefixLength: 24, mtu: 1378, transport: 'kcp', preset: presets.fast2, clock, defer: (fn) => fn(), log: testLogger(), table,
      sender: { send: () => true },
      ...(tcpWindowClampBytes === undefined ? {} : { tcpWindowClampBytes }),
    });
    dp.outbound.onTunBatch(batchOf(seg({ src: A, dst: B, sport: 40000, dport: 5201, flags: SYN, win: 64240, opts: wsOpt(7) })));
    if (!kcp) vi.spyOn(b.channel!, 'holdsWindow').mockReturnValue(false);
    dp.inbound.receive(b, Uint8Array.of(2, ...seg({ flags: SYN | ACK, win: 65160, opts: wsOpt(9) })));
    dp.inbound.receive(b, Uint8Array.of(2, ...seg({ flags: ACK, win: 65535 })));
    expect(written.length).toBe(2);
    return written[1]!;
  }

  it('lowers the far end’s window of a KCP pair to the cap, checksum kept; 18 MB by default', () => {
    const ack = run(undefined, true);
    expect(winOf(ack)).toBe(Math.floor(18_000_000 / 512));
    expect(tcpCheck(ack)).toBe(0);
    expect(winOf(run(5_000_000, true))).toBe(Math.floor(5_000_000 / 512));
  });

  it('leaves the window alone with --tcp-window-clamp off, and for a pair sent datagrams', () => {
    expect(winOf(run(0, true))).toBe(65535);
    expect(winOf(run(undefined, false))).toBe(65535);
  });
});
