// Which claimed ports of members homed elsewhere a hub listens on (publish/guest-plan.ts).
import { describe, expect, it } from 'vitest';
import { planGuests, type ClaimView } from '../../src/publish/guest-plan.js';
import { parsePortRanges } from '../../src/publish/spec.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const L = 'c'.repeat(64); // one of this hub's own members
const allow = parsePortRanges('8000-8999');
const inMap = (id: string) => id !== B; // B left the network

describe('planGuests', () => {
  it.each<[string, ClaimView[], Array<{ name: string; port: number; owner: string }>, ClaimView[], { open: number[]; close: number[] }]>([
    ['a claim of a member homed elsewhere is listened for', [{ port: 8080, owner: A, name: 'web' }], [], [], { open: [8080], close: [] }],
    ['outside --allow-publish: not', [{ port: 2222, owner: A, name: 'ssh' }], [], [], { open: [], close: [] }],
    ['an owner gone from the map: not', [{ port: 8080, owner: B, name: 'web' }], [], [], { open: [], close: [] }],
    ['an own member\'s claim: its PUBLISH serves it', [{ port: 8080, owner: L, name: 'web' }], [], [], { open: [], close: [] }],
    ['a port an own service uses: not', [{ port: 8080, owner: A, name: 'web' }], [{ name: 'x', port: 8080, owner: L }], [], { open: [], close: [] }],
    ['already listening: nothing to do', [{ port: 8080, owner: A, name: 'web' }], [], [{ port: 8080, owner: A, name: 'web' }], { open: [], close: [] }],
    ['the claim went: closed', [], [], [{ port: 8080, owner: A, name: 'web' }], { open: [], close: [8080] }],
    ['its owner left the map: closed', [{ port: 8080, owner: B, name: 'web' }], [], [{ port: 8080, owner: B, name: 'web' }], { open: [], close: [8080] }],
    ['renamed: closed and opened again', [{ port: 8080, owner: A, name: 'www' }], [], [{ port: 8080, owner: A, name: 'web' }], { open: [8080], close: [8080] }],
    ['the owner re-homed here: the guest goes', [{ port: 8080, owner: L, name: 'web' }], [{ name: 'web', port: 8080, owner: L }], [{ port: 8080, owner: L, name: 'web' }], { open: [], close: [8080] }],
  ])('%s', (_why, claims, own, guests, want) => {
    const plan = planGuests(claims, own, guests, allow, (id) => id === L, inMap);
    expect({ open: plan.open.map((c) => c.port), close: plan.close }).toEqual(want);
  });
});
