// H1 in process (RELIABILITY.md "Red-team findings: H1"): a key's overlay address and name stay its
// own across member expiry and hub restarts (the bindings file in the state directory) and in
// allow-list mode; a refused peer keeps retrying instead of sitting unregistered; host names are
// numbered; peers without --local get a stable address.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import type { PeerNode } from '../../src/peer/node.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';
import { HUB_ENDPOINT, World } from '../vnet/world.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'meshd-ident-'));
  dirs.push(d);
  return join(d, 'bindings.json');
}
const ipMsg = (s: string) => encodeInner({ kind: InnerKind.IP, packet: new Uint8Array(Buffer.from(s)) });

/** Starts a node and runs the clock; 'registered' or the refusal code. */
async function outcome(w: World, node: PeerNode, ms = 3_000): Promise<string> {
  try {
    await w.join(node, ms);
    return 'registered';
  } catch (e) {
    return (e as { code: string }).code;
  }
}

/** Restarts the hub the way kill -9 and a restart would: no close-time flush beyond what was written. */
async function crashAndRestart(w: World, path: string, extra: Parameters<World['startHub']>[0] = {}): Promise<void> {
  await w.hub.close();
  w.run(1_000);
  w.startHub({ bindingsPath: path, ...extra });
}

describe('H1: durable bindings', () => {
  it("after a hub restart a third key cannot take pb's address or name; pb re-registers and pa reaches pb", async () => {
    const path = stateDir();
    const w = new World();
    w.startHub({ bindingsPath: path });
    const pa = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'pa' });
    const pb = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { name: 'pb' });
    await w.join(pa);
    await w.join(pb);
    w.run(3_000);
    await crashAndRestart(w, path);
    // The attacker registers first, before pb's next heartbeat notices the restart.
    const evil = w.peer({ open: '198.51.100.66' }, '10.9.0.3', { name: 'pb' });
    expect(await outcome(w, evil, 500)).toBe('HUB_REFUSED_ADDRESS_IN_USE');
    const evilName = w.peer({ open: '198.51.100.67' }, '10.9.0.9', { name: 'pb' });
    expect(await outcome(w, evilName, 500)).toBe('HUB_REFUSED_NAME_TAKEN');
    w.run(30_000); // pa and pb notice the restart and register again
    expect(pb.hubClient.state).toBe('registered');
    const owner = w.hub.status().peers.find((p) => p.overlay === '10.9.0.3');
    expect(owner?.publicKey).toBe(Buffer.from(pb.link.publicKey).toString('base64'));
    expect(owner?.name).toBe('pb');
    const atB: string[] = [];
    pb.onInner((_f, inner) => atB.push(Buffer.from(inner.subarray(1)).toString()));
    pa.sendTo(ipv4ToU32('10.9.0.3'), ipMsg('to the real pb'));
    w.run(500);
    expect(atB).toEqual(['to the real pb']);
    // The refused ones never stopped trying (no zombie) and are still refused.
    expect(evil.hubClient.refusals).toBeGreaterThan(3);
    expect(evil.hubClient.state).not.toBe('registered');
  });

  it('a member silent for more than 70 s keeps its address and name', async () => {
    const w = new World();
    w.startHub({ bindingsPath: stateDir() });
    const pa = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'pa' });
    const pb = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { name: 'pb' });
    await w.join(pa);
    await w.join(pb);
    w.net.dropIf = (src, dst) => src.address === '198.51.100.20' || dst.address === '198.51.100.20'; // pb's ISP is down
    w.run(80_000);
    expect(w.hub.status().peers.map((p) => p.overlay)).toEqual(['10.9.0.2']); // pb expired as a member
    const evil = w.peer({ open: '198.51.100.66' }, '10.9.0.3', { name: 'pb' });
    expect(await outcome(w, evil, 500)).toBe('HUB_REFUSED_ADDRESS_IN_USE');
    w.net.dropIf = undefined;
    w.run(70_000);
    expect(pb.hubClient.state).toBe('registered');
    expect(w.hub.status().peers.find((p) => p.overlay === '10.9.0.3')?.name).toBe('pb');
  });

  it('allow-list bindings win over first come, across restarts too', async () => {
    const path = stateDir();
    const w = new World();
    const [ka, kb, kx] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
    const list = {
      allowedKeys: [ka.publicKey, kb.publicKey, kx.publicKey],
      pinnedBindings: [{ publicKey: kb.publicKey, overlay: ipv4ToU32('10.9.0.3'), name: 'pb' }],
    };
    w.startHub({ bindingsPath: path, ...list });
    // A listed key tries pb's listed address and name before pb ever registered.
    expect(await outcome(w, w.peer({ open: '198.51.100.66' }, '10.9.0.3', { name: 'x', keyPair: kx }))).toBe('HUB_REFUSED_ADDRESS_IN_USE');
    expect(await outcome(w, w.peer({ open: '198.51.100.67' }, '10.9.0.7', { name: 'pb', keyPair: kx }))).toBe('HUB_REFUSED_NAME_TAKEN');
    // pb itself cannot wander off its listed address; without --name it gets its listed name.
    expect(await outcome(w, w.peer({ open: '198.51.100.21' }, '10.9.0.8', { keyPair: kb }))).toBe('HUB_REFUSED_ADDRESS_IN_USE');
    const pb = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { name: 'host', nameIsHint: true, keyPair: kb });
    expect(await outcome(w, pb)).toBe('registered');
    expect(pb.hubClient.assigned?.name).toBe('pb');
    const pa = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'pa', keyPair: ka });
    expect(await outcome(w, pa)).toBe('registered');
    w.run(3_000);
    await crashAndRestart(w, path, list);
    expect(await outcome(w, w.peer({ open: '198.51.100.68' }, '10.9.0.2', { name: 'y', keyPair: kx }), 500)).toBe('HUB_REFUSED_ADDRESS_IN_USE');
  });

  it('the operator releases a name and the refused peer joins on its next retry', async () => {
    const w = new World();
    w.startHub({ bindingsPath: stateDir() });
    const holder = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'web' });
    await w.join(holder);
    const stopped = holder.stop();
    w.run(2_000);
    await stopped;
    const want = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { name: 'web' });
    expect(await outcome(w, want)).toBe('HUB_REFUSED_NAME_TAKEN');
    w.run(30_000);
    expect(want.hubClient.state).not.toBe('registered'); // the holder left, but the name is still its
    expect(w.hub.release('web').map((r) => r.overlay)).toEqual(['10.9.0.2']);
    w.run(80_000); // at most one backoff step (60 s + 25 %)
    expect(want.hubClient.state).toBe('registered');
    expect(w.hub.status().peers.map((p) => [p.overlay, p.name])).toEqual([['10.9.0.3', 'web']]);
  });
});

describe('names and addresses the hub assigns', () => {
  it('two peers with one host name get host and host-2, each stable across a hub restart', async () => {
    const path = stateDir();
    const w = new World();
    w.startHub({ bindingsPath: path });
    const p1 = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'pi', nameIsHint: true });
    const p2 = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { name: 'pi', nameIsHint: true });
    await w.join(p1);
    await w.join(p2);
    expect([p1.hubClient.assigned?.name, p2.hubClient.assigned?.name]).toEqual(['pi', 'pi-2']);
    w.run(3_000);
    await crashAndRestart(w, path);
    // p2 comes back first this time: it keeps pi-2 rather than taking the free-looking "pi".
    await (p2.hubClient as unknown as { register(): void }).register();
    w.run(30_000);
    expect(w.hub.status().peers.map((p) => [p.overlay, p.name]).sort()).toEqual([['10.9.0.2', 'pi'], ['10.9.0.3', 'pi-2']]);
  });

  it('peers without an address get distinct ones, the same again next time', async () => {
    const path = stateDir();
    const w = new World();
    w.startHub({ bindingsPath: path });
    const k1 = generateKeyPair();
    const p1 = w.peer({ open: '198.51.100.10' }, '0.0.0.0', { name: 'one', keyPair: k1 });
    const p2 = w.peer({ open: '198.51.100.20' }, '0.0.0.0', { name: 'two' });
    await w.join(p1);
    await w.join(p2);
    const a1 = p1.hubClient.assigned!;
    expect([a1.overlay, a1.prefix]).toEqual([ipv4ToU32('10.9.0.1'), 24]);
    expect(p2.hubClient.assigned!.overlay).toBe(ipv4ToU32('10.9.0.2'));
    const stopped = p1.stop();
    w.run(3_000);
    await stopped;
    await crashAndRestart(w, path);
    const again = w.peer({ open: '198.51.100.30' }, '0.0.0.0', { name: 'one', keyPair: k1 });
    await w.join(again);
    expect(again.hubClient.assigned!.overlay).toBe(ipv4ToU32('10.9.0.1'));
    expect(HUB_ENDPOINT.port).toBe(7000);
  });
});
