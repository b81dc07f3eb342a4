// The write side of the TUN addon (tun.c): direct writes without offloads; with them, a queue that
// write() fills and flush() empties, handing runs of TCP segments to the kernel as GSO
// super-packets (grouping and headers in offload.c). Exports write, writeBatch and flush.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tun.h"

static const uint8_t zero_hdr[OFFLOAD_VNET_HDR_LEN];

static void write_iov(tun_t *t, struct iovec *iov, int n, size_t want) {
  for (int tries = 0; tries < 4; tries++) {
    ssize_t w = writev(t->fd, iov, n);
    if (w == (ssize_t)want) {
      t->writes++;
      return;
    }
    if (w < 0 && errno == EINTR) continue;
    break;
  }
  t->write_errors++;
}

// Writes the queue: a group of one with a zero header, a longer one as a GSO super-packet
// (the first packet with its headers rewritten, then the others' payloads, gathered by writev).
void tun_flush(tun_t *t) {
  wqueue_t *q = t->wq;
  if (q == NULL || q->n == 0) return;
  uint32_t ng = offload_coalesce((const uint8_t *const *)q->ptr, q->len, q->n, q->groups, q->next, q->order);
  struct iovec iov[2 + OFFLOAD_GROUP_MAX_SEGS];
  uint8_t vnet[OFFLOAD_VNET_HDR_LEN];
  for (uint32_t g = 0; g < ng && !t->obj.closed; g++) {
    const offload_group_t *gr = &q->groups[g];
    uint32_t i = gr->first;
    if (gr->count == 1) {
      iov[0] = (struct iovec){(void *)zero_hdr, sizeof zero_hdr};
      iov[1] = (struct iovec){q->ptr[i], q->len[i]};
      write_iov(t, iov, 2, sizeof zero_hdr + q->len[i]);
      t->written++;
      continue;
    }
    uint32_t last = i;
    while (q->next[last] != OFFLOAD_NO_NEXT) last = q->next[last];
    uint32_t hdr = 20 + (uint32_t)(q->ptr[i][32] >> 4) * 4;
    offload_group_header(q->ptr[i], q->ptr[last], gr, vnet);
    int n = 0;
    size_t want = sizeof vnet + q->len[i];
    iov[n++] = (struct iovec){vnet, sizeof vnet};
    iov[n++] = (struct iovec){q->ptr[i], q->len[i]};
    for (uint32_t j = q->next[i]; j != OFFLOAD_NO_NEXT; j = q->next[j]) {
      iov[n++] = (struct iovec){q->ptr[j] + hdr, q->len[j] - hdr};
      want += q->len[j] - hdr;
    }
    write_iov(t, iov, n, want);
    t->written += gr->count;
    t->super_out++;
  }
  q->n = 0;
  q->used = 0;
}

// Offloads: copies one packet into the write queue (flushing first when it is full). False for
// what the kernel would refuse outright, so callers see the same verdicts as a direct write.
static int queue_one(tun_t *t, const uint8_t *p, size_t len) {
  if (len > 0xffff || ((p[0] >> 4) != 4 && (p[0] >> 4) != 6)) {
    errno = EINVAL;
    return 0;
  }
  wqueue_t *q = t->wq;
  if (q->n == WQ_MAX || WQ_BYTES - q->used < len) tun_flush(t);
  if (t->obj.closed) return 0;
  q->ptr[q->n] = q->bytes + q->used;
  q->len[q->n] = (uint32_t)len;
  memcpy(q->ptr[q->n], p, len);
  q->n++;
  q->used += (len + 7) & ~(size_t)7;
  return 1;
}

// One packet; false on any refusal (closed, malformed -> EINVAL, queue full -> EAGAIN, short write).
int tun_write_one(tun_t *t, napi_env env, napi_value v) {
  bool is_ta = false;
  void *p = NULL;
  size_t len = 0;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok) return 0;
  if (is_ta) {
    napi_typedarray_type type;
    size_t n, off;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &n, &p, &ab, &off) != napi_ok) return 0;
    if (type != napi_uint8_array && type != napi_int8_array && type != napi_uint8_clamped_array) return 0;
    len = n;
  } else {
    bool is_buf = false;
    if (napi_is_buffer(env, v, &is_buf) != napi_ok || !is_buf) return 0;
    if (napi_get_buffer_info(env, v, &p, &len) != napi_ok) return 0;
  }
  if (len == 0 || p == NULL || t->obj.closed) return 0;
  // With IFF_VNET_HDR every packet carries a header (flush_queue adds it).
  if (t->offload) return queue_one(t, p, len);
  for (int tries = 0; tries < 4; tries++) {
    ssize_t w = write(t->fd, p, len);
    if (w == (ssize_t)len) {
      t->writes++;
      t->written++;
      return 1;
    }
    if (w < 0 && errno == EINTR) continue;
    return 0;
  }
  return 0;
}

napi_value js_write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  tun_t *t;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int ok = argc >= 2 && get_tun(env, argv[0], &t) && tun_write_one(t, env, argv[1]);
  CHECK(napi_get_boolean(env, ok, &out));
  return out;
}

napi_value js_write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  tun_t *t;
  uint32_t accepted = 0, n = 0;
  bool is_array = false;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 2 && get_tun(env, argv[0], &t) && napi_is_array(env, argv[1], &is_array) == napi_ok && is_array &&
      napi_get_array_length(env, argv[1], &n) == napi_ok) {
    for (uint32_t i = 0; i < n && !t->obj.closed; i++) {
      napi_value el;
      if (napi_get_element(env, argv[1], i, &el) != napi_ok) break;
      if (tun_write_one(t, env, el)) {
        accepted++;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break; // the kernel queue is full: the rest would fail too
      }
    }
    tun_flush(t);
  }
  CHECK(napi_create_uint32(env, accepted, &out));
  return out;
}

napi_value js_flush(napi_env env, napi_callback_info info) {
  tun_t *t = addon_obj_arg(env, info);
  if (t != NULL) tun_flush(t);
  return NULL;
}
