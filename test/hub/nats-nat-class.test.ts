// A member's NAT class crosses the shared state (hub/nats-state.ts MemberRecord.nat): another hub's
// map entry carries it, so that hub's PUNCH tells its member which technique to use (found by
// test/e2e/cluster-mesh.test.ts: an EIM peer on hub 1 and a random-port EDM peer on hub 2 never tried
// the birthday technique and stayed relayed). Pure record form, then one real NATS node.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { keyId } from '../../src/link/key-id.js';
import { natOfRecord, natRecordOf } from '../../src/hub/nats-state.js';
import { systemClock } from '../../src/util/clock.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import type { NatClass } from '../../src/wire/nat-class.js';
import { natsSkipReason } from '../helpers/nats.js';
import { natsPairs, until } from '../helpers/nats-pair.js';

const random: NatClass = { mapping: 'edm', filtering: 'address-port', allocation: 'random', delta: 0, portMap: [] };
const eim: NatClass = { mapping: 'eim', filtering: 'address-port', allocation: 'preserved', delta: 0, portMap: ['pcp'] };

describe('the NAT class in a member record', () => {
  it.each([
    ['random-port EDM', random, '020203000000'],
    ['EIM with PCP', eim, '010201000004'],
  ])('%s: golden hex, read back', (_why, c, hex) => {
    expect(natRecordOf(c)).toBe(hex);
    expect(natOfRecord(hex)).toEqual(c);
  });
  it.each([
    ['absent (a hub of an older version wrote it)', undefined],
    ['not a string', 7],
    ['too short', '0202'],
    ['not hex', '02020300000z'],
    ['upper-case or too long', '0202030000000000'],
  ])('left out when %s', (_why, v) => {
    expect(natOfRecord(v)).toBeUndefined();
  });
});

const skip = natsSkipReason();

describe.skipIf(skip !== undefined)('the NAT class through NATS', () => {
  const nats = natsPairs();

  it("reaches the other hub's map entry, and a change of class follows", async () => {
    const [a, b] = await nats.pair();
    const kp = generateKeyPair();
    const id = keyId(kp.publicKey);
    const m = a.members.upsert({ publicKey: kp.publicKey, id, overlay: ipv4ToU32('10.9.0.9'), name: 'x', bootId: 1n, reflexive: { address: '198.51.100.10', port: 40000 }, lan: [] }, systemClock.now()).member;
    m.nat = random;
    a.memberChanged(m, false);
    await until(() => b.map.get(id)?.nat !== undefined);
    expect(b.map.get(id)?.nat).toEqual(random);
    m.nat = eim;
    a.memberChanged(m, false);
    await until(() => b.map.get(id)?.nat?.mapping === 'eim');
    expect(b.map.get(id)?.nat).toEqual(eim);
  }, 30_000);
});
