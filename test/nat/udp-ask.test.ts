// askUdp (nat/udp-ask.ts), the one UDP question the port-mapping code asks: sends at 0, resendMs,
// 2 x resendMs ... before timeoutMs; the first accepted answer ends it (no send after); answers the
// caller does not accept, or that fail to decode, are ignored; another error ends it with that error;
// silence gives undefined at timeoutMs; the socket is closed and no timer is left in every case.
import { describe, expect, it } from 'vitest';
import { askUdp } from '../../src/nat/udp-ask.js';
import type { Endpoint, UdpHandler, UdpSocket } from '../../src/net/udp.js';
import { DecodeError } from '../../src/util/errors.js';
import { ManualClock } from '../fakes/manual-clock.js';

const gw: Endpoint = { address: '192.0.2.1', port: 5351 };

/** A socket whose peer answers the nth send (1-based) with what `reply` returns for it. */
function fakeSocket(reply: (n: number) => Array<[Uint8Array, Endpoint]>) {
  const sends: number[] = [];
  let closed = 0;
  let h: UdpHandler | undefined;
  const clockRef: { clock?: ManualClock } = {};
  const socket: UdpSocket = {
    local: { address: '192.0.2.2', port: 40000 },
    onMessage: (fn) => (h = fn),
    send: (_d, to) => {
      expect(to).toEqual(gw);
      sends.push(clockRef.clock!.now());
      const n = sends.length;
      queueMicrotask(() => reply(n).forEach(([b, from]) => h?.(Buffer.from(b), from)));
    },
    close: async () => {
      closed++;
    },
  };
  return { socket, sends, closed: () => closed, clockRef };
}

async function ask<T>(reply: (n: number) => Array<[Uint8Array, Endpoint]>, accept: (d: Uint8Array, from: Endpoint) => T | undefined) {
  const clock = new ManualClock(0);
  const f = fakeSocket(reply);
  f.clockRef.clock = clock;
  const p = askUdp({ openSocket: async () => f.socket, clock, to: gw, request: () => new Uint8Array([1]), accept, resendMs: 500, timeoutMs: 1_500 });
  p.catch(() => undefined);
  await clock.drive(2_000);
  return { p, f, clock };
}

const byte = (d: Uint8Array): number | undefined => (d[0] === 9 ? 9 : undefined);

describe('askUdp', () => {
  it('silence: three sends (0, 500, 1000 ms), undefined at the timeout, socket closed, no timer left', async () => {
    const { p, f, clock } = await ask(() => [], byte);
    await expect(p).resolves.toBeUndefined();
    expect(f.sends).toEqual([0, 500, 1000]);
    expect(f.closed()).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('the second send answered: its value, and no third send', async () => {
    const { p, f, clock } = await ask((n) => (n === 2 ? [[new Uint8Array([9]), gw]] : []), byte);
    await expect(p).resolves.toBe(9);
    expect(f.sends).toEqual([0, 500]);
    expect(f.closed()).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it.each([
    ['an answer the caller does not accept (another sender)', (from: Endpoint) => from.address === gw.address, [new Uint8Array([9]), { address: '192.0.2.9', port: 5351 }] as [Uint8Array, Endpoint]],
    ['an answer that does not decode', () => { throw new DecodeError('short'); }, [new Uint8Array([9]), gw] as [Uint8Array, Endpoint]],
  ])('%s is ignored: the question goes on to its timeout', async (_why, rule, msg) => {
    const { p, f } = await ask(() => [msg], (d, from) => (rule(from) ? byte(d) : undefined));
    await expect(p).resolves.toBeUndefined();
    expect(f.sends).toEqual([0, 500, 1000]);
    expect(f.closed()).toBe(1);
  });

  it('any other error from accept ends the question with it (and closes the socket)', async () => {
    const { p, f, clock } = await ask(() => [[new Uint8Array([9]), gw]], () => {
      throw new RangeError('bug');
    });
    await expect(p).rejects.toThrow(RangeError);
    expect(f.sends).toEqual([0]);
    expect(f.closed()).toBe(1);
    expect(clock.pending).toBe(0);
  });
});
