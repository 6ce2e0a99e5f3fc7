/**
 * NVIDIA GPUs through nvidia-smi (Linux and Windows): temperature, power, memory and load per
 * GPU, and the compute processes on them that are not ours ("GPU in use by another program").
 */
import type { GpuDevice, GpuProcess, SignalProbe } from '../signals.js';
import { parseNumber, runCommand, type CommandRunner } from './run-command.js';

/** The per-GPU query; name last because it is free text. */
export const NVIDIA_GPU_QUERY = ['--query-gpu=index,temperature.gpu,power.draw,memory.used,memory.total,utilization.gpu,name', '--format=csv,noheader,nounits'];

/** The per-process query. */
export const NVIDIA_APPS_QUERY = ['--query-compute-apps=pid,process_name,used_memory', '--format=csv,noheader,nounits'];

/** Parses `nvidia-smi --query-gpu=…` CSV; lines that do not parse are skipped. */
export function parseNvidiaGpus(stdout: string): GpuDevice[] {
  const devices: GpuDevice[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length < 7) continue;
    const index = parseNumber(fields[0]);
    if (index === null) continue;
    devices.push({
      index,
      name: fields.slice(6).join(',') || null,
      vendor: 'nvidia',
      tempC: parseNumber(fields[1]),
      powerW: parseNumber(fields[2]),
      memoryUsedMb: parseNumber(fields[3]),
      memoryTotalMb: parseNumber(fields[4]),
      utilizationPercent: parseNumber(fields[5]),
    });
  }
  return devices;
}

/** Parses `nvidia-smi --query-compute-apps=…` CSV (process names may hold commas on Windows). */
export function parseNvidiaApps(stdout: string): GpuProcess[] {
  const processes: GpuProcess[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length < 3) continue;
    const pid = parseNumber(fields[0]);
    if (pid === null) continue;
    processes.push({ pid, name: fields.slice(1, -1).join(',').trim(), usedMemoryMb: parseNumber(fields[fields.length - 1]) });
  }
  return processes;
}

/** Options of the NVIDIA probe. */
export interface NvidiaProbeOptions {
  /** Our own process ids (this process, the job process); their GPU use is not "busy". */
  ownPids?: () => Iterable<number>;
  run?: CommandRunner;
  binary?: string;
  timeoutMs?: number;
}

/** Reads NVIDIA GPUs; reports nothing (unknown) where nvidia-smi is missing or fails. */
export function createNvidiaProbe(options: NvidiaProbeOptions = {}): SignalProbe {
  const run = options.run ?? runCommand;
  const binary = options.binary ?? 'nvidia-smi';
  const ownPids = options.ownPids ?? (() => [process.pid]);
  const timeoutMs = options.timeoutMs ?? 2000;
  return {
    name: 'nvidia-smi',
    async read() {
      const [gpus, apps] = await Promise.all([run(binary, NVIDIA_GPU_QUERY, { timeoutMs }), run(binary, NVIDIA_APPS_QUERY, { timeoutMs })]);
      if (!gpus.ok) return {};
      const devices = parseNvidiaGpus(gpus.stdout);
      if (devices.length === 0) return {};
      const ours = new Set(ownPids());
      // Note: inside a container nvidia-smi may list host pids; ours would then look foreign.
      const otherProcesses = apps.ok ? parseNvidiaApps(apps.stdout).filter((p) => !ours.has(p.pid)) : null;
      return { gpu: { devices, otherProcesses } };
    },
  };
}
