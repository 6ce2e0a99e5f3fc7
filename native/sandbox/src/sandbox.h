/*
 * Shared types between the Node-API glue (addon.c) and the per-platform lockdown code.
 * Every platform file implements the four sw_platform_* functions below; exactly one of
 * linux.c, windows.c, macos.c or unsupported.c compiles to something on a given target.
 */
#ifndef SILKWORM_SANDBOX_H
#define SILKWORM_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#define SW_MAX_LAYERS 10
#define SW_DETAIL_LEN 512
#define SW_REASON_LEN 1024

/* One protection layer and whether it took effect ("detail" says how, or why not). */
typedef struct {
  const char *name;
  int applied;
  char detail[SW_DETAIL_LEN];
} sw_layer;

/* What the job process asks for. Strings are owned by the caller. */
typedef struct {
  char **read_paths;
  size_t read_path_count;
  int64_t parent_pid;          /* <= 0: the parent seen when the addon was loaded */
  uint64_t memory_limit_bytes; /* 0: no cap (Windows Job Object only) */
} sw_options;

/* What lockdown did. sandboxed is 1 only if every layer the platform promises took effect. */
typedef struct {
  int sandboxed;
  char reason[SW_REASON_LEN];
  sw_layer layers[SW_MAX_LAYERS];
  size_t layer_count;
} sw_result;

/* What the platform could do, without changing anything. */
typedef struct {
  int can_sandbox;
  int landlock_abi; /* Linux only; -1 elsewhere or when unavailable */
  int seccomp;      /* Linux only; 1 if filter mode is available */
  char reason[SW_REASON_LEN];
} sw_probe;

/* Helpers shared by the platform files (addon.c defines them). */
sw_layer *sw_add_layer(sw_result *r, const char *name);
void sw_appendf(char *buf, size_t cap, const char *fmt, ...);

/* Platform entry points. */
void sw_platform_init(void);
int sw_platform_die_with_parent(int64_t parent_pid, char *detail, size_t detail_len);
void sw_platform_lockdown(const sw_options *opts, sw_result *r);
void sw_platform_probe(sw_probe *p);

#endif
