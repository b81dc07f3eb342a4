// Shared by the hostile in-process tests (fuzz, floods, spoofing): a hub and three peers on the
// virtual internet with every datagram captured by kind, a seeded mutator over those captures, and
// snapshots of the state an attacker must not change (registry, map version, sessions, endpoints).
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import type { Endpoint } from '../../src/net/udp.js';
import type { Link } from '../../src/link/link.js';
import type { PeerNode } from '../../src/peer/node.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';
import { MessageType, messageTypeOf } from '../../src/wire/outer.js';
import { Rng } from '../fakes/rng.js';
import type { MemorySocket } from '../fakes/memory-udp.js';
import { HUB_ENDPOINT, World } from '../vnet/world.js';

export interface Captured {
  data: Uint8Array;
  from: Endpoint;
  to: Endpoint;
  /** outer type name, plus the flow for TRANSPORT (peer->hub carries control/ping/relay, peer->peer data/probes). */
  label: string;
}

export const ipMsg = (s: string): Uint8Array => encodeInner({ kind: InnerKind.IP, packet: new Uint8Array(Buffer.from(s)) });

export interface Mesh {
  w: World;
  a: PeerNode;
  b: PeerNode;
  captured: Captured[];
  /** Messages b received from a (IP inner payloads as text). */
  atB: string[];
  atA: string[];
}

function labelOf(d: Uint8Array, from: Endpoint, to: Endpoint): string {
  const t = messageTypeOf(d);
  const hub = (e: Endpoint) => e.address === HUB_ENDPOINT.address && e.port === HUB_ENDPOINT.port;
  const flow = hub(to) ? 'to-hub' : hub(from) ? 'from-hub' : 'peer-peer';
  return `${t === undefined ? 'unknown' : MessageType[t]}/${flow}`;
}

/** Hub + peers a, b (open internet, direct path) + c (learns the hub key) with traffic captured. */
export async function capturedMesh(): Promise<Mesh> {
  const w = new World(3);
  const captured: Captured[] = [];
  const transmit = w.net.transmit.bind(w.net);
  w.net.transmit = (from: MemorySocket, data: Buffer, to: Endpoint) => {
    if (captured.length < 20_000) captured.push({ data: new Uint8Array(data), from: from.local, to, label: labelOf(data, from.local, to) });
    transmit(from, data, to);
  };
  w.startHub();
  const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2');
  const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3');
  const c = w.peer({ open: '198.51.100.30' }, '10.9.0.4', { learnKey: true });
  const atB: string[] = [];
  const atA: string[] = [];
  b.onInner((_f, inner) => atB.push(Buffer.from(inner.subarray(1)).toString()));
  a.onInner((_f, inner) => atA.push(Buffer.from(inner.subarray(1)).toString()));
  for (const n of [a, b]) {
    // Peer-peer datagrams that came through the hub arrive here unwrapped (RELAY_FROM): capture them too.
    const receive = n.link.receive.bind(n.link);
    n.link.receive = (d, from) => {
      if ('kind' in from && from.kind === 'relay' && captured.length < 20_000) captured.push({ data: new Uint8Array(d), from: HUB_ENDPOINT, to: HUB_ENDPOINT, label: `${MessageType[messageTypeOf(d) ?? 0] ?? 'unknown'}/relayed` });
      receive(d, from);
    };
  }
  await w.join(a);
  await w.join(b);
  await w.join(c);
  // Traffic over the relay first, then direct once punched; heartbeats at 20 s.
  for (let i = 0; i < 30; i++) {
    a.sendTo(ipv4ToU32('10.9.0.3'), ipMsg(`warm a${i}`));
    b.sendTo(ipv4ToU32('10.9.0.2'), ipMsg(`warm b${i}`));
    w.run(1_000);
  }
  // A rekey on the direct path, so direct peer-peer handshakes are captured as well.
  a.link.rehandshake(b.link.publicKey);
  w.run(3_000);
  return { w, a, b, captured, atB, atA };
}

/** Everything an attacker must not change, as comparable plain data. */
export function snapshot(m: Mesh): unknown {
  const st = m.w.hub.status();
  const sessions = (l: Link) => {
    return { remotes: [...l.table.ids()].sort(), indices: [...l.table.byIndex.keys()].sort() };
  };
  return {
    mapVersion: st.mapVersion,
    members: st.peers.map((p) => [p.publicKey, p.overlay, p.name, p.endpoint, p.bootId]),
    hubSessions: sessions(m.w.hub.link),
    aSessions: sessions(m.a.link),
    bSessions: sessions(m.b.link),
    aMap: [m.a.map.version, m.a.map.all().map((p) => [p.id, p.overlay, p.reflexive.port])],
    bMap: [m.b.map.version, m.b.map.all().map((p) => [p.id, p.overlay, p.reflexive.port])],
    aPaths: m.a.peers().map((p) => [p.overlay, p.path, p.endpoint]),
    bPaths: m.b.peers().map((p) => [p.overlay, p.path, p.endpoint]),
  };
}

export function sumDrops(d: Record<string, number>): number {
  return Object.values(d).reduce((s, n) => s + n, 0);
}

/**
 * Seeded mutator over captured datagrams: exact replays, bit flips, byte overwrites, truncation,
 * extension, splices of two captures, a forged type byte on another message's body, and pure noise.
 */
export class Mutator {
  readonly rng: Rng;
  readonly counts: Record<string, number> = {};
  constructor(
    private readonly samples: Uint8Array[],
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  next(): Uint8Array {
    const r = this.rng;
    const s = this.samples[r.int(this.samples.length)]!;
    const op = r.int(9);
    let out: Uint8Array;
    let name: string;
    switch (op) {
      case 0:
        name = 'replay';
        out = s;
        break;
      case 1: {
        name = 'bitflip';
        out = new Uint8Array(s);
        const n = 1 + r.int(3);
        for (let i = 0; i < n; i++) out[r.int(out.length)]! ^= 1 << r.int(8);
        break;
      }
      case 2: {
        name = 'byteset';
        out = new Uint8Array(s);
        out[r.int(out.length)] = r.int(256);
        break;
      }
      case 3:
        name = 'truncate';
        out = s.subarray(0, r.int(s.length));
        break;
      case 4: {
        name = 'extend';
        const extra = r.bytes(1 + r.int(64));
        out = new Uint8Array(s.length + extra.length);
        out.set(s);
        out.set(extra, s.length);
        break;
      }
      case 5: {
        name = 'splice';
        const t = this.samples[r.int(this.samples.length)]!;
        const cut = r.int(Math.min(s.length, t.length) + 1);
        out = new Uint8Array(t.length);
        out.set(s.subarray(0, cut));
        out.set(t.subarray(cut), cut);
        break;
      }
      case 6: {
        name = 'retype';
        out = new Uint8Array(s);
        out[0] = r.int(8);
        break;
      }
      case 7: {
        name = 'header-only';
        // Keep the 16-byte header (type, indices, counter) and randomize the body: a forged
        // packet aimed at a live session index.
        out = new Uint8Array(s.length);
        out.set(s.subarray(0, 16));
        out.set(r.bytes(Math.max(0, s.length - 16)), 16);
        break;
      }
      default:
        name = 'noise';
        out = r.bytes(r.int(1500));
        if (out.length > 0 && r.chance(0.5)) out[0] = 1 + r.int(6);
        if (out.length > 3 && r.chance(0.5)) out[1] = out[2] = out[3] = 0;
    }
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    return out;
  }
}

/** A full garbage collection when the runtime allows it (memory-flat checks); else a no-op. */
export function gcNow(): void {
  try {
    setFlagsFromString('--expose_gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // no gc available: the heap check gets noisier, the structural checks still hold
  }
}

export function heapMb(): number {
  gcNow();
  return process.memoryUsage().heapUsed / 1e6;
}
