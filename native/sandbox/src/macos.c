/*
 * macOS lockdown (not built or run on the project's Linux machines; review it on a Mac).
 *
 *   seatbelt       sandbox_init() with an SBPL profile: no network, no exec, no fork, no file
 *                  writes, file contents readable only beneath the allow-list and the system
 *                  libraries. sandbox_init is deprecated but still what Chromium builds on.
 *                  The profile starts from (allow default): Metal and the Mach services the GPU
 *                  stack talks to keep working, at the price of a wider Mach surface.
 *   dieWithParent  a thread waiting on kqueue EVFILT_PROC/NOTE_EXIT for the parent.
 */
#if defined(__APPLE__)

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/event.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sandbox.h"

/* From <sandbox.h>, declared here to avoid its deprecation attributes. */
int sandbox_init(const char *profile, uint64_t flags, char **errorbuf);
void sandbox_free_error(char *errorbuf);

static pid_t g_initial_ppid = 0;
static int g_watching = 0;

void sw_platform_init(void) { g_initial_ppid = getppid(); }

static void *watch_parent(void *arg) {
  int kq = (int)(intptr_t)arg;
  struct kevent ev;
  while (kevent(kq, NULL, 0, &ev, 1, NULL) < 0 && errno == EINTR) {
  }
  kill(getpid(), SIGKILL);
  return NULL;
}

int sw_platform_die_with_parent(int64_t parent_pid, char *detail, size_t detail_len) {
  pid_t expected = parent_pid > 0 ? (pid_t)parent_pid : g_initial_ppid;
  struct kevent ev;
  pthread_t t;
  if (g_watching) {
    sw_appendf(detail, detail_len, "watching parent %d", (int)expected);
    return 1;
  }
  if (getppid() != expected) kill(getpid(), SIGKILL);
  int kq = kqueue();
  if (kq < 0) {
    sw_appendf(detail, detail_len, "kqueue failed: %s", strerror(errno));
    return 0;
  }
  EV_SET(&ev, expected, EVFILT_PROC, EV_ADD | EV_ONESHOT, NOTE_EXIT, 0, NULL);
  if (kevent(kq, &ev, 1, NULL, 0, NULL) < 0) {
    if (errno == ESRCH) kill(getpid(), SIGKILL); /* already gone */
    sw_appendf(detail, detail_len, "kevent(EVFILT_PROC) failed: %s", strerror(errno));
    close(kq);
    return 0;
  }
  if (pthread_create(&t, NULL, watch_parent, (void *)(intptr_t)kq) != 0) {
    sw_appendf(detail, detail_len, "pthread_create failed");
    close(kq);
    return 0;
  }
  pthread_detach(t);
  g_watching = 1;
  sw_appendf(detail, detail_len, "SIGKILL when parent %d exits", (int)expected);
  return 1;
}

/* Appends s to buf as an SBPL string literal. Returns 0 if it does not fit. */
static int append_literal(char *buf, size_t cap, const char *s) {
  size_t n = strlen(buf);
  if (n + 2 >= cap) return 0;
  buf[n++] = '"';
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') {
      if (n + 1 >= cap) return 0;
      buf[n++] = '\\';
    }
    if (n + 1 >= cap) return 0;
    buf[n++] = *s;
  }
  if (n + 2 >= cap) return 0;
  buf[n++] = '"';
  buf[n] = '\0';
  return 1;
}

static const char *k_system_reads[] = {"/usr/lib", "/System/Library", "/usr/share/zoneinfo", "/private/var/db/timezone",
                                       "/dev/urandom", "/dev/random", "/dev/null"};

static char *build_profile(const sw_options *opts) {
  size_t cap = 4096 + opts->read_path_count * (PATH_MAX * 2 + 16);
  char *p = calloc(1, cap);
  char real[PATH_MAX];
  if (!p) return NULL;
  sw_appendf(p, cap,
             "(version 1)\n(allow default)\n(deny network*)\n(deny process-exec*)\n(deny process-fork)\n"
             "(deny file-write*)\n(allow file-write-data (literal \"/dev/null\"))\n"
             "(deny process-info* (target others))\n"
             "(deny signal (target others))\n(deny mach-priv-task-port)\n(deny file-read-data)\n"
             "(allow file-read-data");
  for (size_t i = 0; i < sizeof k_system_reads / sizeof k_system_reads[0]; i++) {
    sw_appendf(p, cap, " (subpath ");
    if (!append_literal(p, cap, k_system_reads[i])) goto fail;
    sw_appendf(p, cap, ")");
  }
  for (size_t i = 0; i < opts->read_path_count; i++) {
    if (realpath(opts->read_paths[i], real) == NULL) continue; /* missing: skip */
    sw_appendf(p, cap, " (subpath ");
    if (!append_literal(p, cap, real)) goto fail;
    sw_appendf(p, cap, ")");
  }
  sw_appendf(p, cap, ")\n");
  return p;
fail:
  free(p);
  return NULL;
}

void sw_platform_lockdown(const sw_options *opts, sw_result *r) {
  struct rlimit zero = {0, 0};
  sw_layer *die = sw_add_layer(r, "dieWithParent");
  die->applied = sw_platform_die_with_parent(opts->parent_pid, die->detail, SW_DETAIL_LEN);
  sw_layer *dump = sw_add_layer(r, "noCoreDump");
  dump->applied = setrlimit(RLIMIT_CORE, &zero) == 0;
  sw_appendf(dump->detail, SW_DETAIL_LEN, dump->applied ? "RLIMIT_CORE=0" : "setrlimit failed");

  sw_layer *sb = sw_add_layer(r, "seatbelt");
  char *profile = build_profile(opts), *err = NULL;
  if (profile == NULL) {
    sw_appendf(sb->detail, SW_DETAIL_LEN, "could not build the profile");
  } else if (sandbox_init(profile, 0, &err) != 0) {
    sw_appendf(sb->detail, SW_DETAIL_LEN, "sandbox_init failed: %s", err ? err : "unknown error");
    if (err) sandbox_free_error(err);
  } else {
    sb->applied = 1;
    sw_appendf(sb->detail, SW_DETAIL_LEN, "no network, exec, fork or writes; reads beneath %zu path(s)",
               opts->read_path_count);
  }
  free(profile);

  r->sandboxed = 1;
  for (size_t i = 0; i < r->layer_count; i++) {
    if (r->layers[i].applied) continue;
    r->sandboxed = 0;
    sw_appendf(r->reason, SW_REASON_LEN, "%s%s not applied: %s", r->reason[0] ? "; " : "", r->layers[i].name,
               r->layers[i].detail);
  }
}

void sw_platform_probe(sw_probe *p) {
  p->can_sandbox = 1;
  sw_appendf(p->reason, SW_REASON_LEN, "seatbelt (sandbox_init)");
}

#else
typedef int sw_macos_unused;
#endif
