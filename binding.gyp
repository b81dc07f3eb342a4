{
  "targets": [
    {
      "target_name": "meshd_tun",
      "sources": ["src/tun/native/tun.c", "src/tun/native/tun-write.c", "src/tun/native/offload.c", "src/tun/native/offload-js.c", "src/tun/native/fastpath.c", "src/util/native/napi-addon.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "cflags!": ["-O3"]
    },
    {
      "target_name": "meshd_udp",
      "sources": ["src/net/native/udp.c", "src/net/native/fastrecv.c", "src/util/native/napi-addon.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "cflags!": ["-O3"]
    },
    {
      "target_name": "meshd_crypto",
      "sources": ["src/crypto/native/crypto.c", "src/crypto/native/aead.c", "src/crypto/native/noise.c", "src/util/native/napi-addon.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "cflags!": ["-O3"]
    },
    {
      "target_name": "meshd_fec",
      "sources": ["src/fec/native/fec.c", "src/util/native/napi-addon.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "cflags!": ["-O3"]
    }
  ]
}
