// Issue 10, fuzzing in process: a hub and peers on the virtual internet, then a flood of random and
// mutated datagrams (mutations of the handshakes, control, probe, relay and data packets captured
// from the same run) straight into the hub's and the peers' socket handlers, from attacker
// endpoints and from the real peers' spoofed endpoints. Proves: no crash (no handler_error), no
// state change (registry, map version, sessions, endpoints, paths), every datagram counted as a drop
// by reason, memory flat, and legitimate traffic delivered in full during the flood.
// Size: MESHD_FUZZ_N datagrams, default 1,000,000 (about 25 s here); CI runs the default.
import { describe, expect, it } from 'vitest';
import { verifyHubKeyRequest } from '../../src/crypto/hub-key.js';
import { udpPath } from '../../src/link/path.js';
import type { Link } from '../../src/link/link.js';
import type { Endpoint } from '../../src/net/udp.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { MessageType, messageTypeOf } from '../../src/wire/outer.js';
import { capturedMesh, heapMb, ipMsg, Mutator, snapshot, sumDrops } from './harness.js';

const total = Number(process.env.MESHD_FUZZ_N ?? 1_000_000);
/** Legit traffic: one message each way, and 20 ms of simulated time, every this many fuzz datagrams. */
const legitEvery = 2_000;

describe('fuzz: random and mutated datagrams against a running hub and peers', () => {
  it(`${total} datagrams: no crash, no state change, every drop counted, memory flat, traffic flows`, async () => {
    const m = await capturedMesh();
    const { w, a, b } = m;
    const byLabel = new Map<string, number>();
    for (const c of m.captured) byLabel.set(c.label, (byLabel.get(c.label) ?? 0) + 1);
    console.log(`captured ${m.captured.length} datagrams: ${[...byLabel].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const need of ['HandshakeInit/to-hub', 'HandshakeResp/from-hub', 'Transport/to-hub', 'Transport/from-hub', 'Transport/peer-peer', 'HandshakeInit/peer-peer', 'HandshakeInit/relayed', 'HandshakeResp/relayed', 'HubKeyReq/to-hub', 'HubKeyResp/from-hub']) {
      expect(byLabel.get(need) ?? 0, `captured ${need}`).toBeGreaterThan(0);
    }
    const mut = new Mutator(m.captured.map((c) => c.data), 0xf022);
    const attackers: Endpoint[] = Array.from({ length: 64 }, (_, i) => ({ address: `203.0.113.${100 + (i % 50)}`, port: 1024 + i * 7 }));
    const spoofable = m.captured.map((c) => c.from);
    const targets: Array<{ name: string; link: Link; node?: typeof a }> = [
      { name: 'hub', link: w.hub.link },
      { name: 'peer a', link: a.link, node: a },
      { name: 'peer b', link: b.link, node: b },
    ];
    const before = snapshot(m);
    const dropsBefore = targets.map((t) => ({ ...t.link.drops }));
    const nodeDropsBefore = targets.map((t) => (t.node ? sumDrops(t.node.drops) : 0));
    const sent = targets.map(() => 0);
    const fuzzDrops = targets.map(() => 0);
    const legitDrops = targets.map((): Record<string, number> => ({}));
    let validHubKeyReqs = 0;
    let legitSent = 0;
    let heapEarly = 0;
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const k = i % 3;
      const d = mut.next();
      const r = mut.rng.next();
      const from = r < 0.5 ? attackers[mut.rng.int(attackers.length)]! : r < 0.8 ? spoofable[mut.rng.int(spoofable.length)]! : { address: '198.51.100.77', port: mut.rng.int(65536) };
      if (k === 0 && messageTypeOf(d) === MessageType.HubKeyReq && verifyHubKeyRequest(w.psk, d)) validHubKeyReqs++;
      const t = targets[k]!;
      const d0 = sumDrops(t.link.drops) + (t.node ? sumDrops(t.node.drops) : 0);
      t.link.receive(d, udpPath(from));
      if (t.link.handshakeBacklog > 0) w.clock.advance(0); // an initiation past the cheap checks: its DH now, counted here
      sent[k]!++;
      fuzzDrops[k]! += sumDrops(t.link.drops) + (t.node ? sumDrops(t.node.drops) : 0) - d0;
      if (i % legitEvery === legitEvery - 1) {
        a.sendTo(ipv4ToU32('10.9.0.3'), ipMsg(`flood a${legitSent}`));
        b.sendTo(ipv4ToU32('10.9.0.2'), ipMsg(`flood b${legitSent}`));
        legitSent++;
        const before = targets.map((t) => ({ ...t.link.drops }));
        w.clock.advance(20);
        targets.forEach((t, j) => {
          for (const [r, v] of Object.entries(t.link.drops)) {
            const n = v - before[j]![r as keyof typeof t.link.drops];
            if (n) legitDrops[j]![r] = (legitDrops[j]![r] ?? 0) + n;
          }
        });
      }
      if (i === Math.floor(total / 10)) heapEarly = heapMb();
    }
    const floodMs = performance.now() - t0;
    w.run(2_000);
    const heapEnd = heapMb();

    console.log(`flooded ${total} datagrams in ${(floodMs / 1000).toFixed(1)} s (${((floodMs * 1000) / total).toFixed(1)} us each, legit traffic included); mutations ${JSON.stringify(mut.counts)}`);
    targets.forEach((t, i) => {
      const delta = Object.fromEntries(Object.entries(t.link.drops).map(([k, v]) => [k, v - dropsBefore[i]![k as keyof typeof t.link.drops]]).filter(([, v]) => v !== 0));
      console.log(`${t.name}: ${sent[i]} fuzz datagrams, link drops ${JSON.stringify(delta)}${t.node ? `, node drops ${JSON.stringify(t.node.drops)}` : ''}`);
    });
    console.log(`heap ${heapEarly.toFixed(1)} MB at 10 % -> ${heapEnd.toFixed(1)} MB at the end; legit messages ${legitSent} each way`);

    // No crash: nothing threw out of a handler.
    for (const t of targets) expect(t.link.drops.handler_error, `${t.name} handler errors`).toBe(0);
    // No state change.
    expect(snapshot(m)).toEqual(before);
    // Every fuzz datagram is a counted drop (the hub may answer byte-exact HUB_KEY_REQ replays: that
    // answer is stateless and reveals only its public key, which the requester already proved it may learn).
    targets.forEach((t, i) => {
      const all = sumDrops(t.link.drops) - sumDrops(dropsBefore[i]!) + (t.node ? sumDrops(t.node.drops) - nodeDropsBefore[i]! : 0);
      const allowedAnswers = i === 0 ? validHubKeyReqs : 0;
      console.log(`${t.name}: ${fuzzDrops[i]} drops while handling fuzz, ${all - fuzzDrops[i]!} while legit traffic ran ${JSON.stringify(legitDrops[i])}`);
      expect(fuzzDrops[i], `${t.name}: drops counted for ${sent[i]} fuzz datagrams`).toBeGreaterThanOrEqual(sent[i]! - allowedAnswers);
      expect(fuzzDrops[i], `${t.name}: one drop per datagram at most`).toBeLessThanOrEqual(sent[i]!);
      // Outside the fuzz calls the only drops allowed are the hub's answers to spoofed byte-exact
      // HUB_KEY_REQ replays reaching the peer whose endpoint was spoofed (unsolicited HUB_KEY_RESP).
      const { hub_key: reflected = 0, ...other } = legitDrops[i]!;
      expect(other, `${t.name}: legit traffic dropped nothing`).toEqual({});
      expect(reflected).toBeLessThanOrEqual(validHubKeyReqs);
    });
    // Legit traffic: every message, in order.
    expect(m.atB.filter((s) => s.startsWith('flood'))).toEqual(Array.from({ length: legitSent }, (_, i) => `flood a${i}`));
    expect(m.atA.filter((s) => s.startsWith('flood'))).toEqual(Array.from({ length: legitSent }, (_, i) => `flood b${i}`));
    // Memory flat: the rate limiter map is bounded and nothing per-datagram is kept.
    expect(heapEnd - heapEarly, 'heap growth during the flood (MB)').toBeLessThan(25);
  }, 600_000);
});
