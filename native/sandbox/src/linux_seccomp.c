/*
 * seccomp-BPF filter for the job process, installed on every thread at once (TSYNC).
 *
 * It is a deny-list: Node, V8, llama.cpp and GPU drivers make too many different syscalls
 * for an allow-list to be safe to ship. What it denies:
 *   - network: socket, connect, bind, listen, accept, accept4 (EPERM). The job process
 *     talks to its parent over the IPC socket it inherited, which needs none of these.
 *     socketpair stays allowed: it can only make a connected pair inside this process.
 *   - new processes and exec: execve, execveat, fork, vfork, clone without CLONE_THREAD or
 *     with namespace flags (EPERM); clone3 answers ENOSYS so glibc falls back to clone,
 *     whose flags a filter can read. Threads keep working.
 *   - reaching other processes: ptrace, process_vm_readv/writev, pidfd_*, kcmp, tkill;
 *     kill/tgkill/rt_(tg)sigqueueinfo only towards this process's own pid.
 *   - file writes on every thread: open/openat with O_WRONLY, O_RDWR, O_CREAT, O_TRUNC or
 *     O_TMPFILE, and creat, mkdir, mknod, unlink, rmdir, rename, link, symlink, truncate,
 *     chmod, chown, xattr writes and timestamp changes (EACCES). openat2 hides its flags in
 *     memory, so it answers ENOSYS (callers fall back to openat).
 *   - io_uring (ENOSYS): its requests would bypass this filter.
 *   - kernel and admin surface: mount family, namespaces, chroot, bpf, perf_event_open,
 *     userfaultfd, keyrings, modules, kexec, reboot, swap, clocks, syslog, iopl and more.
 *   - prctl PR_SET_PDEATHSIG / PR_SET_DUMPABLE / PR_SET_PTRACER, so lockdown cannot be
 *     undone; ioctl TIOCSTI / TIOCLINUX, so an inherited terminal cannot be typed into.
 * A syscall from another architecture (e.g. 32-bit int 0x80 on x86-64) kills the process.
 */
#if defined(__linux__)

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux_internal.h"

#if defined(__x86_64__)
#define SW_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SW_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef SW_AUDIT_ARCH

/* Syscalls newer than some build machines' headers. Numbers from 424 on are shared by
 * x86-64 and arm64. */
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif
#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#ifndef __NR_move_mount
#define __NR_move_mount 429
#endif
#ifndef __NR_fsopen
#define __NR_fsopen 430
#endif
#ifndef __NR_fsconfig
#define __NR_fsconfig 431
#endif
#ifndef __NR_fsmount
#define __NR_fsmount 432
#endif
#ifndef __NR_fspick
#define __NR_fspick 433
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_process_madvise
#define __NR_process_madvise 440
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_quotactl_fd
#define __NR_quotactl_fd 443
#endif
#ifndef __NR_process_mrelease
#define __NR_process_mrelease 448
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#define SW_NR_setxattrat 463
#define SW_NR_removexattrat 466
#define SW_NR_open_tree_attr 467
#define SW_NR_file_setattr 469

#define SW_CLONE_NAMESPACES \
  (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)
#ifndef __O_TMPFILE
#define __O_TMPFILE 020000000
#endif
#define SW_OPEN_WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | __O_TMPFILE)
#define SW_TIOCSTI 0x5412
#define SW_TIOCLINUX 0x541C
#define SW_X32_SYSCALL_BIT 0x40000000

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#else
#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i) + 4))
#endif

typedef struct {
  int nr;
  int err;
} sw_deny;

/* Simple "this syscall always fails with this errno" rules. */
static const sw_deny k_denied[] = {
    /* network */
    {__NR_socket, EPERM}, {__NR_connect, EPERM}, {__NR_bind, EPERM}, {__NR_listen, EPERM},
    {__NR_accept, EPERM}, {__NR_accept4, EPERM},
    /* processes, exec and other processes' memory */
    {__NR_execve, EPERM}, {__NR_execveat, EPERM}, {__NR_clone3, ENOSYS},
#ifdef __NR_fork
    {__NR_fork, EPERM},
#endif
#ifdef __NR_vfork
    {__NR_vfork, EPERM},
#endif
    {__NR_ptrace, EPERM}, {__NR_process_vm_readv, EPERM}, {__NR_process_vm_writev, EPERM},
    {__NR_pidfd_open, EPERM}, {__NR_pidfd_getfd, EPERM}, {__NR_pidfd_send_signal, EPERM},
    {__NR_kcmp, EPERM}, {__NR_tkill, EPERM}, {__NR_process_madvise, EPERM}, {__NR_process_mrelease, EPERM},
    /* file creation and modification */
#ifdef __NR_creat
    {__NR_creat, EACCES},
#endif
#ifdef __NR_mkdir
    {__NR_mkdir, EACCES},
#endif
#ifdef __NR_mknod
    {__NR_mknod, EACCES},
#endif
#ifdef __NR_unlink
    {__NR_unlink, EACCES},
#endif
#ifdef __NR_rmdir
    {__NR_rmdir, EACCES},
#endif
#ifdef __NR_rename
    {__NR_rename, EACCES},
#endif
#ifdef __NR_renameat
    {__NR_renameat, EACCES},
#endif
#ifdef __NR_link
    {__NR_link, EACCES},
#endif
#ifdef __NR_symlink
    {__NR_symlink, EACCES},
#endif
#ifdef __NR_chmod
    {__NR_chmod, EACCES},
#endif
#ifdef __NR_chown
    {__NR_chown, EACCES},
#endif
#ifdef __NR_lchown
    {__NR_lchown, EACCES},
#endif
#ifdef __NR_utime
    {__NR_utime, EACCES},
#endif
#ifdef __NR_utimes
    {__NR_utimes, EACCES},
#endif
#ifdef __NR_futimesat
    {__NR_futimesat, EACCES},
#endif
    {__NR_mkdirat, EACCES}, {__NR_mknodat, EACCES}, {__NR_unlinkat, EACCES}, {__NR_renameat2, EACCES},
    {__NR_linkat, EACCES}, {__NR_symlinkat, EACCES}, {__NR_truncate, EACCES}, {__NR_fchmod, EACCES},
    {__NR_fchmodat, EACCES}, {__NR_fchmodat2, EACCES}, {__NR_fchown, EACCES}, {__NR_fchownat, EACCES},
    {__NR_setxattr, EACCES}, {__NR_lsetxattr, EACCES}, {__NR_fsetxattr, EACCES}, {SW_NR_setxattrat, EACCES},
    {__NR_removexattr, EACCES}, {__NR_lremovexattr, EACCES}, {__NR_fremovexattr, EACCES},
    {SW_NR_removexattrat, EACCES}, {__NR_utimensat, EACCES}, {SW_NR_file_setattr, EACCES},
    {__NR_name_to_handle_at, EPERM}, {__NR_open_by_handle_at, EPERM}, {__NR_openat2, ENOSYS},
    /* io_uring would run requests outside this filter */
    {__NR_io_uring_setup, ENOSYS}, {__NR_io_uring_enter, ENOSYS}, {__NR_io_uring_register, ENOSYS},
    /* mounts, namespaces, kernel and admin surface */
    {__NR_mount, EPERM}, {__NR_umount2, EPERM}, {__NR_pivot_root, EPERM}, {__NR_chroot, EPERM},
    {__NR_unshare, EPERM}, {__NR_setns, EPERM}, {__NR_open_tree, EPERM}, {SW_NR_open_tree_attr, EPERM},
    {__NR_move_mount, EPERM}, {__NR_fsopen, EPERM}, {__NR_fsconfig, EPERM}, {__NR_fsmount, EPERM},
    {__NR_fspick, EPERM}, {__NR_mount_setattr, EPERM}, {__NR_bpf, EPERM}, {__NR_perf_event_open, EPERM},
    {__NR_userfaultfd, EPERM}, {__NR_keyctl, EPERM}, {__NR_add_key, EPERM}, {__NR_request_key, EPERM},
    {__NR_init_module, EPERM}, {__NR_finit_module, EPERM}, {__NR_delete_module, EPERM},
    {__NR_kexec_load, EPERM},
#ifdef __NR_kexec_file_load
    {__NR_kexec_file_load, EPERM},
#endif
    {__NR_reboot, EPERM}, {__NR_swapon, EPERM}, {__NR_swapoff, EPERM}, {__NR_acct, EPERM},
    {__NR_quotactl, EPERM}, {__NR_quotactl_fd, EPERM}, {__NR_syslog, EPERM}, {__NR_settimeofday, EPERM},
    {__NR_clock_settime, EPERM}, {__NR_clock_adjtime, EPERM}, {__NR_adjtimex, EPERM},
    {__NR_sethostname, EPERM}, {__NR_setdomainname, EPERM}, {__NR_vhangup, EPERM},
    {__NR_fanotify_init, EPERM},
#ifdef __NR_iopl
    {__NR_iopl, EPERM},
#endif
#ifdef __NR_ioperm
    {__NR_ioperm, EPERM},
#endif
#ifdef __NR_modify_ldt
    {__NR_modify_ldt, EPERM},
#endif
#ifdef __NR_uselib
    {__NR_uselib, EPERM},
#endif
#ifdef __NR_lookup_dcookie
    {__NR_lookup_dcookie, EPERM},
#endif
};

/* Hot syscalls answered first so generation loops pay for few filter instructions. */
static const int k_fast_allow[] = {
    __NR_futex, __NR_read, __NR_write, __NR_pread64, __NR_mmap, __NR_munmap, __NR_mprotect,
    __NR_madvise, __NR_sched_yield, __NR_epoll_pwait, __NR_clock_nanosleep, __NR_nanosleep,
};

#define SW_MAX_INSNS 1024

typedef struct {
  struct sock_filter insns[SW_MAX_INSNS];
  unsigned short n;
  int overflow;
} sw_prog;

static void emit(sw_prog *p, unsigned short code, unsigned char jt, unsigned char jf, uint32_t k) {
  if (p->n >= SW_MAX_INSNS) {
    p->overflow = 1;
    return;
  }
  struct sock_filter f = {code, jt, jf, k};
  p->insns[p->n++] = f;
}

#define LD_W(p, off) emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (off))
#define RET(p, v) emit(p, BPF_RET | BPF_K, 0, 0, (v))
#define JEQ(p, k, jt, jf) emit(p, BPF_JMP | BPF_JEQ | BPF_K, (jt), (jf), (k))
#define JSET(p, k, jt, jf) emit(p, BPF_JMP | BPF_JSET | BPF_K, (jt), (jf), (k))
#define JGE(p, k, jt, jf) emit(p, BPF_JMP | BPF_JGE | BPF_K, (jt), (jf), (k))

/* if nr == NR: A = low half of arg; if A has any of mask: return errno; else allow. */
static void rule_arg_flags(sw_prog *p, int nr, int arg, uint32_t mask, int err) {
  JEQ(p, (uint32_t)nr, 0, 4);
  LD_W(p, ARG_LO(arg));
  JSET(p, mask, 0, 1);
  RET(p, RET_ERRNO(err));
  RET(p, SECCOMP_RET_ALLOW);
}

/* if nr == NR: allowed only when arg equals value. */
static void rule_arg_equals(sw_prog *p, int nr, int arg, uint32_t value, int err) {
  JEQ(p, (uint32_t)nr, 0, 4);
  LD_W(p, ARG_LO(arg));
  JEQ(p, value, 0, 1);
  RET(p, SECCOMP_RET_ALLOW);
  RET(p, RET_ERRNO(err));
}

/* if nr == NR: denied when arg is one of the three values (value 0 entries are unused). */
static void rule_arg_not_in(sw_prog *p, int nr, int arg, uint32_t a, uint32_t b, uint32_t c, int err) {
  JEQ(p, (uint32_t)nr, 0, 6);
  LD_W(p, ARG_LO(arg));
  JEQ(p, a, 3, 0);
  JEQ(p, b, 2, 0);
  JEQ(p, c, 1, 0);
  RET(p, SECCOMP_RET_ALLOW);
  RET(p, RET_ERRNO(err));
}

static void build(sw_prog *p) {
  uint32_t self = (uint32_t)getpid();
  memset(p, 0, sizeof *p);

  LD_W(p, offsetof(struct seccomp_data, arch));
  JEQ(p, SW_AUDIT_ARCH, 1, 0);
  RET(p, SECCOMP_RET_KILL_PROCESS);
  LD_W(p, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
  JGE(p, SW_X32_SYSCALL_BIT, 0, 1); /* x32 ABI */
  RET(p, RET_ERRNO(EPERM));
#endif
  for (size_t i = 0; i < sizeof k_fast_allow / sizeof k_fast_allow[0]; i++) {
    JEQ(p, (uint32_t)k_fast_allow[i], 0, 1);
    RET(p, SECCOMP_RET_ALLOW);
  }

  /* clone: threads only. Each argument rule loads its argument only inside its own block,
   * and every such block returns, so A still holds nr when a block is skipped. */
  JEQ(p, __NR_clone, 0, 5);
  LD_W(p, ARG_LO(0));
  JSET(p, SW_CLONE_NAMESPACES, 2, 0);
  JSET(p, CLONE_THREAD, 0, 1);
  RET(p, SECCOMP_RET_ALLOW);
  RET(p, RET_ERRNO(EPERM));

#ifdef __NR_open
  rule_arg_flags(p, __NR_open, 1, SW_OPEN_WRITE_FLAGS, EACCES);
#endif
  rule_arg_flags(p, __NR_openat, 2, SW_OPEN_WRITE_FLAGS, EACCES);
  rule_arg_equals(p, __NR_kill, 0, self, EPERM);
  rule_arg_equals(p, __NR_tgkill, 0, self, EPERM);
  rule_arg_equals(p, __NR_rt_sigqueueinfo, 0, self, EPERM);
  rule_arg_equals(p, __NR_rt_tgsigqueueinfo, 0, self, EPERM);
  rule_arg_not_in(p, __NR_prctl, 0, PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_PTRACER, EPERM);
  rule_arg_not_in(p, __NR_ioctl, 1, SW_TIOCSTI, SW_TIOCLINUX, SW_TIOCSTI, EPERM);

  for (size_t i = 0; i < sizeof k_denied / sizeof k_denied[0]; i++) {
    JEQ(p, (uint32_t)k_denied[i].nr, 0, 1);
    RET(p, RET_ERRNO(k_denied[i].err));
  }
  RET(p, SECCOMP_RET_ALLOW);
}

int sw_seccomp_available(void) {
  uint32_t action = SECCOMP_RET_ERRNO;
  return syscall(__NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

int sw_seccomp_install(char *detail, size_t detail_len) {
  static sw_prog prog;
  build(&prog);
  if (prog.overflow) {
    sw_appendf(detail, detail_len, "filter too long");
    return E2BIG;
  }
  struct sock_fprog fprog = {prog.n, prog.insns};
  long rc = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog);
  if (rc != 0) {
    int err = rc > 0 ? ESRCH : errno; /* > 0: the id of a thread that could not sync */
    sw_appendf(detail, detail_len, "seccomp(SET_MODE_FILTER, TSYNC) failed: %s", strerror(err));
    return err;
  }
  sw_appendf(detail, detail_len, "%u-instruction filter on all threads; denies %s", (unsigned)prog.n,
             sw_seccomp_summary());
  return 0;
}

#else /* Linux on an architecture this filter does not know */

int sw_seccomp_available(void) { return 0; }

int sw_seccomp_install(char *detail, size_t detail_len) {
  sw_appendf(detail, detail_len, "no seccomp filter for this CPU architecture");
  return ENOSYS;
}

#endif

const char *sw_seccomp_summary(void) {
  return "socket/connect/bind/listen/accept, execve/execveat, fork/vfork/non-thread clone (clone3 ENOSYS), "
         "ptrace/process_vm_*/pidfd_*, signals to other processes, write-mode open and every path mutation, "
         "io_uring, mount/namespaces/bpf/perf/userfaultfd/keyrings/modules/kexec/reboot/clock/syslog";
}

#else
typedef int sw_linux_seccomp_unused;
#endif
