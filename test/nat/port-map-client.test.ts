// The PCP client believes only the gateway: a MAP answer from another address or port, or one
// naming another nonce or internal port, is ignored (nat/port-map-client.ts); an error result
// is a PortMapError with code PORTMAP_REFUSED, silence PORTMAP_TIMEOUT.
import { describe, expect, it } from 'vitest';
import { PcpClient, PortMapError } from '../../src/nat/port-map-client.js';
import type { Endpoint, UdpHandler, UdpSocket } from '../../src/net/udp.js';
import { ManualClock } from '../fakes/manual-clock.js';

const gateway = '192.168.1.1';

/** A PCP MAP response for `req` with some fields overridden. */
function answer(req: Uint8Array, o: { result?: number; nonceByte?: number; internalPort?: number; externalPort?: number } = {}): Buffer {
  const b = Buffer.alloc(60);
  b[0] = 2;
  b[1] = 0x81;
  b[3] = o.result ?? 0;
  b.writeUInt32BE(7200, 4);
  Buffer.from(req.subarray(24, 44)).copy(b, 24);
  if (o.nonceByte !== undefined) b[24] = o.nonceByte;
  if (o.internalPort !== undefined) b.writeUInt16BE(o.internalPort, 40);
  b.writeUInt16BE(o.externalPort ?? 41000, 42);
  b[54] = 0xff;
  b[55] = 0xff;
  [198, 51, 100, 101].forEach((x, i) => (b[56 + i] = x));
  return b;
}

function stubSocket(replies: (req: Uint8Array) => Array<[Buffer, Endpoint]>): UdpSocket {
  let h: UdpHandler | undefined;
  return {
    local: { address: '192.168.1.2', port: 40000 },
    onMessage: (fn) => (h = fn),
    send: (d) => queueMicrotask(() => replies(d).forEach(([b, from]) => h?.(b, from))),
    close: async () => undefined,
  };
}

async function run(replies: (req: Uint8Array) => Array<[Buffer, Endpoint]>) {
  const clock = new ManualClock();
  const c = new PcpClient({ gateway, client: '192.168.1.2', clock, openSocket: async () => stubSocket(replies) });
  const p = c.map(51820, 7200);
  p.catch(() => undefined);
  await clock.drive(2_000);
  return p;
}

describe('PcpClient', () => {
  it('ignores forged and mismatched answers and takes the gateway\'s', async () => {
    const g = await run((req) => [
      [answer(req, { externalPort: 6666 }), { address: '192.168.1.66', port: 5351 }], // another host on the LAN
      [answer(req, { externalPort: 6666 }), { address: gateway, port: 5350 }], // the gateway, wrong port
      [answer(req, { nonceByte: 0xee, externalPort: 6666 }), { address: gateway, port: 5351 }], // another mapping's nonce
      [answer(req, { internalPort: 22, externalPort: 6666 }), { address: gateway, port: 5351 }], // another internal port
      [Buffer.from(req), { address: gateway, port: 5351 }], // our request reflected
      [answer(req), { address: gateway, port: 5351 }],
    ]);
    expect(g).toEqual({ external: { address: '198.51.100.101', port: 41000 }, lifetimeS: 7200 });
  });

  it('a forged answer alone is not believed: the request times out', async () => {
    await expect(run((req) => [[answer(req), { address: '192.168.1.66', port: 5351 }]])).rejects.toMatchObject({ code: 'PORTMAP_TIMEOUT' });
  });

  it('an error result is a refusal naming the PCP result', async () => {
    const e = await run((req) => [[answer(req, { result: 8 }), { address: gateway, port: 5351 }]]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PortMapError);
    expect(e).toMatchObject({ code: 'PORTMAP_REFUSED', message: 'PCP NO_RESOURCES' });
  });
});
