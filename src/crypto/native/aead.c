// ChaCha20-Poly1305 (RFC 8439) for TRANSPORT datagrams, the data path's one AEAD call per packet
// (crypto/session.ts AeadBackend, through src/crypto/native.ts nativeAead). One cipher context per
// direction per env, bound to the cipher once and only re-keyed per call (ChaCha key setup is a copy;
// the env's main thread is the only caller), freed by the env's cleanup hook. Naming the cipher on
// every call, as the addon once did, makes OpenSSL 3 fetch it and rebuild the context each time.
//
// JS API:
//   aeadSeal(key, out, plaintext) -> bool   out[0..16) holds the header already; nonce = 4 zero
//     bytes + out[8..16); aad empty; writes the ciphertext at out[16..) and the 16-byte tag after
//     it. false on a wrong argument (key not 32 bytes, out too short) or an OpenSSL failure.
//   aeadOpen(key, datagram, out) -> number  the reverse: plaintext length written to out, or -1 when
//     the tag does not verify or an argument is wrong.
#include <openssl/evp.h>

#include <stdlib.h>
#include <string.h>

#include "crypto.h"

enum { HDR = 16, TAG = 16 };

typedef struct aead_s {
  EVP_CIPHER *chacha;
  EVP_CIPHER_CTX *seal;
  EVP_CIPHER_CTX *open;
} aead_t;

static void aead_free(void *arg) {
  aead_t *a = arg;
  EVP_CIPHER_CTX_free(a->seal);
  EVP_CIPHER_CTX_free(a->open);
  EVP_CIPHER_free(a->chacha);
  free(a);
}

static napi_value js_aead_seal(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  aead_t *a;
  uint8_t *key, *dst, *pt;
  size_t klen, dlen, plen;
  int ok = 0, n1 = 0, n2 = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&a));
  if (argc >= 3 && u8_arg(env, argv[0], &key, &klen) && klen == 32 && u8_arg(env, argv[1], &dst, &dlen) &&
      u8_arg(env, argv[2], &pt, &plen) && plen <= INT32_MAX && dlen >= HDR + plen + TAG) {
    uint8_t iv[12] = {0};
    memcpy(iv + 4, dst + 8, 8);
    EVP_CIPHER_CTX *c = a->seal;
    ok = EVP_EncryptInit_ex2(c, NULL, key, iv, NULL) == 1 &&
         EVP_EncryptUpdate(c, dst + HDR, &n1, pt, (int)plen) == 1 && EVP_EncryptFinal_ex(c, dst + HDR + n1, &n2) == 1 &&
         (size_t)(n1 + n2) == plen && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG, dst + HDR + plen) == 1;
  }
  CHECK(napi_get_boolean(env, ok, &out));
  return out;
}

static napi_value js_aead_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  aead_t *a;
  uint8_t *key, *dg, *dst;
  size_t klen, dglen, dstlen;
  int n1 = 0, n2 = 0;
  int32_t result = -1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&a));
  if (argc >= 3 && u8_arg(env, argv[0], &key, &klen) && klen == 32 && u8_arg(env, argv[1], &dg, &dglen) &&
      dglen >= HDR + TAG && dglen <= INT32_MAX && u8_arg(env, argv[2], &dst, &dstlen) && dstlen >= dglen - HDR - TAG) {
    int ctlen = (int)(dglen - HDR - TAG);
    uint8_t iv[12] = {0};
    memcpy(iv + 4, dg + 8, 8);
    EVP_CIPHER_CTX *c = a->open;
    if (EVP_DecryptInit_ex2(c, NULL, key, iv, NULL) == 1 && EVP_DecryptUpdate(c, dst, &n1, dg + HDR, ctlen) == 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG, dg + HDR + ctlen) == 1 && EVP_DecryptFinal_ex(c, dst + n1, &n2) == 1 &&
        n1 + n2 == ctlen) {
      result = ctlen;
    }
  }
  CHECK(napi_create_int32(env, result, &out));
  return out;
}

napi_value aead_register(napi_env env, napi_value exports) {
  aead_t *a = calloc(1, sizeof *a);
  if (a == NULL) return exports;
  a->chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
  a->seal = EVP_CIPHER_CTX_new();
  a->open = EVP_CIPHER_CTX_new();
  if (a->chacha == NULL || a->seal == NULL || a->open == NULL || EVP_EncryptInit_ex2(a->seal, a->chacha, NULL, NULL, NULL) != 1 ||
      EVP_DecryptInit_ex2(a->open, a->chacha, NULL, NULL, NULL) != 1 || napi_add_env_cleanup_hook(env, aead_free, a) != napi_ok) {
    aead_free(a);
    return exports;
  }
  static const addon_fn_t fns[] = {{"aeadSeal", js_aead_seal}, {"aeadOpen", js_aead_open}};
  return define_functions(env, exports, fns, sizeof fns / sizeof fns[0], a);
}
