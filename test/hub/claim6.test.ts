// hub/claim6.ts: which overlay IPv6 address a registering key gets (rows say why).
import { describe, expect, it } from 'vitest';
import { claim6, network6Of, registerOverlay6, twinOf } from '../../src/hub/claim6.js';
import { RefusalReason } from '../../src/wire/control.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';

const net = network6Of({ address: 'fd00:1:2:3::', prefixLength: 64 });
const A = ipv4ToU32('10.9.0.2');
const held = new Map([['fd00:1:2:3:1::b', { id: 'bob' }], ['fd00:1:2:3::a09:7', { id: 'squatter' }]]);
const byOverlay6 = (a: string) => held.get(a);

describe('claim6', () => {
  it('the twin puts the v4 address in the last 32 bits', () => {
    expect(twinOf(net, A)).toBe('fd00:1:2:3::a09:2');
  });

  it.each([
    ['no request: the twin of its v4 address', 'alice', undefined, undefined, { ok: true, overlay6: 'fd00:1:2:3::a09:2' }],
    ['its own twin asked for explicitly, spelled any way', 'alice', 'FD00:1:2:3:0:0:a09:2', 64, { ok: true, overlay6: 'fd00:1:2:3::a09:2' }],
    ['a free address outside the twins', 'alice', 'fd00:1:2:3:1::a', 64, { ok: true, overlay6: 'fd00:1:2:3:1::a' }],
    ['the address it already holds', 'bob', 'fd00:1:2:3:1::b', 64, { ok: true, overlay6: 'fd00:1:2:3:1::b' }],
    ["another live member's address", 'alice', 'fd00:1:2:3:1::b', 64, { ok: false, reason: RefusalReason.ADDRESS_IN_USE }],
    ["the twin of another v4 address (another key's)", 'alice', 'fd00:1:2:3::a09:3', 64, { ok: false, reason: RefusalReason.ADDRESS_IN_USE }],
    ['outside the /64', 'alice', 'fd00:1:2:4::1', 64, { ok: false, reason: RefusalReason.OUTSIDE_NETWORK }],
    ['another prefix length', 'alice', 'fd00:1:2:3:1::a', 48, { ok: false, reason: RefusalReason.OUTSIDE_NETWORK }],
    ['the network address itself', 'alice', 'fd00:1:2:3::', 64, { ok: false, reason: RefusalReason.OUTSIDE_NETWORK }],
    ['not an address', 'alice', 'fd00::zz', 64, { ok: false, reason: RefusalReason.OUTSIDE_NETWORK }],
  ])('%s', (_why, id, overlay6, prefix6, want) => {
    const req = { id, ...(overlay6 !== undefined ? { overlay6, prefix6 } : {}) };
    expect(claim6(req, A, net, byOverlay6)).toMatchObject(want);
  });

  it('a twin squatted by an explicit claim (not possible through claim6) is still refused, not shared', () => {
    expect(claim6({ id: 'alice' }, ipv4ToU32('10.9.0.7'), net, byOverlay6)).toMatchObject({ ok: false, reason: RefusalReason.ADDRESS_IN_USE });
  });

  it.each([
    ['hub without --network6', undefined, { overlay6: '::', prefix6: 0 }, undefined],
    ['peer without flag 0x10', net, {}, undefined],
    ['"::" asks for the twin', net, { overlay6: '::', prefix6: 0 }, { ok: true, overlay6: 'fd00:1:2:3::a09:2' }],
  ] as const)('registerOverlay6: %s', (_why, n, msg, want) => {
    expect(registerOverlay6(msg, 'alice', A, n, { byOverlay6 })).toEqual(want);
  });
});
