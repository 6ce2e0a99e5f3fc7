/**
 * AMD GPUs through rocm-smi's JSON output (Linux with ROCm). Key names vary across ROCm
 * versions, so values are found by pattern rather than by one exact key.
 */
import type { GpuDevice, GpuProcess, SignalProbe } from '../signals.js';
import { parseNumber, runCommand, type CommandRunner } from './run-command.js';

/** The per-GPU query. */
export const ROCM_GPU_QUERY = ['--showtemp', '--showpower', '--showuse', '--showmeminfo', 'vram', '--showproductname', '--json'];

/** The per-process query. */
export const ROCM_PIDS_QUERY = ['--showpids', '--json'];

function parseJson(stdout: string): Record<string, unknown> | null {
  // Some versions print warnings before the JSON object.
  const start = stdout.indexOf('{');
  if (start < 0) return null;
  try {
    const value: unknown = JSON.parse(stdout.slice(start));
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function pick(card: Record<string, unknown>, patterns: readonly RegExp[]): number | null {
  for (const pattern of patterns) {
    for (const [key, value] of Object.entries(card)) {
      if (pattern.test(key)) {
        const number = parseNumber(String(value));
        if (number !== null) return number;
      }
    }
  }
  return null;
}

const MB = 1024 * 1024;

/** Parses `rocm-smi --showtemp --showpower --showuse --showmeminfo vram --json`. */
export function parseRocmGpus(stdout: string): GpuDevice[] {
  const json = parseJson(stdout);
  if (!json) return [];
  const devices: GpuDevice[] = [];
  for (const [key, value] of Object.entries(json)) {
    const match = /^card(\d+)$/.exec(key);
    if (!match || value === null || typeof value !== 'object') continue;
    const card = value as Record<string, unknown>;
    const used = pick(card, [/^VRAM Total Used Memory \(B\)$/i]);
    const total = pick(card, [/^VRAM Total Memory \(B\)$/i]);
    const name = [card['Card Series'], card['Card series'], card['Card SKU']].find((v): v is string => typeof v === 'string' && v.trim() !== '');
    devices.push({
      index: Number(match[1]),
      name: name?.trim() ?? null,
      vendor: 'amd',
      // Edge temperature is the one comparable with NVIDIA's core reading; junction runs hotter.
      tempC: pick(card, [/^Temperature \(Sensor edge\) \(C\)$/i, /^Temperature \(Sensor junction\) \(C\)$/i, /^Temperature .*\(C\)$/i]),
      powerW: pick(card, [/Graphics Package Power \(W\)$/i, /Power \(W\)$/i]),
      memoryUsedMb: used === null ? null : Math.round(used / MB),
      memoryTotalMb: total === null ? null : Math.round(total / MB),
      utilizationPercent: pick(card, [/^GPU use \(%\)$/i]),
    });
  }
  return devices.sort((a, b) => a.index - b.index);
}

/** Parses `rocm-smi --showpids --json`: {"system": {"PID1234": "name, gpus, vram bytes, sdma, cu"}}. */
export function parseRocmPids(stdout: string): GpuProcess[] | null {
  const json = parseJson(stdout);
  if (!json) return null;
  const system = json.system;
  if (system === null || typeof system !== 'object') return [];
  const processes: GpuProcess[] = [];
  for (const [key, value] of Object.entries(system as Record<string, unknown>)) {
    const match = /^PID(\d+)$/.exec(key);
    if (!match || typeof value !== 'string') continue;
    const fields = value.split(',').map((field) => field.trim());
    const bytes = parseNumber(fields[2]);
    processes.push({ pid: Number(match[1]), name: fields[0] ?? '', usedMemoryMb: bytes === null ? null : Math.round(bytes / MB) });
  }
  return processes;
}

/** Options of the AMD probe. */
export interface RocmProbeOptions {
  ownPids?: () => Iterable<number>;
  run?: CommandRunner;
  binary?: string;
  timeoutMs?: number;
}

/** Reads AMD GPUs; reports nothing (unknown) where rocm-smi is missing or fails. */
export function createRocmProbe(options: RocmProbeOptions = {}): SignalProbe {
  const run = options.run ?? runCommand;
  const binary = options.binary ?? 'rocm-smi';
  const ownPids = options.ownPids ?? (() => [process.pid]);
  const timeoutMs = options.timeoutMs ?? 3000;
  return {
    name: 'rocm-smi',
    async read() {
      const [gpus, pids] = await Promise.all([run(binary, ROCM_GPU_QUERY, { timeoutMs }), run(binary, ROCM_PIDS_QUERY, { timeoutMs })]);
      if (!gpus.ok) return {};
      const devices = parseRocmGpus(gpus.stdout);
      if (devices.length === 0) return {};
      const ours = new Set(ownPids());
      const listed = pids.ok ? parseRocmPids(pids.stdout) : null;
      return { gpu: { devices, otherProcesses: listed === null ? null : listed.filter((p) => !ours.has(p.pid)) } };
    },
  };
}
