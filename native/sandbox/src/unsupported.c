/* Platforms with no lockdown implementation: report "unsandboxed" and say why. */
#if !defined(__linux__) && !defined(_WIN32) && !defined(__APPLE__)

#include "sandbox.h"

void sw_platform_init(void) {}

int sw_platform_die_with_parent(int64_t parent_pid, char *detail, size_t detail_len) {
  (void)parent_pid;
  sw_appendf(detail, detail_len, "not implemented on this platform");
  return 0;
}

void sw_platform_lockdown(const sw_options *opts, sw_result *r) {
  (void)opts;
  r->sandboxed = 0;
  sw_appendf(r->reason, SW_REASON_LEN, "no OS sandbox is implemented for this platform");
}

void sw_platform_probe(sw_probe *p) {
  p->can_sandbox = 0;
  sw_appendf(p->reason, SW_REASON_LEN, "no OS sandbox is implemented for this platform");
}

#else
/* ISO C forbids an empty translation unit. */
typedef int sw_unsupported_unused;
#endif
