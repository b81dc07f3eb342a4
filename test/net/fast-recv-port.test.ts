// sourceWords: an endpoint as udp.c reports a datagram's source (recvMeta words), so the receive
// fast path's entry matches the pair's datagrams exactly.
import { describe, expect, it } from 'vitest';
import { sourceWords } from '../../src/net/fast-recv-port.js';

describe('sourceWords', () => {
  it.each([
    ['198.51.100.9', 7001, [4, 7001, 0xc6336409, 0, 0, 0]],
    ['::ffff:198.51.100.9', 7001, [4, 7001, 0xc6336409, 0, 0, 0]],
    ['2001:db8::5', 443, [6, 443, 0x20010db8, 0, 0, 5]],
    ['2001:db8:1:2:3:4:5:6', 9, [6, 9, 0x20010db8, 0x00010002, 0x00030004, 0x00050006]],
  ])('%s:%d', (address, port, want) => {
    expect([...sourceWords({ address, port })!]).toEqual(want);
  });
  it('undefined for text that is no address', () => {
    expect(sourceWords({ address: 'hub.example', port: 1 })).toBeUndefined();
  });
});
