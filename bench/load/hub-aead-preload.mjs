// Loaded into the hub process with `node --import` when LOAD_HUB_AEAD=native (bench/load/hub-load.mjs):
// installs the crypto addon's ChaCha20-Poly1305 as the TRANSPORT AEAD, as peers do (src/peer/node.ts). The
// hub daemon itself does not install it yet; this measures what it would save. Same module URLs as
// the hub's cli.js, so it is the same session module instance.
const dist = process.env.MESHD_DIST ?? new URL('../../dist', import.meta.url).pathname;
const { setAeadBackend } = await import(`${dist}/crypto/session.js`);
const { nativeAead } = await import(`${dist}/crypto/native.js`);
const aead = nativeAead();
if (!aead) throw new Error('LOAD_HUB_AEAD=native: the crypto addon has no AEAD (build it with npm install)');
setAeadBackend(aead);
