// The hub's pure decisions and small parts: network parsing, refusal reasons, expiry, map deltas,
// map splitting, relay verdicts.
import { describe, expect, it } from 'vitest';
import { inNetwork, isExpired, parseNetwork, refusalFor, Registry, type Member } from '../../src/hub/registry.js';
import { Relay } from '../../src/hub/relay.js';
import { BindingTable } from '../../src/hub/bindings.js';
import { ConfigError } from '../../src/util/errors.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { MapOp, mapEntryBytes, MAP_HEADER_BYTES, RefusalReason, type MapEntry } from '../../src/wire/control.js';

const net = parseNetwork('10.9.0.0/24');

describe('network', () => {
  it('parses a CIDR and normalises host bits', () => {
    expect(parseNetwork('10.9.0.77/24').cidr).toBe('10.9.0.0/24');
  });
  it.each(['10.9.0.0', '10.9.0.0/33', '10.9.0.0/31', 'banana'])('refuses %s as --network', (s) => {
    expect(() => parseNetwork(s)).toThrow(ConfigError);
  });
  it.each([
    ['a host address', '10.9.0.2', true],
    ['the network address', '10.9.0.0', false],
    ['the broadcast address', '10.9.0.255', false],
    ['another network', '10.9.1.2', false],
  ])('%s', (_why, ip, want) => {
    expect(inNetwork(net, ipv4ToU32(ip))).toBe(want);
  });
});

const member = (id: string, overlay: string, name: string): Member => ({
  publicKey: new Uint8Array(32), id, overlay: ipv4ToU32(overlay), name, bootId: 1n, reflexive: { address: '198.51.100.1', port: 1 }, lan: [],
  registeredMs: 0, lastHeartbeatMs: 0, relayedBytes: 0,
});

describe('refusalFor', () => {
  const held = [member('k1', '10.9.0.2', 'alpha')];
  const members = { byOverlay: (o: number) => held.find((m) => m.overlay === o), byName: (n: string) => held.find((m) => m.name === n) };
  it.each([
    ['a new key on a free address', 'k2', '10.9.0.3', 24, 'beta', true, undefined],
    ['the same key re-registering (restart, roaming)', 'k1', '10.9.0.2', 24, 'alpha', true, undefined],
    ['another key on a held address', 'k2', '10.9.0.2', 24, 'beta', true, RefusalReason.ADDRESS_IN_USE],
    ['another key with a held name', 'k2', '10.9.0.3', 24, 'alpha', true, RefusalReason.NAME_TAKEN],
    ['no name never conflicts', 'k2', '10.9.0.3', 24, '', true, undefined],
    ['an address outside the network', 'k2', '10.8.0.3', 24, 'beta', true, RefusalReason.OUTSIDE_NETWORK],
    ['a prefix that disagrees with the hub', 'k2', '10.9.0.3', 16, 'beta', true, RefusalReason.OUTSIDE_NETWORK],
    ['a key outside the allow-list, checked first', 'k2', '10.9.0.2', 24, 'alpha', false, RefusalReason.KEY_NOT_ALLOWED],
  ])('%s', (_why, id, overlay, prefix, name, allowed, want) => {
    expect(refusalFor({ id, overlay: ipv4ToU32(overlay), prefix, name }, net, members, allowed)).toBe(want);
  });
});

describe('refusalFor consults the durable bindings (H1), not only live members', () => {
  const members = { byOverlay: () => undefined, byName: () => undefined };
  const bound = new BindingTable([{ id: 'k1', overlay: ipv4ToU32('10.9.0.2'), name: 'alpha', lastSeenMs: 0, pinned: false }]);
  it.each([
    ["another key on an expired member's address", 'k2', '10.9.0.2', 'beta', RefusalReason.ADDRESS_IN_USE],
    ["another key with an expired member's name", 'k2', '10.9.0.3', 'alpha', RefusalReason.NAME_TAKEN],
    ['the owner, with nobody live', 'k1', '10.9.0.2', 'alpha', undefined],
  ])('%s', (_why, id, overlay, name, want) => {
    expect(refusalFor({ id, overlay: ipv4ToU32(overlay), prefix: 24, name }, net, members, true, bound)).toBe(want);
  });
});

describe('isExpired (20 s heartbeats, 3 may be missed)', () => {
  it.each([
    ['heard 20 s ago: one heartbeat late at most', 20_000, false],
    ['heard 60 s ago: three due, grace left', 60_000, false],
    ['heard 69.9 s ago: still inside the grace', 69_999, false],
    ['heard 70 s ago: three missed plus grace, expire', 70_001, true],
  ])('%s', (_why, ago, want) => {
    expect(isExpired(1_000_000 - ago, 1_000_000)).toBe(want);
  });
});

describe('Registry versions', () => {
  it('cuts deltas collapsed per member, and a full map when the log does not reach back', () => {
    const r = new Registry(net);
    const m = (id: string, o: string) => ({ publicKey: new Uint8Array(32), id, overlay: ipv4ToU32(o), name: id, bootId: 1n, reflexive: { address: '198.51.100.1', port: 1 }, lan: [] });
    r.upsert(m('a', '10.9.0.2'), 0); // v1
    r.upsert(m('b', '10.9.0.3'), 0); // v2
    expect(r.touch('b', { address: '198.51.100.1', port: 2 }, undefined, 0)).toBe(true); // v3
    r.remove('a'); // v4
    expect(r.version).toBe(4);
    expect(r.changesSince(4)).toEqual([]);
    expect(r.changesSince(1)!.map((e) => `${e.op}:${e.name}:${e.reflexive.port}`)).toEqual([`${MapOp.UPSERT}:b:2`, `${MapOp.REMOVE}:a:1`]);
    expect(r.changesSince(0)).toBeUndefined();
    expect(r.changesSince(9)).toBeUndefined();
    expect(r.upsert({ ...m('b', '10.9.0.3'), reflexive: { address: '198.51.100.1', port: 2 } }, 0).changed).toBe(false); // same state: no new version
  });
});

describe('Relay.decide', () => {
  const a = member('a', '10.9.0.2', 'a');
  const b = member('b', '10.9.0.3', 'b');
  it.each([
    ['between two members within budget', a, b, 1000, 'forward'],
    ['from a non-member (no registration, no relay)', undefined, b, 100, 'unknown_sender'],
    ['to an address nobody holds', a, undefined, 100, 'unknown_target'],
    ['to itself', a, a, 100, 'to_self'],
    ['a burst beyond the budget', a, b, 5_000, 'over_budget'],
  ])('%s', (_why, from, to, bytes, want) => {
    const r = new Relay(1_000, 2_000);
    expect(r.decide(from, to, bytes, 0)).toBe(want);
  });

  it('refills the budget over time and counts relayed bytes', () => {
    const r = new Relay(1_000, 2_000);
    const s = member('s', '10.9.0.4', 's');
    expect(r.decide(s, b, 2_000, 0)).toBe('forward');
    expect(r.decide(s, b, 500, 100)).toBe('over_budget');
    expect(r.decide(s, b, 500, 600)).toBe('forward');
    expect(r.relayedBytes).toBe(2_500);
    expect(s.relayedBytes).toBe(2_500);
  });
});
