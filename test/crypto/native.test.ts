// crypto/native.ts installNativeCrypto: the composition root's one switch (cli.ts reads
// MESHD_NODE_CRYPTO=1 and passes nodeCrypto) sets both process defaults and says what is in use.
import { afterEach, expect, it } from 'vitest';
import { cryptoAddonAvailable, installNativeCrypto, nativeAead, nativeNoise } from '../../src/crypto/native.js';
import { noiseBackend, setNoiseBackend } from '../../src/crypto/noise.js';
import { nodeNoise } from '../../src/crypto/noise-node.js';
import { setAeadBackend } from '../../src/crypto/session.js';

afterEach(() => {
  setAeadBackend(undefined);
  setNoiseBackend(undefined);
});

const built = cryptoAddonAvailable() ? 'native' : 'node';

it.each([
  { nodeCrypto: true, want: 'node', why: 'the user asked for node:crypto' },
  { nodeCrypto: false, want: built, why: 'the addon where it loads, else node:crypto' },
])('nodeCrypto $nodeCrypto -> $want ($why)', ({ nodeCrypto, want }) => {
  expect(installNativeCrypto({ nodeCrypto })).toEqual({ aead: want, noise: want });
  expect(noiseBackend() === nodeNoise).toBe(want === 'node');
});

it('the getters agree with the loader', () => {
  expect(nativeAead() !== undefined).toBe(cryptoAddonAvailable());
  expect(nativeNoise() !== undefined).toBe(cryptoAddonAvailable());
});
