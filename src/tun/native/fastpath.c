// The native fast path (issue 19 item 7). An idle ping crossed a turn of JS on each side each way,
// and on these paravirtualised machines a JS turn costs ~0.3 ms more than C (docs/BENCHMARKS.md
// "Issue 19, session 10: the cost of a turn of JS"). Here a small IPv4 packet read from the TUN for a
// pair JS has installed is sealed (ChaCha20-Poly1305, the same bytes as crypto/session.ts) and sent
// with one sendto(2) inside the TUN's read callback; JS never sees it.
//
// JS owns every decision (src/peer/fast-path.ts): which pairs qualify (small messages of a clean direct
// pair would leave as plain datagrams anyway: peer/interactive-datagram.ts), their key, path and
// socket. An entry lives at most validMs unless JS refreshes it, so what JS changes (a loss, a new
// path, a rekey, the map) reaches the fast path within that bound, and at once where JS deletes it.
// The send counter is the session's own cell (a Float64Array JS reads and writes in session.ts), so a
// nonce is never used twice whichever side sends: one thread, and C increments it before sealing.
// Per entry, a packet goes to JS instead when it is larger than max_bytes, when the pair sent more than
// max_pps small packets this second or the last (a transfer's own ACKs: KCP), when the key reached
// its limit, or when sendto fails (JS then sends it with the next counter).
//
// JS API (exported by tun.c; the first argument is the TUN handle):
//   fastSet(handle, dst, remoteIndex, key, counterCell, counterLimit, validMs, fd, address, port,
//           maxBytes, maxPps, innerKind) -> bool
//     dst: the peer's overlay IPv4 as a host-order u32; key: 32 bytes; counterCell: Float64Array(1);
//     address: 4 or 16 bytes (network order); false when the table is full or an argument is wrong.
//     Replaces the entry for dst if there is one (its rate window carries over).
//   fastDelete(handle, dst)     fastDelete(handle) deletes every entry
//   fastStats(handle, take) -> { sent, refusedRate, refusedStale, refusedLimit, sendErrors, entries:
//     Float64Array [dst, packets, bytes] per entry } the totals; with take, also each entry's packets
//     and bytes since the last take, which it zeroes (the owner books them: src/peer/fast-path.ts)
#include "tun.h"

#include <openssl/evp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { HDR = 16, TAG = 16, TRANSPORT_TYPE = 4 };

static fp_entry_t *find(fastpath_t *fp, uint32_t dst) {
  for (uint32_t i = 0; i < fp->n; i++)
    if (fp->entries[i].dst == dst) return &fp->entries[i];
  return NULL;
}

static void drop_entry(fastpath_t *fp, tun_t *t, uint32_t i) {
  addon_drop_ref(&t->obj, &fp->entries[i].counter_ref);
  memset(fp->entries[i].key, 0, sizeof fp->entries[i].key);
  if (i != fp->n - 1) fp->entries[i] = fp->entries[fp->n - 1];
  fp->n--;
}

void fastpath_free(fastpath_t *fp) {
  if (fp == NULL) return;
  EVP_CIPHER_CTX_free(fp->aead);
  EVP_CIPHER_free(fp->cipher);
  memset(fp->entries, 0, sizeof fp->entries);
  free(fp);
}

static fastpath_t *fastpath_of(tun_t *t) {
  if (t->fp != NULL) return t->fp;
  fastpath_t *fp = calloc(1, sizeof *fp);
  if (fp == NULL) return NULL;
  fp->cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
  fp->aead = EVP_CIPHER_CTX_new();
  if (fp->cipher == NULL || fp->aead == NULL || EVP_EncryptInit_ex2(fp->aead, fp->cipher, NULL, NULL, NULL) != 1 ||
      napi_get_uv_event_loop(t->obj.env, &fp->loop) != napi_ok) {
    fastpath_free(fp);
    return NULL;
  }
  fp->env = t->obj.env;
  t->fp = fp;
  return fp;
}

// The header (type, zeros, receiver index LE, counter LE) and the sealed [kind | packet] into out.
static int seal(fastpath_t *fp, const fp_entry_t *e, uint64_t counter, const uint8_t *pkt, uint32_t len, uint8_t *out) {
  uint8_t pt[1 + FP_MAX_PACKET];
  pt[0] = fp->inner_kind;
  memcpy(pt + 1, pkt, len);
  out[0] = TRANSPORT_TYPE;
  out[1] = out[2] = out[3] = 0;
  for (int i = 0; i < 4; i++) out[4 + i] = (uint8_t)(e->remote_index >> (8 * i));
  for (int i = 0; i < 8; i++) out[8 + i] = (uint8_t)(counter >> (8 * i));
  uint8_t iv[12] = {0};
  memcpy(iv + 4, out + 8, 8);
  int n1 = 0, n2 = 0;
  EVP_CIPHER_CTX *c = fp->aead;
  return EVP_EncryptInit_ex2(c, NULL, e->key, iv, NULL) == 1 && EVP_EncryptUpdate(c, out + HDR, &n1, pt, (int)len + 1) == 1 &&
         EVP_EncryptFinal_ex(c, out + HDR + n1, &n2) == 1 && (uint32_t)(n1 + n2) == len + 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG, out + HDR + len + 1) == 1;
}

// 1 when the packet left here.
static int try_send(fastpath_t *fp, const uint8_t *pkt, uint32_t len, uint64_t now) {
  if (len < 20 || (pkt[0] >> 4) != 4 || (((uint32_t)pkt[2] << 8) | pkt[3]) != len) return 0;
  uint32_t dst = ((uint32_t)pkt[16] << 24) | ((uint32_t)pkt[17] << 16) | ((uint32_t)pkt[18] << 8) | pkt[19];
  fp_entry_t *e = find(fp, dst);
  if (e == NULL || len > e->max_bytes) return 0;
  if (now >= e->until_ms) {
    fp->refused_stale++;
    return 0;
  }
  // The pair's small packets per second, as interactive-datagram.ts counts a lane's (here the pair's).
  if (now - e->window_ms >= 1000) {
    e->last_window_pkts = now - e->window_ms >= 2000 ? 0 : e->window_pkts;
    e->window_pkts = 0;
    e->window_ms = now;
  }
  if (e->window_pkts < UINT32_MAX) e->window_pkts++;
  if (e->window_pkts > e->max_pps || e->last_window_pkts > e->max_pps) {
    fp->refused_rate++;
    return 0;
  }
  double c = *e->counter;
  if (!(c >= 0 && c < e->counter_limit)) {
    fp->refused_limit++;
    return 0;
  }
  *e->counter = c + 1; // before sealing: this counter is spent whatever happens next
  uint8_t out[HDR + 1 + FP_MAX_PACKET + TAG];
  if (!seal(fp, e, (uint64_t)c, pkt, len, out)) {
    fp->send_errors++;
    return 0;
  }
  ssize_t r;
  do r = sendto(e->fd, out, HDR + 1 + len + TAG, MSG_DONTWAIT, (struct sockaddr *)&e->to, e->to_len);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    fp->send_errors++;
    return 0;
  }
  fp->sent++;
  e->packets++;
  e->bytes += len;
  return 1;
}

uint32_t fastpath_filter(fastpath_t *fp, uint8_t *data, uint32_t *lengths, uint32_t count, uint32_t slot_size) {
  if (fp == NULL || fp->n == 0) return count;
  uint64_t now = uv_now(fp->loop);
  uint32_t kept = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint8_t *p = data + (size_t)i * slot_size;
    if (try_send(fp, p, lengths[i], now)) continue;
    if (kept != i) {
      memmove(data + (size_t)kept * slot_size, p, lengths[i]);
      lengths[kept] = lengths[i];
    }
    kept++;
  }
  return kept;
}

static int f64_at(napi_env env, napi_value v, double *out) {
  return napi_get_value_double(env, v, out) == napi_ok;
}

napi_value js_fast_set(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = NULL;
  int ok = 0;
  uint32_t dst, remote_index, fd, port, max_bytes, max_pps, kind;
  double limit, valid_ms;
  uint8_t *key, *addr;
  size_t key_len, addr_len;
  napi_typedarray_type ta_type;
  size_t ta_len;
  void *cell = NULL;
  if (argc >= 13 && get_tun(env, argv[0], &t) && !t->obj.closed && u32_arg(env, argv[1], &dst) &&
      u32_arg(env, argv[2], &remote_index) && u8_arg(env, argv[3], &key, &key_len) && key_len == 32 &&
      napi_get_typedarray_info(env, argv[4], &ta_type, &ta_len, &cell, NULL, NULL) == napi_ok &&
      ta_type == napi_float64_array && ta_len >= 1 && f64_at(env, argv[5], &limit) && f64_at(env, argv[6], &valid_ms) &&
      valid_ms > 0 && u32_arg(env, argv[7], &fd) && u8_arg(env, argv[8], &addr, &addr_len) &&
      (addr_len == 4 || addr_len == 16) && u32_arg(env, argv[9], &port) && port > 0 && port < 65536 &&
      u32_arg(env, argv[10], &max_bytes) && max_bytes <= FP_MAX_PACKET && u32_arg(env, argv[11], &max_pps) &&
      u32_arg(env, argv[12], &kind) && kind < 256) {
    fastpath_t *fp = fastpath_of(t);
    fp_entry_t *e = fp == NULL ? NULL : find(fp, dst);
    if (fp != NULL && (e != NULL || fp->n < FP_MAX_ENTRIES)) {
      fp_entry_t fresh = {0};
      if (e != NULL) { // keep the rate window and the unread counts; the old cell's ref goes
        fresh.window_ms = e->window_ms;
        fresh.window_pkts = e->window_pkts;
        fresh.last_window_pkts = e->last_window_pkts;
        fresh.packets = e->packets;
        fresh.bytes = e->bytes;
      } else {
        fresh.window_ms = uv_now(fp->loop);
      }
      if (napi_create_reference(env, argv[4], 1, &fresh.counter_ref) == napi_ok) {
        fresh.dst = dst;
        fresh.remote_index = remote_index;
        memcpy(fresh.key, key, 32);
        fresh.counter = cell;
        fresh.counter_limit = limit;
        fresh.until_ms = uv_now(fp->loop) + (uint64_t)valid_ms;
        fresh.fd = (int)fd;
        fresh.max_bytes = max_bytes;
        fresh.max_pps = max_pps;
        if (addr_len == 4) {
          struct sockaddr_in *sa = (struct sockaddr_in *)&fresh.to;
          sa->sin_family = AF_INET;
          sa->sin_port = htons((uint16_t)port);
          memcpy(&sa->sin_addr, addr, 4);
          fresh.to_len = sizeof *sa;
        } else {
          struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&fresh.to;
          sa->sin6_family = AF_INET6;
          sa->sin6_port = htons((uint16_t)port);
          memcpy(&sa->sin6_addr, addr, 16);
          fresh.to_len = sizeof *sa;
        }
        fp->inner_kind = (uint8_t)kind;
        if (e != NULL) {
          addon_drop_ref(&t->obj, &e->counter_ref);
          *e = fresh;
        } else {
          fp->entries[fp->n++] = fresh;
        }
        ok = 1;
      }
    }
  }
  CHECK(napi_get_boolean(env, ok, &out));
  return out;
}

napi_value js_fast_delete(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = NULL;
  if (argc < 1 || !get_tun(env, argv[0], &t) || t->fp == NULL) return NULL;
  fastpath_t *fp = t->fp;
  uint32_t dst;
  if (argc >= 2 && u32_arg(env, argv[1], &dst)) {
    for (uint32_t i = 0; i < fp->n; i++)
      if (fp->entries[i].dst == dst) {
        drop_entry(fp, t, i);
        break;
      }
  } else {
    while (fp->n > 0) drop_entry(fp, t, fp->n - 1);
  }
  return NULL;
}

napi_value js_fast_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out, ab, arr;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = NULL;
  if (argc < 1 || !get_tun(env, argv[0], &t)) return throw_coded(env, "TUN_IO", "fastStats: not a TUN handle");
  bool take = false;
  if (argc >= 2 && napi_get_value_bool(env, argv[1], &take) != napi_ok) take = false;
  fastpath_t *fp = t->fp;
  uint32_t n = fp == NULL || !take ? 0 : fp->n;
  double *cells = NULL;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_arraybuffer(env, sizeof(double) * 3 * (n > 0 ? n : 1), (void **)&cells, &ab));
  CHECK(napi_create_typedarray(env, napi_float64_array, 3 * n, ab, 0, &arr));
  for (uint32_t i = 0; i < n; i++) {
    fp_entry_t *e = &fp->entries[i];
    cells[3 * i] = e->dst;
    cells[3 * i + 1] = (double)e->packets;
    cells[3 * i + 2] = (double)e->bytes;
    e->packets = e->bytes = 0;
  }
  if (!set_number(env, out, "sent", fp ? (double)fp->sent : 0) || !set_number(env, out, "refusedRate", fp ? (double)fp->refused_rate : 0) ||
      !set_number(env, out, "refusedStale", fp ? (double)fp->refused_stale : 0) ||
      !set_number(env, out, "refusedLimit", fp ? (double)fp->refused_limit : 0) ||
      !set_number(env, out, "sendErrors", fp ? (double)fp->send_errors : 0))
    return NULL;
  CHECK(napi_set_named_property(env, out, "entries", arr));
  return out;
}
