// hub/bindings.ts: the claim decision (address and name for a key), name rules, host-name numbering,
// leases and release selectors, as tables whose rows say why.
import { describe, expect, it } from 'vitest';
import {
  BindingTable, claim, dayMs, firstFreeAddress, fromHint, hintCandidate, leaseExpired, matchRelease, nameProblem, printableName, type Binding,
} from '../../src/hub/bindings.js';
import { parseNetwork } from '../../src/hub/registry.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { RefusalReason } from '../../src/wire/control.js';

const net = parseNetwork('10.9.0.0/24');
const b = (id: string, overlay: string, name: string, pinned = false): Binding => ({ id, overlay: ipv4ToU32(overlay), name, lastSeenMs: 0, pinned });
const table = new BindingTable([b('pa', '10.9.0.2', 'pa'), b('pb', '10.9.0.3', 'pb'), b('h1', '10.9.0.4', 'pi'), b('h2', '10.9.0.5', 'pi-2'), b('lst', '10.9.0.9', 'listed', true)]);
const holders = { byOverlay: (o: number) => table.byOverlay(o), byName: (n: string) => table.byName(n), own: (id: string) => table.get(id) };

type Row = [string, { id: string; overlay: string; name: string; hint?: boolean; prefix?: number }, { overlay: string; name: string } | RefusalReason];

describe('claim', () => {
  it.each<Row>([
    ['a new key, free address and name: first come', { id: 'new', overlay: '10.9.0.7', name: 'x' }, { overlay: '10.9.0.7', name: 'x' }],
    ["a new key on an expired member's bound address (H1)", { id: 'evil', overlay: '10.9.0.3', name: 'x' }, RefusalReason.ADDRESS_IN_USE],
    ["a new key with an expired member's bound name (H1)", { id: 'evil', overlay: '10.9.0.7', name: 'pb' }, RefusalReason.NAME_TAKEN],
    ['the owner coming back after a restart', { id: 'pb', overlay: '10.9.0.3', name: 'pb' }, { overlay: '10.9.0.3', name: 'pb' }],
    ['the owner moving to a free address (its old one is freed)', { id: 'pb', overlay: '10.9.0.8', name: 'pb' }, { overlay: '10.9.0.8', name: 'pb' }],
    ['a listed address, another key', { id: 'evil', overlay: '10.9.0.9', name: 'x' }, RefusalReason.ADDRESS_IN_USE],
    ['a listed key asking for another address', { id: 'lst', overlay: '10.9.0.7', name: 'listed' }, RefusalReason.ADDRESS_IN_USE],
    ['a listed key with a host-name hint gets its listed name', { id: 'lst', overlay: '10.9.0.9', name: 'pi', hint: true }, { overlay: '10.9.0.9', name: 'listed' }],
    ['a listed key with another explicit name', { id: 'lst', overlay: '10.9.0.9', name: 'other' }, RefusalReason.NAME_TAKEN],
    ['overlay 0: the lowest free address', { id: 'new', overlay: '0.0.0.0', name: 'x', prefix: 0 }, { overlay: '10.9.0.1', name: 'x' }],
    ['overlay 0 for a known key: its bound address', { id: 'pb', overlay: '0.0.0.0', name: 'pb', prefix: 0 }, { overlay: '10.9.0.3', name: 'pb' }],
    ['hint taken twice: the next number', { id: 'h3', overlay: '10.9.0.6', name: 'pi', hint: true }, { overlay: '10.9.0.6', name: 'pi-3' }],
    ['hint: a key keeps the numbered name it had', { id: 'h2', overlay: '10.9.0.5', name: 'pi', hint: true }, { overlay: '10.9.0.5', name: 'pi-2' }],
    ['hint free: the host name itself', { id: 'new', overlay: '10.9.0.7', name: 'laptop', hint: true }, { overlay: '10.9.0.7', name: 'laptop' }],
    ['a hint that is not a valid name becomes "peer"', { id: 'new', overlay: '10.9.0.7', name: '10.9.0.3', hint: true }, { overlay: '10.9.0.7', name: 'peer' }],
    ['an explicit name that parses as an address', { id: 'new', overlay: '10.9.0.7', name: '10.9.0.3' }, RefusalReason.BAD_REQUEST],
    ['an explicit name with a bidi override', { id: 'new', overlay: '10.9.0.7', name: 'a\u202eb' }, RefusalReason.BAD_REQUEST],
    ['an explicit name with a terminal escape', { id: 'new', overlay: '10.9.0.7', name: 'a\u001b[2Jb' }, RefusalReason.BAD_REQUEST],
    ['no name never conflicts', { id: 'new', overlay: '10.9.0.7', name: '' }, { overlay: '10.9.0.7', name: '' }],
    ['outside the network', { id: 'new', overlay: '10.8.0.7', name: 'x' }, RefusalReason.OUTSIDE_NETWORK],
    ['a prefix that disagrees', { id: 'new', overlay: '10.9.0.7', name: 'x', prefix: 16 }, RefusalReason.OUTSIDE_NETWORK],
  ])('%s', (_why, r, want) => {
    const got = claim({ id: r.id, overlay: ipv4ToU32(r.overlay), prefix: r.prefix ?? 24, name: r.name, nameIsHint: r.hint ?? false }, net, holders);
    if (typeof want === 'number') expect(got).toMatchObject({ ok: false, reason: want });
    else expect(got).toEqual({ ok: true, overlay: ipv4ToU32(want.overlay), name: want.name });
  });

  it('refuses overlay 0 when every address is bound', () => {
    const small = parseNetwork('10.9.0.0/30');
    const full = { byOverlay: () => ({ id: 'x' }), byName: () => undefined, own: () => undefined };
    expect(claim({ id: 'n', overlay: 0, prefix: 0, name: '', nameIsHint: false }, small, full)).toMatchObject({ ok: false, reason: RefusalReason.ADDRESS_IN_USE });
  });
});

describe('names', () => {
  it.each([
    ['a plain host name', 'raspberrypi', undefined],
    ['unicode letters are fine', 'café', undefined],
    ['64 bytes is too long', 'a'.repeat(64), 'longer than 63 bytes'],
    ['an IPv4 address', '10.9.0.3', 'looks like an IPv4 address'],
    ['white space', 'a b', 'holds white space'],
    ['a NUL', 'a\u0000', 'holds control or bidi characters'],
    ['a right-to-left override', '\u202egnp.exe', 'holds control or bidi characters'],
    ['a zero-width space', 'p\u200bb', 'holds control or bidi characters'],
  ])('%s', (_why, name, want) => {
    expect(nameProblem(name)).toBe(want);
  });
  it('prints unsafe characters as ?', () => {
    expect(printableName('a\u001b[31mb\u202ec')).toBe('a?[31mb?c');
  });
  it.each([
    ['first is the host name', 'pi', 1, 'pi'],
    ['then numbered', 'pi', 3, 'pi-3'],
    ['a long host name is cut to fit the suffix', 'a'.repeat(63), 2, `${'a'.repeat(61)}-2`],
  ])('hint candidate: %s', (_why, hint, n, want) => {
    expect(hintCandidate(hint, n)).toBe(want);
  });
  it.each([
    ['the hint itself', 'pi', 'pi', true],
    ['a numbered form', 'pi-7', 'pi', true],
    ['another host', 'pc-2', 'pi', false],
    ['-1 is not a form', 'pi-1', 'pi', false],
    ['a host whose name ends in a number', 'pi-2', 'pi-2', true],
  ])('fromHint: %s', (_why, name, hint, want) => {
    expect(fromHint(name, hint)).toBe(want);
  });
});

describe('leases and release', () => {
  it.each([
    ['seen a day ago, 30-day lease', 1, false, false],
    ['unseen 31 days', 31, false, true],
    ['pinned by the allow-list never expires', 400, true, false],
  ])('%s', (_why, days, pinned, want) => {
    expect(leaseExpired({ ...b('k', '10.9.0.2', 'k', pinned), lastSeenMs: 0 }, days * dayMs, 30 * dayMs)).toBe(want);
  });
  const all = table.all();
  const keyIdOf = (s: string) => (s === 'KEY-OF-PB' ? 'pb' : undefined);
  it.each([
    ['an address', '10.9.0.3', ['pb']],
    ['a name', 'pi-2', ['h2']],
    ['a key', 'KEY-OF-PB', ['pb']],
    ['nothing', 'nobody', []],
  ])('release by %s', (_why, sel, want) => {
    expect(matchRelease(all, sel, keyIdOf).map((x) => x.id)).toEqual(want);
  });
  it('firstFreeAddress skips taken ones', () => {
    expect(firstFreeAddress(net, (o) => o <= ipv4ToU32('10.9.0.4'))).toBe(ipv4ToU32('10.9.0.5'));
  });
});
