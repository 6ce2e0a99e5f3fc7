/**
 * The hardware doctor: what this machine is and whether it can serve well — CPU, memory,
 * GPU acceleration and telemetry, the job-process sandbox, the coordinator link, the model,
 * the payout address — each as a check with a plain-words detail. And the report text the
 * owner copies into a bug report, redacted.
 */
import { arch, cpus, freemem, homedir, platform, release, totalmem, availableParallelism } from 'node:os';
import type { SandboxProbe } from '../../native/sandbox/index.js';
import type { Signals } from '../sharing/signals.js';
import { redactText } from './redact-report.js';
import type { AppState, DoctorCheck, DoctorReport, InstalledModel, LogEntry } from '../ipc/views.js';

/** What the doctor looks at, gathered by the app services. */
export interface DoctorInput {
  state: AppState;
  /** The last reading of the sharing signals; null before the first poll. */
  signals: Signals | null;
  model: InstalledModel | null;
  sandbox: SandboxProbe;
  payoutAddress: string | null;
  workerId: string | null;
  appVersion: string;
  now: number;
}

const GB = 1024 ** 3;

function gigabytes(bytes: number): string {
  return `${(bytes / GB).toFixed(1)} GB`;
}

function megabytes(bytes: number): string {
  return bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

const SIGNAL_NAMES: Record<keyof Signals, string> = {
  idleSeconds: 'idle time',
  screenLocked: 'screen lock',
  localSession: 'local session',
  fullscreen: 'fullscreen apps',
  game: 'games',
  gpu: 'GPU',
  battery: 'battery',
};

/** The signals this machine could not read in the last poll. */
export function unknownSignalNames(signals: Signals): string[] {
  return (Object.keys(SIGNAL_NAMES) as (keyof Signals)[]).filter((key) => signals[key] === null).map((key) => SIGNAL_NAMES[key]);
}

/** Runs every check; never throws (an unknown is a finding, not an error). */
export function runDoctor(input: DoctorInput): DoctorReport {
  const { state, sandbox } = input;
  const cores = availableParallelism();
  const memoryTotalBytes = totalmem();
  const memoryFreeBytes = freemem();
  const checks: DoctorCheck[] = [];
  const add = (id: string, label: string, status: DoctorCheck['status'], detail: string) => checks.push({ id, label, status, detail });

  add('cpu', 'Processor', 'info', `${cpus()[0]?.model.trim() ?? 'unknown CPU'} · ${cores} logical cores`);
  add('memory', 'Memory', memoryFreeBytes < GB ? 'warn' : 'ok', `${gigabytes(memoryFreeBytes)} free of ${gigabytes(memoryTotalBytes)}`);
  if (state.engine === null) add('acceleration', 'GPU acceleration', 'info', 'Model unloaded (sharing paused): checked when it loads again.');
  else if (state.engine.gpu === 'cpu') add('acceleration', 'GPU acceleration', 'warn', 'llama.cpp found no CUDA, Vulkan or Metal GPU: jobs run on the CPU.');
  else add('acceleration', 'GPU acceleration', 'ok', `llama.cpp uses ${state.engine.gpu}.`);
  if (state.gpu === null) {
    add('telemetry', 'GPU telemetry', 'warn', 'No nvidia-smi or rocm-smi: GPU temperature and power caps cannot be enforced.');
  } else {
    const { name, tempC, memoryUsedMb, memoryTotalMb } = state.gpu;
    const vram = memoryUsedMb !== null && memoryTotalMb !== null ? ` · VRAM ${memoryUsedMb} / ${memoryTotalMb} MB` : '';
    add('telemetry', 'GPU telemetry', 'ok', `${name ?? 'GPU'} · ${tempC === null ? 'temperature unknown' : `${tempC} °C`}${vram}`);
  }
  if (sandbox.canSandbox) {
    const layers = [sandbox.landlockAbi > 0 ? `Landlock ABI ${sandbox.landlockAbi}` : null, sandbox.seccomp ? 'seccomp' : null].filter(Boolean).join(' + ');
    add('sandbox', 'Job sandbox', 'ok', `Jobs can be OS-sandboxed${layers ? ` (${layers})` : ''}.`);
  } else {
    add('sandbox', 'Job sandbox', 'warn', `Jobs run without an OS sandbox: ${sandbox.reason}`);
  }
  const link = state.worker;
  if (link.status === 'connected') add('coordinator', 'Network', 'ok', `Connected to ${link.coordinator ?? 'the coordinator'}.`);
  else if (link.status === 'connecting') add('coordinator', 'Network', 'warn', `Reconnecting to ${link.coordinator ?? 'the coordinator'}${link.lastError ? `: ${link.lastError}` : ''}.`);
  else if (link.status === 'refused') add('coordinator', 'Network', 'fail', `${link.refusal ?? 'Refused by the network'}. ${link.lastError ?? ''}`.trim());
  if (link.failedCheck && link.status !== 'refused') add('answers', 'Answers', 'warn', `${link.failedCheck.title}. ${link.failedCheck.sentence}`);
  else add('coordinator', 'Network', 'fail', 'The worker is not running.');
  if (input.model === null) add('model', 'Model', 'fail', 'No model installed.');
  else add('model', 'Model', 'ok', `${input.model.id} · ${megabytes(input.model.sizeBytes)}${state.engine ? ` · ${Math.round(state.engine.tokensPerSecond)} tokens/s measured` : ' · unloaded'}`);
  if (input.signals === null) add('signals', 'Sharing signals', 'info', 'Not read yet.');
  else {
    const unknown = unknownSignalNames(input.signals);
    add('signals', 'Sharing signals', unknown.length > 0 ? 'info' : 'ok', unknown.length > 0 ? `Unknown on this machine: ${unknown.join(', ')}.` : 'Every signal is readable.');
  }
  add(
    'payout',
    'Payout address',
    input.payoutAddress ? 'ok' : 'warn',
    input.payoutAddress ? 'Set.' : `Not set: earnings accrue to ${input.workerId ? `worker:${input.workerId}` : 'this worker'} until you add one (Wallet).`,
  );
  return {
    checkedAt: input.now,
    system: { os: `${platform()} ${release()}`, arch: arch(), cpu: cpus()[0]?.model.trim() ?? 'unknown', cores, memoryTotalBytes, memoryFreeBytes },
    runtime: { app: input.appVersion, node: process.versions.node, electron: process.versions.electron ?? null },
    checks,
  };
}

/** The report text: doctor, sharing state and recent logs, redacted for sharing publicly. */
export function formatReport(report: DoctorReport, state: AppState, logs: readonly LogEntry[]): string {
  const lines = [
    `Silkworm diagnostics report · ${new Date(report.checkedAt).toISOString()}`,
    `App ${report.runtime.app} · Node ${report.runtime.node}${report.runtime.electron ? ` · Electron ${report.runtime.electron}` : ''}`,
    `${report.system.os} ${report.system.arch} · ${report.system.cpu} · ${report.system.cores} cores · ${gigabytes(report.system.memoryTotalBytes)} RAM`,
    '',
    'Checks:',
    ...report.checks.map((check) => `  [${check.status}] ${check.label}: ${check.detail}`),
    '',
    `Sharing: mode ${state.sharing.mode} · ${state.sharing.summary}`,
    `Worker: ${state.worker.status}${state.worker.lastError ? ` (${state.worker.lastError})` : ''}`,
    '',
    `Recent logs (${logs.length}):`,
    ...logs.map((entry) => `  ${entry.time} ${entry.level.padEnd(5)} ${entry.subsystem ? `[${entry.subsystem}] ` : ''}${entry.msg}${entry.fields ? ` ${entry.fields}` : ''}`),
  ];
  return redactText(lines.join('\n'), { homeDir: homedir() });
}
