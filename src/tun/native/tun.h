// Shared between the TUN addon's C files: tun.c (device lifecycle, reads, exports), tun-write.c
// (the write path and its queue) and offload-js.c (test views of offload.c). The N-API plumbing
// (CHECK, throw_coded, u8_arg, the external's lifecycle) is src/util/native/napi-addon.h.
#ifndef MESHD_TUN_H
#define MESHD_TUN_H

#include <node_api.h>
#include <uv.h>

#include <linux/if.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../util/native/napi-addon.h"
#include "offload.h"

struct fastpath_s;

typedef struct tun_s {
  addon_obj_t obj; // first: env, closed (fd closed, no more callbacks), the external's lifecycle
  int fd;
  uv_poll_t poll;
  int in_callback;
  napi_ref on_packets;
  napi_ref on_error;
  napi_ref data_ref;
  napi_ref lengths_ref;
  uint8_t *data;
  uint32_t *lengths;
  uint32_t slot_size;
  uint32_t slot_count;
  uint32_t mtu;
  char name[IFNAMSIZ];
  // Offloads: every read lands in rbuf (virtio_net_hdr + up to 64 KB); a super-packet whose segments
  // did not all fit the batch stays there, `pending_next` being the first segment not yet delivered.
  int offload;
  uint8_t *rbuf;
  size_t rbuf_used;
  uint32_t pending_next;
  uint64_t reads, packets, super_packets, segments, csum_completed, dropped;
  // Write queue (offloads only): packets copied in by write(), written by flush().
  struct wqueue_s *wq;
  uint64_t writes, written, super_out, write_errors;
  // The native fast path (fastpath.c): NULL until JS installs its first entry.
  struct fastpath_s *fp;
} tun_t;

// Queue geometry; local tuning: a loop turn of UDP reads is at most a few hundred packets.
enum { WQ_MAX = 256, WQ_BYTES = 512 * 1024 };
typedef struct wqueue_s {
  uint32_t n;
  size_t used;
  uint8_t *ptr[WQ_MAX];
  uint32_t len[WQ_MAX];
  uint32_t next[WQ_MAX];
  uint32_t order[WQ_MAX]; // offload_coalesce's scratch
  offload_group_t groups[WQ_MAX];
  uint8_t bytes[WQ_BYTES];
} wqueue_t;

// virtio_net_hdr + the largest IPv4 packet + 1, so a read that fills it is known to be truncated.
enum { RBUF_SIZE = OFFLOAD_VNET_HDR_LEN + 65535 + 1 };

int get_tun(napi_env env, napi_value v, tun_t **out);

// tun-write.c
int tun_write_one(tun_t *t, napi_env env, napi_value v);
void tun_flush(tun_t *t); // writes the queue (offloads); nothing otherwise
napi_value js_write(napi_env env, napi_callback_info info);
napi_value js_write_batch(napi_env env, napi_callback_info info);
napi_value js_flush(napi_env env, napi_callback_info info);

// offload-js.c
napi_value js_offload_split(napi_env env, napi_callback_info info);
napi_value js_offload_coalesce(napi_env env, napi_callback_info info);

#include "fastpath.h"

#endif
