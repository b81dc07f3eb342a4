// hub/hub-channel.ts: relayed data from hub to hub over UDP. Two channels on a fake bus (each sees
// the other's presence path); frames cross as bytes. Anything forged (by a member: it knows the
// psk, not a hub's private key), replayed, from an unknown or past epoch, or malformed is dropped and
// counted, never thrown; a golden frame pins the key derivation and the sealing.
import { describe, expect, it } from 'vitest';
import { hubDataKeys, sealHubData } from '../../src/crypto/hub-data.js';
import { generateKeyPair, keyPairFromPrivate } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { advertisedEndpoints } from '../../src/hub/hub-channel-start.js';
import { HubChannel, hubDataDemux } from '../../src/hub/hub-channel.js';
import type { ClusterBus, HubPath } from '../../src/hub/network-state.js';
import type { Endpoint, UdpHandler, UdpSocket } from '../../src/net/udp.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { encodeHubDataHeader, encodeHubDataPlain } from '../../src/wire/hub-data.js';

const psk = derivePsk('hub channel test secret');
const A: Endpoint = { address: '203.0.113.1', port: 7000 };
const B: Endpoint = { address: '203.0.113.2', port: 7000 };

/** A bus that knows the paths given (hubId -> path); nothing else of it is used here. */
function busOf(paths: Map<string, HubPath>): ClusterBus {
  return {
    homeOf: () => undefined,
    send: () => false,
    onSignal: () => undefined,
    advertise: () => undefined,
    hubPath: (id) => paths.get(id),
    hubByEpoch: (hex) => [...paths].find(([, p]) => toHex(p.epoch) === hex)?.[0],
  };
}

function pair() {
  const keysA = generateKeyPair();
  const keysB = generateKeyPair();
  const pathA: HubPath = { publicKey: keysA.publicKey, endpoints: [A], epoch: fromHex('aa00000000000001') };
  const pathB: HubPath = { publicKey: keysB.publicKey, endpoints: [B], epoch: fromHex('bb00000000000001') };
  const seenByA = new Map([['hb', pathB]]);
  const seenByB = new Map([['ha', pathA]]);
  const wire: Array<{ d: Uint8Array; to: Endpoint }> = [];
  const a = new HubChannel({ psk, keyPair: keysA, epoch: pathA.epoch, bus: busOf(seenByA), send: (d, to) => void wire.push({ d: d.slice(), to }) });
  const b = new HubChannel({ psk, keyPair: keysB, epoch: pathB.epoch, bus: busOf(seenByB), send: () => undefined });
  const got: Array<[string, number, number, string]> = [];
  b.onData((hub, from, to, d) => got.push([hub, from, to, toHex(d)]));
  return { a, b, keysA, keysB, pathA, pathB, seenByA, seenByB, wire, got };
}

const nonZero = (d: Record<string, number>) => Object.fromEntries(Object.entries(d).filter(([, n]) => n > 0));

describe('hub-to-hub channel', () => {
  it('carries a relayed datagram from hub A to hub B, to the address B published', () => {
    const s = pair();
    expect(s.a.send('hb', 0x0a090002, 0x0a090003, fromHex('04aa'))).toBe(true);
    expect(s.wire[0]!.to).toEqual(B);
    s.b.onFrame(s.wire[0]!.d);
    expect(s.got).toEqual([['ha', 0x0a090002, 0x0a090003, '04aa']]);
    expect(s.a.status().sessions).toEqual([{ hubId: 'hb', endpoint: '203.0.113.2:7000', framesOut: 1, framesIn: 0, bytesOut: 2, bytesIn: 0 }]);
    expect(s.b.status().sessions).toEqual([{ hubId: 'ha', endpoint: '203.0.113.1:7000', framesOut: 0, framesIn: 1, bytesOut: 0, bytesIn: 2 }]);
    expect(nonZero(s.b.status().drops)).toEqual({});
  });

  it.each([
    ['a replayed frame', 'replayed', (s: ReturnType<typeof pair>) => [s.wire[0]!.d, s.wire[0]!.d]],
    ['a frame whose ciphertext was changed', 'bad_tag', (s: ReturnType<typeof pair>) => {
      const d = s.wire[0]!.d.slice();
      d[d.byteLength - 1]! ^= 1;
      return [d];
    }],
    ['a frame whose counter was changed (the header is authenticated)', 'bad_tag', (s: ReturnType<typeof pair>) => {
      const d = s.wire[0]!.d.slice();
      d[19]! ^= 1;
      return [d];
    }],
    ['a frame forged by a member: it knows the psk and A\'s epoch and public key, not A\'s private key', 'bad_tag', (s: ReturnType<typeof pair>) => {
      const member = generateKeyPair();
      // The best a member can do: keys from its own DH with B, claiming A's epoch.
      const k = hubDataKeys(psk, { ...member, publicKey: s.keysA.publicKey }, s.pathA.epoch, s.keysB.publicKey, s.pathB.epoch)!;
      const header = encodeHubDataHeader({ epoch: s.pathA.epoch, counter: 5 });
      return [new Uint8Array([...header, ...sealHubData(k.send, 5, encodeHubDataPlain({ from: 1, to: 2, datagram: fromHex('04') }), header)])];
    }],
    ['a frame from an epoch no live hub has', 'unknown_epoch', (s: ReturnType<typeof pair>) => {
      const d = s.wire[0]!.d.slice();
      d[4] = 0xcc;
      return [d];
    }],
    ['bytes that are no frame', 'malformed', () => [fromHex('0a000000ffff')]],
  ])('drops %s and counts it (%s)', (_why, drop, frames) => {
    const s = pair();
    s.a.send('hb', 0x0a090002, 0x0a090003, fromHex('04aa'));
    const list = frames(s);
    for (const d of list) s.b.onFrame(d);
    expect(s.got).toHaveLength(drop === 'replayed' ? 1 : 0);
    expect(nonZero(s.b.status().drops)).toEqual({ [drop]: 1 });
  });

  it('takes frames out of order within the window, each once', () => {
    const s = pair();
    for (let i = 0; i < 5; i++) s.a.send('hb', 1, 2, new Uint8Array([i]));
    for (const i of [3, 0, 4, 1, 2, 3]) s.b.onFrame(s.wire[i]!.d);
    expect(s.got.map((g) => g[3])).toEqual(['03', '00', '04', '01', '02']);
    expect(s.b.drops.replayed).toBe(1);
  });

  it('after B restarts (a new epoch in its presence), frames captured before are refused and new ones pass', () => {
    const s = pair();
    s.a.send('hb', 1, 2, fromHex('01'));
    const old = s.wire[0]!.d;
    // B restarts: same key, new epoch; A learns it from B's presence.
    const epoch2 = fromHex('bb00000000000002');
    s.seenByA.set('hb', { ...s.pathB, epoch: epoch2 });
    const b2 = new HubChannel({ psk, keyPair: s.keysB, epoch: epoch2, bus: busOf(s.seenByB), send: () => undefined });
    const got: string[] = [];
    b2.onData((_h, _f, _t, d) => got.push(toHex(d)));
    b2.onFrame(old);
    expect(b2.drops.bad_tag).toBe(1);
    s.a.send('hb', 1, 2, fromHex('02'));
    b2.onFrame(s.wire[1]!.d);
    expect(got).toEqual(['02']);
  });

  it('counts a datagram for a hub without a published UDP path (no_path) and sends nothing', () => {
    const s = pair();
    expect(s.a.send('hz', 1, 2, fromHex('01'))).toBe(false);
    expect(s.wire).toEqual([]);
    expect(s.a.drops.no_path).toBe(1);
  });

  it('golden frame: fixed keys, epochs and counter give these bytes', () => {
    const ka = keyPairFromPrivate(new Uint8Array(32).fill(1));
    const kb = keyPairFromPrivate(new Uint8Array(32).fill(2));
    const ea = fromHex('0101010101010101');
    const eb = fromHex('0202020202020202');
    const frames: Uint8Array[] = [];
    const a = new HubChannel({ psk: new Uint8Array(32).fill(9), keyPair: ka, epoch: ea, bus: busOf(new Map([['hb', { publicKey: kb.publicKey, endpoints: [B], epoch: eb }]])), send: (d) => void frames.push(d) });
    a.send('hb', 0x0a090002, 0x0a090003, fromHex('04aa'));
    expect(toHex(frames[0]!)).toBe(GOLDEN);
  });

  it('demux: types 10 and 11 never reach the link; everything else does', () => {
    let handler: UdpHandler = () => undefined;
    const main = { local: A, send: () => undefined, close: async () => undefined, onMessage: (h: UdpHandler) => (handler = h) } as UdpSocket;
    const s = pair();
    const toLink: number[] = [];
    hubDataDemux(main, () => s.b).onMessage((d) => toLink.push(d[0]!));
    s.a.send('hb', 1, 2, fromHex('01'));
    handler(Buffer.from(s.wire[0]!.d), A);
    handler(Buffer.from([11, 0, 0, 0]), A);
    handler(Buffer.from([4, 0, 0, 0]), A);
    expect(toLink).toEqual([4]);
    expect(s.got).toHaveLength(1);
  });

  it.each([
    ['a specific listen address is advertised', { address: '203.0.113.1', port: 7000 }, undefined, ['203.0.113.1']],
    ['a wildcard listen address is not (other hubs could not reach it)', { address: '0.0.0.0', port: 7000 }, undefined, []],
    ['--cluster-advertise wins', { address: '0.0.0.0', port: 7000 }, [{ address: '198.51.100.9', port: 7000 }], ['198.51.100.9']],
  ])('advertised endpoints: %s', (_why, listen, flag, want) => {
    expect(advertisedEndpoints(listen, flag).map((e) => e.address)).toEqual(want);
  });
});

/** Header (type 10, epoch 01x8, counter 0), then 10 sealed bytes (from, to, 04aa) and the tag. */
const GOLDEN = '0a000000' + '0101010101010101' + '0000000000000000' + '7febc115a14d9c366a5e' + '0a840bcb8d797ee340ca909d2f487cb1';
