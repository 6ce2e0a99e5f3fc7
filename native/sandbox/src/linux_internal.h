/* Internal interfaces between the Linux lockdown pieces (linux*.c). */
#ifndef SILKWORM_LINUX_INTERNAL_H
#define SILKWORM_LINUX_INTERNAL_H
#if defined(__linux__)

#include <stddef.h>

#include "sandbox.h"

/* Landlock ABI version of the running kernel, or -errno if Landlock is unavailable. */
int sw_landlock_abi(void);

/* Builds a ruleset that handles every access right the ABI knows and allows only reads
 * beneath read_paths. Returns the ruleset fd, or -1 with *why filled in. */
int sw_landlock_ruleset(int abi, char **read_paths, size_t n, char *detail, size_t detail_len);

/* Outcome of restricting every thread of the process (see linux_threads.c). */
typedef struct {
  int threads;        /* threads restricted, the calling one included */
  int missed;         /* threads that never confirmed */
  int landlock_errno; /* first landlock_restrict_self failure, 0 if none */
  int nnp_errno;      /* first PR_SET_NO_NEW_PRIVS failure, 0 if none */
  int caps_errno;     /* first capset failure, 0 if none */
  int signal;         /* signal number used to reach the other threads */
} sw_thread_report;

/* In every thread of the process: set no_new_privs, enforce ruleset_fd (unless -1) and
 * drop all capabilities. Signals the other threads and waits for each to confirm. */
void sw_restrict_all_threads(int ruleset_fd, sw_thread_report *out);

/* Installs the seccomp-BPF filter on every thread (SECCOMP_FILTER_FLAG_TSYNC).
 * Returns 0, or an errno value with detail filled in. */
int sw_seccomp_install(char *detail, size_t detail_len);

/* 1 if the kernel offers seccomp filter mode. */
int sw_seccomp_available(void);

/* Comma-separated names of what the filter denies, for reports. */
const char *sw_seccomp_summary(void);

#endif
#endif
