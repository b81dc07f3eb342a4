// meshd_tun: the Linux TUN addon behind src/tun/linux.ts (its only user). Opens an IFF_TUN|IFF_NO_PI
// device, configures address, MTU, txqueuelen and link state by ioctl (no `ip` binary at run time),
// reads packets on the Node event loop with uv_poll (no threadpool round trip) into one shared slot
// buffer per device, and writes with write(2). Plain C against node_api.h (NAPI_VERSION 8).
// With offloads (IFF_VNET_HDR, TUNSETOFFLOAD TUN_F_CSUM|TUN_F_TSO4|TUN_F_TSO6|TUN_F_TSO_ECN) the kernel hands us
// TCP super-packets of up to 64 KB in one read; offload.c splits them into MTU-sized packets in the
// slots, so JS still sees ordinary packets; writes queue and leave coalesced (tun-write.c).
// Files: tun.h (shared state), tun-write.c (write path), offload.c (pure packet work), offload-js.c
// (test views of offload.c); the N-API plumbing is src/util/native/napi-addon.c. The crypto that
// used to ride in this addon is its own addon now (src/crypto/native, meshd_crypto).
//
// JS API (all positional; linux.ts validates arguments before calling):
//   open(name, address, prefixLength, mtu, txQueueLen, slotSize, slotCount, onPackets, onError, offload
//        [, address6, prefixLength6])   address6 "" or absent: IPv4 only; else the overlay v6 address
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
//   setAddress6(name, address6, prefixLength6)   adds an IPv6 address to an open device
//   close(handle)                        idempotent (flushes first); no callback after it returns
//   writeFd(handle) -> [fd, vnetLen] | null   for the UDP addon's receive fast path (js_write_fd)
//   stats(handle) -> { reads, packets, superPackets, segments, csumCompleted, dropped, writes,
//                      written, superPacketsOut, writeErrors }   counters
//   offloadSplit(input, mtu, out, slotSize, lengths, state) -> count | negative OFFLOAD_ERR_*
//     offload.c's offload_split on one virtio_net_hdr + packet, for the unit tests; state[0] is
//     the resume segment index (in/out).
//   offloadCoalesce(packets) -> Buffer[]   what flush would write for these packets, each with its
//     virtio_net_hdr (offload.c's grouping and headers), for the unit tests.
// Errors thrown from open carry `code`: TUN_NO_DEVICE, TUN_PERMISSION, TUN_BUSY, TUN_BAD_ADDRESS,
// TUN_BAD_MTU, TUN_IO.
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"

static void tun_free(addon_obj_t *o) {
  tun_t *t = (tun_t *)o;
  free(t->rbuf);
  free(t->wq);
  fastpath_free(t->fp);
  free(t);
}

// Stops polling and closes the fd (addon_obj_shutdown calls it once); after it no JS callback runs.
static void tun_release(addon_obj_t *o) {
  tun_t *t = (tun_t *)o;
  if (t->wq != NULL) t->wq->n = 0;
  if (o->handles_inited) {
    uv_poll_stop(&t->poll);
    addon_close_handle(o, (uv_handle_t *)&t->poll);
  }
  if (t->fd >= 0) close(t->fd);
  t->fd = -1;
  addon_drop_ref(o, &t->on_packets);
  addon_drop_ref(o, &t->on_error);
  addon_drop_ref(o, &t->data_ref);
  addon_drop_ref(o, &t->lengths_ref);
  if (t->fp != NULL)
    for (uint32_t i = 0; i < t->fp->n; i++) addon_drop_ref(o, &t->fp->entries[i].counter_ref);
}

static void report_failure(tun_t *t, const char *code, const char *fmt, int err) {
  napi_env env = t->obj.env;
  napi_ref on_error = t->on_error;
  t->on_error = NULL; // keep it past shutdown, report once
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_async_context ctx = t->obj.async_ctx;
  t->obj.async_ctx = NULL; // kept alive for the error call below
  addon_obj_shutdown(&t->obj);
  t->obj.async_ctx = ctx;
  char msg[256];
  snprintf(msg, sizeof msg, fmt, t->name, strerror(err));
  napi_value argv[2];
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &argv[0]) == napi_ok &&
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &argv[1]) == napi_ok) {
    addon_call(&t->obj, on_error, 2, argv);
  }
  if (t->obj.async_ctx != NULL) napi_async_destroy(env, t->obj.async_ctx);
  t->obj.async_ctx = NULL;
  if (on_error != NULL) napi_delete_reference(env, on_error);
  napi_close_handle_scope(env, scope);
}

static int is_gone_errno(int e) {
  return e == EBADFD || e == EIO || e == ENXIO || e == ENODEV || e == EBADF || e == ENETDOWN;
}

static uint32_t read_batch(tun_t *t, int may_read);

static void on_readable(uv_poll_t *h, int status, int events) {
  tun_t *t = (tun_t *)h->data;
  if (t->obj.closed || t->obj.env_gone) return;
  if (status < 0) {
    report_failure(t, "TUN_GONE", "TUN device %s went away (deleted from outside?)", -status);
    return;
  }
  // A full batch means more is probably queued: drain a few batches per wake before going back
  // to epoll, which is cheaper than a loop iteration per batch; bounded so timers still run.
  for (int round = 0; round < 4 && !t->obj.closed; round++) {
    if (read_batch(t, 1) < t->slot_count) break;
  }
  // Segments of a super-packet already read must not wait for the fd to be readable again. At
  // most ceil(65535 / 456) = 144 segments (MTU 576) remain: three batches of 64.
  for (int round = 0; round < 3 && t->pending_next != 0 && !t->obj.closed; round++) read_batch(t, 0);
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
  while (count < t->slot_count && !t->obj.closed) {
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
  // What the fast path sent never reaches JS; a batch it took whole costs no JS call at all.
  uint32_t read = count;
  count = fastpath_filter(t->fp, t->data, t->lengths, count, t->slot_size);
  if (count == 0) return read;
  napi_handle_scope scope;
  if (napi_open_handle_scope(t->obj.env, &scope) != napi_ok) return 0;
  napi_value argv[1];
  if (napi_create_uint32(t->obj.env, count, &argv[0]) == napi_ok) {
    t->in_callback = 1;
    addon_call(&t->obj, t->on_packets, 1, argv);
    t->in_callback = 0;
  }
  napi_close_handle_scope(t->obj.env, scope);
  return read;
}

int get_tun(napi_env env, napi_value v, tun_t **out) {
  return addon_obj_get(env, v, (void **)out);
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

// The kernel's struct in6_ifreq (linux/ipv6.h, which clashes with netinet/in.h in user space).
struct meshd_in6_ifreq {
  struct in6_addr ifr6_addr;
  uint32_t ifr6_prefixlen;
  int ifr6_ifindex;
};

// Adds the overlay IPv6 address (SIOCSIFADDR on an AF_INET6 socket). Returns NULL with an
// exception pending on failure. The TUN is IFF_NOARP, so the address skips DAD and is usable at once.
static napi_value configure6(napi_env env, const char *name, const char *addr6, uint32_t prefix6) {
  struct meshd_in6_ifreq r;
  memset(&r, 0, sizeof r);
  if (inet_pton(AF_INET6, addr6, &r.ifr6_addr) != 1 || prefix6 > 128) {
    return throw_coded(env, "TUN_BAD_ADDRESS", "not an IPv6 address/prefix: %s/%u", addr6, prefix6);
  }
  int sock = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return throw_coded(env, "TUN_IO", "IPv6 socket for TUN configuration (IPv6 disabled?): %s", strerror(errno));
  napi_value ok = NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  set_name(&ifr, name);
  if (ioctl(sock, SIOCGIFINDEX, &ifr) < 0) {
    throw_coded(env, "TUN_IO", "index of %s: %s", name, strerror(errno));
    goto out;
  }
  r.ifr6_ifindex = ifr.ifr_ifindex;
  r.ifr6_prefixlen = prefix6;
  if (ioctl(sock, SIOCSIFADDR, &r) < 0) {
    throw_coded(env, errno == EPERM ? "TUN_PERMISSION" : "TUN_BAD_ADDRESS", "setting address %s/%u on %s: %s (IPv6 disabled on it?)",
                addr6, prefix6, name, strerror(errno));
    goto out;
  }
  napi_get_undefined(env, &ok);
out:
  close(sock);
  return ok;
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

// Offloads we can take, best first: TSO for TCPv4 and TCPv6 with ECN-marked segments too
// (offload.c clears CWR after the first segment), then without ECN, then TCPv4 only. Returns 1 when
// the kernel accepted one of them.
static int set_offloads(int fd) {
  int hdr = OFFLOAD_VNET_HDR_LEN;
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) return 0;
  static const unsigned long tries[] = {
      TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
      TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN, TUN_F_CSUM | TUN_F_TSO4};
  for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++)
    if (ioctl(fd, TUNSETOFFLOAD, tries[i]) == 0) return 1;
  return 0;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char addr6[64] = {0};
  uint32_t prefix6 = 0;
  if (argc >= 12) {
    size_t l6 = 0;
    if (napi_get_value_string_utf8(env, argv[10], addr6, sizeof addr6, &l6) != napi_ok ||
        napi_get_value_uint32(env, argv[11], &prefix6) != napi_ok) {
      return throw_coded(env, "TUN_BAD_ADDRESS", "address6 must be a string and prefixLength6 a number");
    }
  }
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
  if (configure(env, actual, addr, prefix, mtu, txq) == NULL || (addr6[0] != 0 && configure6(env, actual, addr6, prefix6) == NULL)) {
    close(fd);
    return NULL;
  }

  tun_t *t = calloc(1, sizeof *t);
  if (t == NULL) {
    close(fd);
    return throw_coded(env, "TUN_IO", "out of memory");
  }
  t->fd = fd;
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

  napi_value data, lengths_ab, lengths, handle, result, name_v;
  void *data_ptr = NULL, *len_ptr = NULL;
  uv_loop_t *loop = NULL;
  if (!addon_obj_init(&t->obj, env, "meshd:tun", tun_release, tun_free) ||
      napi_create_buffer(env, (size_t)slot_size * slot_count, &data_ptr, &data) != napi_ok ||
      napi_create_arraybuffer(env, sizeof(uint32_t) * slot_count, &len_ptr, &lengths_ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, slot_count, lengths_ab, 0, &lengths) != napi_ok ||
      napi_create_reference(env, argv[7], 1, &t->on_packets) != napi_ok ||
      napi_create_reference(env, argv[8], 1, &t->on_error) != napi_ok ||
      napi_create_reference(env, data, 1, &t->data_ref) != napi_ok ||
      napi_create_reference(env, lengths, 1, &t->lengths_ref) != napi_ok ||
      napi_get_uv_event_loop(env, &loop) != napi_ok) {
    addon_obj_abort(&t->obj);
    return throw_coded(env, "TUN_IO", "open: N-API setup failed");
  }
  t->data = data_ptr;
  t->lengths = len_ptr;
  int rc = uv_poll_init(loop, &t->poll, fd);
  if (rc == 0) {
    t->obj.handles_inited = 1;
    t->poll.data = t;
    rc = uv_poll_start(&t->poll, UV_READABLE, on_readable);
  }
  if (rc != 0) {
    addon_obj_abort(&t->obj);
    return throw_coded(env, "TUN_IO", "polling the TUN fd: %s", uv_strerror(rc));
  }
  if ((handle = addon_obj_external(&t->obj)) == NULL) {
    addon_obj_abort(&t->obj);
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
  tun_t *t = addon_obj_arg(env, info);
  if (t != NULL) {
    tun_flush(t);
    addon_obj_shutdown(&t->obj);
  }
  return NULL;
}


// writeFd(handle) -> [fd, vnetLen] | null: what the UDP addon's receive fast path (src/net/native/
// fastrecv.c) writes packets to (it dups the fd), and the virtio_net_hdr bytes each write starts with.
static napi_value js_write_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, fd, vnet;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = NULL;
  if (argc < 1 || !get_tun(env, argv[0], &t) || t->obj.closed || t->fd < 0) {
    CHECK(napi_get_null(env, &out));
    return out;
  }
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_int32(env, t->fd, &fd));
  CHECK(napi_create_int32(env, t->offload ? OFFLOAD_VNET_HDR_LEN : 0, &vnet));
  CHECK(napi_set_element(env, out, 0, fd));
  CHECK(napi_set_element(env, out, 1, vnet));
  return out;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  napi_value out;
  tun_t *t = addon_obj_arg(env, info);
  if (t == NULL) return throw_coded(env, "TUN_IO", "stats: not a TUN handle");
  CHECK(napi_create_object(env, &out));
  if (!set_number(env, out, "reads", (double)t->reads) || !set_number(env, out, "packets", (double)t->packets) ||
      !set_number(env, out, "superPackets", (double)t->super_packets) || !set_number(env, out, "segments", (double)t->segments) ||
      !set_number(env, out, "csumCompleted", (double)t->csum_completed) || !set_number(env, out, "dropped", (double)t->dropped) ||
      !set_number(env, out, "writes", (double)t->writes) || !set_number(env, out, "written", (double)t->written) ||
      !set_number(env, out, "superPacketsOut", (double)t->super_out) || !set_number(env, out, "writeErrors", (double)t->write_errors))
    return NULL;
  return out;
}

// setAddress6(name, address6, prefixLength6): adds an overlay IPv6 address to an open device (the
// peer learns the hub's assignment after the TUN exists).
static napi_value js_set_address6(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ + 1] = {0};
  char addr6[64] = {0};
  size_t len = 0;
  uint32_t prefix6 = 0;
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok || len >= IFNAMSIZ ||
      napi_get_value_string_utf8(env, argv[1], addr6, sizeof addr6, &len) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &prefix6) != napi_ok) {
    return throw_coded(env, "TUN_BAD_ADDRESS", "setAddress6(name, address6, prefixLength6)");
  }
  if (configure6(env, name, addr6, prefix6) == NULL) return NULL;
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static const addon_fn_t exported[] = {
    {"open", js_open},   {"write", js_write}, {"writeBatch", js_write_batch}, {"close", js_close}, {"stats", js_stats},
    {"flush", js_flush}, {"offloadCoalesce", js_offload_coalesce},             {"offloadSplit", js_offload_split},
    {"setAddress6", js_set_address6}, {"fastSet", js_fast_set}, {"fastDelete", js_fast_delete}, {"fastStats", js_fast_stats}, {"writeFd", js_write_fd},
};

static napi_value init(napi_env env, napi_value exports) {
  return define_functions(env, exports, exported, sizeof exported / sizeof exported[0], NULL);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
