// crypto/native.ts runtimeCrypto: the factory of the backends a Link runs on (LinkOptions.crypto
// defaults to it; cli.ts names it in the start-up log). No process-wide switch: MESHD_NODE_CRYPTO=1
// or nodeCrypto picks node:crypto, otherwise the addon where it loads; it says what is in use.
import { afterEach, expect, it } from 'vitest';
import { NODE_CRYPTO } from '../../src/crypto/backends.js';
import { cryptoAddonAvailable, nativeAead, nativeNoise, runtimeCrypto } from '../../src/crypto/native.js';
import { nodeNoise } from '../../src/crypto/noise-node.js';

const env = process.env['MESHD_NODE_CRYPTO'];
afterEach(() => {
  if (env === undefined) delete process.env['MESHD_NODE_CRYPTO'];
  else process.env['MESHD_NODE_CRYPTO'] = env;
});

const built = cryptoAddonAvailable() ? 'native' : 'node';

it.each([
  { nodeCrypto: true, want: 'node', why: 'the user asked for node:crypto' },
  { nodeCrypto: false, want: built, why: 'the addon where it loads, else node:crypto' },
])('nodeCrypto $nodeCrypto -> $want ($why)', ({ nodeCrypto, want }) => {
  const c = runtimeCrypto({ nodeCrypto });
  expect(c.names).toEqual({ aead: want, noise: want });
  expect(c.noise.backend === nodeNoise).toBe(want === 'node');
  expect(c.aead === null).toBe(want === 'node');
});

it.each([
  { value: '1', want: 'node' },
  { value: undefined, want: built },
])('without an option, MESHD_NODE_CRYPTO=$value -> $want', ({ value, want }) => {
  if (value === undefined) delete process.env['MESHD_NODE_CRYPTO'];
  else process.env['MESHD_NODE_CRYPTO'] = value;
  expect(runtimeCrypto().names.noise).toBe(want);
  if (want === 'node') expect(runtimeCrypto()).toBe(NODE_CRYPTO);
});

it('the getters agree with the loader', () => {
  expect(nativeAead() !== undefined).toBe(cryptoAddonAvailable());
  expect(nativeNoise() !== undefined).toBe(cryptoAddonAvailable());
});
