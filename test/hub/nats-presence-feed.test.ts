// The presence of hubs sharing NATS (hub/nats-presence.ts) through a stalled presence watch
// (hub/nats-feed.ts), on a ManualClock with fake buckets, no server: the watch delivers nothing after
// its start and remaking it hangs (its consumer placed on a dead NATS node), while JetStream answers
// writes and direct gets. The hub hears its own presence back through the read by sequence (catchUp),
// so its view is sound and a dead hub's member leaves the map in bounded time. Before, the view only
// counted the watch's own deliveries: unsound for as long as remakes hung (16 s of 18 in the real
// 3-node cut test, test/hub/nats-state.test.ts), and the member never left here.
import type { KvEntry } from 'nats';
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { keyId } from '../../src/link/key-id.js';
import { BindingTable } from '../../src/hub/bindings.js';
import type { NatsCtx } from '../../src/hub/nats-context.js';
import { NatsFeed, watchStallRefreshes } from '../../src/hub/nats-feed.js';
import { dec, enc, hubKey, json, type MemberRecord } from '../../src/hub/nats-names.js';
import { NatsPresence } from '../../src/hub/nats-presence.js';
import { presenceTick } from '../../src/hub/nats-state.js';
import { presenceSoundRefreshes } from '../../src/hub/presence-grace.js';
import { parseNetwork, Registry } from '../../src/hub/registry.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { testLogger } from '../fakes/logger.js';

const network = parseNetwork('10.9.0.0/24');
const prefix = 'meshd_test';

/** One bucket's stream: every put in order, read by JetStream direct get (next_by_subj). */
class FakeStream {
  readonly msgs: Array<{ seq: number; key: string; data: Uint8Array }> = [];
  put(key: string, data: Uint8Array): number {
    this.msgs.push({ seq: this.msgs.length + 1, key, data });
    return this.msgs.length;
  }
  /** The direct get of the first message at or after seq, as nc.request answers it. */
  get(bucket: string, seq: number): unknown {
    const m = this.msgs.find((x) => x.seq >= seq);
    if (!m) return { headers: undefined, data: new Uint8Array() }; // 404: nothing newer
    const h: Record<string, string> = { 'Nats-Sequence': String(m.seq), 'Nats-Subject': `$KV.${bucket}.${m.key}`, 'KV-Operation': 'PUT' };
    return { headers: { get: (k: string) => h[k] ?? '' }, data: m.data };
  }
}

/** A watch: delivers the current values at start through its initializedFn, then nothing (its
 * consumer sat on the lost node); made again, it never answers (the new consumer placed there too). */
function stalledWatch(made: { count: number }) {
  return async (opts: { initializedFn?: () => void }) => {
    made.count++;
    if (made.count > 1) return new Promise<never>(() => undefined);
    queueMicrotask(() => opts.initializedFn?.());
    return { stop: () => undefined, async *[Symbol.asyncIterator]() { await new Promise<never>(() => undefined); } };
  };
}

describe('presence through a stalled presence watch (fake buckets, ManualClock)', () => {
  it('hears its own presence by sequence: sound view, the dead hub\'s member leaves within detection + TTL', async () => {
    const clock = new ManualClock();
    const ttlMs = 1_500;
    const refreshMs = ttlMs / 5;
    const hubs = new FakeStream();
    const made = { count: 0 };
    const heartbeat = (which: 'claims' | 'members') => ({
      put: async () => void (ctx.watchSeen[which] = clock.now()), // their watches deliver
      watch: async (o: { initializedFn?: () => void }) => {
        queueMicrotask(() => o.initializedFn?.());
        return { stop: () => undefined, async *[Symbol.asyncIterator]() { await new Promise<never>(() => undefined); } };
      },
      delete: async () => undefined,
    });
    const ctx = {
      o: { hubId: 'hub-b', clock, servers: [], network, psk: new Uint8Array(32), log: testLogger('nats hub-b') },
      log: testLogger('nats hub-b'),
      nc: { request: async (subject: string, data: Uint8Array) => hubs.get(subject.slice(`$JS.API.DIRECT.GET.KV_`.length), (JSON.parse(dec.decode(data)) as { seq: number }).seq) },
      prefix,
      hubsKv: { put: async (key: string, v: Uint8Array) => hubs.put(key, v), watch: stalledWatch(made) },
      claims: heartbeat('claims'),
      membersKv: heartbeat('members'),
      ttlMs, refreshMs, leaseMs: 1e12, startedMs: clock.now(),
      members: new Registry(network), map: new Registry(network), bindings: new BindingTable([]),
      connection: 'connected', closed: false,
      entries: new Map(), ownRev: new Map(), chains: new Map(), bindingRevs: new Map(),
      watchSeen: { hubs: clock.now(), claims: clock.now(), members: clock.now() },
      ownBeatHeardMs: clock.now(), lastAckedWriteMs: clock.now(),
      mapChanged: () => undefined, rehomed: () => undefined,
    } as unknown as NatsCtx;
    const presence = new NatsPresence(ctx);
    const feed = new NatsFeed(ctx, { hubs: (e: KvEntry) => presence.onHub(e), claims: () => undefined, members: () => undefined, services: () => undefined });
    await feed.start();

    // hub-a's member in the map, hub-a heard once (then dead: its presence stops).
    const kp = generateKeyPair();
    const id = keyId(kp.publicKey);
    const rec: MemberRecord = { publicKey: Buffer.from(kp.publicKey).toString('base64'), overlay: ipv4ToU32('10.9.0.5'), name: 'roamer', bootId: '7', reflexive: { address: '198.51.100.10', port: 40000 }, lan: [], home: 'hub-a' } as MemberRecord;
    ctx.entries.set(id, { rec, rev: 1 });
    presence.onHub({ key: hubKey('hub-a'), value: json({ members: 1, beat: 1 }), operation: 'PUT', revision: hubs.put(hubKey('hub-a'), enc.encode('{}')) } as unknown as KvEntry);
    expect(ctx.map.get(id)).toBeDefined();
    const died = clock.now();

    // The hub's refresh loop: presenceTick every refresh, promise continuations between steps.
    let goneAtMs: number | undefined;
    for (let t = 0; t < 30_000 && goneAtMs === undefined; t += refreshMs) {
      clock.advance(refreshMs);
      presenceTick(ctx, presence, feed);
      for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
      if (ctx.map.get(id) === undefined) goneAtMs = clock.now() - died;
    }
    expect(made.count, 'the stalled watch was made again (and hung)').toBeGreaterThan(1);
    expect(hubs.msgs.some((m) => m.key === hubKey('hub-b')), 'own presence written').toBe(true);
    // Detection (the stall judged after watchStallRefreshes refreshes, read by sequence at that
    // tick), the view sound within presenceSoundRefreshes refreshes, then the TTL, judged at a tick.
    const boundMs = (watchStallRefreshes + 1 + presenceSoundRefreshes) * refreshMs + ttlMs + refreshMs;
    expect(goneAtMs, `the dead hub's member left the map (bound ${boundMs} ms)`).toBeDefined();
    expect(goneAtMs!).toBeLessThanOrEqual(boundMs);
    expect(goneAtMs!).toBeGreaterThan(ttlMs);
  });
});
