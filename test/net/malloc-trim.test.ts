// net/udp-native.ts mallocTrim: the UDP addon's malloc_trim(0) (peer/memory-trim.ts calls it). On
// Linux with the addon built it answers a boolean; elsewhere undefined, and the trimmer stops.
import { describe, expect, it } from 'vitest';
import { mallocTrim, nativeUdpUnavailable } from '../../src/net/udp-native.js';

describe('mallocTrim', () => {
  it('answers whether pages went back (the addon is built on Linux), undefined without it', () => {
    const r = mallocTrim();
    if (nativeUdpUnavailable() === undefined) expect(typeof r).toBe('boolean');
    else expect(r).toBeUndefined();
  });
});
