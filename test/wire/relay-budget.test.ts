// RELAY_BUDGET (control type 64, wire/relay-budget.ts) and the REGISTER ext that asks for it (kind 2,
// wire/control.ts): golden bytes both ways, refusals, what older hubs and peers see, seeded fuzz.
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/util/errors.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { ControlType, decodeControl, encodeControl, REGISTER_CAP_ACL_DELTA, REGISTER_EXT_CAPS, REGISTER_EXT_RELAY_BUDGET, type ControlMessage } from '../../src/wire/control.js';
import { decodeRelayBudget, encodeRelayBudget, RELAY_BUDGET_BYTES, RELAY_BUDGET_TYPE, relayBudgetKbit, type RelayBudgetMessage } from '../../src/wire/relay-budget.js';
import { fuzzCodec } from '../helpers/fuzz.js';

const hex = (s: string) => fromHex(s.replace(/ /g, ''));

describe('RELAY_BUDGET', () => {
  it('pins the numbers both sides must agree on', () => {
    expect([RELAY_BUDGET_TYPE, RELAY_BUDGET_BYTES, REGISTER_EXT_RELAY_BUDGET, REGISTER_EXT_CAPS]).toEqual([64, 9, 2, 1]);
  });

  it.each<[string, RelayBudgetMessage, string]>([
    ['the default budget, 8 Mbit/s', { seq: 1, kbitPerSec: 8000 }, '40 01000000 401f0000'],
    ['50 Mbit/s (the bench)', { seq: 0x01020304, kbitPerSec: 50_000 }, '40 04030201 50c30000'],
    ['0: relayed without a budget', { seq: 7, kbitPerSec: 0 }, '40 07000000 00000000'],
  ])('%s', (_why, m, h) => {
    expect(toHex(encodeRelayBudget(m))).toBe(toHex(hex(h)));
    expect(decodeRelayBudget(hex(h))).toEqual(m);
  });

  it('a newer hub may say more: bytes after the budget are ignored', () => {
    expect(decodeRelayBudget(hex('40 01000000 401f0000 ff'))).toEqual({ seq: 1, kbitPerSec: 8000 });
  });

  it.each([
    ['short', '40 01000000 401f00'],
    ['another type', '38 01000000 401f0000'],
  ])('refuses %s', (_why, h) => {
    expect(() => decodeRelayBudget(hex(h))).toThrow(DecodeError);
  });

  it.each<[string, number, number]>([
    ['--relay-rate 50 (bytes/s of 50 Mbit/s)', 6_250_000, 50_000],
    ['the default 1 MB/s', 1_000_000, 8_000],
    ['a tiny budget still says something', 10, 1],
    ['no budget', 0, 0],
    ['uncapped in the bench (100,000 Mbit/s) fits', 12_500_000_000, 100_000_000],
  ])('kbit/s of %s', (_why, bytesPerSec, kbit) => {
    expect(relayBudgetKbit(bytesPerSec)).toBe(kbit);
  });

  it('fuzz: decodes or throws DecodeError; decode-encode-decode is a fixed point', () => {
    const ok = fuzzCodec({
      seed: 64,
      iterations: 2000,
      input: (rng) => {
        const d = rng.bytes(rng.int(12));
        if (d.byteLength > 0 && rng.chance(0.8)) d[0] = RELAY_BUDGET_TYPE;
        return d;
      },
      decode: decodeRelayBudget,
      encode: encodeRelayBudget,
      // Trailing bytes are ignored (a newer hub's): one message, several spellings.
      sameBytes: false,
    });
    expect(ok).toBeGreaterThan(300);
  });
});

describe('REGISTER ext kind 2: the peer asks for RELAY_BUDGET', () => {
  const base = { type: ControlType.REGISTER as const, seq: 2, overlay: 0, prefix: 0, name: 'pi', lan: [], bootId: 1n, flags: 0 };
  const baseHex = '3c 02000000 02 00000000 00 02 7069 00 0100000000000000 00';

  it.each<[string, ControlMessage, string]>([
    ['alone: kind 2, length 0', { ...base, relayBudget: true }, `${baseHex} 02 00`],
    ['after CAPS (kind 1)', { ...base, caps: REGISTER_CAP_ACL_DELTA, relayBudget: true }, `${baseHex} 01 01 01 02 00`],
    ['an older peer sends none', { ...base }, baseHex],
  ])('%s', (_why, m, h) => {
    expect(toHex(encodeControl(m))).toBe(toHex(hex(h)));
    expect(decodeControl(hex(h))).toEqual(m);
  });

  it('a value on kind 2 (a newer peer) and unknown kinds around it are skipped, the ask still read', () => {
    expect(decodeControl(hex(`${baseHex} 07 01 aa 02 02 bbcc 01 01 01`))).toEqual({ ...base, caps: REGISTER_CAP_ACL_DELTA, relayBudget: true });
  });

  it('a cut ext after kind 2 ends the list without losing it', () => {
    expect(decodeControl(hex(`${baseHex} 02 00 05 09 aa`))).toEqual({ ...base, relayBudget: true });
  });
});
