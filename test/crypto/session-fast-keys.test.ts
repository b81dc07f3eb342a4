// TransportSession.fastSendKey / fastRecvKey: what the native fast path may hold of a key, and for how
// long (never past a rekey the link must start, nor past the key's expiry).
import { describe, expect, it } from 'vitest';
import { REJECT_AFTER_TIME_MS, REKEY_AFTER_TIME_MS, REKEY_ON_RECEIVE_AFTER_MS } from '../../src/crypto/constants.js';
import { sessionPair } from './session-pair.js';

describe('TransportSession fast-path keys', () => {
  it.each<[string, 'a' | 'b', number, number | undefined]>([
    ['initiator, fresh: until the rekey-on-receive age', 'a', 0, REKEY_ON_RECEIVE_AFTER_MS],
    ['initiator, 100 s old', 'a', 100_000, REKEY_ON_RECEIVE_AFTER_MS - 100_000],
    ['initiator, at the rekey-on-receive age: none', 'a', REKEY_ON_RECEIVE_AFTER_MS, undefined],
    ['responder, fresh: until expiry', 'b', 0, REJECT_AFTER_TIME_MS],
    ['responder, expired: none', 'b', REJECT_AFTER_TIME_MS, undefined],
  ])('fastRecvKey: %s', (_why, side, age, validMs) => {
    const s = sessionPair()[side];
    const k = s.fastRecvKey(age);
    expect(k?.validMs).toBe(validMs);
    if (k) {
      expect(k.localIndex).toBe(s.localIndex);
      expect(k.replay.byteLength).toBe(1032);
    }
  });

  it('fastSendKey: the initiator until its rekey time, the responder until expiry', () => {
    const { a, b } = sessionPair();
    expect(a.fastSendKey(0)?.validMs).toBe(Math.min(REKEY_AFTER_TIME_MS, REJECT_AFTER_TIME_MS));
    expect(b.fastSendKey(0)?.validMs).toBe(REJECT_AFTER_TIME_MS);
    expect(a.fastSendKey(REKEY_AFTER_TIME_MS)).toBeUndefined();
  });

  it('the replay state fastRecvKey shares is the window open() keeps', () => {
    const { a, b } = sessionPair();
    const replay = new DataView(b.fastRecvKey(0)!.replay.buffer);
    expect(replay.getFloat64(0, true)).toBe(-1);
    for (let i = 0; i < 3; i++) expect(b.open(a.seal(new Uint8Array([i]), 0)!, 0)).toBeDefined();
    expect(replay.getFloat64(0, true)).toBe(2);
    expect(replay.getUint32(8, true)).toBe(0b111);
  });
});
