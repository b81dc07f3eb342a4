/*
 * meshd interop harness (our own code): one reference KCP endpoint (skywind3000/kcp ikcp.c,
 * compiled in beside this file by test/arq/interop.test.ts) on a UDP socket at 127.0.0.1.
 * It echoes every message it receives and also originates `count` messages of its own, so data
 * flows both ways through the reference. Prints "PORT <n>" once bound, then "DONE ..." stats lines
 * on stderr when stdin closes, and exits. It drops loss_percent of the datagrams it sends.
 *
 * usage: harness <conv> <loss_percent> <nodelay> <interval> <resend> <nc> <count> <stream>
 * Originated message i (0-based): length (i * 997) % 4000 + 1, byte k = 0x02 at k = 0, else (i + k) & 255.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ikcp.h"

static int sock = -1;
static struct sockaddr_in peer;
static int have_peer = 0;
static int loss_percent = 0;
static unsigned long rng_state = 12345;
static long dropped_out = 0;

static unsigned int rnd100(void) {
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned int)((rng_state >> 33) % 100);
}

static IUINT32 now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (IUINT32)((IUINT64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int out_cb(const char *buf, int len, ikcpcb *kcp, void *user) {
	(void)kcp;
	(void)user;
	if (!have_peer) return 0;
	if (loss_percent > 0 && (int)rnd100() < loss_percent) {
		dropped_out++;
		return 0;
	}
	sendto(sock, buf, (size_t)len, 0, (struct sockaddr *)&peer, sizeof(peer));
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 9) {
		fprintf(stderr, "usage: %s conv loss nodelay interval resend nc count stream\n", argv[0]);
		return 2;
	}
	IUINT32 conv = (IUINT32)strtoul(argv[1], NULL, 0);
	loss_percent = atoi(argv[2]);
	int count = atoi(argv[7]);
	ikcpcb *kcp = ikcp_create(conv, NULL);
	kcp->output = out_cb;
	ikcp_wndsize(kcp, 128, 128);
	ikcp_nodelay(kcp, atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
	kcp->stream = atoi(argv[8]);

	sock = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in addr;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (bind(sock, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		perror("bind");
		return 1;
	}
	socklen_t alen = sizeof(addr);
	getsockname(sock, (struct sockaddr *)&addr, &alen);
	fcntl(sock, F_SETFL, O_NONBLOCK);
	printf("PORT %d\n", ntohs(addr.sin_port));
	fflush(stdout);

	static char buf[1 << 16];
	static char msg[1 << 16];
	int originated = 0;
	long received = 0, echoed = 0;
	struct pollfd fds[2] = {{sock, POLLIN, 0}, {0, POLLIN, 0}};
	for (;;) {
		poll(fds, 2, 1);
		if (fds[1].revents & (POLLIN | POLLHUP)) {
			ssize_t r = read(0, buf, sizeof(buf));
			if (r <= 0) break;
		}
		for (;;) {
			struct sockaddr_in from;
			socklen_t flen = sizeof(from);
			ssize_t n = recvfrom(sock, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
			if (n < 0) break;
			peer = from;
			have_peer = 1;
			int rc = ikcp_input(kcp, buf, (long)n);
			if (rc < 0) fprintf(stderr, "input rejected: %d\n", rc);
		}
		for (;;) {
			int n = ikcp_recv(kcp, msg, sizeof(msg));
			if (n < 0) break;
			received++;
			if (ikcp_send(kcp, msg, n) >= 0) echoed++;
		}
		/* Originate our own messages once the peer is known, a few per tick. */
		for (int burst = 0; have_peer && originated < count && burst < 4 && ikcp_waitsnd(kcp) < 256; burst++) {
			int len = (originated * 997) % 4000 + 1;
			for (int k = 0; k < len; k++) msg[k] = (char)(k == 0 ? 2 : (originated + k) & 255);
			ikcp_send(kcp, msg, len);
			originated++;
		}
		ikcp_update(kcp, now_ms());
	}
	fprintf(stderr, "DONE received=%ld echoed=%ld originated=%d dropped_out=%ld xmit=%u\n", received, echoed,
	        originated, dropped_out, (unsigned)kcp->xmit);
	ikcp_release(kcp);
	return 0;
}
