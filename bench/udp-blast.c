// UDP traffic source for bench/tun.mjs: sends fixed-size datagrams to ADDR:PORT with sendmmsg for
// SECONDS, then prints how many the kernel accepted. Build: cc -O2 -o udp-blast udp-blast.c
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: udp-blast ADDR PORT PAYLOAD_BYTES SECONDS\n");
    return 2;
  }
  int len = atoi(argv[3]);
  double secs = atof(argv[4]);
  if (len < 1 || len > 65000 || secs <= 0 || secs > 120) return 2;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
  if (s < 0 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 || connect(s, (struct sockaddr *)&to, sizeof to) < 0) {
    perror("udp-blast");
    return 1;
  }
  char *buf = calloc(1, (size_t)len);
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = buf;
    iov[i].iov_len = (size_t)len;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  unsigned long long sent = 0, errors = 0;
  double end = now() + secs;
  while (now() < end) {
    for (int k = 0; k < 16; k++) {
      int n = sendmmsg(s, msgs, BATCH, 0);
      if (n > 0) sent += (unsigned)n;
      else errors++;
    }
  }
  printf("{\"sent\":%llu,\"errors\":%llu}\n", sent, errors);
  return 0;
}
