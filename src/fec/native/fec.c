// meshd_fec: the Reed-Solomon byte loop of src/fec/rs.ts (ShardMul.mulShards) in C, loaded by
// src/fec/native.ts. out[r] = XOR_c coef[r][c] * in[c] over GF(2^8) (poly 0x11d, as fec/gf256.ts),
// inputs counted as zero-padded to the outputs' length. Split-nibble tables with PSHUFB (AVX2 or
// SSSE3, picked at load from the CPU) or NEON TBL do 32/16 bytes per step; a 64 KiB product table
// does the tails and other CPUs. No allocation per call: the arrays are read in place.
#include "../../util/native/napi-addon.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FEC_X86 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#define FEC_NEON 1
#endif

#define MAX_SHARDS 256

static uint8_t gf_mul[256][256];
static uint8_t gf_lo[256][16] __attribute__((aligned(32))); // c * x for x = 0..15
static uint8_t gf_hi[256][16] __attribute__((aligned(32))); // c * (x << 4)

static void init_tables(void) {
  uint8_t exp[512], log[256];
  unsigned x = 1;
  for (int i = 0; i < 255; i++) {
    exp[i] = (uint8_t)x;
    log[x] = (uint8_t)i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (int i = 255; i < 512; i++) exp[i] = exp[i - 255];
  memset(gf_mul, 0, sizeof gf_mul);
  for (int a = 1; a < 256; a++)
    for (int b = 1; b < 256; b++) gf_mul[a][b] = exp[log[a] + log[b]];
  for (int c = 0; c < 256; c++)
    for (int v = 0; v < 16; v++) {
      gf_lo[c][v] = gf_mul[c][v];
      gf_hi[c][v] = gf_mul[c][v << 4];
    }
}

static void muladd_scalar(uint8_t c, const uint8_t *src, uint8_t *dst, size_t n) {
  const uint8_t *t = gf_mul[c];
  for (size_t i = 0; i < n; i++) dst[i] ^= t[src[i]];
}

#ifdef FEC_X86
__attribute__((target("avx2"))) static size_t muladd_avx2(uint8_t c, const uint8_t *src, uint8_t *dst, size_t n) {
  __m256i lo = _mm256_broadcastsi128_si256(_mm_load_si128((const __m128i *)gf_lo[c]));
  __m256i hi = _mm256_broadcastsi128_si256(_mm_load_si128((const __m128i *)gf_hi[c]));
  __m256i mask = _mm256_set1_epi8(0x0f);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i s = _mm256_loadu_si256((const __m256i *)(src + i));
    __m256i l = _mm256_shuffle_epi8(lo, _mm256_and_si256(s, mask));
    __m256i h = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi64(s, 4), mask));
    __m256i d = _mm256_loadu_si256((const __m256i *)(dst + i));
    _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(d, _mm256_xor_si256(l, h)));
  }
  return i;
}

__attribute__((target("ssse3"))) static size_t muladd_ssse3(uint8_t c, const uint8_t *src, uint8_t *dst, size_t n) {
  __m128i lo = _mm_load_si128((const __m128i *)gf_lo[c]);
  __m128i hi = _mm_load_si128((const __m128i *)gf_hi[c]);
  __m128i mask = _mm_set1_epi8(0x0f);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i s = _mm_loadu_si128((const __m128i *)(src + i));
    __m128i l = _mm_shuffle_epi8(lo, _mm_and_si128(s, mask));
    __m128i h = _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi64(s, 4), mask));
    __m128i d = _mm_loadu_si128((const __m128i *)(dst + i));
    _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(d, _mm_xor_si128(l, h)));
  }
  return i;
}
#endif

#ifdef FEC_NEON
static size_t muladd_neon(uint8_t c, const uint8_t *src, uint8_t *dst, size_t n) {
  uint8x16_t lo = vld1q_u8(gf_lo[c]), hi = vld1q_u8(gf_hi[c]), mask = vdupq_n_u8(0x0f);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    uint8x16_t s = vld1q_u8(src + i);
    uint8x16_t p = veorq_u8(vqtbl1q_u8(lo, vandq_u8(s, mask)), vqtbl1q_u8(hi, vshrq_n_u8(s, 4)));
    vst1q_u8(dst + i, veorq_u8(vld1q_u8(dst + i), p));
  }
  return i;
}
#endif

typedef size_t (*muladd_vec_fn)(uint8_t c, const uint8_t *src, uint8_t *dst, size_t n);
static muladd_vec_fn muladd_vec;
static const char *simd_name = "scalar";

static void muladd(uint8_t c, const uint8_t *src, uint8_t *dst, size_t n) {
  if (c == 0 || n == 0) return;
  if (c == 1) {
    for (size_t i = 0; i < n; i++) dst[i] ^= src[i]; // the compiler vectorizes this one
    return;
  }
  size_t done = muladd_vec ? muladd_vec(c, src, dst, n) : 0;
  muladd_scalar(c, src + done, dst + done, n - done);
}

static int u8_list(napi_env env, napi_value arr, uint8_t **p, size_t *len, uint32_t *count) {
  bool is_arr = false;
  if (napi_is_array(env, arr, &is_arr) != napi_ok || !is_arr) return 0;
  if (napi_get_array_length(env, arr, count) != napi_ok || *count > MAX_SHARDS) return 0;
  for (uint32_t i = 0; i < *count; i++) {
    napi_value v;
    if (napi_get_element(env, arr, i, &v) != napi_ok || !u8_arg(env, v, &p[i], &len[i])) return 0;
  }
  return 1;
}

// mulShards(coefs: Uint8Array, ins: Uint8Array[], outs: Uint8Array[], accumulate?: boolean): undefined
static napi_value mul_shards(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  bool accumulate = false;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *coefs, *in[MAX_SHARDS], *out[MAX_SHARDS];
  size_t ncoefs, in_len[MAX_SHARDS], out_len[MAX_SHARDS];
  uint32_t cols, rows;
  if (argc < 3 || !u8_arg(env, argv[0], &coefs, &ncoefs) || !u8_list(env, argv[1], in, in_len, &cols) ||
      !u8_list(env, argv[2], out, out_len, &rows))
    return throw_coded(env, "FEC_BAD_ARG", "mulShards(coefs, ins[], outs[]): arguments of the wrong type");
  if (argc >= 4) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[3], &t));
    if (t == napi_boolean) CHECK(napi_get_value_bool(env, argv[3], &accumulate));
  }
  if (ncoefs != (size_t)rows * cols) return throw_coded(env, "FEC_BAD_ARG", "mulShards: %zu coefficients for %u x %u", ncoefs, rows, cols);
  if (rows == 0) return NULL;
  size_t n = out_len[0];
  for (uint32_t r = 1; r < rows; r++)
    if (out_len[r] != n) return throw_coded(env, "FEC_BAD_ARG", "mulShards: outputs of unequal length");
  for (uint32_t c = 0; c < cols; c++)
    if (in_len[c] > n) return throw_coded(env, "FEC_BAD_ARG", "mulShards: input %u longer than the outputs", c);
  for (uint32_t r = 0; r < rows; r++) {
    if (!accumulate) memset(out[r], 0, n);
    for (uint32_t c = 0; c < cols; c++) muladd(coefs[(size_t)r * cols + c], in[c], out[r], in_len[c]);
  }
  return NULL;
}

// simd(): the vector path in use, for the bench and `meshd status`.
static napi_value simd(napi_env env, napi_callback_info info) {
  napi_value s;
  CHECK(napi_create_string_utf8(env, simd_name, NAPI_AUTO_LENGTH, &s));
  return s;
}

// Picks the vector path: the best this CPU has when `want` is NULL, else that one if the CPU has it
// ("scalar" always). 1 when the choice was made.
static int pick_simd(const char *want) {
  struct {
    const char *name;
    muladd_vec_fn fn;
    int ok;
  } paths[] = {
#ifdef FEC_X86
    {"avx2", muladd_avx2, __builtin_cpu_supports("avx2")},
    {"ssse3", muladd_ssse3, __builtin_cpu_supports("ssse3")},
#endif
#ifdef FEC_NEON
    {"neon", muladd_neon, 1},
#endif
    {"scalar", NULL, 1},
  };
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    if (!paths[i].ok || (want != NULL && strcmp(want, paths[i].name) != 0)) continue;
    muladd_vec = paths[i].fn;
    simd_name = paths[i].name;
    return 1;
  }
  return 0;
}

// useSimd(name): switches the vector path (tests compare every path with the reference); true when
// this CPU has it.
static napi_value use_simd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  char name[16];
  size_t len = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok)
    return throw_coded(env, "FEC_BAD_ARG", "useSimd(name: string)");
  CHECK(napi_get_boolean(env, pick_simd(name), &r));
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  init_tables();
#ifdef FEC_X86
  __builtin_cpu_init();
#endif
  pick_simd(NULL);
  static const addon_fn_t fns[] = {{"mulShards", mul_shards}, {"simd", simd}, {"useSimd", use_simd}};
  return define_functions(env, exports, fns, sizeof fns / sizeof fns[0], NULL);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
