// Shared between the crypto addon's C files: crypto.c (the module init), aead.c (the TRANSPORT
// AEAD of the data path) and noise.c (the handshake primitives). The N-API plumbing (CHECK,
// throw_coded, u8_arg, new_u8, define_functions) is src/util/native/napi-addon.h.
#ifndef MESHD_CRYPTO_H
#define MESHD_CRYPTO_H

#include "../../util/native/napi-addon.h"

// aead.c: adds aeadSeal/aeadOpen to the exports (leaves them out if OpenSSL cannot).
napi_value aead_register(napi_env env, napi_value exports);
// noise.c: adds the handshake primitives (noise*) to the exports (leaves them out if OpenSSL cannot).
napi_value noise_register(napi_env env, napi_value exports);

#endif
