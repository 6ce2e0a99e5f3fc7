/*
 * Landlock ruleset for the job process: every filesystem right the kernel's ABI knows is
 * "handled" (so denied unless a rule allows it), and the only rules grant reading beneath
 * the caller's allow-list. TCP bind/connect are handled with no rule (ABI >= 4), and
 * abstract UNIX sockets and signals to other processes are scoped (ABI >= 6).
 *
 * Structures and constants are declared here rather than taken from <linux/landlock.h>
 * so the addon builds on machines whose kernel headers predate newer ABIs.
 */
#if defined(__linux__)

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux_internal.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif

#define SW_LL_CREATE_RULESET_VERSION (1U << 0)
#define SW_LL_CREATE_RULESET_ERRATA (1U << 1)
#define SW_LL_RULE_PATH_BENEATH 1

#define SW_LL_FS_READ_FILE (1ULL << 2)
#define SW_LL_FS_READ_DIR (1ULL << 3)
#define SW_LL_FS_ABI1 ((1ULL << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define SW_LL_FS_REFER (1ULL << 13)      /* ABI 2 */
#define SW_LL_FS_TRUNCATE (1ULL << 14)   /* ABI 3 */
#define SW_LL_FS_IOCTL_DEV (1ULL << 15)  /* ABI 5 */
#define SW_LL_NET_BIND_TCP (1ULL << 0)   /* ABI 4 */
#define SW_LL_NET_CONNECT_TCP (1ULL << 1)
#define SW_LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define SW_LL_SCOPE_SIGNAL (1ULL << 1)
/* Erratum 2 (ABI 6): signals between threads of one process are always allowed. Without
 * it, scoping signals would break our per-thread enforcement, so it is then skipped. */
#define SW_LL_ERRATUM_SIGNAL_THREADS (1 << 1)

struct sw_ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct sw_ll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

int sw_landlock_abi(void) {
  long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, SW_LL_CREATE_RULESET_VERSION);
  return abi < 0 ? -errno : (int)abi;
}

static int landlock_errata(void) {
  long e = syscall(__NR_landlock_create_ruleset, NULL, 0, SW_LL_CREATE_RULESET_ERRATA);
  return e < 0 ? 0 : (int)e;
}

int sw_landlock_ruleset(int abi, char **read_paths, size_t n, char *detail, size_t detail_len) {
  struct sw_ll_ruleset_attr attr;
  size_t attr_size = sizeof attr.handled_access_fs;
  memset(&attr, 0, sizeof attr);
  attr.handled_access_fs = SW_LL_FS_ABI1;
  if (abi >= 2) attr.handled_access_fs |= SW_LL_FS_REFER;
  if (abi >= 3) attr.handled_access_fs |= SW_LL_FS_TRUNCATE;
  if (abi >= 5) attr.handled_access_fs |= SW_LL_FS_IOCTL_DEV;
  if (abi >= 4) {
    attr.handled_access_net = SW_LL_NET_BIND_TCP | SW_LL_NET_CONNECT_TCP;
    attr_size = offsetof(struct sw_ll_ruleset_attr, scoped);
  }
  if (abi >= 6) {
    attr.scoped = SW_LL_SCOPE_ABSTRACT_UNIX;
    if (landlock_errata() & SW_LL_ERRATUM_SIGNAL_THREADS) attr.scoped |= SW_LL_SCOPE_SIGNAL;
    attr_size = sizeof attr;
  }

  int fd = (int)syscall(__NR_landlock_create_ruleset, &attr, attr_size, 0);
  if (fd < 0) {
    sw_appendf(detail, detail_len, "landlock_create_ruleset failed: %s", strerror(errno));
    return -1;
  }

  int allowed = 0, skipped = 0;
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    struct sw_ll_path_beneath_attr rule;
    int pfd = open(read_paths[i], O_PATH | O_CLOEXEC);
    if (pfd < 0) {
      skipped++; /* a missing path only narrows access; report it, do not fail */
      continue;
    }
    if (fstat(pfd, &st) != 0) {
      close(pfd);
      skipped++;
      continue;
    }
    rule.allowed_access = SW_LL_FS_READ_FILE | (S_ISDIR(st.st_mode) ? SW_LL_FS_READ_DIR : 0);
    rule.parent_fd = pfd;
    long rc = syscall(__NR_landlock_add_rule, fd, SW_LL_RULE_PATH_BENEATH, &rule, 0);
    int err = errno;
    close(pfd);
    if (rc != 0) {
      sw_appendf(detail, detail_len, "landlock_add_rule(%s) failed: %s", read_paths[i], strerror(err));
      close(fd);
      return -1;
    }
    allowed++;
  }
  sw_appendf(detail, detail_len, "ABI %d; read-only beneath %d path(s)%s%s%s", abi, allowed,
             skipped ? ", some missing paths skipped" : "", abi >= 4 ? "; TCP bind/connect denied" : "",
             (attr.scoped & SW_LL_SCOPE_SIGNAL) ? "; signals scoped" : "");
  return fd;
}

#else
typedef int sw_linux_landlock_unused;
#endif
