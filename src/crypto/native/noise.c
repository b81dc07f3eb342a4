// The Noise handshake primitives of src/crypto/noise.ts in C on Node's own OpenSSL (the node binary
// exports EVP_*, as for aead.c's data-path AEAD): X25519, BLAKE2s-256, HMAC-BLAKE2s, the Noise KDF and
// ChaCha20-Poly1305 with a counter nonce and associated data. Same bytes as node:crypto; what it
// saves is the per-call object setup (KeyObjects, JWK import, createHmac), not the arithmetic.
// Registered on the meshd_crypto exports by crypto.c's init (noise_register); src/crypto/native.ts
// nativeNoise shapes them as crypto/noise.ts's NoiseBackend. Synchronous, main thread of one env: the
// digest and cipher contexts are per env (napi data pointer) and reused; each call allocates only
// its result.
//
// JS API (all arguments Uint8Array unless said; a wrong type or length throws an Error with code
// NOISE_BAD_ARG, never a crash):
//   noiseX25519(private32, public32) -> Uint8Array(32) | undefined   undefined when the shared
//     secret is all zero (a low-order public key), which OpenSSL refuses too.
//   noiseX25519Base(private32) -> Uint8Array(32)   the public key X25519(private, 9)
//   noiseHash(...parts) -> Uint8Array(32)          BLAKE2s-256 of the concatenation (0..8 parts)
//   noiseHmac(key, ...parts) -> Uint8Array(32)     HMAC-BLAKE2s (64-byte block), 0..8 parts
//   noiseKdf(n, chainingKey, input) -> Uint8Array(32 n)   Noise HKDF: T1 || T2 || T3 for n in 1..3
//   noiseSeal(key32, counter, plaintext, ad) -> Uint8Array(len + 16)   ChaCha20-Poly1305, nonce =
//     4 zero bytes + counter as u64 little-endian (counter: a safe integer >= 0)
//   noiseOpen(key32, counter, sealed, ad) -> Uint8Array | undefined   undefined when the tag fails
#include <node_api.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

enum { KEY = 32, HASH = 32, BLOCK = 64, TAG = 16, MAX_PARTS = 8 };

typedef struct noise_s {
  EVP_MD *blake2s;       // fetched once: an implicit fetch per EVP_DigestInit costs a lookup
  EVP_MD_CTX *md;
  EVP_CIPHER *chacha;
  EVP_CIPHER_CTX *cipher;
  EVP_PKEY_CTX *from_data; // X25519 key import (EVP_PKEY_fromdata), reused
} noise_t;

typedef struct {
  const uint8_t *p;
  size_t len;
} part_t;

static void noise_free(void *arg) {
  noise_t *n = arg;
  EVP_MD_CTX_free(n->md);
  EVP_MD_free(n->blake2s);
  EVP_CIPHER_CTX_free(n->cipher);
  EVP_CIPHER_free(n->chacha);
  EVP_PKEY_CTX_free(n->from_data);
  free(n);
}

// `got` is the length found, or SIZE_MAX when the argument was not a Uint8Array at all.
static napi_value bad_arg(napi_env env, const char *fn, const char *what, size_t got) {
  if (got == SIZE_MAX) return throw_coded(env, "NOISE_BAD_ARG", "%s: %s (got something else)", fn, what);
  return throw_coded(env, "NOISE_BAD_ARG", "%s: %s (got %zu bytes)", fn, what, got);
}

static napi_value crypto_failed(napi_env env, const char *fn) {
  return throw_coded(env, "NOISE_CRYPTO", "%s: OpenSSL call failed", fn);
}

// A Uint8Array argument: 1 on success (length in *len; SIZE_MAX marks "not a Uint8Array").
static int bytes_arg(napi_env env, napi_value v, const uint8_t **p, size_t *len) {
  uint8_t *q = NULL;
  if (!u8_arg(env, v, &q, len)) {
    *len = SIZE_MAX;
    return 0;
  }
  *p = q;
  return 1;
}

static int key_arg(napi_env env, napi_value v, const uint8_t **p, size_t *len) {
  return bytes_arg(env, v, p, len) && *len == KEY;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// ---- BLAKE2s-256 and HMAC-BLAKE2s ----

static int digest(noise_t *n, const part_t *parts, size_t count, uint8_t out[HASH]) {
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(n->md, n->blake2s, NULL) != 1) return 0;
  for (size_t i = 0; i < count; i++)
    if (parts[i].len > 0 && EVP_DigestUpdate(n->md, parts[i].p, parts[i].len) != 1) return 0;
  return EVP_DigestFinal_ex(n->md, out, &len) == 1 && len == HASH;
}

// RFC 2104 with BLAKE2s: H((K ^ opad) || H((K ^ ipad) || parts)), K zero-padded to the 64-byte block
// (hashed first when longer). The key and pads are secrets: wiped before returning.
static int hmac(noise_t *n, const uint8_t *key, size_t klen, const part_t *parts, size_t count, uint8_t out[HASH]) {
  uint8_t k[BLOCK] = {0}, pad[BLOCK], inner[HASH];
  part_t in[MAX_PARTS + 1];
  int ok = 1;
  if (klen > BLOCK) {
    part_t kp = {key, klen};
    ok = digest(n, &kp, 1, k);
  } else if (klen > 0) {
    memcpy(k, key, klen);
  }
  for (int i = 0; i < BLOCK; i++) pad[i] = k[i] ^ 0x36;
  in[0] = (part_t){pad, BLOCK};
  for (size_t i = 0; i < count; i++) in[i + 1] = parts[i];
  ok = ok && digest(n, in, count + 1, inner);
  for (int i = 0; i < BLOCK; i++) pad[i] = k[i] ^ 0x5c;
  part_t outer[2] = {{pad, BLOCK}, {inner, HASH}};
  ok = ok && digest(n, outer, 2, out);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(inner, sizeof inner);
  return ok;
}

// Reads argv[from..argc) as parts; returns the count, or -1 with an exception pending.
static int parts_args(napi_env env, const char *fn, napi_value *argv, size_t argc, size_t from, part_t *parts) {
  if (argc - from > MAX_PARTS) {
    throw_coded(env, "NOISE_BAD_ARG", "%s: at most %d parts", fn, MAX_PARTS);
    return -1;
  }
  for (size_t i = from; i < argc; i++) {
    size_t len;
    if (!bytes_arg(env, argv[i], &parts[i - from].p, &len)) {
      throw_coded(env, "NOISE_BAD_ARG", "%s: argument %zu is not a Uint8Array", fn, i);
      return -1;
    }
    parts[i - from].len = len;
  }
  return (int)(argc - from);
}

static napi_value js_hash(napi_env env, napi_callback_info info) {
  size_t argc = MAX_PARTS + 1;
  napi_value argv[MAX_PARTS + 1];
  noise_t *n;
  part_t parts[MAX_PARTS];
  uint8_t *out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&n));
  int count = parts_args(env, "noiseHash", argv, argc, 0, parts);
  if (count < 0) return NULL;
  napi_value result = new_u8(env, HASH, &out);
  if (result == NULL) return NULL;
  if (!digest(n, parts, (size_t)count, out)) return crypto_failed(env, "noiseHash");
  return result;
}

static napi_value js_hmac(napi_env env, napi_callback_info info) {
  size_t argc = MAX_PARTS + 2;
  napi_value argv[MAX_PARTS + 2];
  noise_t *n;
  part_t parts[MAX_PARTS];
  const uint8_t *key;
  size_t klen = SIZE_MAX;
  uint8_t *out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&n));
  if (argc < 1 || !bytes_arg(env, argv[0], &key, &klen)) return bad_arg(env, "noiseHmac", "key must be a Uint8Array", klen);
  int count = parts_args(env, "noiseHmac", argv, argc, 1, parts);
  if (count < 0) return NULL;
  napi_value result = new_u8(env, HASH, &out);
  if (result == NULL) return NULL;
  if (!hmac(n, key, klen, parts, (size_t)count, out)) return crypto_failed(env, "noiseHmac");
  return result;
}

// Noise HKDF (WireGuard's KDF1/2/3): t0 = HMAC(ck, input); T1 = HMAC(t0, 0x01);
// T(i+1) = HMAC(t0, T(i) || i+1). Writes n * 32 bytes.
static int kdf(noise_t *n, uint32_t count, const uint8_t *ck, const uint8_t *input, size_t ilen, uint8_t *out) {
  uint8_t t0[HASH];
  uint8_t label = 1;
  part_t in = {input, ilen};
  int ok = hmac(n, ck, KEY, &in, 1, t0);
  part_t one = {&label, 1};
  ok = ok && hmac(n, t0, HASH, &one, 1, out);
  for (uint32_t i = 1; ok && i < count; i++) {
    label = (uint8_t)(i + 1);
    part_t p[2] = {{out + (i - 1) * HASH, HASH}, {&label, 1}};
    ok = hmac(n, t0, HASH, p, 2, out + i * HASH);
  }
  OPENSSL_cleanse(t0, sizeof t0);
  return ok;
}

static napi_value js_kdf(napi_env env, napi_callback_info info) {
  size_t argc = 3, ilen = SIZE_MAX, klen = SIZE_MAX;
  napi_value argv[3];
  noise_t *n;
  uint32_t count = 0;
  const uint8_t *ck, *input;
  uint8_t *out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&n));
  if (argc < 3 || napi_get_value_uint32(env, argv[0], &count) != napi_ok || count < 1 || count > 3)
    return throw_coded(env, "NOISE_BAD_ARG", "noiseKdf: n must be 1, 2 or 3");
  if (!key_arg(env, argv[1], &ck, &klen)) return bad_arg(env, "noiseKdf", "chaining key must be a 32-byte Uint8Array", klen);
  if (!bytes_arg(env, argv[2], &input, &ilen)) return bad_arg(env, "noiseKdf", "input must be a Uint8Array", ilen);
  napi_value result = new_u8(env, (size_t)count * HASH, &out);
  if (result == NULL) return NULL;
  if (!kdf(n, count, ck, input, ilen, out)) return crypto_failed(env, "noiseKdf");
  return result;
}

// ---- X25519 ----

// An X25519 EVP_PKEY from raw bytes. With `pub` NULL it is a peer's public key; otherwise a private
// key given with some public value, because importing a private key alone makes OpenSSL compute
// its public key (a base-point multiplication, half the cost of the DH itself). EVP_PKEY_derive
// reads only the private scalar, so `pub` can be anything of the right length.
static EVP_PKEY *x25519_key(noise_t *n, const uint8_t *priv, const uint8_t *pub) {
  EVP_PKEY *pkey = NULL;
  OSSL_PARAM params[3];
  int i = 0;
  params[i++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, KEY);
  if (priv != NULL) params[i++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv, KEY);
  params[i] = OSSL_PARAM_construct_end();
  if (EVP_PKEY_fromdata(n->from_data, &pkey, priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1) return NULL;
  return pkey;
}

// 1 with the secret in out, 0 when OpenSSL refuses (all-zero result: low-order public key), -1 on
// any other failure.
static int x25519(noise_t *n, const uint8_t *priv, const uint8_t *pub, uint8_t out[KEY]) {
  EVP_PKEY *mine = x25519_key(n, priv, pub), *theirs = x25519_key(n, NULL, pub);
  EVP_PKEY_CTX *ctx = mine != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL) : NULL;
  size_t len = KEY;
  int rc = -1;
  if (ctx != NULL && theirs != NULL && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer_ex(ctx, theirs, 0) == 1) {
    rc = EVP_PKEY_derive(ctx, out, &len) == 1 && len == KEY ? 1 : 0;
  }
  if (rc == 1) { // OpenSSL refuses an all-zero secret already; do not depend on it
    uint8_t acc = 0;
    for (int i = 0; i < KEY; i++) acc |= out[i];
    if (acc == 0) rc = 0;
  }
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(mine); // EVP_PKEY_free cleanses the private key material
  EVP_PKEY_free(theirs);
  return rc;
}

static napi_value js_x25519(napi_env env, napi_callback_info info) {
  size_t argc = 2, len = SIZE_MAX;
  napi_value argv[2];
  noise_t *n;
  const uint8_t *priv, *pub;
  uint8_t secret[KEY], *out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&n));
  if (argc < 1 || !key_arg(env, argv[0], &priv, &len)) return bad_arg(env, "noiseX25519", "private key must be a 32-byte Uint8Array", len);
  len = SIZE_MAX;
  if (argc < 2 || !key_arg(env, argv[1], &pub, &len)) return bad_arg(env, "noiseX25519", "public key must be a 32-byte Uint8Array", len);
  int rc = x25519(n, priv, pub, secret);
  if (rc < 0) return crypto_failed(env, "noiseX25519");
  napi_value result = rc == 1 ? new_u8(env, KEY, &out) : undefined(env);
  if (rc == 1 && result != NULL) memcpy(out, secret, KEY);
  OPENSSL_cleanse(secret, sizeof secret);
  return result;
}

static napi_value js_x25519_base(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = SIZE_MAX;
  napi_value argv[1];
  noise_t *n;
  const uint8_t *priv;
  uint8_t *out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&n));
  if (argc < 1 || !key_arg(env, argv[0], &priv, &len)) return bad_arg(env, "noiseX25519Base", "private key must be a 32-byte Uint8Array", len);
  napi_value result = new_u8(env, KEY, &out);
  if (result == NULL) return NULL;
  // Importing the private key alone computes its public key (fixed-base, OpenSSL's fast path).
  EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, KEY);
  size_t olen = KEY;
  int ok = pkey != NULL && EVP_PKEY_get_raw_public_key(pkey, out, &olen) == 1 && olen == KEY;
  EVP_PKEY_free(pkey);
  return ok ? result : crypto_failed(env, "noiseX25519Base");
}

// ---- ChaCha20-Poly1305 with a counter nonce (the handshake's and cookie reply's small boxes) ----

// Key, 12-byte nonce from the counter, and the associated data; returns the rest of the call's
// arguments checked, or 0 with an exception pending.
static int box_args(napi_env env, const char *fn, napi_value *argv, size_t argc, const uint8_t **key, uint8_t iv[12],
                    const uint8_t **data, size_t *dlen, const uint8_t **ad, size_t *adlen) {
  size_t klen = SIZE_MAX;
  int64_t counter = -1;
  if (argc < 1 || !key_arg(env, argv[0], key, &klen)) {
    bad_arg(env, fn, "key must be a 32-byte Uint8Array", klen);
    return 0;
  }
  if (argc < 2 || napi_get_value_int64(env, argv[1], &counter) != napi_ok || counter < 0 || counter > (INT64_C(1) << 53)) {
    throw_coded(env, "NOISE_BAD_ARG", "%s: counter must be an integer from 0 to 2^53", fn);
    return 0;
  }
  if (argc < 4 || !bytes_arg(env, argv[2], data, dlen) || !bytes_arg(env, argv[3], ad, adlen) || *dlen > INT32_MAX - TAG ||
      *adlen > INT32_MAX) {
    throw_coded(env, "NOISE_BAD_ARG", "%s: data and associated data must be Uint8Arrays under 2 GB", fn);
    return 0;
  }
  memset(iv, 0, 4);
  for (int i = 0; i < 8; i++) iv[4 + i] = (uint8_t)((uint64_t)counter >> (8 * i));
  return 1;
}

static napi_value js_box_seal(napi_env env, napi_callback_info info) {
  size_t argc = 4, plen = 0, adlen = 0;
  napi_value argv[4];
  noise_t *n;
  const uint8_t *key, *pt, *ad;
  uint8_t iv[12], *out;
  int n1 = 0, n2 = 0, na = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&n));
  if (!box_args(env, "noiseSeal", argv, argc, &key, iv, &pt, &plen, &ad, &adlen)) return NULL;
  napi_value result = new_u8(env, plen + TAG, &out);
  if (result == NULL) return NULL;
  EVP_CIPHER_CTX *c = n->cipher;
  int ok = EVP_EncryptInit_ex2(c, n->chacha, key, iv, NULL) == 1 && EVP_EncryptUpdate(c, NULL, &na, ad, (int)adlen) == 1 &&
           EVP_EncryptUpdate(c, out, &n1, pt, (int)plen) == 1 && EVP_EncryptFinal_ex(c, out + n1, &n2) == 1 &&
           (size_t)(n1 + n2) == plen && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG, out + plen) == 1;
  return ok ? result : crypto_failed(env, "noiseSeal");
}

static napi_value js_box_open(napi_env env, napi_callback_info info) {
  size_t argc = 4, slen = 0, adlen = 0;
  napi_value argv[4];
  noise_t *n;
  const uint8_t *key, *sealed, *ad;
  uint8_t iv[12], *out;
  int n1 = 0, n2 = 0, na = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&n));
  if (!box_args(env, "noiseOpen", argv, argc, &key, iv, &sealed, &slen, &ad, &adlen)) return NULL;
  if (slen < TAG) return undefined(env);
  size_t ctlen = slen - TAG;
  napi_value result = new_u8(env, ctlen, &out);
  if (result == NULL) return NULL;
  EVP_CIPHER_CTX *c = n->cipher;
  // The tag is copied: EVP_CTRL_AEAD_SET_TAG takes a non-const pointer.
  uint8_t tag[TAG];
  memcpy(tag, sealed + ctlen, TAG);
  int ok = EVP_DecryptInit_ex2(c, n->chacha, key, iv, NULL) == 1 && EVP_DecryptUpdate(c, NULL, &na, ad, (int)adlen) == 1 &&
           EVP_DecryptUpdate(c, out, &n1, sealed, (int)ctlen) == 1 && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG, tag) == 1 &&
           EVP_DecryptFinal_ex(c, out + n1, &n2) == 1 && (size_t)(n1 + n2) == ctlen;
  if (!ok) {
    OPENSSL_cleanse(out, ctlen); // unauthenticated plaintext never reaches JS
    return undefined(env);
  }
  return result;
}

// Adds the noise* functions to the addon's exports. When this OpenSSL lacks an algorithm they are
// left out (native.ts nativeNoise then says undefined and the handshake stays on node:crypto); the
// data-path AEAD does not depend on them.
napi_value noise_register(napi_env env, napi_value exports) {
  noise_t *n = calloc(1, sizeof *n);
  if (n == NULL) return exports;
  n->blake2s = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
  n->md = EVP_MD_CTX_new();
  n->chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
  n->cipher = EVP_CIPHER_CTX_new();
  n->from_data = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
  if (n->blake2s == NULL || n->md == NULL || n->chacha == NULL || n->cipher == NULL || n->from_data == NULL ||
      EVP_PKEY_fromdata_init(n->from_data) != 1 || napi_add_env_cleanup_hook(env, noise_free, n) != napi_ok) {
    noise_free(n);
    return exports;
  }
  static const addon_fn_t fns[] = {
      {"noiseX25519", js_x25519}, {"noiseX25519Base", js_x25519_base}, {"noiseHash", js_hash},
      {"noiseHmac", js_hmac},     {"noiseKdf", js_kdf},                {"noiseSeal", js_box_seal},
      {"noiseOpen", js_box_open},
  };
  return define_functions(env, exports, fns, sizeof fns / sizeof fns[0], n);
}
