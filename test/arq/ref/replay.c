/*
 * meshd differential harness (our own code): drives one reference KCP control block (ikcp.c,
 * compiled in beside this file by test/arq/differential.test.ts) from a script on stdin and prints
 * everything it does, so the test can compare it line by line with our Kcp fed the same script.
 *
 * script lines:                      printed:
 *   create conv nd iv rs nc snd rcv mtu stream
 *   update t                           "out <hex>" per datagram, then "state ..."
 *   input <hex>                        "input <rc>", then "state ..."
 *   send <hex>                         "send <0|rc>", then "state ..."
 *   recv                               "msg <hex>" or "recv <rc>"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ikcp.h"

static void print_hex(const char *tag, const unsigned char *b, int n) {
	static const char digits[] = "0123456789abcdef";
	fputs(tag, stdout);
	for (int i = 0; i < n; i++) {
		putchar(digits[b[i] >> 4]);
		putchar(digits[b[i] & 15]);
	}
	putchar('\n');
}

static int out_cb(const char *buf, int len, ikcpcb *kcp, void *user) {
	(void)kcp;
	(void)user;
	print_hex("out ", (const unsigned char *)buf, len);
	return 0;
}

static int unhex(const char *s, unsigned char *out) {
	int n = 0;
	while (s[0] && s[1] && s[0] != '\n') {
		unsigned int v;
		sscanf(s, "%2x", &v);
		out[n++] = (unsigned char)v;
		s += 2;
	}
	return n;
}

static void print_state(const ikcpcb *k) {
	printf("state una=%u nxt=%u rcv_nxt=%u cwnd=%u ssthresh=%u incr=%u srtt=%d rttval=%d rto=%d rmt_wnd=%u probe_wait=%u "
	       "nsnd_buf=%u nsnd_que=%u nrcv_buf=%u nrcv_que=%u state=%d xmit=%u\n",
	       k->snd_una, k->snd_nxt, k->rcv_nxt, k->cwnd, k->ssthresh, k->incr, k->rx_srtt, k->rx_rttval, k->rx_rto, k->rmt_wnd,
	       k->probe_wait, k->nsnd_buf, k->nsnd_que, k->nrcv_buf, k->nrcv_que, (int)k->state, k->xmit);
}

int main(void) {
	static char line[1 << 18];
	static unsigned char bin[1 << 17];
	static char msg[1 << 20];
	ikcpcb *k = NULL;
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "create ", 7) == 0) {
			unsigned int conv;
			int nd, iv, rs, nc, snd, rcv, mtu, stream;
			sscanf(line + 7, "%u %d %d %d %d %d %d %d %d", &conv, &nd, &iv, &rs, &nc, &snd, &rcv, &mtu, &stream);
			k = ikcp_create(conv, NULL);
			k->output = out_cb;
			ikcp_setmtu(k, mtu);
			ikcp_wndsize(k, snd, rcv);
			ikcp_nodelay(k, nd, iv, rs, nc);
			k->stream = stream;
		} else if (strncmp(line, "update ", 7) == 0) {
			ikcp_update(k, (IUINT32)strtoul(line + 7, NULL, 10));
			print_state(k);
		} else if (strncmp(line, "input ", 6) == 0) {
			int n = unhex(line + 6, bin);
			printf("input %d\n", ikcp_input(k, (const char *)bin, n));
			print_state(k);
		} else if (strncmp(line, "send ", 5) == 0) {
			int n = unhex(line + 5, bin);
			printf("send %d\n", ikcp_send(k, (const char *)bin, n) < 0 ? -1 : 0);
			print_state(k);
		} else if (strncmp(line, "recv", 4) == 0) {
			int n = ikcp_recv(k, msg, sizeof(msg));
			if (n >= 0) print_hex("msg ", (const unsigned char *)msg, n);
			else printf("recv %d\n", n);
		}
	}
	if (k) ikcp_release(k);
	return 0;
}
