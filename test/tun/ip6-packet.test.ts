// Golden-byte tests for src/tun/ip6-packet.ts. The expected packets were computed independently (a
// short Python script with ipaddress and its own RFC 1071 checksum over the RFC 8200 pseudo-header),
// not by the code under test; checksums are verified again here with this file's own sum. Then the
// extension-header walk as a table, and a seeded fuzz of inner packets with extension-header chains.
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/util/bytes.js';
import {
  icmpv6AddressUnreachable,
  icmpv6EchoReply,
  icmpv6Error,
  icmpv6PacketTooBig,
  ipv6Upper,
  ipv6Whole,
  maxExtensionHeaders,
} from '../../src/tun/ip6-packet.js';
import { parseIpv6 } from '../../src/util/ipv6-prefix.js';
import { flowLane } from '../../src/peer/flow-lane.js';
import { checkV6 } from '../../src/peer/inbound6.js';
import { Rng } from '../fakes/rng.js';

const Y = parseIpv6('fd00:1:2:3::2')!; // the node answering
const echoRequest = '6000000000103a40fd000001000200030000000000000001fd00000100020003000000000000000280001f51004200016d65736864212121';
const echoReply = '6000000000103a40fd000001000200030000000000000002fd00000100020003000000000000000181001e51004200016d65736864212121';
// fd00:1:2:3::1 port 40000 -> fd00:1:2:3::7 port 53, UDP "abcd".
const udp = '60000000000c1140fd000001000200030000000000000001fd0000010002000300000000000000079c400035000ca48461626364';
const addressUnreachable =
  '60000000003c3a40fd000001000200030000000000000002fd000001000200030000000000000001010393460000000060000000000c1140fd000001000200030000000000000001fd0000010002000300000000000000079c400035000ca48461626364';
// packet too big for a 1500-byte TCP packet (payload bytes 0..1459 & 0xff), MTU 1378: 1280 bytes.
const ptbHead = '6000000004d83a40fd000001000200030000000000000002fd00000100020003000000000000000102003ac600000562';

/** This file's own ICMPv6 checksum check: RFC 1071 over pseudo-header + upper layer must fold to 0xffff. */
function icmp6ChecksumOk(p: Uint8Array): boolean {
  const len = p.length - 40;
  const words: number[] = [];
  const push = (b: Uint8Array) => {
    for (let i = 0; i < b.length; i += 2) words.push((b[i]! << 8) | (b[i + 1] ?? 0));
  };
  push(p.subarray(8, 40));
  words.push(len >>> 16, len & 0xffff, 0, 58);
  push(p.subarray(40));
  let s = words.reduce((x, y) => x + y, 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s === 0xffff;
}

function tcp1500(): Uint8Array {
  const p = new Uint8Array(1500);
  p.set(fromHex('6000000005b40640fd000001000200030000000000000001fd000001000200030000000000000007'));
  for (let i = 40; i < 1500; i++) p[i] = (i - 40) & 0xff;
  return p;
}

describe('ICMPv6 generation (golden bytes)', () => {
  it('echo reply: addresses swapped, type 129, checksum recomputed', () => {
    const r = icmpv6EchoReply(fromHex(echoRequest))!;
    expect(toHex(r)).toBe(echoReply);
    expect(icmp6ChecksumOk(r)).toBe(true);
  });

  it('address unreachable (type 1 code 3) quotes the whole small original', () => {
    const r = icmpv6AddressUnreachable(fromHex(udp), Y)!;
    expect(toHex(r)).toBe(addressUnreachable);
    expect(icmp6ChecksumOk(r)).toBe(true);
  });

  it('packet too big (type 2) carries the MTU and stays within 1280 bytes', () => {
    const r = icmpv6PacketTooBig(tcp1500(), Y, 1378)!;
    expect(r.length).toBe(1280);
    expect(toHex(r.subarray(0, 48))).toBe(ptbHead);
    expect(toHex(r.subarray(48, 48 + 40))).toBe(toHex(tcp1500().subarray(0, 40)));
    expect(icmp6ChecksumOk(r)).toBe(true);
  });

  const withSrc = (hex: string, first: number) => {
    const p = fromHex(hex);
    p[8] = first;
    return p;
  };
  const errorOf = (type: number) => {
    const e = icmpv6AddressUnreachable(fromHex(udp), Y)!;
    e[40] = type;
    return e;
  };
  it.each([
    ['an ICMPv6 error is never answered with another (RFC 4443 2.4 e)', errorOf(1), undefined],
    ['an echo request may be answered with an error', fromHex(echoRequest), 'ok'],
    ['a multicast source gets nothing', withSrc(udp, 0xff), undefined],
    ['a truncated packet gets nothing', fromHex(udp).subarray(0, 50), undefined],
    ['a packet whose payload length lies gets nothing', fromHex(udp + '00'), undefined],
  ])('%s', (_why, p, want) => {
    const r = icmpv6Error(p, Y, 1, 3);
    expect(r === undefined ? undefined : 'ok').toBe(want);
    if (r) expect(icmp6ChecksumOk(r)).toBe(true);
  });

  it('echo reply refuses a bad checksum', () => {
    const p = fromHex(echoRequest);
    p[p.length - 1] = p[p.length - 1]! ^ 1;
    expect(icmpv6EchoReply(p)).toBeUndefined();
  });
});

/** A v6 packet with the given extension headers (each [type, bytes]) then `proto` and 8 bytes of it. */
function withChain(chain: [number, Uint8Array][], proto: number, upper = fromHex('9c400035000c0000')): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < chain.length; i++) {
    const h = chain[i]![1].slice();
    h[0] = i + 1 < chain.length ? chain[i + 1]![0] : proto;
    parts.push(h);
  }
  const total = 40 + parts.reduce((n, h) => n + h.length, 0) + upper.length;
  const p = new Uint8Array(total);
  p.set(fromHex(udp).subarray(0, 40));
  p[4] = (total - 40) >> 8;
  p[5] = (total - 40) & 0xff;
  p[6] = chain.length > 0 ? chain[0]![0] : proto;
  let off = 40;
  for (const h of parts) {
    p.set(h, off);
    off += h.length;
  }
  p.set(upper, off);
  return p;
}
const opts8 = (): Uint8Array => new Uint8Array(8); // len 0: 8 bytes
const opts16 = (): Uint8Array => Uint8Array.of(0, 1, ...new Array<number>(14).fill(0)); // len 1: 16 bytes
const frag = (offset: number, more: boolean): Uint8Array => Uint8Array.of(0, 0, (offset << 3) >> 8, ((offset << 3) & 0xf8) | (more ? 1 : 0), 0, 0, 0, 1);
const ah = (): Uint8Array => Uint8Array.of(0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0); // (1 + 2) * 4 = 12 bytes

describe('extension-header walk', () => {
  it.each([
    ['no extension headers: UDP at 40', withChain([], 17), { proto: 17, offset: 40, fragment: false }],
    ['hop-by-hop then UDP', withChain([[0, opts8()]], 17), { proto: 17, offset: 48, fragment: false }],
    ['hop-by-hop, routing (16 bytes), destination options, TCP', withChain([[0, opts8()], [43, opts16()], [60, opts8()]], 6), { proto: 6, offset: 72, fragment: false }],
    ['AH counts its length in 4-byte units', withChain([[51, ah()]], 17), { proto: 17, offset: 52, fragment: false }],
    ['first fragment: ports still there', withChain([[44, frag(0, true)]], 17), { proto: 17, offset: 48, fragment: true }],
    ['no next header (59) ends the chain', withChain([[60, opts8()]], 59), { proto: 59, offset: 48, fragment: false }],
    ['ESP ends the walk: the rest is ciphertext', withChain([], 50), { proto: 50, offset: 40, fragment: false }],
  ])('%s', (_why, p, want) => {
    expect(ipv6Whole(p)).toBe(true);
    expect(ipv6Upper(p)).toMatchObject(want);
  });

  const eight = Array.from({ length: maxExtensionHeaders }, (): [number, Uint8Array] => [60, opts8()]);
  const lying = withChain([[60, opts8()]], 17);
  lying[41] = 200; // claims 1608 bytes
  it.each([
    ['hop-by-hop anywhere but first', withChain([[60, opts8()], [0, opts8()]], 17)],
    ['two fragment headers', withChain([[44, frag(0, true)], [44, frag(0, true)]], 17)],
    [`more than ${maxExtensionHeaders} extension headers`, withChain([...eight, [60, opts8()]], 17)],
    ['a header length that runs past the packet', lying],
    ['a chain cut off inside a header', withChain([[60, opts16()]], 17).subarray(0, 50)],
  ])('dropped: %s', (_why, p) => {
    expect(ipv6Upper(p)).toBeUndefined();
  });

  it(`exactly ${maxExtensionHeaders} extension headers still parse`, () => {
    expect(ipv6Upper(withChain(eight, 17))?.proto).toBe(17);
  });

  it('a non-first fragment hashes without ports (both fragments of a flow share a lane)', () => {
    const first = withChain([[44, frag(0, true)]], 17);
    const later = withChain([[44, frag(100, false)]], 17, fromHex('ffffffffffffffff'));
    expect(ipv6Upper(later)).toMatchObject({ fragment: true, fragmentOffset: 100 });
    expect(flowLane(first)).toBe(flowLane(later));
  });
});

describe('fuzz: inner IPv6 packets with random extension-header chains', () => {
  const exts = [0, 43, 44, 51, 60, 135, 139, 140];
  const peer = { admits6: () => true };
  it('never throws; a parse stays inside the packet; lanes and the inbound check always answer', () => {
    const rng = new Rng(22);
    let parsed = 0;
    for (let i = 0; i < 10_000; i++) {
      const n = rng.int(12);
      const chain: [number, Uint8Array][] = [];
      for (let k = 0; k < n; k++) {
        const t = exts[rng.int(exts.length)]!;
        const h = t === 44 ? frag(rng.int(8192), rng.chance(0.5)) : t === 51 ? ah() : rng.chance(0.5) ? opts8() : opts16();
        chain.push([t, h]);
      }
      let p = withChain(chain, rng.chance(0.8) ? [6, 17, 58][rng.int(3)]! : rng.int(256), rng.bytes(rng.int(24)));
      // Mutations: flip bytes, truncate, or lie about lengths.
      const m = rng.int(4);
      if (m === 1) for (let k = 0; k < 3; k++) p[rng.int(p.length)] = rng.int(256);
      if (m === 2) p = p.subarray(0, rng.int(p.length + 1));
      if (m === 3 && p.length > 41) p[41] = rng.int(256);
      const up = ipv6Upper(p);
      if (up) {
        parsed++;
        expect(up.offset).toBeLessThanOrEqual(p.length);
        expect(up.offset).toBeGreaterThanOrEqual(40);
      }
      const lane = flowLane(p.length >= 40 ? p : withChain([], 17));
      expect(lane).toBeGreaterThanOrEqual(0);
      expect(lane).toBeLessThan(16);
      const bad = checkV6(peer, p, Y);
      if (!up && p.length > 0) expect(bad).toBe('ipv6_malformed');
      icmpv6AddressUnreachable(p, Y);
    }
    expect(parsed).toBeGreaterThan(1500); // the generator reaches valid chains too
  });
});
