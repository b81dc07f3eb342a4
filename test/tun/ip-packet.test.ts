// Golden-byte tests for src/tun/ip-packet.ts. The expected packets were computed independently
// (a short Python script with its own RFC 1071 checksum), not by the code under test.
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/util/bytes.js';
import {
  icmpDestinationUnreachable,
  icmpEchoReply,
  icmpFragmentationNeeded,
  icmpHostUnreachable,
  internetChecksum,
  ipv4ChecksumOk,
  ipv4Dst,
  ipv4HeaderLength,
  ipv4Protocol,
  ipv4Src,
  ipv4TotalLength,
  ipVersion,
  setIpv4Checksum,
} from '../../src/tun/ip-packet.js';

const B = 0x0a090002; // 10.9.0.2, the node answering
// 10.9.0.1 -> 10.9.0.2 echo request, id 0x42 seq 1, data "meshd!!!", DF set.
const echoRequest = '45000024 12344000 40011491 0a090001 0a090002 080091ac 00420001 6d657368 64212121';
const echoReply = '45000024 12340000 40015491 0a090002 0a090001 000099ac 00420001 6d657368 64212121';
// 10.9.0.1:40000 -> 10.9.0.7:53 UDP "abcd".
const udp = '45000020 01010000 3f1166b3 0a090001 0a090007 9c400035 000c0000 61626364';
const hostUnreachable =
  '45000038 00000000 400166b1 0a090002 0a090001 0301607d 00000000 45000020 01010000 3f1166b3 0a090001 0a090007 9c400035 000c0000';
// A 1500-byte TCP packet with DF, quoted with its first 8 payload bytes 00..07.
const bigHeader = '450005dc 02024000 40061f01 0a090001 0a090007';
const fragNeeded =
  '45000038 00000000 400166b1 0a090002 0a090001 0304eb73 00000578 450005dc 02024000 40061f01 0a090001 0a090007 00010203 04050607';

function big(): Uint8Array {
  const p = new Uint8Array(1500);
  p.set(fromHex(bigHeader));
  for (let i = 20; i < 1500; i++) p[i] = i - 20 < 1280 ? (i - 20) & 0xff : 0;
  return p;
}

function mutate(hex: string, off: number, value: number): Uint8Array {
  const p = fromHex(hex);
  p[off] = value;
  return p;
}

/** Like mutate, then with a correct header checksum, so only the mutated field matters. */
function rewrite(hex: string, off: number, bytes: number[]): string {
  const p = fromHex(hex);
  p.set(bytes, off);
  setIpv4Checksum(p);
  expect(ipv4ChecksumOk(p)).toBe(true);
  return toHex(p);
}

describe('IPv4 peeks', () => {
  it('reads the fields of a valid header', () => {
    const p = fromHex(echoRequest);
    expect(ipVersion(p)).toBe(4);
    expect(ipv4HeaderLength(p)).toBe(20);
    expect(ipv4TotalLength(p)).toBe(36);
    expect(ipv4Protocol(p)).toBe(1);
    expect(ipv4Src(p)).toBe(0x0a090001);
    expect(ipv4Dst(p)).toBe(B);
    expect(ipv4ChecksumOk(p)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['shorter than a header', '45000014 00000000 4001'],
    ['IPv6 version nibble', '60000000 00080000 00000000 00000000 00000000'],
    ['IHL below 5', '44000014 00000000 40010000 0a090001 0a090002'],
    ['IHL beyond the bytes', '46000018 00000000 40010000 0a090001 0a090002'],
    ['total length beyond the bytes', '45000030 00000000 40010000 0a090001 0a090002'],
    ['total length below the header', '45000010 00000000 40010000 0a090001 0a090002'],
  ])('%s: peeks give undefined, never throw', (_why, hex) => {
    const p = fromHex(hex);
    expect(ipv4TotalLength(p)).toBeUndefined();
    if (ipv4HeaderLength(p) === undefined) {
      expect(ipv4Src(p)).toBeUndefined();
      expect(ipv4Dst(p)).toBeUndefined();
      expect(ipv4Protocol(p)).toBeUndefined();
      expect(ipv4ChecksumOk(p)).toBe(false);
    }
  });

  it.each([
    ['RFC 1071 example', '0001 f203 f4f5 f6f7', 0x220d],
    ['odd length pads with zero', '01', 0xfeff],
    ['a header holding its checksum verifies to 0', echoRequest.slice(0, 44), 0],
  ])('checksum: %s', (_why, hex, want) => {
    expect(internetChecksum(fromHex(hex))).toBe(want);
  });

  it('detects a corrupted header checksum', () => {
    expect(ipv4ChecksumOk(mutate(echoRequest, 8, 63))).toBe(false);
  });
});

describe('ICMP builders', () => {
  it('answers an echo request with the golden echo reply', () => {
    expect(toHex(icmpEchoReply(fromHex(echoRequest))!)).toBe(echoReply.replace(/ /g, ''));
  });

  it.each([
    ['an echo reply', echoReply],
    ['UDP', udp],
    ['a bad IP checksum', toHex(mutate(echoRequest, 11, 0x92))],
    ['a bad ICMP checksum', toHex(mutate(echoRequest, 35, 0x22))],
    ['a fragment (MF set)', '45000024 12342000 40013491 0a090001 0a090002 080091ac 00420001 6d657368 64212121'],
    ['truncated ICMP', '45000018 12344000 4001149d 0a090001 0a090002 0800f7bd'],
    ['garbage', 'ffffffff'],
  ])('gives no echo reply for %s', (_why, hex) => {
    expect(icmpEchoReply(fromHex(hex))).toBeUndefined();
  });

  it('builds host unreachable quoting the header and 8 bytes', () => {
    expect(toHex(icmpHostUnreachable(fromHex(udp), B)!)).toBe(hostUnreachable.replace(/ /g, ''));
  });

  it('builds fragmentation needed with the next-hop MTU', () => {
    expect(toHex(icmpFragmentationNeeded(big(), B, 1400)!)).toBe(fragNeeded.replace(/ /g, ''));
  });

  it.each([
    ['an ICMP error (no error about an error)', () => hostUnreachable],
    ['a non-first fragment', () => rewrite(udp, 6, [0x00, 0x0a])],
    ['a multicast source', () => rewrite(udp, 12, [224, 0, 0, 1])],
    ['a broadcast source', () => rewrite(udp, 12, [255, 255, 255, 255])],
    ['an unspecified source', () => rewrite(udp, 12, [0, 0, 0, 0])],
    ['a bad header checksum', () => toHex(mutate(udp, 10, 0))],
    ['garbage', () => '00'],
    ['nothing', () => ''],
  ])('sends no unreachable for %s', (_why, make) => {
    expect(icmpDestinationUnreachable(fromHex(make()), B, 1)).toBeUndefined();
  });

  it('does answer the same UDP packet from a unicast source (control for the table above)', () => {
    expect(icmpDestinationUnreachable(fromHex(rewrite(udp, 12, [10, 9, 0, 3])), B, 1)).toBeDefined();
  });

  it('quotes a short original whole', () => {
    const tiny = fromHex(rewrite('45000014 00000000 3f110000 0a090001 0a090007', 0, [0x45])); // header only
    const out = icmpHostUnreachable(tiny, B)!;
    expect(out.length).toBe(20 + 8 + 20);
    expect(ipv4ChecksumOk(out)).toBe(true);
    expect(internetChecksum(out, 20)).toBe(0);
  });
});
