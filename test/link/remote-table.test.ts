// RemoteTable lookups by key array: the cache by array object must never return a record the table
// forgot (delete, clear) or one that a new record for the same key replaced.
import { describe, expect, it } from 'vitest';
import { RemoteTable } from '../../src/link/remote-table.js';
import { ManualClock } from '../fakes/manual-clock.js';

function table(): RemoteTable {
  let n = 1;
  return new RemoteTable(new ManualClock(), () => n++, undefined, () => {});
}

describe('RemoteTable.get', () => {
  it('finds a record by any array holding the key, and the same record by the array it was made with', () => {
    const t = table();
    const key = new Uint8Array(32).fill(7);
    const r = t.obtain(key);
    expect(t.get(key)).toBe(r);
    expect(t.get(new Uint8Array(key))).toBe(r);
    expect(t.get(new Uint8Array(32).fill(8))).toBeUndefined();
  });

  it.each([
    ['deleted', (t: RemoteTable, r: ReturnType<RemoteTable['obtain']>) => t.delete(r)],
    ['cleared', (t: RemoteTable) => t.clear()],
  ])('forgets a %s record although the key array is cached', (_why, forget) => {
    const t = table();
    const key = new Uint8Array(32).fill(9);
    const r = t.obtain(key);
    expect(t.get(key)).toBe(r);
    forget(t, r);
    expect(t.get(key)).toBeUndefined();
    const again = t.obtain(new Uint8Array(key)); // a new record under the same key, by another array
    expect(again).not.toBe(r);
    expect(t.get(key)).toBe(again);
  });
});
