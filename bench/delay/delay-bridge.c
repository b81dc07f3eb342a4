// delay-bridge: a userspace L2 bridge between two interfaces that holds every frame for a fixed
// delay, optionally with jitter, because this kernel has no netem. Used by bench/vpn/run.mjs in a
// "delay" namespace that sits between a peer and the router. Compiled at run time with `cc -O2`.
//
//   delay-bridge [-j JITTER_US] [-q QUEUE_FRAMES] [-b SOCKBUF_BYTES] [-s SEED] IF1 IF2 DELAY_US
//
// Frames from IF1 go out IF2 DELAY_US later and vice versa. With -j each frame's delay is drawn
// uniformly from DELAY_US +- JITTER_US, but a frame never leaves before the one received ahead of
// it in the same direction (FIFO per direction: jitter without reordering, so under bulk load most
// frames take the running maximum). Loss is not done here (bench/vpn drops per packet with nft).
//
// The bridge stands for the network, so it must never be the bottleneck; every way it could lose
// or hold a frame is counted, and a valid run has all of them at zero:
//   sockDrops  frames the kernel dropped because the bridge did not read its socket in time
//              (PACKET_STATISTICS tp_drops: the receive buffer overran)
//   drops      frames dropped because the bridge's own delay queue was full
//   trunc      frames larger than a slot (an offload left a super-packet on the link)
//   sendErrors frames the kernel refused to send
//   late1ms    frames that left more than 1 ms after their due time (the bridge was starved)
// Every second, and on SIGTERM/SIGINT before exiting, it prints one JSON line: those counters and
// frames/bytes forwarded per direction, lateness (cumulative sum, mean; max over the last
// interval), and its own CPU time (user+system seconds, getrusage).
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
#include <sys/resource.h>
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
  uint64_t lastDue;   // due time of the newest queued frame: jitter never reorders
  uint64_t frames, bytes, drops, trunc, sockDrops, sendErrors, lateSumNs, lateMaxNs, late1ms, sent;
};

static uint64_t jitterNs = 0;
static uint64_t rngState = 0x9e3779b97f4a7c15ull;

// xorshift64*: a uniform draw in [0, 2^64); the seed is fixed unless -s is given, so runs repeat.
static uint64_t nextRandom(void) {
  rngState ^= rngState >> 12;
  rngState ^= rngState << 25;
  rngState ^= rngState >> 27;
  return rngState * 0x2545f4914f6cdd1dull;
}

// Due time of a frame received at nowNs: delay +- jitter, clamped so it leaves after its predecessor.
static uint64_t dueOf(struct queue *q, uint64_t now, uint64_t delayNs) {
  uint64_t due = now + delayNs;
  if (jitterNs > 0) {
    uint64_t span = 2 * jitterNs + 1;
    int64_t off = (int64_t)(nextRandom() % span) - (int64_t)jitterNs;
    due = (uint64_t)((int64_t)due + off);
    if (due < now) due = now;
  }
  if (due < q->lastDue) due = q->lastDue;
  q->lastDue = due;
  return due;
}

static volatile sig_atomic_t stopping = 0;
static void onSignal(int sig) { (void)sig; stopping = 1; }

static uint64_t nowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int openSocket(const char *ifname, int sockBuf) {
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
  // A deep receive buffer (16 MB by default): a bridge that is briefly descheduled must not drop
  // (a drop here would be loss that depends on load); overruns are counted (sockDrops) all the same.
  int big = sockBuf;
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
  uint64_t now = nowNs();
  // Slots were handed out in order; compact the accepted frames at the tail.
  for (int i = 0; i < got; i++) {
    if (from[i].sll_pkttype == PACKET_OUTGOING) continue;
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) { q->trunc++; continue; }
    if (slot[i] == UINT32_MAX) { q->drops++; continue; }
    uint8_t *dst = q->buf + (size_t)q->tail * slotBytes;
    if (iov[i].iov_base != dst) memmove(dst, iov[i].iov_base, msgs[i].msg_len);
    q->len[q->tail] = (uint16_t)msgs[i].msg_len;
    q->due[q->tail] = dueOf(q, now, delayNs);
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
      if (late > 1000000ull) q->late1ms++;
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

// Adds the kernel's drop count for fd's receive buffer (PACKET_STATISTICS resets it on each read).
static void readSocketDrops(int fd, struct queue *q) {
  struct tpacket_stats st;
  socklen_t len = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) q->sockDrops += st.tp_drops;
}

static void report(struct queue *q, double elapsedS) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpuS = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  printf("{\"t\":%.3f,\"cpuS\":%.3f", elapsedS, cpuS);
  for (int d = 0; d < 2; d++) {
    const struct queue *x = &q[d];
    double meanUs = x->sent ? (double)x->lateSumNs / (double)x->sent / 1000.0 : 0;
    printf(",\"d%d\":{\"frames\":%llu,\"bytes\":%llu,\"drops\":%llu,\"sockDrops\":%llu,\"trunc\":%llu,\"sendErrors\":%llu,\"late1ms\":%llu,\"sent\":%llu,\"lateSumUs\":%.1f,\"lateMeanUs\":%.1f,\"lateMaxUs\":%.1f}", d,
           (unsigned long long)x->frames, (unsigned long long)x->bytes, (unsigned long long)x->drops,
           (unsigned long long)x->sockDrops, (unsigned long long)x->trunc, (unsigned long long)x->sendErrors,
           (unsigned long long)x->late1ms, (unsigned long long)x->sent, (double)x->lateSumNs / 1000.0, meanUs,
           (double)x->lateMaxNs / 1000.0);
  }
  printf("}\n");
  fflush(stdout);
  q[0].lateMaxNs = q[1].lateMaxNs = 0; // lateMaxUs is the maximum since the previous line
}

int main(int argc, char **argv) {
  uint32_t slots = 16384; // 32 MB per direction; 100 ms at 500 Mbit/s is about 4,200 frames
  int sockBuf = 16 << 20;
  int opt;
  while ((opt = getopt(argc, argv, "j:q:b:s:")) != -1) {
    switch (opt) {
      case 'j': jitterNs = strtoull(optarg, NULL, 10) * 1000ull; break;
      case 'q': slots = (uint32_t)strtoul(optarg, NULL, 10); break;
      case 'b': sockBuf = (int)strtol(optarg, NULL, 10); break;
      case 's': rngState = strtoull(optarg, NULL, 10) | 1; break;
      default: goto usage;
    }
  }
  if (argc - optind != 3 || slots < 2) {
  usage:
    fprintf(stderr, "usage: %s [-j JITTER_US] [-q QUEUE_FRAMES] [-b SOCKBUF_BYTES] [-s SEED] IF1 IF2 DELAY_US\n", argv[0]);
    return 2;
  }
  const char *if1 = argv[optind], *if2 = argv[optind + 1];
  uint64_t delayNs = strtoull(argv[optind + 2], NULL, 10) * 1000ull;
  prctl(PR_SET_TIMERSLACK, 1UL); // wake at the due time, not up to 50 us later
  signal(SIGTERM, onSignal);
  signal(SIGINT, onSignal);
  int fd[2] = {openSocket(if1, sockBuf), openSocket(if2, sockBuf)};
  struct queue q[2]; // q[0]: IF1 -> IF2, q[1]: IF2 -> IF1
  queueInit(&q[0], slots);
  queueInit(&q[1], slots);
  uint64_t start = nowNs(), lastReport = start;
  printf("{\"ready\":true,\"delayUs\":%llu,\"jitterUs\":%llu,\"slots\":%u,\"sockBuf\":%d}\n", (unsigned long long)(delayNs / 1000),
         (unsigned long long)(jitterNs / 1000), slots, sockBuf);
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
      readSocketDrops(fd[0], &q[0]);
      readSocketDrops(fd[1], &q[1]);
      report(q, (double)(now - start) / 1e9);
    }
  }
  readSocketDrops(fd[0], &q[0]);
  readSocketDrops(fd[1], &q[1]);
  report(q, (double)(nowNs() - start) / 1e9);
  return 0;
}
