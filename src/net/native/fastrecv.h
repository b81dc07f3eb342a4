// The receive half of the native fast path (issue 19 item 7): small IP packets of a clean direct pair,
// opened and written to the TUN inside the UDP socket's receive callback, without a turn of JS. JS
// installs one entry per pair (src/peer/fast-path.ts) on the socket the pair's datagrams arrive on;
// see fastrecv.c. The send half is the TUN addon's (src/tun/native/fastpath.c).
#ifndef MESHD_FASTRECV_H
#define MESHD_FASTRECV_H

#include <node_api.h>
#include <uv.h>

#include <stdint.h>

#include "../../util/native/napi-addon.h"

// The replay window's layout, shared with src/crypto/replay.ts (REPLAY_RING_WORDS words after the
// highest counter as a double).
enum { FR_RING_WORDS = 256, FR_WINDOW = (FR_RING_WORDS - 1) * 32, FR_REPLAY_BYTES = 8 + 4 * FR_RING_WORDS };
enum { FR_MAX_ENTRIES = 256, FR_MAX_PACKET = 1500, FR_VNET_MAX = 12 };

typedef struct fr_entry_s {
  uint32_t local_index; // the receiver index of our session
  uint8_t key[32];      // the session's receive key
  double *replay_last;  // the session's replay window (crypto/replay.ts shared), kept by replay_ref
  uint32_t *replay_ring;
  napi_ref replay_ref;
  uint64_t until_ms;    // uv_now() after which the entry leaves everything to JS
  uint32_t src[6];      // the expected source as recvMeta words: family, port, a0..a3
  uint32_t peer_ip;     // the inner source it admits (the peer's overlay IPv4, host order)
  uint32_t local_ip;    // the inner destination (ours)
  uint32_t max_bytes;   // larger IP packets go to JS
  uint32_t max_pps;     // more datagrams a second than this (this second or the last) go to JS
  uint64_t window_ms;
  uint32_t window_pkts, last_window_pkts;
  uint64_t packets, bytes, wire_bytes, skipped, late; // since JS last took them
} fr_entry_t;

typedef struct fastrecv_s {
  addon_obj_t *owner; // the socket (its env, for the references)
  uv_loop_t *loop;
  int tun_fd;         // a dup of the TUN's fd (-1 until the first entry), closed with the last entry
  uint32_t vnet_len;  // virtio_net_hdr bytes the TUN expects before each packet (0 without offloads)
  uint8_t inner_kind; // wire/inner.ts InnerKind.IP
  uint32_t n;
  fr_entry_t entries[FR_MAX_ENTRIES];
  void *aead;   // EVP_CIPHER_CTX bound to ChaCha20-Poly1305 for decryption
  void *cipher;
  uint64_t received, to_js_rate, to_js_stale, to_js_inner, to_js_auth, tun_errors;
} fastrecv_t;

// 1 when the datagram (from the source in meta words family, port, a0..a3) was taken: opened, checked
// and written to the TUN (or dropped there, counted); 0 leaves it, untouched, to JS.
int fastrecv_take(fastrecv_t *fr, const uint8_t *d, uint32_t len, const uint32_t *src, uint64_t now);
fastrecv_t *fastrecv_new(addon_obj_t *owner); // NULL when OpenSSL lacks the cipher
void fastrecv_free(fastrecv_t *fr, addon_obj_t *owner);

// JS API (udp.c exports them; the first argument is the socket handle):
//   recvSet(handle, localIndex, key, replay, validMs, srcWords, peerIp, localIp, maxBytes, maxPps,
//           innerKind, tunFd, vnetLen) -> bool
//     key: 32 bytes; replay: Uint8Array(FR_REPLAY_BYTES) over the session's window (8-aligned);
//     srcWords: Uint32Array [family 4|6, port, a0, a1, a2, a3] as recvMeta reports the peer;
//     tunFd: duplicated at the first entry (the TUN may close before the socket; the dup keeps the
//     number from meaning another file). Replaces the entry for localIndex if there is one.
//   recvDelete(handle, localIndex)   recvDelete(handle) deletes every entry (and closes the dup)
//   recvStats(handle, take) -> { received, toJsRate, toJsStale, toJsInner, toJsAuth, tunErrors,
//     entries: Float64Array [localIndex, packets, bytes, wireBytes, skipped, late] per entry }
napi_value js_recv_set(napi_env env, napi_callback_info info);
napi_value js_recv_delete(napi_env env, napi_callback_info info);
napi_value js_recv_stats(napi_env env, napi_callback_info info);
// Which fastrecv_t a socket handle has (udp.c); created on demand when create is set.
fastrecv_t *fastrecv_of_handle(napi_env env, napi_value handle, int create);

#endif
