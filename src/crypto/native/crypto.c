// meshd_crypto: the crypto addon behind src/crypto/native.ts (its only loader). Plain C against
// node_api.h (NAPI_VERSION 8) on Node's own OpenSSL: the node binary exports EVP_*, so the addon
// links against no library of its own. Same bytes as node:crypto; what it saves is per-call object
// setup. Every context is per env (a worker thread gets its own), freed by an env cleanup hook.
// Files: aead.c (aeadSeal/aeadOpen, the data path's TRANSPORT AEAD), noise.c (noise*: X25519,
// BLAKE2s, HMAC, the Noise KDF and the handshake's small boxes). Either group is left out of the
// exports when this OpenSSL lacks an algorithm; native.ts then reports it missing and the caller
// stays on node:crypto.
#include "crypto.h"

static napi_value init(napi_env env, napi_value exports) {
  if (aead_register(env, exports) == NULL) return NULL;
  return noise_register(env, exports);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
