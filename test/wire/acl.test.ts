// Golden bytes, hostile inputs and fuzz for wire/acl.ts (ACL_POLICY, control type 40).
import { describe, expect, it } from 'vitest';
import { REGISTER_FLAG_ACL } from '../../src/wire/control.js';
import {
  ACL_POLICY_TYPE, AclAction, aclActionName, AclMode, aclPolicyBytes, decodeAclPolicy, decodeRevoked, encodeAclPolicy, encodeRevoked, REVOKED_TYPE, type AclPolicyMessage,
} from '../../src/wire/acl.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';
import { fuzzCodec, withTypeHeader } from '../helpers/fuzz.js';

const golden: Array<[string, AclPolicyMessage, string]> = [
  ['OPEN, no rules (no policy on the hub)', { seq: 3, version: 1, mode: AclMode.OPEN, rules: [] }, '28 03000000 01000000 00 0000'],
  [
    'ENFORCE: rule 0 allow tcp/80 from anyone; rule 1 deny udp from 10.9.0.2',
    {
      seq: 1, version: 7, mode: AclMode.ENFORCE,
      rules: [
        { rule: 0, action: AclAction.ALLOW, proto: 6, portLo: 80, portHi: 80, sources: undefined },
        { rule: 1, action: AclAction.DENY, proto: 17, portLo: 0, portHi: 65535, sources: [0x0a090002] },
      ],
    },
    '28 01000000 07000000 01 0200  0000 01 06 5000 5000 ffff  0100 02 11 0000 ffff 0100 0a090002',
  ],
  [
    'ENFORCE with an empty source list (a rule whose members are all absent: matches nobody)',
    { seq: 2, version: 8, mode: AclMode.ENFORCE, rules: [{ rule: 4, action: AclAction.ALLOW, proto: 0, portLo: 0, portHi: 65535, sources: [] }] },
    '28 02000000 08000000 01 0100  0400 01 00 0000 ffff 0000',
  ],
];

describe('wire/acl ACL_POLICY', () => {
  it.each(golden)('%s', (_why, msg, hex) => {
    const h = hex.replace(/\s+/g, '');
    expect(toHex(encodeAclPolicy(msg))).toBe(h);
    expect(decodeAclPolicy(fromHex(h))).toEqual(msg);
    expect(aclPolicyBytes(msg)).toBe(h.length / 2);
  });

  it.each([
    ['empty', ''],
    ['truncated header', '28 01000000 07000000 01'],
    ['another control type', '04 01000000 07000000 01 0000'],
    ['unknown mode', '28 01000000 07000000 02 0000'],
    ['rule count past the end', '28 01000000 07000000 01 0100'],
    ['truncated rule', '28 01000000 07000000 01 0100 0000 01 06 5000'],
    ['unknown action', '28 01000000 07000000 01 0100 0000 03 06 5000 5000 ffff'],
    ['unknown protocol', '28 01000000 07000000 01 0100 0000 01 02 5000 5000 ffff'],
    ['ports reversed', '28 01000000 07000000 01 0100 0000 01 06 5100 5000 ffff'],
    ['sources past the end', '28 01000000 07000000 01 0100 0000 01 06 5000 5000 0200 0a090002'],
    ['trailing bytes', '28 03000000 01000000 00 0000 00'],
  ])('rejects %s with DecodeError', (_why, hex) => {
    expect(() => decodeAclPolicy(fromHex(hex.replace(/\s+/g, '')))).toThrow(DecodeError);
  });

  it('pins the type, the REGISTER flag and the action names', () => {
    expect(ACL_POLICY_TYPE).toBe(40);
    expect(REGISTER_FLAG_ACL).toBe(0x08);
    expect(aclActionName).toEqual({ 1: 'allow', 2: 'deny' });
  });

  it('fuzz: decode succeeds or throws DecodeError; decode-encode is a fixed point', () => {
    const ok = fuzzCodec({
      seed: 40,
      iterations: 4000,
      input: (rng) => {
        if (rng.chance(0.8)) {
          // Mostly well-formed: count rules of any source, sometimes a byte short or long.
          const count = rng.int(3);
          const d = rng.bytes(12 + 10 * count + (rng.chance(0.2) ? rng.int(3) - 1 : 0));
          if (d.byteLength < 12) return d;
          d[0] = ACL_POLICY_TYPE;
          d[9] = rng.int(2);
          d[10] = count;
          d[11] = 0;
          for (let o = 12; o + 10 <= d.byteLength; o += 10) {
            d[o + 2] = 1 + rng.int(2);
            d[o + 3] = [0, 1, 6, 17][rng.int(4)]!;
            d[o + 4] = d[o + 5] = 0;
            d[o + 8] = d[o + 9] = rng.chance(0.9) ? 0xff : 0;
          }
          return d;
        }
        const d = rng.bytes(rng.int(60));
        withTypeHeader(rng, d, ACL_POLICY_TYPE);
        return d;
      },
      decode: decodeAclPolicy,
      encode: encodeAclPolicy,
    });
    expect(ok).toBeGreaterThan(100);
  });
});

describe('wire/acl REVOKED', () => {
  const k1 = new Uint8Array(32).fill(0xab);
  it.each([
    ['no keys', { seq: 1, keys: [] }, '29 01000000 0000'],
    ['one key', { seq: 2, keys: [k1] }, `29 02000000 0100 ${'ab'.repeat(32)}`],
  ])('%s', (_why, msg, hex) => {
    const h = hex.replace(/\s+/g, '');
    expect(toHex(encodeRevoked(msg))).toBe(h);
    expect(decodeRevoked(fromHex(h))).toEqual(msg);
  });

  it.each([
    ['truncated header', '29 01000000 00'],
    ['another type', '28 01000000 0000'],
    ['a key cut short', `29 01000000 0100 ${'ab'.repeat(31)}`],
    ['more keys than a message may carry', `29 01000000 2100`],
    ['trailing bytes', '29 01000000 0000 00'],
  ])('rejects %s with DecodeError', (_why, hex) => {
    expect(() => decodeRevoked(fromHex(hex.replace(/\s+/g, '')))).toThrow(DecodeError);
  });

  it('pins the type and fuzzes', () => {
    expect(REVOKED_TYPE).toBe(41);
    const ok = fuzzCodec({
      seed: 41,
      iterations: 2000,
      input: (rng) => {
        const n = rng.int(3);
        const d = rng.bytes(rng.chance(0.8) ? 7 + 32 * n : rng.int(80));
        if (d.byteLength >= 7 && rng.chance(0.8)) {
          d[0] = REVOKED_TYPE;
          d[5] = n;
          d[6] = 0;
        }
        return d;
      },
      decode: decodeRevoked,
      encode: encodeRevoked,
    });
    expect(ok).toBeGreaterThan(100);
  });
});
