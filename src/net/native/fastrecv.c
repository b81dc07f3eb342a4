// The receive half of the native fast path (issue 19 item 7). An idle ping crossed a turn of JS on
// each side each way; the TUN addon's send half (src/tun/native/fastpath.c) took the send turns. Here
// a TRANSPORT datagram of a pair JS installed, from the pair's endpoint, whose plaintext is one small
// IPv4 packet from the peer's overlay address to ours, is opened (ChaCha20-Poly1305, the bytes
// crypto/session.ts opens), marked in the session's own replay window and written to the TUN inside
// recv_batch, before any JS call: a batch that held only such datagrams costs no turn of JS at all.
//
// The checks are the JS path's (link.ts receiveTransport, peer/inbound.ts deliver) restricted to what
// needs no decision: index, type and reserved bytes, key age (JS bounds validMs by the key's expiry
// and the initiator's rekey-on-receive age), replay (the same window: JS and C mark the same bits),
// authentication, inner kind IP, an IPv4 packet whose total length is the plaintext's, source the
// peer's overlay address, destination ours. Anything else (another kind: KCP, FEC, control; a source
// routed through the peer; a roamed endpoint; more than max_pps datagrams a second) goes to JS as it
// arrived: the datagram is decrypted into a scratch buffer, never in place, and the replay window is
// marked only when C keeps the packet. A datagram whose tag fails goes to JS too, which counts it.
// JS books what C received (the link's receive clocks, RxCounts, traffic) once a second from
// recvStats(take): src/peer/fast-path.ts.
#include "fastrecv.h"

#include <openssl/evp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

enum { HDR = 16, TAG = 16, TRANSPORT_TYPE = 4 };
#define MAX_SAFE_COUNTER 9007199254740991.0

static fr_entry_t *find(fastrecv_t *fr, uint32_t index) {
  for (uint32_t i = 0; i < fr->n; i++)
    if (fr->entries[i].local_index == index) return &fr->entries[i];
  return NULL;
}

static void drop_entry(fastrecv_t *fr, uint32_t i) {
  addon_drop_ref(fr->owner, &fr->entries[i].replay_ref);
  memset(fr->entries[i].key, 0, sizeof fr->entries[i].key);
  if (i != fr->n - 1) fr->entries[i] = fr->entries[fr->n - 1];
  fr->n--;
  if (fr->n == 0 && fr->tun_fd >= 0) {
    close(fr->tun_fd);
    fr->tun_fd = -1;
  }
}

void fastrecv_free(fastrecv_t *fr, addon_obj_t *owner) {
  if (fr == NULL) return;
  while (fr->n > 0) drop_entry(fr, fr->n - 1);
  if (fr->tun_fd >= 0) close(fr->tun_fd);
  EVP_CIPHER_CTX_free(fr->aead);
  EVP_CIPHER_free(fr->cipher);
  free(fr);
}

fastrecv_t *fastrecv_new(addon_obj_t *owner) {
  fastrecv_t *fr = calloc(1, sizeof *fr);
  if (fr == NULL) return NULL;
  fr->owner = owner;
  fr->tun_fd = -1;
  fr->cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
  fr->aead = EVP_CIPHER_CTX_new();
  if (fr->cipher == NULL || fr->aead == NULL || EVP_DecryptInit_ex2(fr->aead, fr->cipher, NULL, NULL, NULL) != 1 ||
      napi_get_uv_event_loop(owner->env, &fr->loop) != napi_ok) {
    fastrecv_free(fr, owner);
    return NULL;
  }
  return fr;
}

// The replay window of crypto/replay.ts, on the same memory: check before opening, mark after.
static bool replay_fresh(const fr_entry_t *e, uint64_t c) {
  const double last = *e->replay_last;
  if ((double)c > last) return true;
  if (last - (double)c >= FR_WINDOW) return false;
  return (e->replay_ring[(c / 32) & (FR_RING_WORDS - 1)] & (1u << (c % 32))) == 0;
}

static void replay_mark(fr_entry_t *e, uint64_t c) {
  const double last = *e->replay_last;
  const uint64_t block = c / 32;
  if ((double)c > last) {
    const int64_t current = last < 0 ? -1 : (int64_t)((uint64_t)last / 32);
    const uint64_t gap = block - (uint64_t)current;
    const uint64_t steps = gap < FR_RING_WORDS ? gap : FR_RING_WORDS;
    for (uint64_t i = 1; i <= steps; i++) e->replay_ring[(uint64_t)(current + (int64_t)i) & (FR_RING_WORDS - 1)] = 0;
    // what session.ts lastGap reads: counters skipped past the highest, or a late arrival
    e->skipped += last < 0 ? c : c - (uint64_t)last - 1;
    *e->replay_last = (double)c;
  } else {
    e->late++;
  }
  e->replay_ring[block & (FR_RING_WORDS - 1)] |= 1u << (c % 32);
}

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static bool rate_ok(fr_entry_t *e, uint64_t now) {
  if (now - e->window_ms >= 1000) {
    e->last_window_pkts = now - e->window_ms >= 2000 ? 0 : e->window_pkts;
    e->window_pkts = 0;
    e->window_ms = now;
  }
  if (e->window_pkts < UINT32_MAX) e->window_pkts++;
  return e->window_pkts <= e->max_pps && e->last_window_pkts <= e->max_pps;
}

int fastrecv_take(fastrecv_t *fr, const uint8_t *d, uint32_t len, const uint32_t *src, uint64_t now) {
  if (len < HDR + TAG + 1 + 20 || d[0] != TRANSPORT_TYPE || d[1] != 0 || d[2] != 0 || d[3] != 0) return 0;
  const uint32_t index = (uint32_t)d[4] | ((uint32_t)d[5] << 8) | ((uint32_t)d[6] << 16) | ((uint32_t)d[7] << 24);
  fr_entry_t *e = find(fr, index);
  if (e == NULL) return 0;
  const uint32_t ptlen = len - HDR - TAG;
  if (ptlen > 1 + e->max_bytes || memcmp(src, e->src, sizeof e->src) != 0) return 0;
  if (now >= e->until_ms) {
    fr->to_js_stale++;
    return 0;
  }
  if (!rate_ok(e, now)) {
    fr->to_js_rate++;
    return 0;
  }
  uint64_t c = 0;
  for (int i = 7; i >= 0; i--) c = (c << 8) | d[8 + i];
  if ((double)c > MAX_SAFE_COUNTER || !replay_fresh(e, c)) return 0; // JS counts the replay
  uint8_t pt[1 + FR_MAX_PACKET];
  uint8_t iv[12] = {0};
  memcpy(iv + 4, d + 8, 8);
  int n1 = 0, n2 = 0;
  EVP_CIPHER_CTX *x = fr->aead;
  if (EVP_DecryptInit_ex2(x, NULL, e->key, iv, NULL) != 1 || EVP_DecryptUpdate(x, pt, &n1, d + HDR, (int)ptlen) != 1 ||
      EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, TAG, (void *)(d + HDR + ptlen)) != 1 || EVP_DecryptFinal_ex(x, pt + n1, &n2) != 1 ||
      (uint32_t)(n1 + n2) != ptlen) {
    fr->to_js_auth++;
    return 0;
  }
  const uint8_t *ip = pt + 1;
  const uint32_t iplen = ptlen - 1;
  if (pt[0] != fr->inner_kind || (ip[0] >> 4) != 4 || (ip[0] & 15) < 5 || (((uint32_t)ip[2] << 8) | ip[3]) != iplen ||
      be32(ip + 12) != e->peer_ip || be32(ip + 16) != e->local_ip) {
    fr->to_js_inner++;
    return 0;
  }
  replay_mark(e, c);
  e->packets++;
  e->bytes += iplen;
  e->wire_bytes += ptlen;
  fr->received++;
  static const uint8_t zero_hdr[FR_VNET_MAX];
  struct iovec iov[2] = {{(void *)zero_hdr, fr->vnet_len}, {(void *)ip, iplen}};
  ssize_t w;
  do w = writev(fr->tun_fd, fr->vnet_len > 0 ? iov : iov + 1, fr->vnet_len > 0 ? 2 : 1);
  while (w < 0 && errno == EINTR);
  if (w != (ssize_t)(fr->vnet_len + iplen)) fr->tun_errors++;
  memset(pt, 0, sizeof pt[0] * (1 + iplen));
  return 1;
}

napi_value js_recv_set(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int ok = 0;
  uint32_t index, peer_ip, local_ip, max_bytes, max_pps, kind, tun_fd, vnet_len;
  double valid_ms;
  uint8_t *key, *replay;
  size_t key_len, replay_len, src_len;
  napi_typedarray_type src_type;
  void *src = NULL;
  fastrecv_t *fr = argc >= 13 ? fastrecv_of_handle(env, argv[0], 1) : NULL;
  if (fr != NULL && u32_arg(env, argv[1], &index) && u8_arg(env, argv[2], &key, &key_len) && key_len == 32 &&
      u8_arg(env, argv[3], &replay, &replay_len) && replay_len == FR_REPLAY_BYTES && ((uintptr_t)replay & 7) == 0 &&
      napi_get_value_double(env, argv[4], &valid_ms) == napi_ok && valid_ms > 0 &&
      napi_get_typedarray_info(env, argv[5], &src_type, &src_len, &src, NULL, NULL) == napi_ok && src_type == napi_uint32_array &&
      src_len == 6 && u32_arg(env, argv[6], &peer_ip) && u32_arg(env, argv[7], &local_ip) && u32_arg(env, argv[8], &max_bytes) &&
      max_bytes <= FR_MAX_PACKET && u32_arg(env, argv[9], &max_pps) && u32_arg(env, argv[10], &kind) && kind < 256 &&
      u32_arg(env, argv[11], &tun_fd) && u32_arg(env, argv[12], &vnet_len) && vnet_len <= FR_VNET_MAX) {
    fr_entry_t *e = find(fr, index);
    if (fr->tun_fd < 0) fr->tun_fd = fcntl((int)tun_fd, F_DUPFD_CLOEXEC, 3);
    if (fr->tun_fd >= 0 && (e != NULL || fr->n < FR_MAX_ENTRIES)) {
      fr_entry_t fresh = {0};
      uint64_t now = uv_now(fr->loop);
      if (e != NULL) { // the rate window and the unread counts carry over
        fresh = *e;
        fresh.replay_ref = NULL;
      } else {
        fresh.window_ms = now;
      }
      if (napi_create_reference(env, argv[3], 1, &fresh.replay_ref) == napi_ok) {
        fresh.local_index = index;
        memcpy(fresh.key, key, 32);
        fresh.replay_last = (double *)replay;
        fresh.replay_ring = (uint32_t *)(replay + 8);
        fresh.until_ms = now + (uint64_t)valid_ms;
        memcpy(fresh.src, src, sizeof fresh.src);
        fresh.peer_ip = peer_ip;
        fresh.local_ip = local_ip;
        fresh.max_bytes = max_bytes;
        fresh.max_pps = max_pps;
        fr->inner_kind = (uint8_t)kind;
        fr->vnet_len = vnet_len;
        if (e != NULL) {
          addon_drop_ref(fr->owner, &e->replay_ref);
          *e = fresh;
        } else {
          fr->entries[fr->n++] = fresh;
        }
        ok = 1;
      }
    }
    if (fr->n == 0 && fr->tun_fd >= 0) { // nothing installed after all: the dup goes
      close(fr->tun_fd);
      fr->tun_fd = -1;
    }
  }
  CHECK(napi_get_boolean(env, ok, &out));
  return out;
}

napi_value js_recv_delete(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  fastrecv_t *fr = argc >= 1 ? fastrecv_of_handle(env, argv[0], 0) : NULL;
  if (fr == NULL) return NULL;
  uint32_t index;
  if (argc >= 2 && u32_arg(env, argv[1], &index)) {
    for (uint32_t i = 0; i < fr->n; i++)
      if (fr->entries[i].local_index == index) {
        drop_entry(fr, i);
        break;
      }
  } else {
    while (fr->n > 0) drop_entry(fr, fr->n - 1);
  }
  return NULL;
}

enum { STAT_COLS = 6 };

napi_value js_recv_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out, ab, arr;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool take = false;
  if (argc >= 2 && napi_get_value_bool(env, argv[1], &take) != napi_ok) take = false;
  fastrecv_t *fr = argc >= 1 ? fastrecv_of_handle(env, argv[0], 0) : NULL;
  uint32_t n = fr == NULL || !take ? 0 : fr->n;
  double *cells = NULL;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_arraybuffer(env, sizeof(double) * STAT_COLS * (n > 0 ? n : 1), (void **)&cells, &ab));
  CHECK(napi_create_typedarray(env, napi_float64_array, STAT_COLS * n, ab, 0, &arr));
  for (uint32_t i = 0; i < n; i++) {
    fr_entry_t *e = &fr->entries[i];
    double *row = cells + STAT_COLS * i;
    row[0] = e->local_index;
    row[1] = (double)e->packets;
    row[2] = (double)e->bytes;
    row[3] = (double)e->wire_bytes;
    row[4] = (double)e->skipped;
    row[5] = (double)e->late;
    e->packets = e->bytes = e->wire_bytes = e->skipped = e->late = 0;
  }
  if (!set_number(env, out, "received", fr ? (double)fr->received : 0) || !set_number(env, out, "toJsRate", fr ? (double)fr->to_js_rate : 0) ||
      !set_number(env, out, "toJsStale", fr ? (double)fr->to_js_stale : 0) || !set_number(env, out, "toJsInner", fr ? (double)fr->to_js_inner : 0) ||
      !set_number(env, out, "toJsAuth", fr ? (double)fr->to_js_auth : 0) || !set_number(env, out, "tunErrors", fr ? (double)fr->tun_errors : 0))
    return NULL;
  CHECK(napi_set_named_property(env, out, "entries", arr));
  return out;
}
