// The N-API plumbing the three addons share (meshd_tun, meshd_udp, meshd_crypto): CHECK, errors
// with a `code`, Uint8Array arguments and results, export tables, and the lifecycle of a native
// object behind a JS external (env cleanup hook, finalizer, uv handles closed before the memory is
// freed, callbacks into JS through napi_make_callback). Plain C against node_api.h (NAPI_VERSION 8).
#ifndef MESHD_NAPI_ADDON_H
#define MESHD_NAPI_ADDON_H

#include <node_api.h>
#include <uv.h>

#include <stddef.h>
#include <stdint.h>

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

/** Throws an Error whose `code` property is `code`; returns NULL for `return throw_coded(...)`. */
napi_value throw_coded(napi_env env, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** A Uint8Array argument: 1 with its bytes in *p and length in *len, else 0. */
int u8_arg(napi_env env, napi_value v, uint8_t **p, size_t *len);

/** A uint32 argument: 1 with it in *out, else 0. */
int u32_arg(napi_env env, napi_value v, uint32_t *out);

/** obj[key] = v as a number; 1 on success. */
int set_number(napi_env env, napi_value obj, const char *key, double v);

/** A fresh Uint8Array of len bytes (its bytes in *data), or NULL. */
napi_value new_u8(napi_env env, size_t len, uint8_t **data);

/** Defines fns on exports, each called with `data` as its callback data; exports, or NULL. */
typedef struct {
  const char *name;
  napi_callback fn;
} addon_fn_t;
napi_value define_functions(napi_env env, napi_value exports, const addon_fn_t *fns, size_t count, void *data);

/**
 * A native object handed to JS as an external (a TUN device, a UDP socket). Embed it as the FIRST
 * member of the owner's struct, so a uv handle's `data` can point at either. The owner supplies
 * `release` (stop and addon_close_handle its uv handles, close its fd, addon_drop_ref its refs) and
 * `destroy` (free the memory), both called once. The memory is freed only when the JS external is
 * finalized and every uv handle's close callback has run; no JS callback runs after shutdown.
 */
typedef struct addon_obj_s addon_obj_t;
struct addon_obj_s {
  napi_env env;
  napi_async_context async_ctx; // napi_make_callback's context; NULL once shut down
  int closed;                   // released: no more callbacks
  int finalized;                // the JS external is gone
  int env_gone;                 // env teardown started: no napi calls from now on
  int handles_inited;           // uv handles that need a uv_close before free
  int handles_closed;           // their close callbacks that ran
  void (*release)(addon_obj_t *o);
  void (*destroy)(addon_obj_t *o);
};

/** Fills o and creates its async context named `resource`; 1 on success (else addon_obj_abort it). */
int addon_obj_init(addon_obj_t *o, napi_env env, const char *resource, void (*release)(addon_obj_t *),
                   void (*destroy)(addon_obj_t *));
/** Registers the env cleanup hook and wraps o in an external with a finalizer; NULL on failure
 * (then addon_obj_abort it). */
napi_value addon_obj_external(addon_obj_t *o);
/** The object behind an external made by addon_obj_external; 0 when v is not one. */
int addon_obj_get(napi_env env, napi_value v, void **out);
/** The object behind a call's first argument (an external from addon_obj_external), or NULL: the
 * prologue of every `fn(handle)` export. */
void *addon_obj_arg(napi_env env, napi_callback_info info);
/** Releases once (idempotent, safe inside a callback): after it returns no JS callback runs. */
void addon_obj_shutdown(addon_obj_t *o);
/** For a failed open: no external will ever finalize it, so shut down and free when the handles allow. */
void addon_obj_abort(addon_obj_t *o);
/** uv_close for one of o's handles (h->data must be o); counts toward the free condition. */
void addon_close_handle(addon_obj_t *o, uv_handle_t *h);
/** Deletes a reference unless the env is gone, and clears it. */
void addon_drop_ref(addon_obj_t *o, napi_ref *r);
/** Calls the referenced function through napi_make_callback (nextTicks and microtasks run after
 * it); a throw becomes an uncaughtException, never a silently swallowed one. */
void addon_call(addon_obj_t *o, napi_ref fn_ref, size_t argc, napi_value *argv);

#endif
