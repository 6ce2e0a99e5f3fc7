/*
 * Node-API glue for the job-process sandbox: parses options, calls the platform code and
 * turns the result into plain JavaScript objects. Plain C and node_api.h only, so the
 * same binary loads in Node and Electron without a rebuild.
 *
 * Exports:
 *   lockdown({ readPaths, parentPid?, memoryLimitBytes? }) -> { tier, layers, reason? }
 *   dieWithParent(parentPid?) -> { applied, detail }
 *   probe() -> { canSandbox, landlockAbi, seccomp, reason }
 */
#include <node_api.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox.h"

/* Lockdown is one-way; a second call reports the first result instead of stacking. */
static int g_locked = 0;
static sw_result g_first;

sw_layer *sw_add_layer(sw_result *r, const char *name) {
  if (r->layer_count >= SW_MAX_LAYERS) return &r->layers[SW_MAX_LAYERS - 1];
  sw_layer *l = &r->layers[r->layer_count++];
  memset(l, 0, sizeof *l);
  l->name = name;
  return l;
}

void sw_appendf(char *buf, size_t cap, const char *fmt, ...) {
  size_t used = strlen(buf);
  if (used + 1 >= cap) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + used, cap - used, fmt, ap);
  va_end(ap);
}

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error(env, NULL, "silkworm_sandbox: " #call " failed"); \
      return NULL;                                                   \
    }                                                                \
  } while (0)

static napi_value make_string(napi_env env, const char *s) {
  napi_value v;
  if (napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) != napi_ok) return NULL;
  return v;
}

static int set_string(napi_env env, napi_value obj, const char *key, const char *s) {
  napi_value v = make_string(env, s);
  return v != NULL && napi_set_named_property(env, obj, key, v) == napi_ok;
}

static int set_bool(napi_env env, napi_value obj, const char *key, int b) {
  napi_value v;
  return napi_get_boolean(env, b != 0, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

static int set_int(napi_env env, napi_value obj, const char *key, int n) {
  napi_value v;
  return napi_create_int32(env, n, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

/* Reads an optional numeric property; returns 0 if absent or not a number. */
static int get_number(napi_env env, napi_value obj, const char *key, double *out) {
  bool has = false;
  napi_value v;
  napi_valuetype t;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  return napi_get_value_double(env, v, out) == napi_ok;
}

static void free_paths(char **paths, size_t n) {
  for (size_t i = 0; i < n; i++) free(paths[i]);
  free(paths);
}

/* Copies options.readPaths (string[]) into a malloc'd array. Throws on a wrong type. */
static int read_paths(napi_env env, napi_value obj, char ***out, size_t *count) {
  bool has = false, is_array = false;
  napi_value arr;
  uint32_t len = 0;
  *out = NULL;
  *count = 0;
  if (napi_has_named_property(env, obj, "readPaths", &has) != napi_ok || !has) return 1;
  if (napi_get_named_property(env, obj, "readPaths", &arr) != napi_ok) return 0;
  if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "readPaths must be an array of strings");
    return 0;
  }
  napi_get_array_length(env, arr, &len);
  char **paths = calloc(len ? len : 1, sizeof(char *));
  if (!paths) return 0;
  for (uint32_t i = 0; i < len; i++) {
    napi_value item;
    napi_valuetype t;
    size_t n = 0;
    if (napi_get_element(env, arr, i, &item) != napi_ok || napi_typeof(env, item, &t) != napi_ok ||
        t != napi_string || napi_get_value_string_utf8(env, item, NULL, 0, &n) != napi_ok) {
      free_paths(paths, i);
      napi_throw_type_error(env, NULL, "readPaths must be an array of strings");
      return 0;
    }
    paths[i] = malloc(n + 1);
    if (!paths[i] || napi_get_value_string_utf8(env, item, paths[i], n + 1, &n) != napi_ok ||
        strlen(paths[i]) != n) {
      free_paths(paths, i + 1);
      napi_throw_type_error(env, NULL, "readPaths entries must be non-empty strings without NUL");
      return 0;
    }
  }
  *out = paths;
  *count = len;
  return 1;
}

static napi_value result_to_js(napi_env env, const sw_result *r) {
  napi_value obj, layers;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_object(env, &layers));
  if (!set_string(env, obj, "tier", r->sandboxed ? "sandboxed" : "unsandboxed")) return NULL;
  for (size_t i = 0; i < r->layer_count; i++) {
    napi_value layer;
    CHECK(napi_create_object(env, &layer));
    if (!set_bool(env, layer, "applied", r->layers[i].applied)) return NULL;
    if (!set_string(env, layer, "detail", r->layers[i].detail)) return NULL;
    CHECK(napi_set_named_property(env, layers, r->layers[i].name, layer));
  }
  CHECK(napi_set_named_property(env, obj, "layers", layers));
  if (!r->sandboxed && !set_string(env, obj, "reason", r->reason)) return NULL;
  return obj;
}

static napi_value Lockdown(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype t = napi_undefined;
  sw_options opts;
  double num = 0;
  memset(&opts, 0, sizeof opts);
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 1) CHECK(napi_typeof(env, argv[0], &t));
  if (t != napi_object) {
    napi_throw_type_error(env, NULL, "lockdown(options) needs an options object");
    return NULL;
  }
  if (g_locked) {
    sw_result again = g_first;
    return result_to_js(env, &again);
  }
  if (!read_paths(env, argv[0], &opts.read_paths, &opts.read_path_count)) return NULL;
  if (get_number(env, argv[0], "parentPid", &num) && num > 0) opts.parent_pid = (int64_t)num;
  if (get_number(env, argv[0], "memoryLimitBytes", &num) && num > 0) opts.memory_limit_bytes = (uint64_t)num;

  memset(&g_first, 0, sizeof g_first);
  sw_platform_lockdown(&opts, &g_first);
  g_locked = 1;
  free_paths(opts.read_paths, opts.read_path_count);
  return result_to_js(env, &g_first);
}

static napi_value DieWithParent(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj;
  napi_valuetype t = napi_undefined;
  double pid = 0;
  char detail[SW_DETAIL_LEN] = "";
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 1) CHECK(napi_typeof(env, argv[0], &t));
  if (t == napi_number) CHECK(napi_get_value_double(env, argv[0], &pid));
  int ok = sw_platform_die_with_parent(pid > 0 ? (int64_t)pid : 0, detail, sizeof detail);
  CHECK(napi_create_object(env, &obj));
  if (!set_bool(env, obj, "applied", ok) || !set_string(env, obj, "detail", detail)) return NULL;
  return obj;
}

static napi_value Probe(napi_env env, napi_callback_info info) {
  napi_value obj;
  sw_probe p;
  (void)info;
  memset(&p, 0, sizeof p);
  p.landlock_abi = -1;
  sw_platform_probe(&p);
  CHECK(napi_create_object(env, &obj));
  if (!set_bool(env, obj, "canSandbox", p.can_sandbox) || !set_int(env, obj, "landlockAbi", p.landlock_abi) ||
      !set_bool(env, obj, "seccomp", p.seccomp) || !set_string(env, obj, "reason", p.reason))
    return NULL;
  return obj;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"lockdown", NULL, Lockdown, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dieWithParent", NULL, DieWithParent, NULL, NULL, NULL, napi_enumerable, NULL},
      {"probe", NULL, Probe, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  static int initialized = 0;
  if (!initialized) {
    initialized = 1;
    sw_platform_init();
  }
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
