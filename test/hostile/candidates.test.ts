// Red-team finding M4 in process: a member makes its victims probe addresses of its choosing. It
// sends authenticated PINGs (it has a session with each victim) from spoofed source endpoints;
// each new source became a peer-reflexive candidate that the victim probed on every punch round,
// without bound. Now the victim's candidate list for that member stays capped, learned candidates
// expire, punching restarts at most every few seconds, and the datagrams the victims send toward
// addresses the attacker chose stay within a small multiple of what the attacker sent.
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/net/udp.js';
import type { PeerNode } from '../../src/peer/node.js';
import type { PeerPaths } from '../../src/peer/peer-paths.js';
import { maxPeerReflexiveCandidates, peerReflexiveTtlMs } from '../../src/peer/path.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { encodeInner, InnerKind, PING_FLAG_PUNCH } from '../../src/wire/inner.js';
import type { MemorySocket } from '../fakes/memory-udp.js';
import { World } from '../vnet/world.js';
import { ipMsg } from './harness.js';

const sockOf = (n: PeerNode) => (n as unknown as { o: { udp: MemorySocket } }).o.udp;
const pathsOf = (victim: PeerNode, attacker: PeerNode): PeerPaths => victim.remotes.get(Buffer.from(attacker.link.publicKey).toString('hex'))!.paths;

/** Spoofed sources the attacker chooses: hosts that exist nowhere (the victims' probes go nowhere). */
const spoofed = (i: number): Endpoint => ({ address: `203.0.113.${100 + (i % 150)}`, port: 40_000 + i });

interface Attack {
  attackerDatagrams: number;
  /** Datagrams the victims sent toward the spoofed endpoints. */
  victimDatagrams: number;
  /** Largest candidate list any victim held for the attacker. */
  maxCandidates: number;
  /** Candidates left 60 s after the attack. */
  candidatesAfter: number;
}

async function attack(count: number, perSecond: number): Promise<Attack> {
  const w = new World(5);
  w.startHub();
  const m = w.peer({ open: '198.51.100.10' }, '10.9.0.2');
  const v1 = w.peer({ open: '198.51.100.20' }, '10.9.0.3');
  const v2 = w.peer({ open: '198.51.100.30' }, '10.9.0.4');
  // No direct path between the attacker and its victims (a symmetric NAT, a firewall): they relay,
  // so every punch round probes every candidate.
  const attackerIp = '198.51.100.10';
  const victims = new Set(['198.51.100.20', '198.51.100.30']);
  w.net.dropIf = (src, dst) => (src.address === attackerIp && victims.has(dst.address)) || (dst.address === attackerIp && victims.has(src.address));
  for (const n of [m, v1, v2]) await w.join(n);
  for (let i = 0; i < 10; i++) {
    for (const v of ['10.9.0.3', '10.9.0.4']) m.sendTo(ipv4ToU32(v), ipMsg(`warm ${i}`));
    w.run(500);
  }
  const spoofKeys = new Set<string>();
  let victimDatagrams = 0;
  let capture: Uint8Array | undefined;
  const transmit = w.net.transmit.bind(w.net);
  w.net.transmit = (from, data, to) => {
    if (from === sockOf(m) && capture === null) {
      capture = new Uint8Array(data);
      return;
    }
    if ((from === sockOf(v1) || from === sockOf(v2)) && spoofKeys.has(`${to.address}:${to.port}`)) victimDatagrams++;
    transmit(from, data, to);
  };
  let maxCandidates = 0;
  const stepMs = 1000 / perSecond;
  for (let i = 0; i < count; i++) {
    const v = i % 2 === 0 ? v1 : v2;
    const src = spoofed(i);
    spoofKeys.add(`${src.address}:${src.port}`);
    // The attacker's own link seals a PING for the victim; the datagram arrives from `src`.
    capture = null as unknown as undefined;
    m.link.send(v.link.publicKey, encodeInner({ kind: InnerKind.PING, txid: BigInt(i + 1), flags: PING_FLAG_PUNCH }), { kind: 'udp', endpoint: sockOf(v).local });
    const d = capture as Uint8Array | undefined;
    capture = undefined;
    if (d) sockOf(v).deliver(Buffer.from(d), src);
    w.clock.advance(stepMs);
    maxCandidates = Math.max(maxCandidates, pathsOf(v1, m).candidates.length, pathsOf(v2, m).candidates.length);
  }
  w.run(60_000);
  return {
    attackerDatagrams: count,
    victimDatagrams,
    maxCandidates,
    candidatesAfter: Math.max(pathsOf(v1, m).candidates.length, pathsOf(v2, m).candidates.length),
  };
}

describe('M4: spoofed-source PINGs from a member', () => {
  it.each<[number, number]>([
    [300, 100],
    [60, 2],
  ])("%i PINGs from as many sources at %i/s: the victims' candidate lists stay capped, learned ones expire, probes stay bounded", async (count, perSecond) => {
    const r = await attack(count, perSecond);
    console.log(`[M4] ${count} at ${perSecond}/s: ${r.attackerDatagrams} attacker datagrams -> ${r.victimDatagrams} victim datagrams to spoofed endpoints; max candidates ${r.maxCandidates}, after 60 s ${r.candidatesAfter}`);
    // The map's two (LAN = reflexive here, so one) plus the capped peer-reflexive ones.
    expect(r.maxCandidates).toBeLessThanOrEqual(2 + maxPeerReflexiveCandidates);
    expect(r.candidatesAfter).toBeLessThanOrEqual(2);
    expect(peerReflexiveTtlMs).toBeLessThan(60_000);
    // One PONG per PING (to where it came from) and the capped probes.
    expect(r.victimDatagrams).toBeLessThanOrEqual(r.attackerDatagrams * 1.5 + maxPeerReflexiveCandidates * 9 * 2);
  });
});
