/*
 * Restricting every thread of a live process.
 *
 * no_new_privs, Landlock and capabilities are per-thread on Linux, and by the time the job
 * process locks down, Node, V8 and llama.cpp already run several threads. Restricting only
 * the calling thread would leave the others free, and code that hijacks one of them (all
 * share one address space) would escape. Landlock ABI 8 will add LANDLOCK_RESTRICT_SELF_TSYNC;
 * until kernels have it we do what glibc's setuid() and libpsx do: send each other thread a
 * signal whose handler restricts that thread, wait until every one confirms, and repeat
 * until a fresh listing of /proc/self/task holds only confirmed threads.
 *
 * Node's inspector thread blocks every signal glibc lets it block, so the signal is chosen
 * from those unblocked in all threads; that may be a glibc-internal one (SIGSETXID), whose
 * handler is swapped out for the few milliseconds this takes. It is installed with the raw
 * rt_sigaction syscall because glibc refuses to touch its internal signals.
 */
#if defined(__linux__)

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "linux_internal.h"

#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

#define SW_MAX_TIDS 4096
#define SW_ROUNDS 6
#define SW_ROUND_TIMEOUT_MS 2000
#define SW_SA_RESTORER 0x04000000UL

/* The kernel's view of a signal action (not glibc's struct sigaction). */
struct sw_kernel_sigaction {
  void (*handler)(int, siginfo_t *, void *);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};

#if defined(__x86_64__)
/* x86-64 handlers must return through rt_sigreturn via SA_RESTORER; this is glibc's
 * __restore_rt, written out because we bypass glibc's sigaction. */
__attribute__((visibility("hidden"))) void sw_restore_rt(void);
__asm__(".text\n.globl sw_restore_rt\n.hidden sw_restore_rt\n.type sw_restore_rt,@function\n"
        ".align 16\nsw_restore_rt:\n\tmovq $15, %rax\n\tsyscall\n\thlt\n"
        ".size sw_restore_rt,.-sw_restore_rt\n");
#endif

typedef struct {
  pid_t tid;
  int nnp_errno;
  int ll_errno;
  int caps_errno;
} sw_ack;

static volatile int g_ruleset_fd = -1;
static volatile pid_t g_pid = 0;
static atomic_int g_claimed; /* acknowledgement slots handed out */
static atomic_int g_filled;  /* acknowledgements completed */
static sw_ack g_acks[SW_MAX_TIDS];
static atomic_int g_ready[SW_MAX_TIDS]; /* slot i written (release) */

static pid_t current_tid(void) { return (pid_t)syscall(SYS_gettid); }

/* Restricts the calling thread. Raw syscalls only: this runs inside a signal handler. */
static void restrict_current(sw_ack *a) {
  struct {
    uint32_t version;
    int pid;
  } hdr = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
  struct {
    uint32_t effective, permitted, inheritable;
  } caps[2];
  memset(caps, 0, sizeof caps);
  a->tid = current_tid();
  a->nnp_errno = syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : errno;
  a->ll_errno = 0;
  if (g_ruleset_fd >= 0 && syscall(__NR_landlock_restrict_self, g_ruleset_fd, 0) != 0) a->ll_errno = errno;
  a->caps_errno = syscall(SYS_capset, &hdr, caps) == 0 ? 0 : errno;
}

static void on_signal(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  int saved = errno;
  if (si != NULL && si->si_code == SI_TKILL && si->si_pid == g_pid) {
    sw_ack a;
    restrict_current(&a);
    int slot = atomic_fetch_add(&g_claimed, 1);
    if (slot < SW_MAX_TIDS) {
      g_acks[slot] = a;
      atomic_store_explicit(&g_ready[slot], 1, memory_order_release);
    }
    atomic_fetch_add(&g_filled, 1);
  }
  errno = saved;
}

/* Lists the other threads of this process. Returns how many were written to tids. */
static int list_threads(pid_t self, pid_t *tids, int cap) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int n = 0;
  if (!d) return -1;
  while ((e = readdir(d)) != NULL && n < cap) {
    long tid = strtol(e->d_name, NULL, 10);
    if (tid > 0 && tid != self) tids[n++] = (pid_t)tid;
  }
  closedir(d);
  return n;
}

/* Bit mask of signals blocked by a thread (bit s-1 for signal s), or all ones if unreadable. */
static uint64_t blocked_mask(pid_t tid) {
  char path[64], line[256];
  uint64_t mask = ~0ULL;
  snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
  FILE *f = fopen(path, "re");
  if (!f) return 0; /* the thread exited */
  while (fgets(line, sizeof line, f)) {
    unsigned long long m;
    if (sscanf(line, "SigBlk: %llx", &m) == 1) {
      mask = m;
      break;
    }
  }
  fclose(f);
  return mask;
}

static int raw_sigaction(int sig, const struct sw_kernel_sigaction *act, struct sw_kernel_sigaction *old) {
  return (int)syscall(SYS_rt_sigaction, sig, act, old, sizeof(uint64_t));
}

/* Picks a signal no thread blocks: first a free real-time signal, then a libc-internal one. */
static int choose_signal(const pid_t *tids, int n) {
  uint64_t blocked = 0;
  for (int i = 0; i < n; i++) blocked |= blocked_mask(tids[i]);
  for (int s = SIGRTMIN; s <= SIGRTMAX; s++) {
    struct sw_kernel_sigaction cur;
    if (blocked & (1ULL << (s - 1))) continue;
    if (raw_sigaction(s, NULL, &cur) == 0 && (void *)cur.handler == (void *)SIG_DFL) return s;
  }
  /* glibc: 33 is SIGSETXID (setuid broadcasts), 32 SIGCANCEL (pthread_cancel). */
  for (int s = SIGRTMIN - 1; s >= 32; s--) {
    if (!(blocked & (1ULL << (s - 1)))) return s;
  }
  return -1;
}

static int contains(const pid_t *set, int n, pid_t tid) {
  for (int i = 0; i < n; i++)
    if (set[i] == tid) return 1;
  return 0;
}

static void note_errors(sw_thread_report *out, const sw_ack *a) {
  if (a->nnp_errno && !out->nnp_errno) out->nnp_errno = a->nnp_errno;
  if (a->ll_errno && !out->landlock_errno) out->landlock_errno = a->ll_errno;
  if (a->caps_errno && !out->caps_errno) out->caps_errno = a->caps_errno;
}

/* Takes in the acknowledgements written since the last call, in slot order. */
static void consume_acks(int *consumed, pid_t *done, int *ndone, sw_thread_report *out) {
  while (*consumed < SW_MAX_TIDS && atomic_load_explicit(&g_ready[*consumed], memory_order_acquire)) {
    const sw_ack *a = &g_acks[*consumed];
    note_errors(out, a);
    if (!contains(done, *ndone, a->tid) && *ndone < SW_MAX_TIDS) done[(*ndone)++] = a->tid;
    (*consumed)++;
  }
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

void sw_restrict_all_threads(int ruleset_fd, sw_thread_report *out) {
  static pid_t listed[SW_MAX_TIDS], done[SW_MAX_TIDS];
  int ndone = 0, consumed = 0, total_sent = 0;
  pid_t self = current_tid();
  struct sw_kernel_sigaction act, old;
  sw_ack mine;

  memset(out, 0, sizeof *out);
  g_pid = getpid();
  g_ruleset_fd = ruleset_fd;
  atomic_store(&g_claimed, 0);
  atomic_store(&g_filled, 0);
  for (int i = 0; i < SW_MAX_TIDS; i++) atomic_store(&g_ready[i], 0);

  int n = list_threads(self, listed, SW_MAX_TIDS);
  if (n < 0) {
    out->missed = 1; /* cannot even see the threads: treat as unrestricted */
    goto restrict_self;
  }
  if (n > 0) {
    int sig = choose_signal(listed, n);
    if (sig < 0) {
      out->missed = n;
      goto restrict_self;
    }
    out->signal = sig;
    memset(&act, 0, sizeof act);
    act.handler = on_signal;
    act.flags = SA_SIGINFO | SA_RESTART;
#if defined(__x86_64__)
    act.flags |= SW_SA_RESTORER;
    act.restorer = sw_restore_rt;
#endif
    act.mask = ~0ULL;
    if (raw_sigaction(sig, &act, &old) != 0) {
      out->missed = n;
      goto restrict_self;
    }

    for (int round = 0; round < SW_ROUNDS; round++) {
      static pid_t sent[SW_MAX_TIDS];
      int nsent = 0;
      n = list_threads(self, listed, SW_MAX_TIDS);
      for (int i = 0; i < n; i++) {
        if (contains(done, ndone, listed[i])) continue;
        if (syscall(SYS_tgkill, g_pid, listed[i], sig) == 0) sent[nsent++] = listed[i];
      }
      total_sent += nsent;
      if (nsent == 0) break;
      for (int waited = 0; waited < SW_ROUND_TIMEOUT_MS; waited++) {
        consume_acks(&consumed, done, &ndone, out);
        int outstanding = 0;
        for (int i = 0; i < nsent; i++) {
          if (contains(done, ndone, sent[i])) continue;
          if (syscall(SYS_tgkill, g_pid, sent[i], 0) == 0) outstanding++; /* still alive */
        }
        if (outstanding == 0) break;
        sleep_ms(1);
      }
    }

    /* Final check: every thread alive now must have confirmed. */
    consume_acks(&consumed, done, &ndone, out);
    n = list_threads(self, listed, SW_MAX_TIDS);
    for (int i = 0; i < n; i++) {
      if (!contains(done, ndone, listed[i])) out->missed++;
    }
    /* Put the previous handler back only if every signal we sent has been handled, so none
     * is still pending: glibc's own handler fed one of ours would cancel a thread or run a
     * stale setuid. Keeping ours installed is harmless. */
    if (out->missed == 0 && atomic_load(&g_filled) == total_sent) raw_sigaction(sig, &old, NULL);
  }

restrict_self:
  g_ruleset_fd = ruleset_fd;
  restrict_current(&mine);
  note_errors(out, &mine);
  out->threads = ndone + 1;
}

#else
typedef int sw_linux_threads_unused;
#endif
