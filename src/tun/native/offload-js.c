// N-API views of offload.c for the unit tests (test/tun/offload.test.ts), exported by the TUN addon
// as offloadSplit and offloadCoalesce; the data path never calls them.
#include <stdlib.h>
#include <string.h>

#include "tun.h"

napi_value js_offload_split(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], out, ab;
  uint8_t *in, *slots;
  size_t in_len, slots_len, n_lengths, n_state, off;
  uint32_t mtu, slot_size, *lengths, *state;
  napi_typedarray_type type;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6 || !u8_arg(env, argv[0], &in, &in_len) || napi_get_value_uint32(env, argv[1], &mtu) != napi_ok ||
      !u8_arg(env, argv[2], &slots, &slots_len) || napi_get_value_uint32(env, argv[3], &slot_size) != napi_ok ||
      napi_get_typedarray_info(env, argv[4], &type, &n_lengths, (void **)&lengths, &ab, &off) != napi_ok ||
      type != napi_uint32_array ||
      napi_get_typedarray_info(env, argv[5], &type, &n_state, (void **)&state, &ab, &off) != napi_ok ||
      type != napi_uint32_array || n_state < 1 || slot_size == 0) {
    return throw_coded(env, "TUN_IO", "offloadSplit(input, mtu, out, slotSize, lengths: Uint32Array, state: Uint32Array)");
  }
  size_t max_slots = slots_len / slot_size < n_lengths ? slots_len / slot_size : n_lengths;
  int r = offload_split(in, in_len, mtu, slots, slot_size, (uint32_t)max_slots, lengths, &state[0]);
  CHECK(napi_create_int32(env, r, &out));
  return out;
}

// offloadCoalesce(packets: Uint8Array[]) -> Uint8Array[]: what flush would write, each with its
// virtio_net_hdr (the unit tests' view of offload_coalesce + offload_group_header).
napi_value js_offload_coalesce(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  uint32_t n = 0;
  bool is_array = false;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &n) != napi_ok || n == 0 || n > WQ_MAX) {
    return throw_coded(env, "TUN_IO", "offloadCoalesce(packets: Uint8Array[1..%d])", WQ_MAX);
  }
  wqueue_t *q = malloc(sizeof *q);
  if (q == NULL) return throw_coded(env, "TUN_IO", "out of memory");
  q->used = 0;
  for (q->n = 0; q->n < n; q->n++) {
    napi_value el;
    uint8_t *p;
    size_t len;
    if (napi_get_element(env, argv[0], q->n, &el) != napi_ok || !u8_arg(env, el, &p, &len) || len == 0 ||
        len > 0xffff || WQ_BYTES - q->used < len) {
      uint32_t bad = q->n;
      free(q);
      return throw_coded(env, "TUN_IO", "offloadCoalesce: packet %u is not a Uint8Array of 1..65535 bytes", bad);
    }
    q->ptr[q->n] = q->bytes + q->used;
    q->len[q->n] = (uint32_t)len;
    memcpy(q->ptr[q->n], p, len);
    q->used += (len + 7) & ~(size_t)7;
  }
  uint32_t ng = offload_coalesce((const uint8_t *const *)q->ptr, q->len, n, q->groups, q->next, q->order);
  if (napi_create_array_with_length(env, ng, &out) != napi_ok) {
    free(q);
    return NULL;
  }
  for (uint32_t g = 0; g < ng; g++) {
    const offload_group_t *gr = &q->groups[g];
    uint32_t i = gr->first, last = i;
    while (q->next[last] != OFFLOAD_NO_NEXT) last = q->next[last];
    uint8_t vnet[OFFLOAD_VNET_HDR_LEN] = {0};
    uint32_t hdr = 20 + (uint32_t)(q->ptr[i][32] >> 4) * 4;
    if (gr->count > 1) offload_group_header(q->ptr[i], q->ptr[last], gr, vnet);
    size_t total = sizeof vnet + q->len[i];
    for (uint32_t j = q->next[i]; j != OFFLOAD_NO_NEXT; j = q->next[j]) total += q->len[j] - hdr;
    napi_value buf;
    void *data;
    if (napi_create_buffer(env, total, &data, &buf) != napi_ok) {
      free(q);
      return NULL;
    }
    uint8_t *d = data;
    memcpy(d, vnet, sizeof vnet);
    memcpy(d + sizeof vnet, q->ptr[i], q->len[i]);
    d += sizeof vnet + q->len[i];
    for (uint32_t j = q->next[i]; j != OFFLOAD_NO_NEXT; j = q->next[j]) {
      memcpy(d, q->ptr[j] + hdr, q->len[j] - hdr);
      d += q->len[j] - hdr;
    }
    napi_set_element(env, out, g, buf);
  }
  free(q);
  return out;
}
