// applyOverlay6 (peer/overlay6.ts): the hub's default v6 assignment never stops a peer on a host
// with IPv6 disabled; an explicit --local6 that cannot be set still does.
import { describe, expect, it } from 'vitest';
import { applyOverlay6 } from '../../src/peer/overlay6.js';

function fakeTun(refuse: boolean) {
  return {
    address6: undefined as string | undefined,
    calls: 0,
    setAddress6(a: string, p: number) {
      this.calls++;
      if (refuse) throw new Error('setting address on mtz: Permission denied (IPv6 disabled on it?)');
      this.address6 = `${a}/${p}`;
    },
  };
}
const a6 = { address: 'fd21:1:2:3::a09:5', prefixLength: 64 };

describe('applyOverlay6', () => {
  it.each<[string, boolean, boolean, 'set' | 'ipv4-only' | 'throws']>([
    ['hub-assigned, host takes it', false, false, 'set'],
    ['hub-assigned, host refuses (IPv6 disabled): IPv4 only with a warning', false, true, 'ipv4-only'],
    ['explicit --local6, host takes it', true, false, 'set'],
    ['explicit --local6, host refuses: an error', true, true, 'throws'],
  ])('%s', (_why, explicit, refuse, want) => {
    const tun = fakeTun(refuse);
    const warned: unknown[] = [];
    const run = () => applyOverlay6(tun, a6, explicit ? a6 : undefined, { warn: (o: unknown) => warned.push(o) });
    if (want === 'throws') {
      expect(run).toThrow(/Permission denied/);
      return;
    }
    run();
    expect(tun.address6).toBe(want === 'set' ? 'fd21:1:2:3::a09:5/64' : undefined);
    expect(warned).toHaveLength(want === 'ipv4-only' ? 1 : 0);
  });

  it('does nothing without an address, or when the TUN already has one', () => {
    const tun = fakeTun(false);
    applyOverlay6(tun, undefined, undefined, { warn: () => undefined });
    tun.address6 = 'fd00::1/64';
    applyOverlay6(tun, a6, undefined, { warn: () => undefined });
    expect(tun.calls).toBe(0);
  });
});
