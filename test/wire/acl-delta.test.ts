// Golden bytes, hostile inputs, the part splitter and fuzz for wire/acl-delta.ts (ACL_POLICY_DELTA,
// control type 62), and REGISTER's CAPS ext (wire/control.ts) that tells the hub a peer takes it.
import { describe, expect, it } from 'vitest';
import {
  ACL_DELTA_MAX_PART_BYTES, ACL_DELTA_TYPE, aclDeltaBytes, AclOpKind, aclOpName, decodeAclDelta, encodeAclDelta, splitAclDelta, type AclDeltaMessage,
} from '../../src/wire/acl-delta.js';
import { AclAction, AclMode } from '../../src/wire/acl.js';
import { ControlType, decodeControl, encodeControl, REGISTER_CAP_ACL_DELTA, REGISTER_EXT_CAPS, type ControlMessage } from '../../src/wire/control.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';
import { fuzzCodec, withTypeHeader } from '../helpers/fuzz.js';

const golden: Array<[string, AclDeltaMessage, string]> = [
  [
    'a whole policy (base 0) in one part: rule 0 allow tcp/443 from anyone, rule 1 allow all from 10.9.0.2',
    {
      seq: 1, base: 0, version: 7, mode: AclMode.ENFORCE, part: 0, parts: 1, nrules: 2,
      ops: [
        { op: AclOpKind.DEFINE, index: 0, rule: 3, action: AclAction.ALLOW, proto: 6, portLo: 443, portHi: 443, any: true },
        { op: AclOpKind.DEFINE, index: 1, rule: 4, action: AclAction.ALLOW, proto: 0, portLo: 0, portHi: 65535, any: false },
        { op: AclOpKind.ADD, index: 1, sources: [0x0a090002] },
      ],
    },
    '3e 01000000 00000000 07000000 01 00 01 0200 0300  0000 01 0300 01 06 bb01 bb01 01  0100 01 0400 01 00 0000 ffff 00  0100 02 0100 0a090002',
  ],
  [
    'a delta from version 7: part 1 of 2 removes 10.9.0.2 from rule 1 and adds 10.9.0.5',
    {
      seq: 9, base: 7, version: 8, mode: AclMode.ENFORCE, part: 1, parts: 2, nrules: 2,
      ops: [
        { op: AclOpKind.REMOVE, index: 1, sources: [0x0a090002] },
        { op: AclOpKind.ADD, index: 1, sources: [0x0a090005] },
      ],
    },
    '3e 09000000 07000000 08000000 01 01 02 0200 0200  0100 03 0100 0a090002  0100 02 0100 0a090005',
  ],
  ['OPEN, no rules, one empty part', { seq: 2, base: 0, version: 3, mode: AclMode.OPEN, part: 0, parts: 1, nrules: 0, ops: [] }, '3e 02000000 00000000 03000000 00 00 01 0000 0000'],
];

describe('wire/acl-delta ACL_POLICY_DELTA', () => {
  it.each(golden)('%s', (_why, msg, hex) => {
    const h = hex.replace(/\s+/g, '');
    expect(toHex(encodeAclDelta(msg))).toBe(h);
    expect(decodeAclDelta(fromHex(h))).toEqual(msg);
    expect(aclDeltaBytes(msg)).toBe(h.length / 2);
  });

  it.each([
    ['empty', ''],
    ['truncated header', '3e 01000000 00000000 07000000 01 00 01 0200'],
    ['another control type', '28 01000000 00000000 07000000 01 00 01 0000 0000'],
    ['unknown mode', '3e 01000000 00000000 07000000 02 00 01 0000 0000'],
    ['zero parts', '3e 01000000 00000000 07000000 01 00 00 0000 0000'],
    ['part past the parts', '3e 01000000 00000000 07000000 01 02 02 0000 0000'],
    ['more parts than a peer collects', '3e 01000000 00000000 07000000 01 00 31 0000 0000'],
    ['entry count past the end', '3e 01000000 00000000 07000000 01 00 01 0100 0100'],
    ['index past nrules', '3e 01000000 00000000 07000000 01 00 01 0100 0100 0100 02 0000'],
    ['unknown op', '3e 01000000 00000000 07000000 01 00 01 0100 0100 0000 04 0000'],
    ['unknown action', '3e 01000000 00000000 07000000 01 00 01 0100 0100 0000 01 0000 03 06 5000 5000 00'],
    ['unknown protocol', '3e 01000000 00000000 07000000 01 00 01 0100 0100 0000 01 0000 01 02 5000 5000 00'],
    ['ports reversed', '3e 01000000 00000000 07000000 01 00 01 0100 0100 0000 01 0000 01 06 5100 5000 00'],
    ['any neither 0 nor 1', '3e 01000000 00000000 07000000 01 00 01 0100 0100 0000 01 0000 01 06 5000 5000 02'],
    ['sources past the end', '3e 01000000 00000000 07000000 01 00 01 0100 0100 0000 02 0200 0a090002'],
    ['trailing bytes', '3e 02000000 00000000 03000000 00 00 01 0000 0000 00'],
  ])('rejects %s with DecodeError', (_why, hex) => {
    expect(() => decodeAclDelta(fromHex(hex.replace(/\s+/g, '')))).toThrow(DecodeError);
  });

  it('pins the type and the op names', () => {
    expect(ACL_DELTA_TYPE).toBe(62);
    expect(aclOpName).toEqual({ 1: 'define', 2: 'add', 3: 'remove' });
  });

  it('splits 700 sources into parts of at most one datagram that carry every source once, in order', () => {
    const sources = Array.from({ length: 700 }, (_, i) => 0x0a090000 + i);
    const parts = splitAclDelta({ base: 0, version: 5, mode: AclMode.ENFORCE, nrules: 1 }, [
      { op: AclOpKind.DEFINE, index: 0, rule: 1, action: AclAction.ALLOW, proto: 0, portLo: 0, portHi: 65535, any: false },
      { op: AclOpKind.ADD, index: 0, sources },
    ]);
    expect(parts).toHaveLength(3);
    parts.forEach((p, i) => {
      expect([p.part, p.parts, p.version]).toEqual([i, 3, 5]);
      expect(encodeAclDelta(p).byteLength).toBeLessThanOrEqual(ACL_DELTA_MAX_PART_BYTES);
    });
    expect(parts.flatMap((p) => p.ops.flatMap((o) => ('sources' in o ? o.sources : [])))).toEqual(sources);
    expect(splitAclDelta({ base: 4, version: 5, mode: AclMode.OPEN, nrules: 0 }, [])).toEqual([{ seq: 0, base: 4, version: 5, mode: AclMode.OPEN, part: 0, parts: 1, nrules: 0, ops: [] }]);
  });

  it('fuzz: decode succeeds or throws DecodeError; decode-encode is a fixed point', () => {
    const ok = fuzzCodec({
      seed: 62,
      iterations: 4000,
      input: (rng) => {
        if (rng.chance(0.8)) {
          // Mostly well-formed headers with list entries (ADD/REMOVE of one source), sometimes cut.
          const count = rng.int(3);
          const d = rng.bytes(20 + 9 * count + (rng.chance(0.2) ? rng.int(3) - 1 : 0));
          if (d.byteLength < 20) return d;
          d[0] = ACL_DELTA_TYPE;
          d[13] = rng.int(2);
          d[15] = 1 + rng.int(3);
          d[14] = rng.int(d[15]!);
          d[16] = 1 + rng.int(3);
          d[17] = 0;
          d[18] = count;
          d[19] = 0;
          for (let o = 20; o + 9 <= d.byteLength; o += 9) {
            d[o] = rng.int(d[16]!);
            d[o + 1] = 0;
            d[o + 2] = 2 + rng.int(2);
            d[o + 3] = 1;
            d[o + 4] = 0;
          }
          return d;
        }
        const d = rng.bytes(rng.int(60));
        withTypeHeader(rng, d, ACL_DELTA_TYPE);
        return d;
      },
      decode: decodeAclDelta,
      encode: encodeAclDelta,
    });
    expect(ok).toBeGreaterThan(100);
  });
});

describe('REGISTER CAPS ext (how the hub knows a peer takes ACL_POLICY_DELTA)', () => {
  const reg: ControlMessage = { type: ControlType.REGISTER, seq: 1, overlay: 0x0a090002, prefix: 24, name: 'a', lan: [], bootId: 5n, flags: 0x08, caps: REGISTER_CAP_ACL_DELTA };
  const hex = toHex(encodeControl(reg));

  it('is kind 1, length 1, the bits, after the known fields; decoded back', () => {
    expect(REGISTER_EXT_CAPS).toBe(1);
    expect(REGISTER_CAP_ACL_DELTA).toBe(1);
    expect(hex.endsWith('08' + '010101')).toBe(true);
    expect(decodeControl(fromHex(hex))).toMatchObject({ flags: 0x08, caps: 1 });
  });

  it.each([
    ['an older peer (no ext): no caps', hex.slice(0, -6), undefined],
    ['an unknown ext kind before CAPS is skipped', `${hex.slice(0, -6)}0702abcd010101`, 1],
    ['a cut ext ends the list', `${hex.slice(0, -6)}010501`, undefined],
  ])('%s', (_why, h, caps) => {
    const m = decodeControl(fromHex(h));
    expect(m.type === ControlType.REGISTER ? m.caps : 'not a register').toBe(caps);
  });
});
