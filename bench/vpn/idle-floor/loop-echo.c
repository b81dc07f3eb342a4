// A UDP echo inside node whose datagrams never enter JS (issue 19 item 7, session 10): a uv_poll on
// node's own loop with a C callback that answers each datagram. Mode 0 answers in C only; mode 1
// sends, then calls a small JS function; mode 2 calls it, then sends. Beside udp-pingpong.c (a C
// process) and node-echo.mjs (node:dgram), it tells the cost of waking node from the cost of running
// JS. Built by turn-cost.sh: gcc -O2 -shared -fPIC -I<node include> -o loop-echo.node loop-echo.c
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static uv_poll_t poll_h;
static int fd, mode;
static napi_env genv;
static napi_ref fn_ref;

static void call_js(void) {
  napi_handle_scope sc;
  napi_value f, g, r;
  napi_open_handle_scope(genv, &sc);
  napi_get_reference_value(genv, fn_ref, &f);
  napi_get_global(genv, &g);
  napi_call_function(genv, g, f, 0, NULL, &r);
  napi_close_handle_scope(genv, sc);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  char buf[2048];
  struct sockaddr_in from;
  for (int i = 0; i < 64; i++) {
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
    if (n < 0) return;
    if (mode == 2) call_js();
    sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
    if (mode == 1) call_js();
  }
}

// start(address, port, mode, fn)
static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 4, len;
  napi_value argv[4];
  char addr[64];
  int32_t port;
  uv_loop_t *loop;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return NULL;
  napi_get_value_string_utf8(env, argv[0], addr, sizeof addr, &len);
  napi_get_value_int32(env, argv[1], &port);
  napi_get_value_int32(env, argv[2], &mode);
  genv = env;
  napi_create_reference(env, argv[3], 1, &fn_ref);
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, addr, &sa.sin_addr);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return NULL;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &poll_h, fd);
  uv_poll_start(&poll_h, UV_READABLE, on_readable);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "start", NAPI_AUTO_LENGTH, start, NULL, &f);
  napi_set_named_property(env, exports, "start", f);
  return exports;
}
