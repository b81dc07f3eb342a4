// The route table's longest-prefix match, as a table whose rows say why.
import { describe, expect, it } from 'vitest';
import { RouteTable, prefixMask } from '../../src/peer/route-table.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';

const ip = ipv4ToU32;

function table(): RouteTable<string> {
  const t = new RouteTable<string>();
  t.set(ip('10.9.0.2'), 32, 'peer-b');
  t.set(ip('10.9.0.3'), 32, 'peer-c');
  t.set(ip('192.168.50.0'), 24, 'lan-of-b');
  t.set(ip('192.168.50.128'), 25, 'upper-half-of-c');
  t.set(ip('0.0.0.0'), 0, 'exit-node');
  return t;
}

describe('RouteTable.lookup', () => {
  it.each([
    ['an overlay host route', '10.9.0.2', 'peer-b'],
    ['another host route', '10.9.0.3', 'peer-c'],
    ['inside an advertised /24', '192.168.50.10', 'lan-of-b'],
    ['the longer /25 wins inside the /24', '192.168.50.200', 'upper-half-of-c'],
    ['an overlay address nobody holds falls to the default route', '10.9.0.77', 'exit-node'],
    ['anything else: the default route', '203.0.113.9', 'exit-node'],
  ])('%s (%s)', (_why, dst, want) => {
    expect(table().lookup(ip(dst))).toBe(want);
  });

  it('without a default route an unknown destination has no route', () => {
    const t = table();
    expect(t.delete(0, 0)).toBe(true);
    expect(t.lookup(ip('203.0.113.9'))).toBeUndefined();
    expect(t.lookup(ip('10.9.0.77'))).toBeUndefined();
  });

  it('host bits of a route are cleared; set replaces; getExact ignores covering routes', () => {
    const t = new RouteTable<string>();
    t.set(ip('192.168.50.77'), 24, 'a');
    t.set(ip('192.168.50.0'), 24, 'b');
    expect(t.size).toBe(1);
    expect(t.lookup(ip('192.168.50.1'))).toBe('b');
    expect(t.getExact(ip('192.168.50.1'), 32)).toBeUndefined();
    expect(t.getExact(ip('192.168.50.9'), 24)).toBe('b');
  });

  it('deleteValue removes every route of one owner and keeps the lengths list right', () => {
    const t = table();
    t.set(ip('172.16.0.0'), 12, 'peer-b');
    expect(t.deleteValue('peer-b')).toBe(2);
    expect(t.lookup(ip('10.9.0.2'))).toBe('exit-node');
    expect(t.lookup(ip('172.16.1.1'))).toBe('exit-node');
    expect(t.lookup(ip('192.168.50.1'))).toBe('lan-of-b');
    expect(t.routes().map((r) => r.length)).toEqual([32, 25, 24, 0]);
  });

  it.each([-1, 33, 1.5])('refuses prefix length %s', (len) => {
    expect(() => new RouteTable<number>().set(0, len, 1)).toThrow(expect.objectContaining({ code: 'ROUTE_INVALID' }));
  });

  it.each([
    [0, 0x00000000], [1, 0x80000000], [24, 0xffffff00], [31, 0xfffffffe], [32, 0xffffffff],
  ])('prefixMask(%i)', (len, mask) => {
    expect(prefixMask(len)).toBe(mask);
  });
});
