// meshd_udp: a batched UDP socket (IPv4, IPv6, or both on one [::] socket) behind src/net/udp-native.ts (its only user). Receives with
// recvmmsg on a non-blocking socket watched by uv_poll (one JS call per batch of datagrams) and
// sends with sendmmsg: JS copies each datagram into a send slot, and the slots go out in one call
// at the end of the event-loop turn (a uv_check handle, with a uv_idle keeping poll from sleeping
// while slots are pending) or as soon as they fill. Runs of same-size datagrams to one destination
// go as one UDP GSO message (UDP_SEGMENT, Linux 4.18+), falling back to one message per datagram
// when the kernel refuses; with UDP_GRO on, a slot may come back holding several datagrams of one
// flow, which are split into rows again. Plain C against node_api.h (NAPI_VERSION 8).
//
// JS API (all positional; udp-native.ts validates arguments before calling):
//   open(address, port, recvBufBytes, sendBufBytes, slotSize, recvSlots, sendSlots, onBatch)
//     -> { handle, port, recvData: Buffer(slotSize*recvSlots), recvMeta: Uint32Array(4*64*recvSlots),
//          sendData: Buffer(slotSize*sendSlots), sendMeta: Uint32Array(3*sendSlots), ctl: Float64Array(7) }
//     sendMeta rows (JS writes, one per slot): [length, family (4|6), port, a0, a1, a2, a3]: family 4
//     carries the IPv4 address as a host-order u32 in a0; family 6 the IPv6 address as four
//     host-order u32 words a0..a3 (a0 the most significant). An IPv4 destination on an IPv6 socket
//     goes to its v4-mapped address.
//     recvMeta rows (one per datagram): [offset in recvData, length, family, port, a0, a1, a2, a3],
//     the address as in sendMeta; a v4-mapped source on an IPv6 socket is reported as family 4. A
//     received datagram longer than slotSize is reported with length slotSize + 1 (JS drops and
//     counts it).
//     The socket is AF_INET for an IPv4 address, AF_INET6 for an IPv6 one; bound to "::" it is
//     dual-stack (IPV6_V6ONLY off), to another IPv6 address IPv6 only.
//     onBatch(count): datagrams in rows 0..count-1, their bytes valid only during the call.
//     ctl: [pending sends (JS writes), sent, send errors, receive errors, receive batches,
//           sent inside GSO messages, received glued by GRO, datagrams the kernel dropped on this
//           socket for want of buffer space (SO_RXQ_OVFL, cumulative; 0 where unsupported),
//           receive buffer bytes (SO_RCVBUF as the kernel reports it, doubled)].
//   arm(handle)    slots are pending: flush them at the end of this loop turn
//   flush(handle)  send the pending slots now (JS calls it when they fill)
//   close(handle)  flushes, then closes; idempotent; no callback after it returns
//   trim()         malloc_trim(0): true when memory went back to the kernel (see js_trim)
//   setRecvBuffer(handle, bytes)  SO_RCVBUF(FORCE) on the open socket; ctl[CTL_RCVBUF] is updated
//   sendFd(handle) -> [fd, 4|6] | null   the socket for the TUN addon's fast path (see js_send_fd)
//   recvSet, recvDelete, recvStats        the receive half of the fast path (fastrecv.h): datagrams it
//                  takes never reach onBatch, and a batch it took whole makes no JS call
// Errors thrown from open carry the errno name as `code` (EADDRINUSE, EACCES, ...), like node:dgram.
// The N-API plumbing (CHECK, errors, the external's lifecycle) is src/util/native/napi-addon.c.
#include "../../util/native/napi-addon.h"
#include "fastrecv.h"

#include <arpa/inet.h>
#include <netinet/ip6.h>
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// Older C libraries lack the names; the kernel numbers are fixed (linux/udp.h).
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

enum { CTL_PENDING, CTL_SENT, CTL_SEND_ERRORS, CTL_RECV_ERRORS, CTL_RECV_BATCHES, CTL_SENT_GSO, CTL_RECV_GRO, CTL_RECV_OVFL, CTL_RCVBUF, CTL_LEN };
enum { META = 7, RMETA = 8 };
// UDP GRO: the kernel may hand one receive slot up to 64 datagrams of one flow, glued together
// (UDP_GRO_CNT_MAX); udp.c splits them into rows again, so JS sees datagrams either way.
enum { GRO_MAX_SEGS = 64 };
#define GRO_CMSG_SPACE CMSG_SPACE(sizeof(int))
// Each receive slot's control space: UDP_GRO's segment size and SO_RXQ_OVFL's drop count.
#define RCTL_SPACE (GRO_CMSG_SPACE + CMSG_SPACE(sizeof(uint32_t)))
// A full batch usually means more is queued: drain a few per wake, bounded so timers still run.
enum { MAX_ROUNDS_PER_WAKE = 4 };
// When the send buffer is full, wait this long once for room before dropping the rest.
enum { SEND_FULL_WAIT_MS = 1 };
// UDP GSO limits: segments per message (the kernel's UDP_MAX_SEGMENTS is 64 on older kernels),
// bytes per message (an IPv4 datagram's payload), and the largest segment tried before any path
// MTU says otherwise (a 1500-byte Ethernet MTU minus IPv4 or IPv6, and UDP headers).
enum { GSO_MAX_SEGS = 64, GSO_MAX_BYTES = 65507, GSO_FIRST_MAX_SEG = 1472, GSO_FIRST_MAX_SEG6 = 1452 };
#define GSO_CMSG_SPACE CMSG_SPACE(sizeof(uint16_t))

// One socket address of either family; an AF_INET socket only ever uses v4, an AF_INET6 one only v6.
typedef union {
  struct sockaddr sa;
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
} sa_t;

static int same_dest(const sa_t *a, const sa_t *b) {
  if (a->sa.sa_family == AF_INET) return a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr && a->v4.sin_port == b->v4.sin_port;
  return a->v6.sin6_port == b->v6.sin6_port && memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof a->v6.sin6_addr) == 0;
}

typedef struct udp_s {
  addon_obj_t obj; // first: env, closed, handles_inited (poll, check, idle), the external's lifecycle
  int fd;
  uv_poll_t poll;
  uv_check_t check;
  uv_idle_t idle;
  int armed;
  napi_ref on_batch;
  napi_ref refs[5]; // the shared arrays, kept alive while the socket is open
  uint8_t *recv_data;
  uint32_t *recv_meta;
  uint8_t *send_data;
  uint32_t *send_meta;
  double *ctl;
  uint32_t slot_size, recv_slots, send_slots;
  uint32_t recv_rows; // recv_meta capacity: recv_slots * GRO_MAX_SEGS
  struct mmsghdr *rmsg, *smsg;
  struct iovec *riov, *siov;
  sa_t *raddr, *saddr;
  int family;         // AF_INET or AF_INET6 (dual-stack when bound to ::)
  socklen_t namelen;  // sizeof the family's sockaddr
  uint8_t *rctl;      // one UDP_GRO control message per receive slot
  int gro;            // UDP_GRO is on: receive slots may hold several datagrams
  int ovfl;           // SO_RXQ_OVFL is on: received messages carry the socket's drop count
  uint8_t *sctl;      // one UDP_SEGMENT control message per send message
  uint32_t *sgroup;   // slots carried by each send message
  int gso;            // UDP GSO still believed to work on this socket
  size_t gso_max_seg; // largest segment GSO is used for (lowered when the kernel says EINVAL)
  fastrecv_t *fr;     // the native fast path's receive half (fastrecv.c): NULL until JS installs an entry
} udp_t;

static napi_value throw_errno(napi_env env, int err, const char *what, const char *addr, uint32_t port) {
  const char *code = err > 0 ? uv_err_name(-err) : "EINVAL";
  return throw_coded(env, code, "%s %s %s:%u", what, code, addr, port);
}

static void free_udp(addon_obj_t *o) {
  udp_t *u = (udp_t *)o;
  free(u->rmsg);
  free(u->smsg);
  free(u->riov);
  free(u->siov);
  free(u->raddr);
  free(u->saddr);
  free(u->sctl);
  free(u->rctl);
  free(u->sgroup);
  free(u);
}

static void disarm(udp_t *u) {
  if (!u->armed) return;
  u->armed = 0;
  uv_idle_stop(&u->idle);
  uv_check_stop(&u->check);
}

// Groups slots from..n-1 into messages: a run of datagrams to one destination with one length
// (the last may be shorter) becomes one UDP GSO message (UDP_SEGMENT), which crosses the kernel's
// UDP/IP output path once; slots below plain_until, or when GSO is off, go one per message.
// Returns the message count; sgroup[m] is how many slots message m carries.
static uint32_t build_messages(udp_t *u, uint32_t from, uint32_t n, uint32_t plain_until) {
  uint32_t m = 0;
  for (uint32_t j = from; j < n; m++) {
    const size_t len = u->siov[j].iov_len;
    const sa_t *to = &u->saddr[j];
    uint32_t k = 1;
    if (u->gso && j >= plain_until && len > 0 && len <= u->gso_max_seg) {
      size_t total = len;
      while (j + k < n && k < GSO_MAX_SEGS && u->siov[j + k].iov_len == len && total + len <= GSO_MAX_BYTES &&
             same_dest(&u->saddr[j + k], to)) {
        total += len;
        k++;
      }
      const size_t tail = j + k < n ? u->siov[j + k].iov_len : 0;
      if (tail > 0 && tail < len && k < GSO_MAX_SEGS && total + tail <= GSO_MAX_BYTES && same_dest(&u->saddr[j + k], to)) k++;
    }
    struct msghdr *h = &u->smsg[m].msg_hdr;
    h->msg_name = &u->saddr[j];
    h->msg_namelen = u->namelen;
    h->msg_iov = &u->siov[j];
    h->msg_iovlen = k;
    h->msg_flags = 0;
    if (k > 1) {
      h->msg_control = u->sctl + (size_t)m * GSO_CMSG_SPACE;
      h->msg_controllen = GSO_CMSG_SPACE;
      struct cmsghdr *c = CMSG_FIRSTHDR(h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t seg = (uint16_t)len;
      memcpy(CMSG_DATA(c), &seg, sizeof seg);
    } else {
      h->msg_control = NULL;
      h->msg_controllen = 0;
    }
    u->smsg[m].msg_len = 0;
    u->sgroup[m] = k;
    j += k;
  }
  return m;
}

// Fills a send address from a sendMeta row. JS never gives an AF_INET socket a family-6 row; if it
// did, the address stays 0.0.0.0 and the kernel refuses the datagram (counted).
static void set_dest(udp_t *u, sa_t *d, const uint32_t *m) {
  const uint16_t port = htons((uint16_t)m[2]);
  if (u->family == AF_INET) {
    d->v4.sin_addr.s_addr = m[1] == 4 ? htonl(m[3]) : 0;
    d->v4.sin_port = port;
    return;
  }
  d->v6.sin6_port = port;
  uint32_t w[4];
  if (m[1] == 4) {
    w[0] = 0;
    w[1] = 0;
    w[2] = htonl(0xffff);
    w[3] = htonl(m[3]);
  } else {
    for (int k = 0; k < 4; k++) w[k] = htonl(m[3 + k]);
  }
  memcpy(&d->v6.sin6_addr, w, sizeof w);
}

// Sends pending slots 0..n-1 in order. A datagram the kernel refuses (bad address, unreachable,
// firewall) is skipped and counted; when the send buffer stays full the rest are dropped and counted.
static void flush(udp_t *u) {
  disarm(u);
  if (u->ctl == NULL) return;
  double pending = u->ctl[CTL_PENDING];
  u->ctl[CTL_PENDING] = 0;
  uint32_t n = pending > u->send_slots ? u->send_slots : (pending > 0 ? (uint32_t)pending : 0);
  if (n == 0 || u->fd < 0) return;
  for (uint32_t j = 0; j < n; j++) {
    const uint32_t *m = u->send_meta + (size_t)j * META;
    u->siov[j].iov_len = m[0] <= u->slot_size ? m[0] : u->slot_size;
    set_dest(u, &u->saddr[j], m);
  }
  uint32_t i = 0, plain_until = 0;
  int waited = 0;
  while (i < n) {
    uint32_t msgs = build_messages(u, i, n, plain_until);
    int r = sendmmsg(u->fd, u->smsg, msgs, MSG_DONTWAIT);
    if (r > 0) {
      for (int m = 0; m < r; m++) {
        u->ctl[CTL_SENT] += u->sgroup[m];
        if (u->sgroup[m] > 1) u->ctl[CTL_SENT_GSO] += u->sgroup[m];
        i += u->sgroup[m];
      }
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd p = {.fd = u->fd, .events = POLLOUT};
      if (!waited && poll(&p, 1, SEND_FULL_WAIT_MS) > 0) {
        waited = 1;
        continue;
      }
      u->ctl[CTL_SEND_ERRORS] += n - i;
      return;
    }
    uint32_t k = u->sgroup[0];
    if (k > 1) {
      // A GSO message refused: send its slots one by one. EINVAL means a segment over the path MTU
      // (GSO needs segments that fit), so lower the limit; other errors (EIO from kernels that
      // need checksum offload for GSO, no UDP_SEGMENT at all) turn GSO off for this socket.
      if (errno == EINVAL) u->gso_max_seg = u->siov[i].iov_len - 1;
      else if (errno == EIO || errno == ENOPROTOOPT || errno == EOPNOTSUPP) u->gso = 0;
      plain_until = i + k;
      continue;
    }
    u->ctl[CTL_SEND_ERRORS] += 1; // this datagram failed; the ones after it may not
    i++;
  }
}

static void on_check(uv_check_t *h) {
  udp_t *u = (udp_t *)h->data;
  if (!u->obj.closed) flush(u);
}

static void on_idle(uv_idle_t *h) {}

// Stops everything and closes the fd (addon_obj_shutdown calls it once); after it no JS callback runs.
static void udp_release(addon_obj_t *o) {
  udp_t *u = (udp_t *)o;
  disarm(u);
  if (o->handles_inited >= 1) addon_close_handle(o, (uv_handle_t *)&u->poll);
  if (o->handles_inited >= 2) addon_close_handle(o, (uv_handle_t *)&u->check);
  if (o->handles_inited >= 3) addon_close_handle(o, (uv_handle_t *)&u->idle);
  if (u->fd >= 0) close(u->fd);
  u->fd = -1;
  addon_drop_ref(o, &u->on_batch);
  for (int k = 0; k < 5; k++) addon_drop_ref(o, &u->refs[k]);
  fastrecv_free(u->fr, o);
  u->fr = NULL;
  u->recv_data = u->send_data = NULL;
  u->recv_meta = u->send_meta = NULL;
  u->ctl = NULL;
}

// A received source as a recvMeta family, port and address words; v4-mapped becomes family 4.
static void source_of(const sa_t *s, uint32_t *fam, uint32_t *port, uint32_t a[4]) {
  if (s->sa.sa_family == AF_INET) {
    *fam = 4;
    *port = ntohs(s->v4.sin_port);
    a[0] = ntohl(s->v4.sin_addr.s_addr);
    return;
  }
  uint32_t w[4];
  memcpy(w, &s->v6.sin6_addr, sizeof w);
  *port = ntohs(s->v6.sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&s->v6.sin6_addr)) {
    *fam = 4;
    a[0] = ntohl(w[3]);
    return;
  }
  *fam = 6;
  for (int k = 0; k < 4; k++) a[k] = ntohl(w[k]);
}

// The rows the receive fast path (fastrecv.c) takes leave the batch; the rest keep their order.
static uint32_t take_fast(udp_t *u, uint32_t count) {
  fastrecv_t *fr = u->fr;
  if (fr == NULL || fr->n == 0) return count;
  const uint64_t now = uv_now(fr->loop);
  uint32_t kept = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t *m = u->recv_meta + (size_t)i * RMETA;
    if (m[1] <= u->slot_size && fastrecv_take(fr, u->recv_data + m[0], m[1], m + 2, now)) continue;
    if (kept != i) memcpy(u->recv_meta + (size_t)kept * RMETA, m, RMETA * sizeof *m);
    kept++;
  }
  return kept;
}

// Receives into up to recv_slots slots and hands the datagrams to JS in one call; returns how many
// slots were filled (all of them: more is probably queued).
static uint32_t recv_batch(udp_t *u) {
  for (uint32_t j = 0; j < u->recv_slots; j++) {
    u->rmsg[j].msg_hdr.msg_namelen = u->namelen;
    u->rmsg[j].msg_hdr.msg_flags = 0;
    u->rmsg[j].msg_hdr.msg_control = u->gro || u->ovfl ? u->rctl + (size_t)j * RCTL_SPACE : NULL;
    u->rmsg[j].msg_hdr.msg_controllen = u->gro || u->ovfl ? RCTL_SPACE : 0;
    u->rmsg[j].msg_len = 0;
  }
  int r;
  do {
    r = recvmmsg(u->fd, u->rmsg, u->recv_slots, MSG_DONTWAIT, NULL);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) {
    // EAGAIN: drained. Other errors (a queued ICMP error on some kernels) are counted, not fatal.
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) u->ctl[CTL_RECV_ERRORS] += 1;
    return 0;
  }
  uint32_t count = 0; // rows: datagrams after splitting GRO slots
  for (uint32_t j = 0; j < (uint32_t)r; j++) {
    struct msghdr *h = &u->rmsg[j].msg_hdr;
    if (count >= u->recv_rows) {
      u->ctl[CTL_RECV_ERRORS] += 1; // more glued datagrams than GRO_MAX_SEGS per slot: not expected
      continue;
    }
    const uint32_t len = u->rmsg[j].msg_len;
    uint32_t fam, port, a[4] = {0, 0, 0, 0};
    source_of(&u->raddr[j], &fam, &port, a);
    uint32_t seg = len; // one datagram unless the kernel says it glued several of gso_size each
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        int g;
        memcpy(&g, CMSG_DATA(c), sizeof g);
        if (g > 0 && (uint32_t)g < len) seg = (uint32_t)g;
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
        uint32_t dropped;
        memcpy(&dropped, CMSG_DATA(c), sizeof dropped);
        u->ctl[CTL_RECV_OVFL] = dropped; // the kernel's running count for this socket
      }
    }
    if (h->msg_flags & MSG_TRUNC) seg = len; // cannot be split reliably; reported truncated below
    uint32_t off = 0;
    do {
      uint32_t *m = u->recv_meta + (size_t)count * RMETA;
      const uint32_t n = len - off < seg ? len - off : seg;
      m[0] = j * u->slot_size + off;
      m[1] = (h->msg_flags & MSG_TRUNC) ? u->slot_size + 1 : n;
      m[2] = fam;
      m[3] = port;
      m[4] = a[0];
      m[5] = a[1];
      m[6] = a[2];
      m[7] = a[3];
      count++;
      off += n;
    } while (off < len && count < u->recv_rows);
    if (off < len) u->ctl[CTL_RECV_ERRORS] += 1;
    if (seg < len) u->ctl[CTL_RECV_GRO] += (len + seg - 1) / seg;
  }
  u->ctl[CTL_RECV_BATCHES] += 1;
  count = take_fast(u, count);
  if (count == 0) return (uint32_t)r; // the fast path took every datagram: no turn of JS
  napi_env env = u->obj.env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return 0;
  napi_value argv[1];
  // udp-native.ts catches handler errors itself, so a throw reaching addon_call is a bug path.
  if (napi_create_uint32(env, count, &argv[0]) == napi_ok) addon_call(&u->obj, u->on_batch, 1, argv);
  napi_close_handle_scope(env, scope);
  return (uint32_t)r;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  udp_t *u = (udp_t *)h->data;
  if (u->obj.closed || u->obj.env_gone) return;
  if (status < 0) {
    u->ctl[CTL_RECV_ERRORS] += 1;
    return;
  }
  for (int round = 0; round < MAX_ROUNDS_PER_WAKE && !u->obj.closed; round++) {
    if (recv_batch(u) < u->recv_slots) break;
  }
}

// SO_*BUFFORCE lets a root daemon exceed net.core.[rw]mem_max (as wireguard-go does); otherwise
// the plain option, which the kernel caps. Best effort either way, like node:dgram.
static void set_buffer(int fd, int force_opt, int opt, int bytes) {
  if (bytes <= 0) return;
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) == 0) return;
  setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

// The receive buffer the kernel reports (it doubles what was asked, for its own bookkeeping).
static double rcvbuf_of(int fd) {
  int v = 0;
  socklen_t l = sizeof v;
  return getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0 ? (double)v : 0;
}

static int alloc_slots(udp_t *u) {
  u->rmsg = calloc(u->recv_slots, sizeof *u->rmsg);
  u->riov = calloc(u->recv_slots, sizeof *u->riov);
  u->raddr = calloc(u->recv_slots, sizeof *u->raddr);
  u->smsg = calloc(u->send_slots, sizeof *u->smsg);
  u->siov = calloc(u->send_slots, sizeof *u->siov);
  u->saddr = calloc(u->send_slots, sizeof *u->saddr);
  u->sctl = calloc(u->send_slots, GSO_CMSG_SPACE);
  u->rctl = calloc(u->recv_slots, RCTL_SPACE);
  u->sgroup = calloc(u->send_slots, sizeof *u->sgroup);
  return u->rmsg && u->riov && u->raddr && u->smsg && u->siov && u->saddr && u->sctl && u->sgroup && u->rctl;
}

// The message headers point at fixed slots; each batch only rewrites lengths and addresses.
static void wire_slots(udp_t *u) {
  for (uint32_t j = 0; j < u->recv_slots; j++) {
    u->riov[j].iov_base = u->recv_data + (size_t)j * u->slot_size;
    u->riov[j].iov_len = u->slot_size;
    u->rmsg[j].msg_hdr.msg_iov = &u->riov[j];
    u->rmsg[j].msg_hdr.msg_iovlen = 1;
    u->rmsg[j].msg_hdr.msg_name = &u->raddr[j];
  }
  for (uint32_t j = 0; j < u->send_slots; j++) {
    u->siov[j].iov_base = u->send_data + (size_t)j * u->slot_size;
    u->saddr[j].sa.sa_family = (sa_family_t)u->family;
  }
  u->gso_max_seg = u->family == AF_INET6 ? GSO_FIRST_MAX_SEG6 : GSO_FIRST_MAX_SEG;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) return throw_errno(env, EINVAL, "open", "?", 0);
  char addr[64] = {0};
  size_t len = 0;
  uint32_t port, rbuf, sbuf, slot_size, recv_slots, send_slots;
  if (napi_get_value_string_utf8(env, argv[0], addr, sizeof addr, &len) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &port) != napi_ok || napi_get_value_uint32(env, argv[2], &rbuf) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &sbuf) != napi_ok || napi_get_value_uint32(env, argv[4], &slot_size) != napi_ok ||
      napi_get_value_uint32(env, argv[5], &recv_slots) != napi_ok || napi_get_value_uint32(env, argv[6], &send_slots) != napi_ok) {
    return throw_errno(env, EINVAL, "open", addr, 0);
  }
  sa_t sin;
  memset(&sin, 0, sizeof sin);
  socklen_t namelen;
  if (inet_pton(AF_INET, addr, &sin.v4.sin_addr) == 1) {
    sin.v4.sin_family = AF_INET;
    sin.v4.sin_port = htons((uint16_t)port);
    namelen = sizeof sin.v4;
  } else if (inet_pton(AF_INET6, addr, &sin.v6.sin6_addr) == 1) {
    sin.v6.sin6_family = AF_INET6;
    sin.v6.sin6_port = htons((uint16_t)port);
    namelen = sizeof sin.v6;
  } else {
    return throw_errno(env, EINVAL, "bind", addr, port);
  }
  if (port > 65535 || slot_size < 576 || slot_size > 65536 || recv_slots < 1 || recv_slots > 1024 || send_slots < 1 ||
      send_slots > 1024 || rbuf > INT32_MAX || sbuf > INT32_MAX) {
    return throw_errno(env, EINVAL, "bind", addr, port);
  }
  const int family = sin.sa.sa_family;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", addr, port);
  if (family == AF_INET6) {
    // [::] takes both families (IPv4 peers arrive v4-mapped); any other IPv6 address only IPv6.
    int v6only = IN6_IS_ADDR_UNSPECIFIED(&sin.v6.sin6_addr) ? 0 : 1;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) < 0) {
      int e = errno;
      close(fd);
      return throw_errno(env, e, "socket", addr, port);
    }
  }
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, (int)rbuf);
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, (int)sbuf);
  socklen_t slen = namelen;
  if (bind(fd, &sin.sa, namelen) < 0 || getsockname(fd, &sin.sa, &slen) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "bind", addr, port);
  }

  udp_t *u = calloc(1, sizeof *u);
  if (u == NULL) {
    close(fd);
    return throw_errno(env, ENOMEM, "open", addr, port);
  }
  u->fd = fd;
  u->family = family;
  u->namelen = namelen;
  u->slot_size = slot_size;
  u->recv_slots = recv_slots;
  u->send_slots = send_slots;
  u->recv_rows = recv_slots * GRO_MAX_SEGS;
  // Probe both: a kernel without UDP_SEGMENT (before 4.18) might ignore the control message and
  // send a run as one long datagram, so GSO is used only where the option exists.
  int one = 1, seg = 0;
  socklen_t seglen = sizeof seg;
  u->gso = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, &seglen) == 0;
  u->gro = setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  u->ovfl = setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) == 0;

  napi_value rdata, rmeta_ab, rmeta, sdata, smeta_ab, smeta, ctl_ab, ctl, handle, result, port_v;
  void *rdata_p = NULL, *rmeta_p = NULL, *sdata_p = NULL, *smeta_p = NULL, *ctl_p = NULL;
  uv_loop_t *loop = NULL;
  int ok = addon_obj_init(&u->obj, env, "meshd:udp", udp_release, free_udp) && alloc_slots(u) &&
           napi_create_buffer(env, (size_t)slot_size * recv_slots, &rdata_p, &rdata) == napi_ok &&
           napi_create_arraybuffer(env, sizeof(uint32_t) * RMETA * u->recv_rows, &rmeta_p, &rmeta_ab) == napi_ok &&
           napi_create_typedarray(env, napi_uint32_array, RMETA * u->recv_rows, rmeta_ab, 0, &rmeta) == napi_ok &&
           napi_create_buffer(env, (size_t)slot_size * send_slots, &sdata_p, &sdata) == napi_ok &&
           napi_create_arraybuffer(env, sizeof(uint32_t) * META * send_slots, &smeta_p, &smeta_ab) == napi_ok &&
           napi_create_typedarray(env, napi_uint32_array, META * send_slots, smeta_ab, 0, &smeta) == napi_ok &&
           napi_create_arraybuffer(env, sizeof(double) * CTL_LEN, &ctl_p, &ctl_ab) == napi_ok &&
           napi_create_typedarray(env, napi_float64_array, CTL_LEN, ctl_ab, 0, &ctl) == napi_ok &&
           napi_create_reference(env, argv[7], 1, &u->on_batch) == napi_ok &&
           napi_create_reference(env, rdata, 1, &u->refs[0]) == napi_ok &&
           napi_create_reference(env, rmeta, 1, &u->refs[1]) == napi_ok &&
           napi_create_reference(env, sdata, 1, &u->refs[2]) == napi_ok &&
           napi_create_reference(env, smeta, 1, &u->refs[3]) == napi_ok &&
           napi_create_reference(env, ctl, 1, &u->refs[4]) == napi_ok &&
           napi_get_uv_event_loop(env, &loop) == napi_ok;
  if (!ok) {
    addon_obj_abort(&u->obj);
    return throw_errno(env, ENOMEM, "open", addr, port);
  }
  u->recv_data = rdata_p;
  u->recv_meta = rmeta_p;
  u->send_data = sdata_p;
  u->send_meta = smeta_p;
  u->ctl = ctl_p;
  memset(u->ctl, 0, sizeof(double) * CTL_LEN);
  u->ctl[CTL_RCVBUF] = rcvbuf_of(fd);
  wire_slots(u);
  int rc = uv_poll_init(loop, &u->poll, fd);
  if (rc == 0) {
    u->obj.handles_inited = 1;
    u->poll.data = u;
    rc = uv_check_init(loop, &u->check);
  }
  if (rc == 0) {
    u->obj.handles_inited = 2;
    u->check.data = u;
    rc = uv_idle_init(loop, &u->idle);
  }
  if (rc == 0) {
    u->obj.handles_inited = 3;
    u->idle.data = u;
    // The check handle must not keep the process alive on its own; poll does while open.
    uv_unref((uv_handle_t *)&u->check);
    uv_unref((uv_handle_t *)&u->idle);
    rc = uv_poll_start(&u->poll, UV_READABLE, on_readable);
  }
  if (rc != 0) {
    addon_obj_abort(&u->obj);
    return throw_errno(env, -rc, "poll", addr, port);
  }
  if ((handle = addon_obj_external(&u->obj)) == NULL) {
    addon_obj_abort(&u->obj);
    return throw_errno(env, ENOMEM, "open", addr, port);
  }
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_uint32(env, ntohs(family == AF_INET ? sin.v4.sin_port : sin.v6.sin6_port), &port_v));
  CHECK(napi_set_named_property(env, result, "handle", handle));
  CHECK(napi_set_named_property(env, result, "port", port_v));
  CHECK(napi_set_named_property(env, result, "recvData", rdata));
  CHECK(napi_set_named_property(env, result, "recvMeta", rmeta));
  CHECK(napi_set_named_property(env, result, "sendData", sdata));
  CHECK(napi_set_named_property(env, result, "sendMeta", smeta));
  CHECK(napi_set_named_property(env, result, "ctl", ctl));
  return result;
}

static napi_value js_arm(napi_env env, napi_callback_info info) {
  udp_t *u = addon_obj_arg(env, info);
  if (u != NULL && !u->obj.closed && !u->armed) {
    u->armed = 1;
    uv_check_start(&u->check, on_check);
    uv_idle_start(&u->idle, on_idle);
  }
  return NULL;
}

static napi_value js_flush(napi_env env, napi_callback_info info) {
  udp_t *u = addon_obj_arg(env, info);
  if (u != NULL && !u->obj.closed) flush(u);
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  udp_t *u = addon_obj_arg(env, info);
  if (u != NULL && !u->obj.closed) {
    flush(u); // datagrams sent before close() still go out (a goodbye to the hub)
    addon_obj_shutdown(&u->obj);
  }
  return NULL;
}

// trim(): glibc's malloc_trim(0), which gives the free pages of every malloc arena back to the
// kernel (madvise), not only the top of the heap; true when it released any. The peer calls it on a
// slow timer when its RSS grew (src/peer/memory-trim.ts): per-packet buffers freed under load leave
// the heap at its high-water mark otherwise. Lives here because this addon is loaded by every daemon.
static napi_value js_trim(napi_env env, napi_callback_info info) {
  napi_value out;
#ifdef __GLIBC__
  CHECK(napi_get_boolean(env, malloc_trim(0) != 0, &out));
#else
  CHECK(napi_get_boolean(env, 0, &out)); // no malloc_trim outside glibc (musl gives pages back itself)
#endif
  return out;
}

// setRecvBuffer(handle, bytes): resizes the open socket's receive buffer (net/rcvbuf-size.ts decides).
static napi_value js_set_recv_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  udp_t *u;
  uint32_t bytes;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !addon_obj_get(env, argv[0], (void **)&u)) return NULL;
  if (napi_get_value_uint32(env, argv[1], &bytes) != napi_ok || bytes == 0 || bytes > INT32_MAX) return NULL;
  if (!u->obj.closed && u->fd >= 0) {
    set_buffer(u->fd, SO_RCVBUFFORCE, SO_RCVBUF, (int)bytes);
    u->ctl[CTL_RCVBUF] = rcvbuf_of(u->fd);
  }
  return NULL;
}

// sendFd(handle) -> [fd, family 4|6], or null once closed: what the TUN addon's fast path
// (src/tun/native/fastpath.c) sends its datagrams from, so they leave from this socket's port.
static napi_value js_send_fd(napi_env env, napi_callback_info info) {
  napi_value out, fd, fam;
  udp_t *u = addon_obj_arg(env, info);
  if (u == NULL || u->obj.closed || u->fd < 0) {
    CHECK(napi_get_null(env, &out));
    return out;
  }
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_int32(env, u->fd, &fd));
  CHECK(napi_create_int32(env, u->family == AF_INET6 ? 6 : 4, &fam));
  CHECK(napi_set_element(env, out, 0, fd));
  CHECK(napi_set_element(env, out, 1, fam));
  return out;
}

fastrecv_t *fastrecv_of_handle(napi_env env, napi_value handle, int create) {
  udp_t *u;
  if (!addon_obj_get(env, handle, (void **)&u) || u->obj.closed) return NULL;
  if (u->fr == NULL && create) u->fr = fastrecv_new(&u->obj);
  return u->fr;
}

static const addon_fn_t exported[] = {{"open", js_open},       {"arm", js_arm},
                                      {"flush", js_flush},     {"close", js_close},
                                      {"trim", js_trim},       {"setRecvBuffer", js_set_recv_buffer},
                                      {"sendFd", js_send_fd},  {"recvSet", js_recv_set},
                                      {"recvDelete", js_recv_delete}, {"recvStats", js_recv_stats}};

static napi_value init(napi_env env, napi_value exports) {
  return define_functions(env, exports, exported, sizeof exported / sizeof exported[0], NULL);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
