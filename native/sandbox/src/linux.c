/*
 * Linux lockdown, in order:
 *   1. dieWithParent  PR_SET_PDEATHSIG(SIGKILL), then check the parent is still there.
 *   2. noCoreDump     RLIMIT_CORE 0 and not dumpable: no core files holding prompts, and
 *                     other processes of the same (non-root) user cannot ptrace us.
 *   3. landlock       read-only access beneath the allow-list, nothing else (linux_landlock.c)
 *   4. noNewPrivs, capabilities, landlock enforced in every thread (linux_threads.c)
 *   5. seccomp        syscall deny-list on every thread at once (linux_seccomp.c)
 * The tier is "sandboxed" only if all of them took effect.
 */
#if defined(__linux__)

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "linux_internal.h"

static pid_t g_initial_ppid = 0;
static int g_pdeathsig_set = 0;

void sw_platform_init(void) { g_initial_ppid = getppid(); }

int sw_platform_die_with_parent(int64_t parent_pid, char *detail, size_t detail_len) {
  pid_t expected = parent_pid > 0 ? (pid_t)parent_pid : g_initial_ppid;
  if (!g_pdeathsig_set) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
      sw_appendf(detail, detail_len, "prctl(PR_SET_PDEATHSIG) failed: %s", strerror(errno));
      return 0;
    }
    g_pdeathsig_set = 1;
  }
  /* If the parent died before the prctl, we were already re-parented and no signal will
   * ever come: end now rather than live on as an orphan. */
  if (getppid() != expected) kill(getpid(), SIGKILL);
  sw_appendf(detail, detail_len, "SIGKILL when parent %d exits", (int)expected);
  return 1;
}

static void errno_detail(sw_layer *l, const char *what, int err) {
  sw_appendf(l->detail, SW_DETAIL_LEN, "%s%s: %s", l->detail[0] ? "; " : "", what, strerror(err));
}

void sw_platform_lockdown(const sw_options *opts, sw_result *r) {
  sw_layer *die = sw_add_layer(r, "dieWithParent");
  die->applied = sw_platform_die_with_parent(opts->parent_pid, die->detail, SW_DETAIL_LEN);

  sw_layer *dump = sw_add_layer(r, "noCoreDump");
  struct rlimit zero = {0, 0};
  if (setrlimit(RLIMIT_CORE, &zero) != 0) errno_detail(dump, "setrlimit(RLIMIT_CORE)", errno);
  else if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) errno_detail(dump, "prctl(PR_SET_DUMPABLE)", errno);
  else {
    dump->applied = 1;
    sw_appendf(dump->detail, SW_DETAIL_LEN, "RLIMIT_CORE=0, not dumpable");
  }

  sw_layer *nnp = sw_add_layer(r, "noNewPrivs");
  sw_layer *caps = sw_add_layer(r, "capabilities");
  sw_layer *ll = sw_add_layer(r, "landlock");
  int abi = sw_landlock_abi(), ruleset = -1;
  if (abi < 0)
    sw_appendf(ll->detail, SW_DETAIL_LEN, "Landlock unavailable (%s)",
               abi == -ENOSYS ? "kernel built without it" : abi == -EOPNOTSUPP ? "disabled at boot" : strerror(-abi));
  else
    ruleset = sw_landlock_ruleset(abi, opts->read_paths, opts->read_path_count, ll->detail, SW_DETAIL_LEN);

  sw_thread_report tr;
  sw_restrict_all_threads(ruleset, &tr);
  if (ruleset >= 0) close(ruleset);

  nnp->applied = tr.nnp_errno == 0 && tr.missed == 0;
  caps->applied = tr.caps_errno == 0 && tr.missed == 0;
  ll->applied = ruleset >= 0 && tr.landlock_errno == 0 && tr.missed == 0;
  if (tr.nnp_errno) errno_detail(nnp, "prctl(PR_SET_NO_NEW_PRIVS)", tr.nnp_errno);
  if (tr.caps_errno) errno_detail(caps, "capset", tr.caps_errno);
  if (tr.landlock_errno) errno_detail(ll, "landlock_restrict_self", tr.landlock_errno);
  const char *threads_fmt = "%s%d thread(s)%s";
  char missed[64] = "";
  if (tr.missed) sw_appendf(missed, sizeof missed, ", %d thread(s) not reached", tr.missed);
  sw_appendf(nnp->detail, SW_DETAIL_LEN, threads_fmt, nnp->detail[0] ? "; " : "", tr.threads, missed);
  if (tr.signal) sw_appendf(nnp->detail, SW_DETAIL_LEN, " (others reached with signal %d)", tr.signal);
  sw_appendf(caps->detail, SW_DETAIL_LEN, "all dropped; ");
  sw_appendf(caps->detail, SW_DETAIL_LEN, threads_fmt, "", tr.threads, missed);
  if (ruleset >= 0) sw_appendf(ll->detail, SW_DETAIL_LEN, threads_fmt, "; ", tr.threads, missed);

  sw_layer *sc = sw_add_layer(r, "seccomp");
  sc->applied = sw_seccomp_install(sc->detail, SW_DETAIL_LEN) == 0;

  r->sandboxed = 1;
  for (size_t i = 0; i < r->layer_count; i++) {
    if (r->layers[i].applied) continue;
    r->sandboxed = 0;
    sw_appendf(r->reason, SW_REASON_LEN, "%s%s not applied: %s", r->reason[0] ? "; " : "", r->layers[i].name,
               r->layers[i].detail);
  }
}

void sw_platform_probe(sw_probe *p) {
  p->landlock_abi = sw_landlock_abi();
  p->seccomp = sw_seccomp_available();
  if (p->landlock_abi < 0) {
    sw_appendf(p->reason, SW_REASON_LEN, "Landlock unavailable: %s", strerror(-p->landlock_abi));
    p->landlock_abi = -1;
  }
  if (!p->seccomp) sw_appendf(p->reason, SW_REASON_LEN, "%sseccomp filter mode unavailable", p->reason[0] ? "; " : "");
  p->can_sandbox = p->landlock_abi >= 1 && p->seccomp;
}

#else
typedef int sw_linux_unused;
#endif
