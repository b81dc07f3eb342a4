// Published ports as network-wide claims (hub/service-claims.ts): the value codec, and the
// compare-and-set decisions against an in-memory twin of the KV bucket.
import { describe, expect, it } from 'vitest';
import { KvServiceClaims, parseServiceClaim, serviceKey, type ClaimsKv } from '../../src/hub/service-claims.js';
import { testLogger } from '../fakes/logger.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** A KV twin with NATS's create and compare-and-set delete semantics (error 10071 on a lost race). */
class MemoryKv implements ClaimsKv {
  readonly data = new Map<string, { value: Uint8Array; revision: number }>();
  private rev = 0;
  /** A delete that takes a while to land (a NATS round trip). */
  slowDeleteMs = 0;
  async create(key: string, value: Uint8Array): Promise<number> {
    if (this.data.has(key)) throw Object.assign(new Error('wrong last sequence'), { api_error: { err_code: 10071 } });
    this.data.set(key, { value, revision: ++this.rev });
    return this.rev;
  }
  async get(key: string) {
    const e = this.data.get(key);
    return e ? { ...e, operation: 'PUT' } : null;
  }
  async delete(key: string, opts?: { previousSeq?: number }): Promise<void> {
    if (this.slowDeleteMs > 0) await new Promise((r) => setTimeout(r, this.slowDeleteMs));
    const e = this.data.get(key);
    if (opts?.previousSeq !== undefined && e?.revision !== opts.previousSeq) throw Object.assign(new Error('wrong last sequence'), { api_error: { err_code: 10071 } });
    this.data.delete(key);
  }
}

describe('parseServiceClaim', () => {
  it.each<[string, string, unknown, ReturnType<typeof parseServiceClaim>]>([
    ['a claim', 'svc.8080', { owner: A, name: 'web' }, { port: 8080, owner: A, name: 'web' }],
    ['port 0', 'svc.0', { owner: A, name: 'web' }, undefined],
    ['port past 65535', 'svc.70000', { owner: A, name: 'web' }, undefined],
    ['not a port', 'svc.x', { owner: A, name: 'web' }, undefined],
    ['owner not a key id', 'svc.8080', { owner: 'zz', name: 'web' }, undefined],
    ['name not a string', 'svc.8080', { owner: A, name: 3 }, undefined],
    ['another key', 'key.8080', { owner: A, name: 'web' }, undefined],
  ])('%s', (_why, key, value, want) => {
    expect(parseServiceClaim(key, enc(value))).toEqual(want);
  });
  it('unreadable JSON is no claim', () => {
    expect(parseServiceClaim('svc.8080', new TextEncoder().encode('{'))).toBeUndefined();
  });
});

describe('KvServiceClaims.claim', () => {
  const setup = () => {
    const kv = new MemoryKv();
    return { kv, claims: new KvServiceClaims(kv, () => true, testLogger('claims')) };
  };
  it('the first member takes a port; another is refused with the holder; the holder again is fine', async () => {
    const { claims } = setup();
    expect(await claims.claim({ port: 8080, owner: A, name: 'web' }, () => false)).toBe(true);
    expect(await claims.claim({ port: 8080, owner: B, name: 'other' }, () => false)).toEqual({ holder: A, name: 'web' });
    expect(await claims.claim({ port: 8080, owner: A, name: 'web' }, () => false)).toBe(true);
  });
  it('a holder gone from the network is taken over', async () => {
    const { kv, claims } = setup();
    await claims.claim({ port: 8080, owner: A, name: 'web' }, () => false);
    expect(await claims.claim({ port: 8080, owner: B, name: 'other' }, (h) => h === A)).toBe(true);
    expect(parseServiceClaim(serviceKey(8080), kv.data.get(serviceKey(8080))!.value)?.owner).toBe(B);
    expect(claims.counters.takenOver).toBe(1);
  });
  it('the same member renaming the service on its port keeps the port', async () => {
    const { kv, claims } = setup();
    await claims.claim({ port: 8080, owner: A, name: 'web' }, () => false);
    expect(await claims.claim({ port: 8080, owner: A, name: 'www' }, () => false)).toBe(true);
    expect(parseServiceClaim(serviceKey(8080), kv.data.get(serviceKey(8080))!.value)?.name).toBe('www');
  });
  it('cut from the shared state: rejected, not risked', async () => {
    const claims = new KvServiceClaims(new MemoryKv(), () => false, testLogger('claims'));
    await expect(claims.claim({ port: 8080, owner: A, name: 'web' }, () => false)).rejects.toThrow(/NATS connection is down/);
  });
  it('a release then a claim of the same port by the same member (a restart) leaves it claimed', async () => {
    const { kv, claims } = setup();
    await claims.claim({ port: 8080, owner: A, name: 'web' }, () => false);
    kv.slowDeleteMs = 20;
    claims.release(8080, A);
    expect(await claims.claim({ port: 8080, owner: A, name: 'web' }, () => false)).toBe(true);
    await new Promise((r) => setTimeout(r, 40)); // anything still on its way has landed
    expect(kv.data.has(serviceKey(8080))).toBe(true);
  });
  it('release frees only the holder\'s claim', async () => {
    const { kv, claims } = setup();
    await claims.claim({ port: 8080, owner: A, name: 'web' }, () => false);
    claims.release(8080, B);
    await new Promise((r) => setTimeout(r, 5));
    expect(kv.data.has(serviceKey(8080))).toBe(true);
    claims.release(8080, A);
    await new Promise((r) => setTimeout(r, 5));
    expect(kv.data.has(serviceKey(8080))).toBe(false);
  });
});
