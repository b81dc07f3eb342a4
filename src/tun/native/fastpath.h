// The TUN addon's native fast path (issue 19 item 7): small IPv4 packets of a clean direct pair are
// sealed and sent from C in the TUN's own read callback, without a turn of JS. JS decides which pairs
// qualify and installs one entry per pair (src/peer/fast-path.ts); see fastpath.c.
#ifndef MESHD_FASTPATH_H
#define MESHD_FASTPATH_H

#include <node_api.h>
#include <uv.h>

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct fp_entry_s {
  uint32_t dst;          // overlay IPv4 address, host order
  uint32_t remote_index; // the receiver index of the TRANSPORT header
  uint8_t key[32];       // the session's send key
  double *counter;       // the session's send counter (a Float64Array JS shares), kept alive by counter_ref
  napi_ref counter_ref;
  double counter_limit;  // the counter this key must not reach
  uint64_t until_ms;     // uv_now() after which the entry no longer sends (JS refreshes it)
  int fd;                // the UDP socket the pair's datagrams leave from
  struct sockaddr_storage to;
  socklen_t to_len;
  uint32_t max_bytes;    // larger IP packets go to JS
  uint32_t max_pps;      // more small packets a second than this (this second or the last) go to JS
  uint64_t window_ms;
  uint32_t window_pkts, last_window_pkts;
  uint64_t packets, bytes; // sent since JS last read them (fastStats)
} fp_entry_t;

enum { FP_MAX_ENTRIES = 256, FP_MAX_PACKET = 1500 };

typedef struct fastpath_s {
  napi_env env;
  uv_loop_t *loop;
  uint8_t inner_kind; // the inner message kind of a plain IP packet (wire/inner.ts InnerKind.IP)
  uint32_t n;
  fp_entry_t entries[FP_MAX_ENTRIES];
  void *aead; // EVP_CIPHER_CTX, bound to ChaCha20-Poly1305 once
  void *cipher;
  uint64_t sent, refused_rate, refused_stale, refused_limit, send_errors;
} fastpath_t;

// Takes what it can of packets 0..count-1 (slots of slot_size in data, lengths in lengths); the rest
// are moved to the front in order. Returns how many are left for JS.
uint32_t fastpath_filter(fastpath_t *fp, uint8_t *data, uint32_t *lengths, uint32_t count, uint32_t slot_size);
void fastpath_free(fastpath_t *fp);

// JS API (tun.c exports them; the handle is the TUN's):
napi_value js_fast_set(napi_env env, napi_callback_info info);
napi_value js_fast_delete(napi_env env, napi_callback_info info);
napi_value js_fast_stats(napi_env env, napi_callback_info info);

#endif
