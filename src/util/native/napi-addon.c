// The shared N-API plumbing of napi-addon.h, compiled into each addon (meshd_tun, meshd_udp,
// meshd_crypto).
#include "napi-addon.h"

#include <stdarg.h>
#include <stdio.h>

napi_value throw_coded(napi_env env, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  napi_value c, m, err;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) == napi_ok &&
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) == napi_ok &&
      napi_create_error(env, c, m, &err) == napi_ok) {
    napi_throw(env, err);
  }
  return NULL;
}

int u32_arg(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

int set_number(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  return napi_create_double(env, v, &n) == napi_ok && napi_set_named_property(env, obj, key, n) == napi_ok;
}

int u8_arg(napi_env env, napi_value v, uint8_t **p, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, (void **)p, &ab, &off) != napi_ok) return 0;
  return type == napi_uint8_array && (*p != NULL || *len == 0);
}

napi_value new_u8(napi_env env, size_t len, uint8_t **data) {
  napi_value ab, out;
  void *p = NULL;
  if (napi_create_arraybuffer(env, len, &p, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint8_array, len, ab, 0, &out) != napi_ok)
    return NULL;
  *data = p;
  return out;
}

napi_value define_functions(napi_env env, napi_value exports, const addon_fn_t *fns, size_t count, void *data) {
  for (size_t i = 0; i < count; i++) {
    napi_property_descriptor d = {fns[i].name, NULL, fns[i].fn, NULL, NULL, NULL, napi_enumerable, data};
    CHECK(napi_define_properties(env, exports, 1, &d));
  }
  return exports;
}

static void maybe_free(addon_obj_t *o) {
  if (o->finalized && o->handles_closed == o->handles_inited) o->destroy(o);
}

static void on_handle_closed(uv_handle_t *h) {
  addon_obj_t *o = (addon_obj_t *)h->data;
  o->handles_closed++;
  maybe_free(o);
}

static void env_cleanup(void *arg) {
  addon_obj_t *o = (addon_obj_t *)arg;
  o->env_gone = 1;
  addon_obj_shutdown(o);
}

static void finalize_external(napi_env env, void *data, void *hint) {
  addon_obj_t *o = (addon_obj_t *)data;
  o->finalized = 1;
  addon_obj_shutdown(o);
  maybe_free(o);
}

int addon_obj_init(addon_obj_t *o, napi_env env, const char *resource, void (*release)(addon_obj_t *),
                   void (*destroy)(addon_obj_t *)) {
  o->env = env;
  o->release = release;
  o->destroy = destroy;
  napi_value name;
  return napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &name) == napi_ok &&
         napi_async_init(env, NULL, name, &o->async_ctx) == napi_ok;
}

napi_value addon_obj_external(addon_obj_t *o) {
  napi_value handle;
  if (napi_add_env_cleanup_hook(o->env, env_cleanup, o) != napi_ok) return NULL;
  if (napi_create_external(o->env, o, finalize_external, NULL, &handle) != napi_ok) return NULL;
  return handle;
}

int addon_obj_get(napi_env env, napi_value v, void **out) {
  void *p = NULL;
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external) return 0;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) return 0;
  *out = p;
  return 1;
}

void *addon_obj_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *p = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !addon_obj_get(env, argv[0], &p)) return NULL;
  return p;
}

void addon_obj_shutdown(addon_obj_t *o) {
  if (o->closed) return;
  o->closed = 1;
  o->release(o);
  if (!o->env_gone) {
    napi_remove_env_cleanup_hook(o->env, env_cleanup, o);
    if (o->async_ctx != NULL) napi_async_destroy(o->env, o->async_ctx);
  }
  o->async_ctx = NULL;
}

void addon_obj_abort(addon_obj_t *o) {
  o->finalized = 1;
  addon_obj_shutdown(o);
  maybe_free(o);
}

void addon_close_handle(addon_obj_t *o, uv_handle_t *h) {
  h->data = o;
  uv_close(h, on_handle_closed);
}

void addon_drop_ref(addon_obj_t *o, napi_ref *r) {
  if (*r != NULL && !o->env_gone) napi_delete_reference(o->env, *r);
  *r = NULL;
}

void addon_call(addon_obj_t *o, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = o->env;
  napi_value fn, recv, result;
  if (fn_ref == NULL || napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_global(env, &recv); // napi_make_callback needs an object receiver
  napi_status s = napi_make_callback(env, o->async_ctx, recv, fn, argc, argv, &result);
  if (s == napi_pending_exception) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
}
