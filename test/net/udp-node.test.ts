// The real node:dgram socket on loopback: delivery, sources, handler errors counted, nothing after close.
import { describe, expect, it } from 'vitest';
import { openUdp } from '../../src/net/udp-node.js';

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('openUdp', () => {
  it('sends and receives with the source endpoint, survives a throwing handler, is silent after close', async () => {
    const a = await openUdp({ address: '127.0.0.1', port: 0 });
    const b = await openUdp({ address: '127.0.0.1', port: 0 });
    expect(a.local.port).toBeGreaterThan(0);
    const got: string[] = [];
    b.onMessage((d, from) => {
      got.push(`${d.toString()}@${from.port}`);
      if (d.toString() === 'boom') throw new Error('handler bug');
    });
    a.send(Buffer.from('boom'), b.local);
    a.send(Buffer.from('hi'), b.local);
    await until(() => got.length === 2);
    expect(got).toEqual([`boom@${a.local.port}`, `hi@${a.local.port}`]);
    expect(b.counters.handlerErrors).toBe(1);
    await b.close();
    a.send(Buffer.from('late'), b.local);
    a.send(Buffer.from('to nowhere'), { address: '127.0.0.1', port: 9 });
    await new Promise((r) => setTimeout(r, 30));
    expect(got.length).toBe(2);
    b.send(Buffer.from('after close'), a.local); // a no-op, never a throw
    await a.close();
    await a.close();
  });
});
