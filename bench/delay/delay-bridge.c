// delay-bridge: a userspace L2 bridge between two interfaces that holds every frame for a fixed
// delay, because this kernel has no netem. Used by bench/vpn/run.mjs in a "delay" namespace that
// sits between a peer and the router. Compiled at run time with `cc -O2`.
//
//   delay-bridge IF1 IF2 DELAY_US [QUEUE_FRAMES]
//
// Frames from IF1 go out IF2 DELAY_US later and vice versa (FIFO per direction, so no reordering).
// A full queue drops the frame (counted). Every second, and on SIGTERM/SIGINT before exiting, it
// prints one JSON line of counters to stdout: frames and bytes forwarded per direction, queue
// drops, send errors, and how late frames left past their due time (cumulative sum and mean in
// microseconds; the max is over the last interval).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

enum { slotBytes = 2048, batchFrames = 64 };

struct queue {
  uint8_t *buf;       // slots * slotBytes
  uint16_t *len;
  uint64_t *due;      // monotonic ns
  uint32_t head, tail, slots;
  uint64_t frames, bytes, drops, sendErrors, lateSumNs, lateMaxNs, sent;
};

static volatile sig_atomic_t stopping = 0;
static void onSignal(int sig) { (void)sig; stopping = 1; }

static uint64_t nowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int openSocket(const char *ifname) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
  if (fd < 0) { perror("socket"); exit(2); }
  int ifindex = (int)if_nametoindex(ifname);
  if (ifindex == 0) { fprintf(stderr, "no interface %s\n", ifname); exit(2); }
  struct sockaddr_ll sll = {0};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("bind"); exit(2); }
  struct packet_mreq mr = {0};
  mr.mr_ifindex = ifindex;
  mr.mr_type = PACKET_MR_PROMISC;
  setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
  int one = 1;
  // Our own transmissions must not come back to us as received frames (a loop otherwise).
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
    perror("PACKET_IGNORE_OUTGOING (frames with PACKET_OUTGOING are skipped instead)");
  }
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  // A shallow receive queue (about 1 MB) so an overloaded bridge drops like a router instead of
  // adding hundreds of milliseconds of its own backlog.
  int big = 1 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  return fd;
}

static void queueInit(struct queue *q, uint32_t slots) {
  memset(q, 0, sizeof *q);
  q->slots = slots;
  q->buf = malloc((size_t)slots * slotBytes);
  q->len = malloc(sizeof(uint16_t) * slots);
  q->due = malloc(sizeof(uint64_t) * slots);
  if (!q->buf || !q->len || !q->due) { fprintf(stderr, "out of memory\n"); exit(2); }
}

// Reads up to batchFrames frames from fd into q with one recvmmsg, each due at arrival + delayNs.
static void drain(int fd, struct queue *q, uint64_t delayNs) {
  static uint8_t scratch[batchFrames][slotBytes];
  struct mmsghdr msgs[batchFrames];
  struct iovec iov[batchFrames];
  struct sockaddr_ll from[batchFrames];
  uint32_t slot[batchFrames];
  uint32_t tail = q->tail;
  int n = 0;
  for (; n < batchFrames; n++) {
    uint32_t next = (tail + 1) % q->slots;
    int full = next == q->head;
    slot[n] = full ? UINT32_MAX : tail;
    iov[n].iov_base = full ? scratch[n] : q->buf + (size_t)tail * slotBytes;
    iov[n].iov_len = slotBytes;
    memset(&msgs[n].msg_hdr, 0, sizeof msgs[n].msg_hdr);
    msgs[n].msg_hdr.msg_iov = &iov[n];
    msgs[n].msg_hdr.msg_iovlen = 1;
    msgs[n].msg_hdr.msg_name = &from[n];
    msgs[n].msg_hdr.msg_namelen = sizeof from[n];
    if (!full) tail = next;
  }
  int got = recvmmsg(fd, msgs, batchFrames, MSG_DONTWAIT, NULL);
  if (got <= 0) return;
  uint64_t due = nowNs() + delayNs;
  // Slots were handed out in order; compact the accepted frames at the tail.
  for (int i = 0; i < got; i++) {
    if (from[i].sll_pkttype == PACKET_OUTGOING) continue;
    if (slot[i] == UINT32_MAX || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) { q->drops++; continue; }
    uint8_t *dst = q->buf + (size_t)q->tail * slotBytes;
    if (iov[i].iov_base != dst) memmove(dst, iov[i].iov_base, msgs[i].msg_len);
    q->len[q->tail] = (uint16_t)msgs[i].msg_len;
    q->due[q->tail] = due;
    q->tail = (q->tail + 1) % q->slots;
  }
}

// Sends every frame of q that is due (sendmmsg batches); returns the next due time (0 if empty).
static uint64_t flush(int fd, struct queue *q) {
  uint64_t now = nowNs();
  for (;;) {
    struct mmsghdr msgs[batchFrames];
    struct iovec iov[batchFrames];
    int n = 0;
    uint32_t h = q->head;
    while (n < batchFrames && h != q->tail && q->due[h] <= now) {
      uint64_t late = now - q->due[h];
      q->lateSumNs += late;
      if (late > q->lateMaxNs) q->lateMaxNs = late;
      iov[n].iov_base = q->buf + (size_t)h * slotBytes;
      iov[n].iov_len = q->len[h];
      memset(&msgs[n].msg_hdr, 0, sizeof msgs[n].msg_hdr);
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      n++;
      h = (h + 1) % q->slots;
    }
    if (n == 0) break;
    int sent = 0;
    while (sent < n) {
      int r = sendmmsg(fd, msgs + sent, (unsigned)(n - sent), 0);
      if (r <= 0) { q->sendErrors++; sent++; continue; } // skip the frame that failed
      for (int i = sent; i < sent + r; i++) { q->frames++; q->bytes += iov[i].iov_len; }
      sent += r;
    }
    q->sent += (uint64_t)n;
    q->head = h;
  }
  return q->head != q->tail ? q->due[q->head] : 0;
}

static void report(struct queue *q, double elapsedS) {
  printf("{\"t\":%.3f", elapsedS);
  for (int d = 0; d < 2; d++) {
    const struct queue *x = &q[d];
    double meanUs = x->sent ? (double)x->lateSumNs / (double)x->sent / 1000.0 : 0;
    printf(",\"d%d\":{\"frames\":%llu,\"bytes\":%llu,\"drops\":%llu,\"sendErrors\":%llu,\"sent\":%llu,\"lateSumUs\":%.1f,\"lateMeanUs\":%.1f,\"lateMaxUs\":%.1f}", d,
           (unsigned long long)x->frames, (unsigned long long)x->bytes, (unsigned long long)x->drops,
           (unsigned long long)x->sendErrors, (unsigned long long)x->sent, (double)x->lateSumNs / 1000.0, meanUs,
           (double)x->lateMaxNs / 1000.0);
  }
  printf("}\n");
  fflush(stdout);
  q[0].lateMaxNs = q[1].lateMaxNs = 0; // lateMaxUs is the maximum since the previous line
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s IF1 IF2 DELAY_US [QUEUE_FRAMES]\n", argv[0]); return 2; }
  uint64_t delayNs = strtoull(argv[3], NULL, 10) * 1000ull;
  uint32_t slots = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 32768;
  prctl(PR_SET_TIMERSLACK, 1UL); // wake at the due time, not up to 50 us later
  signal(SIGTERM, onSignal);
  signal(SIGINT, onSignal);
  int fd[2] = {openSocket(argv[1]), openSocket(argv[2])};
  struct queue q[2]; // q[0]: IF1 -> IF2, q[1]: IF2 -> IF1
  queueInit(&q[0], slots);
  queueInit(&q[1], slots);
  uint64_t start = nowNs(), lastReport = start;
  printf("{\"ready\":true,\"delayUs\":%llu,\"slots\":%u}\n", (unsigned long long)(delayNs / 1000), slots);
  fflush(stdout);
  while (!stopping) {
    uint64_t next0 = flush(fd[1], &q[0]);
    uint64_t next1 = flush(fd[0], &q[1]);
    uint64_t now = nowNs();
    uint64_t next = next0 && next1 ? (next0 < next1 ? next0 : next1) : (next0 ? next0 : next1);
    // Wake at the next due frame, or after 100 ms to report and to notice signals.
    uint64_t waitNs = next ? (next > now ? next - now : 0) : 100000000ull;
    if (waitNs > 100000000ull) waitNs = 100000000ull;
    struct pollfd pfd[2] = {{fd[0], POLLIN, 0}, {fd[1], POLLIN, 0}};
    struct timespec ts = {(time_t)(waitNs / 1000000000ull), (long)(waitNs % 1000000000ull)};
    int r = waitNs ? ppoll(pfd, 2, &ts, NULL) : poll(pfd, 2, 0);
    if (r < 0 && errno != EINTR) { perror("ppoll"); break; }
    if (r > 0) {
      if (pfd[0].revents & POLLIN) drain(fd[0], &q[0], delayNs);
      if (pfd[1].revents & POLLIN) drain(fd[1], &q[1], delayNs);
    }
    now = nowNs();
    if (now - lastReport >= 1000000000ull) {
      lastReport = now;
      report(q, (double)(now - start) / 1e9);
    }
  }
  report(q, (double)(nowNs() - start) / 1e9);
  return 0;
}
