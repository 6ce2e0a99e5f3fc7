/*
 * Windows lockdown (not built or run on the project's Linux machines; keep it plausible and
 * review it on Windows before trusting it).
 *
 *   jobObject      a Job Object with KILL_ON_JOB_CLOSE, ActiveProcessLimit 1 (no child
 *                  processes), DIE_ON_UNHANDLED_EXCEPTION, an optional memory cap and UI
 *                  restrictions. A duplicate of the job handle is planted in the parent, so the
 *                  job (and we) are killed when the parent's handles close, i.e. when it dies.
 *   dieWithParent  a thread waiting on the parent's process handle, as a second line.
 *   lowIntegrity   the process token drops to Low integrity: no writes to the user's files,
 *                  registry or other Medium-integrity objects ("no write up").
 *   privileges     every token privilege removed.
 *   mitigations    no extension points, no remote or Low-label images.
 *
 * A running process cannot swap its primary token for a restricted one, so "restricted
 * token" here means lowering and stripping the token we have. What stays possible: opening
 * sockets and reading files the user can read. Blocking those needs an AppContainer (or a
 * restricted token) chosen by the parent at CreateProcess time, which Node's child_process
 * cannot do. So the tier stays "unsandboxed" on Windows, with the layers reported.
 */
#if defined(_WIN32)

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <sddl.h>
#include <stdio.h>
#include <tlhelp32.h>

#include "sandbox.h"

static DWORD g_initial_parent = 0;
static HANDLE g_parent_watch = NULL;

static DWORD find_parent_pid(void) {
  DWORD self = GetCurrentProcessId(), parent = 0;
  PROCESSENTRY32W e;
  HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snap == INVALID_HANDLE_VALUE) return 0;
  e.dwSize = sizeof e;
  if (Process32FirstW(snap, &e)) {
    do {
      if (e.th32ProcessID == self) {
        parent = e.th32ParentProcessID;
        break;
      }
    } while (Process32NextW(snap, &e));
  }
  CloseHandle(snap);
  return parent;
}

void sw_platform_init(void) { g_initial_parent = find_parent_pid(); }

static DWORD expected_parent(int64_t parent_pid) {
  return parent_pid > 0 ? (DWORD)parent_pid : g_initial_parent;
}

/* Opens the parent, refusing a pid that was reused by a process started after us. */
static HANDLE open_parent(DWORD pid, DWORD access) {
  FILETIME parent_created, self_created, x1, x2, x3;
  HANDLE h = OpenProcess(access | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (h == NULL) return NULL;
  if (GetProcessTimes(h, &parent_created, &x1, &x2, &x3) &&
      GetProcessTimes(GetCurrentProcess(), &self_created, &x1, &x2, &x3) &&
      CompareFileTime(&parent_created, &self_created) > 0) {
    CloseHandle(h);
    return NULL;
  }
  return h;
}

static DWORD WINAPI watch_parent(LPVOID parent) {
  WaitForSingleObject((HANDLE)parent, INFINITE);
  TerminateProcess(GetCurrentProcess(), 1);
  return 0;
}

int sw_platform_die_with_parent(int64_t parent_pid, char *detail, size_t detail_len) {
  DWORD pid = expected_parent(parent_pid);
  if (g_parent_watch != NULL) {
    sw_appendf(detail, detail_len, "watching parent %lu", (unsigned long)pid);
    return 1;
  }
  HANDLE parent = open_parent(pid, SYNCHRONIZE);
  if (parent == NULL) {
    /* The parent is gone (or was never ours): do not live on as an orphan. */
    TerminateProcess(GetCurrentProcess(), 1);
    return 0;
  }
  if (WaitForSingleObject(parent, 0) == WAIT_OBJECT_0) TerminateProcess(GetCurrentProcess(), 1);
  g_parent_watch = CreateThread(NULL, 64 * 1024, watch_parent, parent, 0, NULL);
  if (g_parent_watch == NULL) {
    sw_appendf(detail, detail_len, "CreateThread failed: %lu", (unsigned long)GetLastError());
    CloseHandle(parent);
    return 0;
  }
  sw_appendf(detail, detail_len, "terminate when parent %lu exits", (unsigned long)pid);
  return 1;
}

static int apply_job(const sw_options *opts, sw_layer *l) {
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;
  JOBOBJECT_BASIC_UI_RESTRICTIONS ui;
  HANDLE job = CreateJobObjectW(NULL, NULL), parent, remote = NULL;
  if (job == NULL) {
    sw_appendf(l->detail, SW_DETAIL_LEN, "CreateJobObject failed: %lu", (unsigned long)GetLastError());
    return 0;
  }
  ZeroMemory(&lim, sizeof lim);
  lim.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_ACTIVE_PROCESS |
                                         JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
  lim.BasicLimitInformation.ActiveProcessLimit = 1;
  if (opts->memory_limit_bytes > 0) {
    lim.BasicLimitInformation.LimitFlags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY;
    lim.ProcessMemoryLimit = (SIZE_T)opts->memory_limit_bytes;
  }
  ui.UIRestrictionsClass = JOB_OBJECT_UILIMIT_DESKTOP | JOB_OBJECT_UILIMIT_DISPLAYSETTINGS |
                           JOB_OBJECT_UILIMIT_EXITWINDOWS | JOB_OBJECT_UILIMIT_GLOBALATOMS |
                           JOB_OBJECT_UILIMIT_HANDLES | JOB_OBJECT_UILIMIT_READCLIPBOARD |
                           JOB_OBJECT_UILIMIT_SYSTEMPARAMETERS | JOB_OBJECT_UILIMIT_WRITECLIPBOARD;
  if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &lim, sizeof lim) ||
      !SetInformationJobObject(job, JobObjectBasicUIRestrictions, &ui, sizeof ui) ||
      !AssignProcessToJobObject(job, GetCurrentProcess())) {
    sw_appendf(l->detail, SW_DETAIL_LEN, "job setup failed: %lu", (unsigned long)GetLastError());
    CloseHandle(job);
    return 0;
  }
  /* Plant a handle in the parent; then the last handle closes when the parent dies. */
  parent = open_parent(expected_parent(opts->parent_pid), PROCESS_DUP_HANDLE);
  if (parent != NULL && DuplicateHandle(GetCurrentProcess(), job, parent, &remote, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
    CloseHandle(job);
    sw_appendf(l->detail, SW_DETAIL_LEN, "kill-on-close held by parent; ");
  } else {
    sw_appendf(l->detail, SW_DETAIL_LEN, "kill-on-close held by self (parent handle: %lu); ",
               (unsigned long)GetLastError());
    /* keep our handle open for the life of the process */
  }
  if (parent != NULL) CloseHandle(parent);
  sw_appendf(l->detail, SW_DETAIL_LEN, "no child processes; UI restricted");
  if (opts->memory_limit_bytes > 0)
    sw_appendf(l->detail, SW_DETAIL_LEN, "; memory cap %llu bytes", (unsigned long long)opts->memory_limit_bytes);
  return 1;
}

static int drop_privileges(HANDLE token, sw_layer *l) {
  DWORD len = 0;
  GetTokenInformation(token, TokenPrivileges, NULL, 0, &len);
  TOKEN_PRIVILEGES *tp = (TOKEN_PRIVILEGES *)HeapAlloc(GetProcessHeap(), 0, len ? len : sizeof(TOKEN_PRIVILEGES));
  if (tp == NULL || !GetTokenInformation(token, TokenPrivileges, tp, len, &len)) {
    sw_appendf(l->detail, SW_DETAIL_LEN, "GetTokenInformation failed: %lu", (unsigned long)GetLastError());
    if (tp) HeapFree(GetProcessHeap(), 0, tp);
    return 0;
  }
  for (DWORD i = 0; i < tp->PrivilegeCount; i++) tp->Privileges[i].Attributes = SE_PRIVILEGE_REMOVED;
  BOOL ok = AdjustTokenPrivileges(token, FALSE, tp, 0, NULL, NULL) && GetLastError() == ERROR_SUCCESS;
  sw_appendf(l->detail, SW_DETAIL_LEN, ok ? "%lu removed" : "AdjustTokenPrivileges failed",
             (unsigned long)tp->PrivilegeCount);
  HeapFree(GetProcessHeap(), 0, tp);
  return ok;
}

static int lower_integrity(HANDLE token, sw_layer *l) {
  PSID low = NULL;
  TOKEN_MANDATORY_LABEL tml;
  if (!ConvertStringSidToSidW(L"S-1-16-4096", &low)) {
    sw_appendf(l->detail, SW_DETAIL_LEN, "ConvertStringSidToSid failed: %lu", (unsigned long)GetLastError());
    return 0;
  }
  tml.Label.Attributes = SE_GROUP_INTEGRITY;
  tml.Label.Sid = low;
  BOOL ok = SetTokenInformation(token, TokenIntegrityLevel, &tml, sizeof tml + GetLengthSid(low));
  if (ok) sw_appendf(l->detail, SW_DETAIL_LEN, "Low integrity (S-1-16-4096)");
  else sw_appendf(l->detail, SW_DETAIL_LEN, "SetTokenInformation failed: %lu", (unsigned long)GetLastError());
  LocalFree(low);
  return ok;
}

static int apply_mitigations(sw_layer *l) {
  PROCESS_MITIGATION_EXTENSION_POINT_DISABLE_POLICY ext;
  PROCESS_MITIGATION_IMAGE_LOAD_POLICY img;
  ZeroMemory(&ext, sizeof ext);
  ZeroMemory(&img, sizeof img);
  ext.DisableExtensionPoints = 1;
  img.NoRemoteImages = 1;
  img.NoLowMandatoryLabelImages = 1;
  BOOL ok = SetProcessMitigationPolicy(ProcessExtensionPointDisablePolicy, &ext, sizeof ext) &&
            SetProcessMitigationPolicy(ProcessImageLoadPolicy, &img, sizeof img);
  sw_appendf(l->detail, SW_DETAIL_LEN, ok ? "extension points off; no remote/Low-label images"
                                          : "SetProcessMitigationPolicy failed");
  return ok;
}

void sw_platform_lockdown(const sw_options *opts, sw_result *r) {
  HANDLE token = NULL;
  sw_layer *job = sw_add_layer(r, "jobObject");
  job->applied = apply_job(opts, job);
  sw_layer *die = sw_add_layer(r, "dieWithParent");
  die->applied = sw_platform_die_with_parent(opts->parent_pid, die->detail, SW_DETAIL_LEN);
  sw_layer *priv = sw_add_layer(r, "privileges");
  sw_layer *integrity = sw_add_layer(r, "lowIntegrity");
  if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY | TOKEN_ADJUST_PRIVILEGES | TOKEN_ADJUST_DEFAULT, &token)) {
    priv->applied = drop_privileges(token, priv);
    integrity->applied = lower_integrity(token, integrity);
    CloseHandle(token);
  } else {
    sw_appendf(priv->detail, SW_DETAIL_LEN, "OpenProcessToken failed: %lu", (unsigned long)GetLastError());
    sw_appendf(integrity->detail, SW_DETAIL_LEN, "OpenProcessToken failed");
  }
  sw_layer *mit = sw_add_layer(r, "mitigations");
  mit->applied = apply_mitigations(mit);
  (void)opts->read_paths; /* reads cannot be narrowed in-process on Windows */

  r->sandboxed = 0;
  sw_appendf(r->reason, SW_REASON_LEN,
             "Windows in-process lockdown cannot block sockets or reads of the user's files "
             "(needs an AppContainer chosen by the parent)");
  for (size_t i = 0; i < r->layer_count; i++) {
    if (!r->layers[i].applied)
      sw_appendf(r->reason, SW_REASON_LEN, "; %s not applied: %s", r->layers[i].name, r->layers[i].detail);
  }
}

void sw_platform_probe(sw_probe *p) {
  p->can_sandbox = 0;
  sw_appendf(p->reason, SW_REASON_LEN,
             "Windows in-process lockdown cannot block sockets or reads of the user's files");
}

#else
typedef int sw_windows_unused;
#endif
