import { describe, expect, it } from 'vitest';
import { memoryJson } from '../../src/peer/memory-status.js';

describe('memoryJson', () => {
  it.each([
    ['whole MiB', { rss: 100 * 1048576, heapTotal: 20 * 1048576, heapUsed: 10 * 1048576, external: 5 * 1048576, arrayBuffers: 4 * 1048576 }, { rssMiB: 100, heapTotalMiB: 20, heapUsedMiB: 10, externalMiB: 5, arrayBuffersMiB: 4 }],
    ['rounded to one decimal', { rss: 1572864 + 1, heapTotal: 0, heapUsed: 0, external: 104857, arrayBuffers: 0 }, { rssMiB: 1.5, heapTotalMiB: 0, heapUsedMiB: 0, externalMiB: 0.1, arrayBuffersMiB: 0 }],
  ])('%s', (_why, m, want) => {
    expect(memoryJson(m)).toEqual(want);
  });

  it('adds the trimmer counters when there is one', () => {
    const m = { rss: 100 * 1048576, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
    expect(memoryJson(m, { trims: 3, freedBytes: 25 * 1048576 })).toMatchObject({ rssMiB: 100, trims: 3, trimmedMiB: 25 });
  });
});
