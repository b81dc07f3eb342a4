// The addon's offloads (src/tun/native/offload.c via linux.ts) against reference packets built
// here. Read side: a TCP super-packet as the kernel would hand it over with a virtio_net_hdr,
// split, every segment checked field by field with this file's own RFC 1071 checksum and the
// segments reassembled into the original stream. Write side: which queued packets become one GSO
// write, and that write's header, lengths and partial checksum. No root needed.
import { describe, expect, it } from 'vitest';
import { addonAvailable, nativeOffloadCoalesce, nativeOffloadSplit, offloadWanted } from '../../src/tun/linux.js';

const tunMtu = 1378; // docs/PROTOCOL.md budget
const slotSize = 2048;
const vnetHdrLen = 10;
const gsoNone = 0;
const gsoTcpV4 = 1;
const gsoUdp = 3;
const gsoEcn = 0x80;
const needsCsum = 1;
const [FIN, SYN, PSH, ACK, CWR, ECE] = [0x01, 0x02, 0x08, 0x10, 0x80, 0x40];
const src = [10, 9, 0, 2];
const dst = [10, 9, 0, 3];

/** RFC 1071 over big-endian 16-bit words, the plain way (independent of the C). */
function onesSum(bytes: Uint8Array, start = 0, sum = 0): number {
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  return sum + start;
}
function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}
/** True when the IPv4 header checksum verifies. */
function ipHeaderOk(pkt: Uint8Array): boolean {
  return fold(onesSum(pkt.subarray(0, (pkt[0]! & 15) * 4))) === 0xffff;
}
/** True when the TCP or UDP checksum (pseudo-header included) verifies. */
function l4Ok(pkt: Uint8Array): boolean {
  const ihl = (pkt[0]! & 15) * 4;
  const l4 = pkt.subarray(ihl, (pkt[2]! << 8) | pkt[3]!);
  const pseudo = onesSum(pkt.subarray(12, 20)) + pkt[9]! + l4.length;
  return fold(onesSum(l4, pseudo)) === 0xffff;
}
function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >> 8) & 255;
  b[off + 1] = v & 255;
}
function get16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}
function get32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

interface TcpSpec {
  payload: Uint8Array;
  seq: number;
  flags: number;
  ipId?: number;
  tcpOptions?: number[]; // multiple of 4 bytes
  ipOptions?: number[];
}

/** An IPv4/TCP packet with correct checksums (the stream as a receiver should see it). */
function tcpPacket(s: TcpSpec & { ack?: number; sport?: number }): Uint8Array {
  const ipOpt = s.ipOptions ?? [];
  const tcpOpt = s.tcpOptions ?? [];
  const ihl = 20 + ipOpt.length;
  const thl = 20 + tcpOpt.length;
  const p = new Uint8Array(ihl + thl + s.payload.length);
  p[0] = 0x40 | (ihl / 4);
  put16(p, 2, p.length);
  put16(p, 4, s.ipId ?? 0x1234);
  p[6] = 0x40; // DF
  p[8] = 64;
  p[9] = 6;
  p.set(src, 12);
  p.set(dst, 16);
  p.set(ipOpt, 20);
  put16(p, 10, 0xffff - fold(onesSum(p.subarray(0, ihl))));
  const t = p.subarray(ihl);
  put16(t, 0, s.sport ?? 40001);
  put16(t, 2, 5201);
  t[4] = (s.seq >>> 24) & 255;
  t[5] = (s.seq >>> 16) & 255;
  t[6] = (s.seq >>> 8) & 255;
  t[7] = s.seq & 255;
  put16(t, 8, (s.ack ?? 0x0badcafe) >>> 16);
  put16(t, 10, (s.ack ?? 0x0badcafe) & 0xffff);
  t[12] = (thl / 4) << 4;
  t[13] = s.flags;
  put16(t, 14, 502); // window
  t.set(tcpOpt, 20);
  t.set(s.payload, thl);
  const pseudo = onesSum(p.subarray(12, 20)) + 6 + t.length;
  put16(t, 16, 0xffff - fold(onesSum(t, pseudo)));
  return p;
}

/** What the kernel hands a TUN with TSO: the virtio_net_hdr (host order: little endian here) then
 * the super-packet with the pseudo-header partial sum in the TCP checksum field. */
function withVnet(pkt: Uint8Array, o: { flags: number; gsoType: number; gsoSize?: number; csumStart?: number; csumOffset?: number }): Uint8Array {
  const out = new Uint8Array(vnetHdrLen + pkt.length);
  const dv = new DataView(out.buffer);
  out[0] = o.flags;
  out[1] = o.gsoType;
  dv.setUint16(2, 0, true);
  dv.setUint16(4, o.gsoSize ?? 0, true);
  dv.setUint16(6, o.csumStart ?? 0, true);
  dv.setUint16(8, o.csumOffset ?? 0, true);
  out.set(pkt, vnetHdrLen);
  return out;
}

/** Replaces the L4 checksum with the partial (pseudo-header only) sum, as CHECKSUM_PARTIAL leaves it. */
function partialL4(pkt: Uint8Array): { csumStart: number; csumOffset: number } {
  const ihl = (pkt[0]! & 15) * 4;
  const csumOffset = pkt[9] === 6 ? 16 : 6;
  const len = pkt.length - ihl;
  put16(pkt, ihl + csumOffset, fold(onesSum(pkt.subarray(12, 20)) + pkt[9]! + len));
  return { csumStart: ihl, csumOffset };
}

const split = nativeOffloadSplit();

function runSplit(input: Uint8Array, opts: { mtu?: number; slots?: number; start?: number } = {}): { r: number; next: number; pkts: Uint8Array[] } {
  const slots = opts.slots ?? 64;
  const out = new Uint8Array(slotSize * slots);
  const lengths = new Uint32Array(slots);
  const state = new Uint32Array([opts.start ?? 0]);
  const r = split!(input, opts.mtu ?? tunMtu, out, slotSize, lengths, state);
  const pkts: Uint8Array[] = [];
  for (let i = 0; i < Math.max(r, 0); i++) pkts.push(out.slice(i * slotSize, i * slotSize + lengths[i]!));
  return { r, next: state[0]!, pkts };
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

// Timestamps option (NOP NOP TS): what Linux sends on a bulk TCP stream.
const tsOption = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];

describe.skipIf(!addonAvailable())('TUN offload splitter (offload.c)', () => {
  it('the addon exports it (a stale build would silently skip the offload path)', () => {
    expect(typeof split).toBe('function');
  });

  it.each([
    // [why, payload bytes, gso_size, flags, tcp options, ip options, first seq]
    ['64 KB bulk send with timestamps, PSH on the last only', 65_483, 1326, ACK | PSH, tsOption, [], 1_000_000],
    ['FIN+PSH stay on the last segment only; seq wraps past 2^32', 20_000, 1326, ACK | PSH | FIN, tsOption, [], 0xffff_f000],
    ['CWR only on the first segment (ECN), ECE kept on all', 9_000, 1338, ACK | CWR | ECE, [], [], 7],
    ['odd payload length: last segment odd, checksum pads', 4_001, 1338, ACK, [], [], 99],
    ['gso_size larger than the TUN MTU allows: segments cut to the MTU', 30_000, 1448, ACK | PSH, tsOption, [], 5],
    ['IP options move the TCP header', 10_000, 1300, ACK, tsOption, [1, 1, 1, 0], 123],
    ['payload exactly one segment', 1326, 1326, ACK | PSH, tsOption, [], 42],
  ])('%s', (_why, payloadLen, gsoSize, flags, tcpOptions, ipOptions, seq) => {
    const payload = pattern(payloadLen, payloadLen);
    const ipId = 0xfffe; // wraps after two segments
    const sup = tcpPacket({ payload, seq, flags, ipId, tcpOptions, ipOptions });
    const { csumStart, csumOffset } = partialL4(sup);
    const gsoType = gsoTcpV4 | (flags & CWR ? gsoEcn : 0);
    const { r, next, pkts } = runSplit(withVnet(sup, { flags: needsCsum, gsoType, gsoSize, csumStart, csumOffset }));
    const hdr = 40 + tcpOptions.length + ipOptions.length;
    const mss = Math.min(gsoSize, tunMtu - hdr);
    const want = Math.ceil(payloadLen / mss);
    expect(r).toBe(want);
    expect(next).toBe(0);
    const stream: Uint8Array[] = [];
    pkts.forEach((p, i) => {
      const last = i === want - 1;
      const segLen = last ? payloadLen - mss * i : mss;
      expect(p.length, `segment ${i} length`).toBe(hdr + segLen);
      expect(p.length).toBeLessThanOrEqual(tunMtu);
      // Built independently: the packet a kernel without TSO would have sent for this segment.
      const ref = tcpPacket({
        payload: payload.subarray(i * mss, i * mss + segLen),
        seq: (seq + i * mss) >>> 0,
        flags: flags & ~(last ? 0 : FIN | PSH) & ~(i === 0 ? 0 : CWR),
        ipId: (ipId + i) & 0xffff,
        tcpOptions,
        ipOptions,
      });
      expect(Buffer.from(p).toString('hex'), `segment ${i}`).toBe(Buffer.from(ref).toString('hex'));
      expect(ipHeaderOk(p), `segment ${i} IP checksum`).toBe(true);
      expect(l4Ok(p), `segment ${i} TCP checksum`).toBe(true);
      expect(get16(p, 2)).toBe(p.length);
      expect(get32(p, 20 + ipOptions.length + 4)).toBe((seq + i * mss) >>> 0);
      stream.push(p.subarray(hdr));
    });
    expect(Buffer.concat(stream).equals(Buffer.from(payload))).toBe(true);
  });

  it('resumes a super-packet that does not fit the slots left, with the same bytes as one pass', () => {
    const payload = pattern(65_000, 3);
    const sup = tcpPacket({ payload, seq: 500, flags: ACK | PSH, tcpOptions: tsOption });
    const input = withVnet(sup, { flags: needsCsum, gsoType: gsoTcpV4, gsoSize: 1326, ...partialL4(sup) });
    const whole = runSplit(input);
    expect(whole.r).toBe(50);
    const parts: Uint8Array[] = [];
    let start = 0;
    for (let round = 0; round < 10; round++) {
      const part = runSplit(input, { slots: 7, start });
      expect(part.r).toBe(Math.min(7, 50 - start));
      parts.push(...part.pkts);
      start = part.next;
      if (start === 0) break;
    }
    expect(parts.map((p) => Buffer.from(p).toString('hex'))).toEqual(whole.pkts.map((p) => Buffer.from(p).toString('hex')));
  });

  it.each([
    ['TCP', 6],
    ['UDP', 17],
  ])('completes a NEEDS_CSUM partial checksum on a non-GSO %s packet', (_name, proto) => {
    const ref = tcpPacket({ payload: pattern(777, 9), seq: 1, flags: ACK });
    if (proto === 17) {
      // Rewrite as UDP: 8-byte header, then the same bytes; checksum computed here.
      ref[9] = 17;
      put16(ref, 10, 0);
      put16(ref, 10, 0xffff - fold(onesSum(ref.subarray(0, 20))));
      put16(ref, 24, ref.length - 20);
      put16(ref, 26, 0);
      put16(ref, 26, 0xffff - fold(onesSum(ref.subarray(20), onesSum(ref.subarray(12, 20)) + 17 + ref.length - 20)));
    }
    expect(l4Ok(ref)).toBe(true);
    const partial = ref.slice();
    const cs = partialL4(partial);
    expect(l4Ok(partial)).toBe(false);
    const { r, pkts } = runSplit(withVnet(partial, { flags: needsCsum, gsoType: gsoNone, ...cs }));
    expect(r).toBe(1);
    expect(Buffer.from(pkts[0]!).toString('hex')).toBe(Buffer.from(ref).toString('hex'));
  });

  it('sends a UDP checksum that computes to zero as 0xffff (zero would mean "no checksum")', () => {
    const udp = tcpPacket({ payload: pattern(200, 4), seq: 1, flags: ACK });
    udp[9] = 17;
    put16(udp, 10, 0);
    put16(udp, 10, 0xffff - fold(onesSum(udp.subarray(0, 20))));
    put16(udp, 24, udp.length - 20);
    put16(udp, 26, 0);
    // Choose the last payload word so that the one's complement sum is 0xffff: checksum 0.
    put16(udp, udp.length - 2, 0);
    const s = fold(onesSum(udp.subarray(20), onesSum(udp.subarray(12, 20)) + 17 + udp.length - 20));
    put16(udp, udp.length - 2, 0xffff - s);
    const cs = partialL4(udp);
    const { r, pkts } = runSplit(withVnet(udp, { flags: needsCsum, gsoType: gsoNone, ...cs }));
    expect(r).toBe(1);
    expect(get16(pkts[0]!, 26)).toBe(0xffff);
    expect(l4Ok(pkts[0]!)).toBe(true);
  });

  it('passes a packet without flags through untouched (ICMP, checksums already complete)', () => {
    const icmp = new Uint8Array([0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, ...src, ...dst, 8, 0, 0xf7, 0xfe, 0, 1, 0, 0]);
    put16(icmp, 10, 0xffff - fold(onesSum(icmp.subarray(0, 20))));
    const { r, pkts } = runSplit(withVnet(icmp, { flags: 0, gsoType: gsoNone }));
    expect(r).toBe(1);
    expect(Array.from(pkts[0]!)).toEqual(Array.from(icmp));
  });

  it('a SYN (no payload) sent as GSO becomes one packet with valid checksums', () => {
    const syn = tcpPacket({ payload: new Uint8Array(0), seq: 77, flags: SYN, tcpOptions: tsOption });
    const { r, pkts } = runSplit(withVnet(syn, { flags: needsCsum, gsoType: gsoTcpV4, gsoSize: 1326, ...partialL4(syn) }));
    expect(r).toBe(1);
    expect(ipHeaderOk(pkts[0]!) && l4Ok(pkts[0]!)).toBe(true);
  });

  it.each([
    ['shorter than the virtio header', new Uint8Array(5), -1],
    ['UDP GSO was never asked for', withVnet(tcpPacket({ payload: pattern(3000, 1), seq: 0, flags: ACK }), { flags: needsCsum, gsoType: gsoUdp, gsoSize: 1000 }), -2],
    ['TCPv4 GSO whose IP header is not IPv4', withVnet(new Uint8Array(60).fill(0x60, 0, 1), { flags: needsCsum, gsoType: gsoTcpV4, gsoSize: 1000 }), -3],
    ['TCPv4 GSO with gso_size 0', withVnet(tcpPacket({ payload: pattern(3000, 1), seq: 0, flags: ACK }), { flags: needsCsum, gsoType: gsoTcpV4, gsoSize: 0 }), -3],
    ['TCPv4 GSO cut inside the TCP header', withVnet(tcpPacket({ payload: new Uint8Array(0), seq: 0, flags: ACK }).subarray(0, 30), { flags: needsCsum, gsoType: gsoTcpV4, gsoSize: 1000 }), -3],
    ['a plain packet longer than a slot', withVnet(new Uint8Array(slotSize + 1).fill(0x45, 0, 1), { flags: 0, gsoType: gsoNone }), -4],
    ['NEEDS_CSUM pointing past the end', withVnet(tcpPacket({ payload: pattern(10, 1), seq: 0, flags: ACK }), { flags: needsCsum, gsoType: gsoNone, csumStart: 20, csumOffset: 40 }), -5],
  ])('refuses %s', (_why, input, code) => {
    expect(runSplit(input).r).toBe(code);
  });

  it('refuses an MTU that leaves no room after the headers rather than emitting oversized segments', () => {
    const sup = tcpPacket({ payload: pattern(3000, 2), seq: 0, flags: ACK, tcpOptions: tsOption });
    expect(runSplit(withVnet(sup, { flags: needsCsum, gsoType: gsoTcpV4, gsoSize: 1326, ...partialL4(sup) }), { mtu: 52 }).r).toBe(-6);
  });
});

const coalesce = nativeOffloadCoalesce();

interface Seg {
  seq: number;
  len: number;
  flags?: number;
  sport?: number;
  ack?: number;
  corrupt?: boolean;
}
/** Segments of one or more flows, IP ids counting up per flow as a sender's would. */
function segments(list: Seg[], options = tsOption): Uint8Array[] {
  const ids = new Map<number, number>();
  return list.map((s) => {
    const id = ids.get(s.sport ?? 40001) ?? 100;
    ids.set(s.sport ?? 40001, id + 1);
    const p = tcpPacket({ payload: pattern(s.len, s.seq), seq: s.seq >>> 0, flags: s.flags ?? ACK, ipId: id, tcpOptions: options, sport: s.sport, ack: s.ack });
    if (s.corrupt) p[p.length - 1] = p[p.length - 1]! ^ 0xff;
    return p;
  });
}
/** n in-order segments of `mss` bytes from seq, the last `lastLen`, PSH on the last. */
function run(n: number, seq: number, mss: number, lastLen = mss, sport?: number): Seg[] {
  return Array.from({ length: n }, (_, i) => ({ seq: seq + i * mss, len: i === n - 1 ? lastLen : mss, flags: i === n - 1 ? ACK | PSH : ACK, sport }));
}
function vnetOf(w: Uint8Array): { flags: number; gsoType: number; hdrLen: number; gsoSize: number; csumStart: number; csumOffset: number; pkt: Uint8Array } {
  const dv = new DataView(w.buffer, w.byteOffset);
  return { flags: w[0]!, gsoType: w[1]!, hdrLen: dv.getUint16(2, true), gsoSize: dv.getUint16(4, true), csumStart: dv.getUint16(6, true), csumOffset: dv.getUint16(8, true), pkt: w.subarray(vnetHdrLen) };
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe.skipIf(!addonAvailable())('TUN write coalescing (offload.c)', () => {
  it('the addon exports it', () => {
    expect(typeof coalesce).toBe('function');
  });

  it('40 in-order segments of one flow become one GSO write with a correct header and partial checksum', () => {
    const segs = segments(run(40, 0xffff_0000, 1326, 700)); // seq wraps inside the run
    const out = coalesce!(segs);
    expect(out).toHaveLength(1);
    const v = vnetOf(out[0]!);
    expect(v).toMatchObject({ flags: needsCsum, gsoType: gsoTcpV4, hdrLen: 52, gsoSize: 1326, csumStart: 20, csumOffset: 16 });
    const p = v.pkt;
    const payload = Buffer.concat(segs.map((s) => s.subarray(52)));
    expect(p.length).toBe(52 + 39 * 1326 + 700);
    expect(get16(p, 2)).toBe(p.length);
    expect(ipHeaderOk(p)).toBe(true);
    expect(get32(p, 24)).toBe(0xffff_0000);
    expect(p[33]).toBe(ACK | PSH);
    expect(hex(p.subarray(40, 52))).toBe(hex(Uint8Array.from(tsOption)));
    expect(Buffer.from(p.subarray(52)).equals(payload)).toBe(true);
    // The checksum field holds the pseudo-header sum for the whole segment, uncomplemented.
    expect(get16(p, 36)).toBe(fold(onesSum(p.subarray(12, 20)) + 6 + (p.length - 20)));
    // Completing it the way the kernel would gives a valid TCP checksum.
    const done = p.slice();
    put16(done, 36, 0xffff - fold(onesSum(done.subarray(20))));
    expect(l4Ok(done)).toBe(true);
  });

  it('splitting the GSO write again gives back the original segments byte for byte', () => {
    const segs = segments(run(25, 5000, 1326, 1));
    const out = coalesce!(segs);
    expect(out).toHaveLength(1);
    const { r, pkts } = runSplit(out[0]!);
    expect(r).toBe(25);
    expect(pkts.map(hex)).toEqual(segs.map(hex));
  });

  it.each([
    // [why, segments, expected groups as lists of input indexes]
    ['two interleaved flows: one write each', [run(3, 100, 1000)[0]!, run(3, 900, 1000, 1000, 50000)[0]!, run(3, 100, 1000)[1]!, run(3, 900, 1000, 1000, 50000)[1]!, run(3, 100, 1000)[2]!, run(3, 900, 1000, 1000, 50000)[2]!], [[0, 2, 4], [1, 3, 5]]],
    ['a gap in sequence numbers starts a new write', [{ seq: 0, len: 1000 }, { seq: 2000, len: 1000 }, { seq: 3000, len: 1000 }], [[0], [1, 2]]],
    ['PSH ends a write', [{ seq: 0, len: 1000 }, { seq: 1000, len: 1000, flags: ACK | PSH }, { seq: 2000, len: 1000 }], [[0, 1], [2]]],
    ['a shorter segment ends a write', [{ seq: 0, len: 1000 }, { seq: 1000, len: 400 }, { seq: 1400, len: 1000 }], [[0, 1], [2]]],
    ['a larger segment does not join', [{ seq: 0, len: 500 }, { seq: 500, len: 1000 }], [[0], [1]]],
    ['a different ack does not join', [{ seq: 0, len: 1000, ack: 1 }, { seq: 1000, len: 1000, ack: 2 }], [[0], [1]]],
    ['a bad checksum stays alone, for the kernel to drop', [{ seq: 0, len: 1000 }, { seq: 1000, len: 1000, corrupt: true }, { seq: 2000, len: 1000 }], [[0], [1], [2]]],
    ['FIN is never merged, and what follows it is written after it', [{ seq: 0, len: 1000 }, { seq: 1000, len: 1000 }, { seq: 2000, len: 1000, flags: ACK | FIN }, { seq: 3001, len: 1000 }], [[0, 1], [2], [3]]],
    ['a segment released late joins the run it belongs to (a repaired gap)', [{ seq: 0, len: 1000 }, { seq: 1000, len: 1000 }, { seq: 3000, len: 1000 }, { seq: 4000, len: 1000 }, { seq: 2000, len: 1000 }], [[0, 1, 4, 2, 3]]],
    ['a late segment moves past other flows to its own', [{ seq: 0, len: 1000 }, { seq: 2000, len: 1000 }, { seq: 500, len: 1000, sport: 50000 }, { seq: 1000, len: 1000 }], [[0, 3, 1], [2]]],
    ['two gaps filled late, in either order', [{ seq: 0, len: 1000 }, { seq: 2000, len: 1000 }, { seq: 4000, len: 1000 }, { seq: 3000, len: 1000 }, { seq: 1000, len: 1000 }], [[0, 4, 1, 3, 2]]],
    ['sequence numbers wrap: 0xfffffc18 comes before 0', [{ seq: 0, len: 1000 }, { seq: 1000, len: 1000 }, { seq: 0xffff_fc18, len: 1000 }], [[2, 0, 1]]],
    ['a late segment does not pass a FIN of its flow', [{ seq: 0, len: 1000 }, { seq: 2000, len: 1000, flags: ACK | FIN }, { seq: 1000, len: 1000 }], [[0], [1], [2]]],
    ['a late segment does not pass a pure ACK of its flow', [{ seq: 0, len: 1000 }, { seq: 2000, len: 0 }, { seq: 1000, len: 1000 }], [[0], [1], [2]]],
    ['a duplicate stays after the original, on its own', [{ seq: 0, len: 1000 }, { seq: 1000, len: 1000 }, { seq: 1000, len: 1000 }], [[0, 1], [2]]],
    ['at most 64 segments per write', run(70, 0, 500), [Array.from({ length: 64 }, (_, i) => i), [64, 65, 66, 67, 68, 69]]],
    ['at most 65535 bytes per write', run(50, 0, 1326), [Array.from({ length: 49 }, (_, i) => i), [49]]],
  ])('%s', (_why, list, groups) => {
    const segs = segments(list as Seg[]);
    const out = coalesce!(segs);
    expect(out).toHaveLength(groups.length);
    out.forEach((w, g) => {
      const members = groups[g]!;
      const v = vnetOf(w);
      if (members.length === 1) {
        expect(Array.from(w.subarray(0, vnetHdrLen)), `group ${g}: zero header`).toEqual(new Array(vnetHdrLen).fill(0));
        expect(hex(v.pkt)).toBe(hex(segs[members[0]!]!));
        return;
      }
      expect(v.gsoType).toBe(gsoTcpV4);
      expect(v.gsoSize).toBe(segs[members[0]!]!.length - 52);
      expect(get32(v.pkt, 24)).toBe(get32(segs[members[0]!]!, 24));
      expect(Buffer.from(v.pkt.subarray(52)).equals(Buffer.concat(members.map((i) => segs[i]!.subarray(52))))).toBe(true);
      expect(ipHeaderOk(v.pkt)).toBe(true);
    });
  });

  it('a late segment does not pass a packet of its flow with IP options (its ports are not at the usual place)', () => {
    const [a, late] = segments([{ seq: 0, len: 1000 }, { seq: 1000, len: 1000 }]);
    const withOpts = tcpPacket({ payload: pattern(1000, 9), seq: 2000, flags: ACK, ipOptions: [1, 1, 1, 0] });
    const input = [a!, withOpts, late!];
    expect(coalesce!(input).map((w) => hex(w))).toEqual(input.map((p) => '00'.repeat(vnetHdrLen) + hex(p)));
  });

  it('passes UDP, ICMP, IP options and fragments through one by one, unchanged', () => {
    const udp = tcpPacket({ payload: pattern(100, 1), seq: 0, flags: ACK });
    udp[9] = 17;
    const withOpts = tcpPacket({ payload: pattern(1000, 2), seq: 0, flags: ACK, ipOptions: [1, 1, 1, 0] });
    const withOpts2 = tcpPacket({ payload: pattern(1000, 3), seq: 1000, flags: ACK, ipOptions: [1, 1, 1, 0] });
    const frag = tcpPacket({ payload: pattern(1000, 4), seq: 0, flags: ACK, sport: 7 });
    const frag2 = tcpPacket({ payload: pattern(1000, 5), seq: 1000, flags: ACK, sport: 7 });
    for (const f of [frag, frag2]) {
      f[6] = 0x20; // MF
      put16(f, 10, 0);
      put16(f, 10, 0xffff - fold(onesSum(f.subarray(0, 20))));
    }
    const input = [udp, withOpts, withOpts2, frag, frag2];
    const out = coalesce!(input);
    expect(out.map((w) => hex(w))).toEqual(input.map((p) => '00'.repeat(vnetHdrLen) + hex(p)));
  });
});

describe('offloadWanted', () => {
  it.each([
    ['default: on', undefined, {}, true],
    ['MESHD_TUN_OFFLOAD=0 turns them off for a comparison', undefined, { MESHD_TUN_OFFLOAD: '0' }, false],
    ['any other value leaves them on', undefined, { MESHD_TUN_OFFLOAD: '1' }, true],
    ['the option wins over the environment (off)', false, {}, false],
    ['the option wins over the environment (on)', true, { MESHD_TUN_OFFLOAD: '0' }, true],
  ])('%s', (_why, offload, env, want) => {
    expect(offloadWanted({ offload }, env)).toBe(want);
  });
});

// TSO6 (issue 22): TCPv6 super-packets split like TCPv4 ones, with the IPv6 payload length per
// segment and the RFC 8200 pseudo-header in each TCP checksum; no IP id or header checksum.
const gsoTcpV6 = 4;
const src6 = [0xfd, 0, 0, 1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 2];
const dst6 = [0xfd, 0, 0, 1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3];

/** An IPv6/TCP packet with a correct checksum (or, with `partial`, the pseudo-header sum only). */
function tcp6Packet(payload: Uint8Array, seq: number, flags: number, partial = false): Uint8Array {
  const thl = 20 + tsOption.length;
  const p = new Uint8Array(40 + thl + payload.length);
  p[0] = 0x60;
  put16(p, 4, thl + payload.length);
  p[6] = 6;
  p[7] = 64;
  p.set(src6, 8);
  p.set(dst6, 24);
  const t = p.subarray(40);
  put16(t, 0, 40001);
  put16(t, 2, 5201);
  t[4] = (seq >>> 24) & 255;
  t[5] = (seq >>> 16) & 255;
  t[6] = (seq >>> 8) & 255;
  t[7] = seq & 255;
  put16(t, 8, 0x0bad);
  put16(t, 10, 0xcafe);
  t[12] = (thl / 4) << 4;
  t[13] = flags;
  put16(t, 14, 502);
  t.set(tsOption, 20);
  t.set(payload, thl);
  const pseudo = onesSum(p.subarray(8, 40)) + 6 + t.length;
  put16(t, 16, partial ? fold(pseudo) : 0xffff - fold(onesSum(t, pseudo)));
  return p;
}

describe.skipIf(!addonAvailable())('TUN offload splitter, TCPv6 (TSO6)', () => {
  it.each([
    ['64 KB bulk send, PSH on the last only', 65_400, 1306, ACK | PSH, 1_000_000],
    ['FIN on the last only, seq wraps, odd tail', 9_001, 1306, ACK | FIN, 0xffff_f000],
  ])('%s', (_why, payloadLen, gsoSize, flags, seq) => {
    const payload = pattern(payloadLen, payloadLen);
    const sup = tcp6Packet(payload, seq, flags, true);
    const { r, next, pkts } = runSplit(withVnet(sup, { flags: needsCsum, gsoType: gsoTcpV6, gsoSize, csumStart: 40, csumOffset: 16 }));
    const hdr = 40 + 20 + tsOption.length;
    const mss = Math.min(gsoSize, tunMtu - hdr);
    expect(r).toBe(Math.ceil(payloadLen / mss));
    expect(next).toBe(0);
    pkts.forEach((p, i) => {
      const last = i === r - 1;
      const segLen = last ? payloadLen - mss * i : mss;
      const ref = tcp6Packet(payload.subarray(i * mss, i * mss + segLen), (seq + i * mss) >>> 0, flags & ~(last ? 0 : FIN | PSH));
      expect(Buffer.from(p).toString('hex'), `segment ${i}`).toBe(Buffer.from(ref).toString('hex'));
      expect(p.length).toBeLessThanOrEqual(tunMtu);
    });
  });

  it('a TCPv6 GSO packet with an extension header before TCP is dropped, not mis-split', () => {
    const sup = tcp6Packet(pattern(5000, 1), 1, ACK, true);
    sup[6] = 60; // claims destination options first
    expect(runSplit(withVnet(sup, { flags: needsCsum, gsoType: gsoTcpV6, gsoSize: 1306, csumStart: 40, csumOffset: 16 })).r).toBeLessThan(0);
  });
});
