// meshd_tun: the Linux TUN addon behind src/tun/linux.ts (its only user). Opens an IFF_TUN|IFF_NO_PI
// device, configures address, MTU, txqueuelen and link state by ioctl (no `ip` binary at run time),
// reads packets on the Node event loop with uv_poll (no threadpool round trip) into one shared slot
// buffer per device, and writes with write(2). Plain C against node_api.h (NAPI_VERSION 8).
// With offloads (IFF_VNET_HDR, TUNSETOFFLOAD TUN_F_CSUM|TUN_F_TSO4|TUN_F_TSO_ECN) the kernel hands us
// TCP super-packets of up to 64 KB in one read; offload.c splits them into MTU-sized packets in the
// slots, so JS still sees ordinary packets; writes queue and leave coalesced (tun-write.c).
// Files: tun.h (shared state), tun-write.c (write path), offload.c (pure packet work), offload-js.c
// (test views of offload.c).
//
// JS API (all positional; linux.ts validates arguments before calling):
//   open(name, address, prefixLength, mtu, txQueueLen, slotSize, slotCount, onPackets, onError, offload)
//     -> { handle, name, data: Buffer(slotSize*slotCount), lengths: Uint32Array(slotCount), offload }
//     onPackets(count): packets 0..count-1 are in data/lengths, valid only during the call.
//     onError(code, message): the device failed (deleted from outside, I/O error); it is closed.
//     offload (boolean, optional): ask for offloads; the result's `offload` says whether the kernel
//     accepted them (if TUNSETOFFLOAD is refused the device is recreated without IFF_VNET_HDR).
//   write(handle, buf) -> boolean        writeBatch(handle, Uint8Array[]) -> number accepted
//     With offloads, write copies the packet into a queue (true unless the kernel would refuse it
//     outright: empty, over 65535 bytes, not IPv4/IPv6) and flush(handle) writes the queue, one
//     TCP GSO super-packet per run of consecutive segments of a flow (offload.c); linux.ts calls
//     it once per event-loop turn. writeBatch queues and flushes. Without offloads both write
//     at once and flush does nothing.
//   flush(handle)                        writes what write queued
//   close(handle)                        idempotent (flushes first); no callback after it returns
//   stats(handle) -> { reads, packets, superPackets, segments, csumCompleted, dropped, writes,
//                      written, superPacketsOut, writeErrors }   counters
//   offloadSplit(input, mtu, out, slotSize, lengths, state) -> count | negative OFFLOAD_ERR_*
//     offload.c's offload_split on one virtio_net_hdr + packet, for the unit tests; state[0] is
//     the resume segment index (in/out).
//   offloadCoalesce(packets) -> Buffer[]   what flush would write for these packets, each with its
//     virtio_net_hdr (offload.c's grouping and headers), for the unit tests.
//   aeadSeal(key, out, plaintext) -> bool   ChaCha20-Poly1305 (RFC 8439) for TRANSPORT datagrams:
//     out[0..16) holds the header already; nonce = 4 zero bytes + out[8..16); aad empty; writes the
//     ciphertext at out[16..) and the 16-byte tag after it. Same bytes as node:crypto.
//   aeadOpen(key, datagram, out) -> number  the reverse: plaintext length written to out, or -1 when
//     the tag does not verify. Both run on Node's own OpenSSL (the node binary exports EVP_*), so
//     they link against no library of their own; crypto/session.ts falls back to node:crypto
//     when an older addon lacks them.
// Errors thrown from open carry `code`: TUN_NO_DEVICE, TUN_PERMISSION, TUN_BUSY, TUN_BAD_ADDRESS,
// TUN_BAD_MTU, TUN_IO.
#include <node_api.h>
#include <openssl/evp.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"

napi_value throw_coded(napi_env env, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  napi_value c, m, err;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) == napi_ok &&
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) == napi_ok &&
      napi_create_error(env, c, m, &err) == napi_ok) {
    napi_throw(env, err);
  }
  return NULL;
}

static void maybe_free(tun_t *t) {
  if (t->finalized && (!t->poll_inited || t->handle_closed)) {
    free(t->rbuf);
    free(t->wq);
    free(t);
  }
}

static void on_handle_closed(uv_handle_t *h) {
  tun_t *t = (tun_t *)h->data;
  t->handle_closed = 1;
  maybe_free(t);
}

static void drop_ref(tun_t *t, napi_ref *r) {
  if (*r != NULL && !t->env_gone) napi_delete_reference(t->env, *r);
  *r = NULL;
}

static void env_cleanup(void *arg);

// Stops polling and closes the fd; after this no JS callback runs. Safe inside the callback.
static void tun_shutdown(tun_t *t) {
  if (t->closed) return;
  t->closed = 1;
  if (t->wq != NULL) t->wq->n = 0;
  if (t->poll_inited) {
    uv_poll_stop(&t->poll);
    uv_close((uv_handle_t *)&t->poll, on_handle_closed);
  }
  if (t->fd >= 0) close(t->fd);
  t->fd = -1;
  if (!t->env_gone) {
    napi_remove_env_cleanup_hook(t->env, env_cleanup, t);
    if (t->async_ctx != NULL) napi_async_destroy(t->env, t->async_ctx);
  }
  t->async_ctx = NULL;
  drop_ref(t, &t->on_packets);
  drop_ref(t, &t->on_error);
  drop_ref(t, &t->data_ref);
  drop_ref(t, &t->lengths_ref);
}

static void env_cleanup(void *arg) {
  tun_t *t = (tun_t *)arg;
  t->env_gone = 1;
  tun_shutdown(t);
}

static void finalize_external(napi_env env, void *data, void *hint) {
  tun_t *t = (tun_t *)data;
  t->finalized = 1;
  tun_shutdown(t);
  maybe_free(t);
}

// Calls fn(args) through napi_make_callback so nextTicks and microtasks run after it; an exception
// the handler throws becomes an uncaughtException, never a silently swallowed one.
static void call_js(tun_t *t, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = t->env;
  napi_value fn, recv, result;
  if (fn_ref == NULL || napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_global(env, &recv); // napi_make_callback needs an object receiver
  napi_status s = napi_make_callback(env, t->async_ctx, recv, fn, argc, argv, &result);
  if (s == napi_pending_exception) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
}

static void report_failure(tun_t *t, const char *code, const char *fmt, int err) {
  napi_env env = t->env;
  napi_ref on_error = t->on_error;
  t->on_error = NULL; // keep it past shutdown, report once
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_async_context ctx = t->async_ctx;
  t->async_ctx = NULL; // kept alive for the error call below
  tun_shutdown(t);
  t->async_ctx = ctx;
  char msg[256];
  snprintf(msg, sizeof msg, fmt, t->name, strerror(err));
  napi_value argv[2];
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &argv[0]) == napi_ok &&
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &argv[1]) == napi_ok) {
    call_js(t, on_error, 2, argv);
  }
  if (t->async_ctx != NULL) napi_async_destroy(env, t->async_ctx);
  t->async_ctx = NULL;
  if (on_error != NULL) napi_delete_reference(env, on_error);
  napi_close_handle_scope(env, scope);
}

static int is_gone_errno(int e) {
  return e == EBADFD || e == EIO || e == ENXIO || e == ENODEV || e == EBADF || e == ENETDOWN;
}

static uint32_t read_batch(tun_t *t, int may_read);

static void on_readable(uv_poll_t *h, int status, int events) {
  tun_t *t = (tun_t *)h->data;
  if (t->closed || t->env_gone) return;
  if (status < 0) {
    report_failure(t, "TUN_GONE", "TUN device %s went away (deleted from outside?)", -status);
    return;
  }
  // A full batch means more is probably queued: drain a few batches per wake before going back
  // to epoll, which is cheaper than a loop iteration per batch; bounded so timers still run.
  for (int round = 0; round < 4 && !t->closed; round++) {
    if (read_batch(t, 1) < t->slot_count) break;
  }
  // Segments of a super-packet already read must not wait for the fd to be readable again. At
  // most ceil(65535 / 456) = 144 segments (MTU 576) remain: three batches of 64.
  for (int round = 0; round < 3 && t->pending_next != 0 && !t->closed; round++) read_batch(t, 0);
}

// Delivers segments of the held super-packet into slots from `count`; returns the new count.
static uint32_t drain_pending(tun_t *t, uint32_t count) {
  uint32_t next = t->pending_next;
  int k = offload_split(t->rbuf, t->rbuf_used, t->mtu, t->data + (size_t)count * t->slot_size, t->slot_size,
                        t->slot_count - count, t->lengths + count, &next);
  t->pending_next = next;
  if (k <= 0) {
    t->pending_next = 0; // cannot happen for a read offload_split accepted once; never spin on it
    return count;
  }
  t->segments += (uint32_t)k;
  return count + (uint32_t)k;
}

// One read with offloads on, split into slots from *count (advanced past what it delivered);
// returns read(2)'s result.
static ssize_t read_offload(tun_t *t, uint32_t *count) {
  ssize_t n = read(t->fd, t->rbuf, RBUF_SIZE);
  if (n <= 0) return n;
  t->reads++;
  if (n == RBUF_SIZE) { // truncated: longer than any IPv4 packet
    t->dropped++;
    return n;
  }
  uint32_t next = 0;
  int k = offload_split(t->rbuf, (size_t)n, t->mtu, t->data + (size_t)*count * t->slot_size, t->slot_size,
                        t->slot_count - *count, t->lengths + *count, &next);
  if (k < 0) {
    t->dropped++;
    return n;
  }
  if ((t->rbuf[1] & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) {
    t->super_packets++;
    t->segments += (uint32_t)k;
  } else if (t->rbuf[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
    t->csum_completed++;
  }
  if (next != 0) {
    t->rbuf_used = (size_t)n;
    t->pending_next = next;
  }
  *count += (uint32_t)k;
  return n;
}

// Reads up to slot_count packets and hands them to JS; returns how many were delivered. With
// may_read 0 it only delivers the rest of a held super-packet.
static uint32_t read_batch(tun_t *t, int may_read) {
  uint32_t count = 0;
  while (count < t->slot_count && !t->closed) {
    if (t->pending_next != 0) {
      count = drain_pending(t, count);
      continue;
    }
    if (!may_read) break;
    ssize_t n;
    if (t->offload) {
      n = read_offload(t, &count);
      if (n > 0) continue;
    } else {
      n = read(t->fd, t->data + (size_t)count * t->slot_size, t->slot_size);
      if (n > 0) {
        t->reads++;
        t->lengths[count++] = (uint32_t)n;
        continue;
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) {
      int e = errno;
      if (count == 0) {
        report_failure(t, is_gone_errno(e) ? "TUN_GONE" : "TUN_IO",
                       is_gone_errno(e) ? "TUN device %s went away (deleted from outside?): %s"
                                        : "TUN device %s read failed: %s",
                       e);
        return 0;
      }
    }
    break; // n == 0 or an error after some packets: deliver these, the next wake reports it
  }
  if (count == 0) return 0;
  t->packets += count;
  napi_handle_scope scope;
  if (napi_open_handle_scope(t->env, &scope) != napi_ok) return 0;
  napi_value argv[1];
  if (napi_create_uint32(t->env, count, &argv[0]) == napi_ok) {
    t->in_callback = 1;
    call_js(t, t->on_packets, 1, argv);
    t->in_callback = 0;
  }
  napi_close_handle_scope(t->env, scope);
  return count;
}

int get_tun(napi_env env, napi_value v, tun_t **out) {
  void *p = NULL;
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external) return 0;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) return 0;
  *out = (tun_t *)p;
  return 1;
}

static void set_name(struct ifreq *ifr, const char *name) {
  size_t n = strnlen(name, IFNAMSIZ - 1);
  memcpy(ifr->ifr_name, name, n);
  ifr->ifr_name[n] = 0;
}

static int set_ifreq_addr(int sock, const char *name, unsigned long req, in_addr_t a) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  set_name(&ifr, name);
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = a;
  return ioctl(sock, req, &ifr);
}

// Returns NULL with an exception pending on failure.
static napi_value configure(napi_env env, const char *name, const char *addr, uint32_t prefix,
                            uint32_t mtu, uint32_t txq) {
  struct in_addr ia;
  if (inet_pton(AF_INET, addr, &ia) != 1 || prefix > 32) {
    return throw_coded(env, "TUN_BAD_ADDRESS", "not an IPv4 address/prefix: %s/%u", addr, prefix);
  }
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return throw_coded(env, "TUN_IO", "socket for TUN configuration: %s", strerror(errno));
  napi_value ok = NULL;
  struct ifreq ifr;
  in_addr_t mask = prefix == 0 ? 0 : htonl(0xffffffffu << (32 - prefix));
  if (set_ifreq_addr(sock, name, SIOCSIFADDR, ia.s_addr) < 0) {
    throw_coded(env, errno == EPERM ? "TUN_PERMISSION" : "TUN_BAD_ADDRESS", "setting address %s on %s: %s",
                addr, name, strerror(errno));
    goto out;
  }
  if (set_ifreq_addr(sock, name, SIOCSIFNETMASK, mask) < 0) {
    throw_coded(env, "TUN_BAD_ADDRESS", "setting prefix /%u on %s: %s", prefix, name, strerror(errno));
    goto out;
  }
  memset(&ifr, 0, sizeof ifr);
  set_name(&ifr, name);
  ifr.ifr_mtu = (int)mtu;
  if (ioctl(sock, SIOCSIFMTU, &ifr) < 0) {
    throw_coded(env, "TUN_BAD_MTU", "setting MTU %u on %s: %s", mtu, name, strerror(errno));
    goto out;
  }
  memset(&ifr, 0, sizeof ifr);
  set_name(&ifr, name);
  ifr.ifr_qlen = (int)txq;
  if (ioctl(sock, SIOCSIFTXQLEN, &ifr) < 0) {
    throw_coded(env, "TUN_IO", "setting txqueuelen %u on %s: %s", txq, name, strerror(errno));
    goto out;
  }
  memset(&ifr, 0, sizeof ifr);
  set_name(&ifr, name);
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
    throw_coded(env, "TUN_IO", "reading flags of %s: %s", name, strerror(errno));
    goto out;
  }
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) {
    throw_coded(env, "TUN_IO", "bringing %s up: %s", name, strerror(errno));
    goto out;
  }
  napi_get_undefined(env, &ok);
out:
  close(sock);
  return ok;
}

// TUNSETIFF on a fresh /dev/net/tun fd; returns the fd or -errno (open failures as -EACCES etc.).
static int tun_create(struct ifreq *ifr, const char *name, short flags) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -errno;
  memset(ifr, 0, sizeof *ifr);
  ifr->ifr_flags = flags;
  set_name(ifr, name);
  if (ioctl(fd, TUNSETIFF, ifr) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

// Offloads we can take, best first: ECN-marked TSO too (offload.c clears CWR after the first
// segment), then plain TSO. Returns 1 when the kernel accepted one of them.
static int set_offloads(int fd) {
  int hdr = OFFLOAD_VNET_HDR_LEN;
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) return 0;
  if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN)) == 0) return 1;
  return ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) == 0;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9) return throw_coded(env, "TUN_IO", "open: expected 9 or 10 arguments");
  bool want_offload = false;
  if (argc >= 10 && napi_get_value_bool(env, argv[9], &want_offload) != napi_ok) want_offload = false;
  char name[IFNAMSIZ + 1] = {0};
  char addr[64] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok || len >= IFNAMSIZ) {
    return throw_coded(env, "TUN_BAD_NAME", "interface name must be a string of at most %d bytes", IFNAMSIZ - 1);
  }
  if (napi_get_value_string_utf8(env, argv[1], addr, sizeof addr, &len) != napi_ok) {
    return throw_coded(env, "TUN_BAD_ADDRESS", "address must be a string");
  }
  uint32_t prefix, mtu, txq, slot_size, slot_count;
  if (napi_get_value_uint32(env, argv[2], &prefix) != napi_ok || napi_get_value_uint32(env, argv[3], &mtu) != napi_ok ||
      napi_get_value_uint32(env, argv[4], &txq) != napi_ok || napi_get_value_uint32(env, argv[5], &slot_size) != napi_ok ||
      napi_get_value_uint32(env, argv[6], &slot_count) != napi_ok) {
    return throw_coded(env, "TUN_IO", "open: numeric arguments expected");
  }
  if (slot_size < 576 || slot_size > 65536 || slot_count < 1 || slot_count > 1024) {
    return throw_coded(env, "TUN_IO", "open: bad slot geometry %u x %u", slot_size, slot_count);
  }

  // /dev/net/tun itself first, so its failures keep their own messages.
  int probe = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (probe < 0) {
    int e = errno;
    if (e == EACCES || e == EPERM)
      return throw_coded(env, "TUN_PERMISSION", "opening /dev/net/tun needs CAP_NET_ADMIN: run with sudo (%s)", strerror(e));
    return throw_coded(env, "TUN_NO_DEVICE", "/dev/net/tun is missing or unusable (%s): load the tun module or create the device node",
                       strerror(e));
  }
  close(probe);
  struct ifreq ifr;
  int offload = 0;
  int fd = -EINVAL;
  if (want_offload) {
    fd = tun_create(&ifr, name, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR);
    if (fd >= 0 && set_offloads(fd)) {
      offload = 1;
    } else if (fd >= 0) {
      // The kernel refused the offloads: a device without IFF_VNET_HDR is simpler than carrying a
      // header that says nothing. Closing the fd deletes the (non-persistent) device and its name.
      close(fd);
      fd = -EINVAL;
    }
  }
  if (fd == -EINVAL) fd = tun_create(&ifr, name, IFF_TUN | IFF_NO_PI); // not asked, refused, or no IFF_VNET_HDR
  if (fd < 0) {
    int e = -fd;
    if (e == EPERM || e == EACCES)
      return throw_coded(env, "TUN_PERMISSION", "creating a TUN device needs CAP_NET_ADMIN: run with sudo (%s)", strerror(e));
    if (e == EBUSY || (e == EINVAL && name[0] != 0))
      return throw_coded(env, "TUN_BUSY", "interface name %s is already in use: pick another name or remove it", name);
    return throw_coded(env, "TUN_IO", "TUNSETIFF %s: %s", name, strerror(e));
  }
  char actual[IFNAMSIZ];
  memcpy(actual, ifr.ifr_name, IFNAMSIZ);
  actual[IFNAMSIZ - 1] = 0;
  if (configure(env, actual, addr, prefix, mtu, txq) == NULL) {
    close(fd);
    return NULL;
  }

  tun_t *t = calloc(1, sizeof *t);
  if (t == NULL) {
    close(fd);
    return throw_coded(env, "TUN_IO", "out of memory");
  }
  t->fd = fd;
  t->env = env;
  t->slot_size = slot_size;
  t->slot_count = slot_count;
  t->mtu = mtu;
  memcpy(t->name, actual, IFNAMSIZ);
  if (offload) {
    t->rbuf = malloc(RBUF_SIZE);
    t->wq = malloc(sizeof *t->wq);
    if (t->rbuf == NULL || t->wq == NULL) {
      close(fd);
      free(t->rbuf);
      free(t->wq);
      free(t);
      return throw_coded(env, "TUN_IO", "out of memory");
    }
    t->offload = 1;
    t->wq->n = 0;
    t->wq->used = 0;
  }

  napi_value data, lengths_ab, lengths, handle, result, name_v, resource_name;
  void *data_ptr = NULL, *len_ptr = NULL;
  uv_loop_t *loop = NULL;
  if (napi_create_buffer(env, (size_t)slot_size * slot_count, &data_ptr, &data) != napi_ok ||
      napi_create_arraybuffer(env, sizeof(uint32_t) * slot_count, &len_ptr, &lengths_ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, slot_count, lengths_ab, 0, &lengths) != napi_ok ||
      napi_create_reference(env, argv[7], 1, &t->on_packets) != napi_ok ||
      napi_create_reference(env, argv[8], 1, &t->on_error) != napi_ok ||
      napi_create_reference(env, data, 1, &t->data_ref) != napi_ok ||
      napi_create_reference(env, lengths, 1, &t->lengths_ref) != napi_ok ||
      napi_create_string_utf8(env, "meshd:tun", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, NULL, resource_name, &t->async_ctx) != napi_ok ||
      napi_get_uv_event_loop(env, &loop) != napi_ok) {
    t->finalized = 1;
    tun_shutdown(t);
    maybe_free(t);
    return throw_coded(env, "TUN_IO", "open: N-API setup failed");
  }
  t->data = data_ptr;
  t->lengths = len_ptr;
  int rc = uv_poll_init(loop, &t->poll, fd);
  if (rc == 0) {
    t->poll_inited = 1;
    t->poll.data = t;
    rc = uv_poll_start(&t->poll, UV_READABLE, on_readable);
  }
  if (rc != 0 || napi_add_env_cleanup_hook(env, env_cleanup, t) != napi_ok) {
    t->finalized = 1;
    tun_shutdown(t);
    maybe_free(t);
    return throw_coded(env, "TUN_IO", "polling the TUN fd: %s", uv_strerror(rc));
  }
  if (napi_create_external(env, t, finalize_external, NULL, &handle) != napi_ok) {
    t->finalized = 1;
    tun_shutdown(t);
    maybe_free(t);
    return throw_coded(env, "TUN_IO", "open: N-API setup failed");
  }
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_string_utf8(env, actual, NAPI_AUTO_LENGTH, &name_v));
  CHECK(napi_set_named_property(env, result, "handle", handle));
  CHECK(napi_set_named_property(env, result, "name", name_v));
  CHECK(napi_set_named_property(env, result, "data", data));
  CHECK(napi_set_named_property(env, result, "lengths", lengths));
  napi_value offload_v;
  CHECK(napi_get_boolean(env, offload, &offload_v));
  CHECK(napi_set_named_property(env, result, "offload", offload_v));
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  tun_t *t;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 1 && get_tun(env, argv[0], &t)) {
    tun_flush(t);
    tun_shutdown(t);
  }
  return NULL;
}

static int set_u64(napi_env env, napi_value obj, const char *key, uint64_t v) {
  napi_value n;
  return napi_create_double(env, (double)v, &n) == napi_ok && napi_set_named_property(env, obj, key, n) == napi_ok;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  tun_t *t;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_tun(env, argv[0], &t)) return throw_coded(env, "TUN_IO", "stats: not a TUN handle");
  CHECK(napi_create_object(env, &out));
  if (!set_u64(env, out, "reads", t->reads) || !set_u64(env, out, "packets", t->packets) ||
      !set_u64(env, out, "superPackets", t->super_packets) || !set_u64(env, out, "segments", t->segments) ||
      !set_u64(env, out, "csumCompleted", t->csum_completed) || !set_u64(env, out, "dropped", t->dropped) ||
      !set_u64(env, out, "writes", t->writes) || !set_u64(env, out, "written", t->written) ||
      !set_u64(env, out, "superPacketsOut", t->super_out) || !set_u64(env, out, "writeErrors", t->write_errors))
    return NULL;
  return out;
}

// ---- AEAD for the data path (one context per direction, re-keyed per call: ChaCha key setup is
// a copy, and the main thread is the only caller) ----

static EVP_CIPHER_CTX *seal_ctx, *open_ctx;

int u8_arg(napi_env env, napi_value v, uint8_t **p, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, (void **)p, &ab, &off) != napi_ok) return 0;
  return type == napi_uint8_array && (*p != NULL || *len == 0);
}

enum { HDR = 16, TAG = 16 };

static napi_value js_aead_seal(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  uint8_t *key, *dst, *pt;
  size_t klen, dlen, plen;
  int ok = 0, n1 = 0, n2 = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 3 && u8_arg(env, argv[0], &key, &klen) && klen == 32 && u8_arg(env, argv[1], &dst, &dlen) &&
      u8_arg(env, argv[2], &pt, &plen) && plen <= INT32_MAX && dlen >= HDR + plen + TAG) {
    uint8_t iv[12] = {0};
    memcpy(iv + 4, dst + 8, 8);
    if (seal_ctx == NULL) seal_ctx = EVP_CIPHER_CTX_new();
    ok = seal_ctx != NULL && EVP_EncryptInit_ex(seal_ctx, EVP_chacha20_poly1305(), NULL, key, iv) == 1 &&
         EVP_EncryptUpdate(seal_ctx, dst + HDR, &n1, pt, (int)plen) == 1 &&
         EVP_EncryptFinal_ex(seal_ctx, dst + HDR + n1, &n2) == 1 && (size_t)(n1 + n2) == plen &&
         EVP_CIPHER_CTX_ctrl(seal_ctx, EVP_CTRL_AEAD_GET_TAG, TAG, dst + HDR + plen) == 1;
  }
  CHECK(napi_get_boolean(env, ok, &out));
  return out;
}

static napi_value js_aead_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  uint8_t *key, *dg, *dst;
  size_t klen, dglen, dstlen;
  int n1 = 0, n2 = 0;
  int32_t result = -1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 3 && u8_arg(env, argv[0], &key, &klen) && klen == 32 && u8_arg(env, argv[1], &dg, &dglen) &&
      dglen >= HDR + TAG && dglen <= INT32_MAX && u8_arg(env, argv[2], &dst, &dstlen) && dstlen >= dglen - HDR - TAG) {
    int ctlen = (int)(dglen - HDR - TAG);
    uint8_t iv[12] = {0};
    memcpy(iv + 4, dg + 8, 8);
    if (open_ctx == NULL) open_ctx = EVP_CIPHER_CTX_new();
    if (open_ctx != NULL && EVP_DecryptInit_ex(open_ctx, EVP_chacha20_poly1305(), NULL, key, iv) == 1 &&
        EVP_DecryptUpdate(open_ctx, dst, &n1, dg + HDR, ctlen) == 1 &&
        EVP_CIPHER_CTX_ctrl(open_ctx, EVP_CTRL_AEAD_SET_TAG, TAG, dg + HDR + ctlen) == 1 &&
        EVP_DecryptFinal_ex(open_ctx, dst + n1, &n2) == 1 && n1 + n2 == ctlen) {
      result = ctlen;
    }
  }
  CHECK(napi_create_int32(env, result, &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writeBatch", NULL, js_write_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flush", NULL, js_flush, NULL, NULL, NULL, napi_enumerable, NULL},
      {"offloadCoalesce", NULL, js_offload_coalesce, NULL, NULL, NULL, napi_enumerable, NULL},
      {"offloadSplit", NULL, js_offload_split, NULL, NULL, NULL, napi_enumerable, NULL},
      {"aeadSeal", NULL, js_aead_seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"aeadOpen", NULL, js_aead_open, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return noise_register(env, exports);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
