/**
 * GPU check: runs the real engine path (EngineSupervisor → forked job process → LlamaEngine →
 * node-llama-cpp) on an NVIDIA GPU and prints one JSON line of what it saw:
 *  - the backend the job process reports ('cuda' expected) and exact greedy text on the GPU;
 *  - VRAM of the job process (nvidia-smi per-process, through our own parser) uncapped, with a
 *    gpuLayers cap and with a maxVramBytes cap (the owner's Polite limits);
 *  - preemption: cancel a streaming job, stop the job process as Worker.pause() does
 *    (`stop(0)`), and time until nvidia-smi no longer lists the process and the memory is free;
 *  - tokens/s on the GPU and on the CPU ('cpu' backend), same model and prompt;
 *  - batching: aggregate tokens/s of 4 and of 8 jobs at once on one engine loaded with 8
 *    sequences, each ÷ one job alone (engine-batch.ts), every text checked exact;
 *  - whether generation still works on the GPU once the OS sandbox has locked the process down.
 * On a machine without nvidia-smi it prints "skipped: no NVIDIA GPU (nvidia-smi not found)"
 * and exits 0. Each step's result is also printed as its own JSON line (prefix "step ") as it
 * ends, so a run cut short still reports what it measured.
 *
 * Usage: npx tsx bench/gpu-check.ts [--save-smi DIR] [--quick]
 *   --save-smi DIR  also write the raw nvidia-smi outputs it read (idle, loaded) into DIR
 *   --quick         'bench' model only, fewer tokens
 *   --no-cpu        skip the CPU runs
 *   --steps A,B     run only the named steps (e.g. gpu-uncapped,gpu-vram-cap-128MiB)
 * scripts/device/stage.sh bundles it (with node and node-llama-cpp's CUDA binary) for a
 * machine that has no Node.js.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { EngineSupervisor, JobFailure } from '../main/engine/supervisor.js';
import { NodeJobProcessLauncher } from '../main/engine/node-launcher.js';
import type { EngineConfig, EngineInfo } from '../main/engine/job-messages.js';
import { defaultThreads } from '../main/engine/threads.js';
import { successorText, writeTestModel } from '../main/models/test-model.js';
import { NVIDIA_APPS_QUERY, NVIDIA_GPU_QUERY, parseNvidiaApps, parseNvidiaGpus } from '../main/sharing/probes/nvidia-smi.js';
import { runCommand } from '../main/sharing/probes/run-command.js';
import { generate, measureEngineBatch } from './engine-batch.js';
import { round as roundTo } from './stats.js';

const MiB = 1024 * 1024;
/** Jobs at once in the batching step (the GPU goal: ≥ 2.5 × one job's tokens/s at 8). */
const BATCH_STREAMS = [4, 8] as const;
const args = process.argv.slice(2);
const saveSmi = args.includes('--save-smi') ? args[args.indexOf('--save-smi') + 1] : undefined;
const quick = args.includes('--quick');
const noCpu = args.includes('--no-cpu');
const only = args.includes('--steps') ? new Set((args[args.indexOf('--steps') + 1] ?? '').split(',')) : undefined;
const logger = pino({ level: process.env.SILKWORM_LOG_LEVEL ?? 'warn' }, pino.destination({ fd: 2, sync: true }));

/** One nvidia-smi reading: per-GPU and per-process, raw text kept for fixtures. */
interface SmiReading {
  ms: number;
  gpus: string;
  apps: string;
}

async function readSmi(): Promise<SmiReading> {
  const started = performance.now();
  const [gpus, apps] = await Promise.all([runCommand('nvidia-smi', NVIDIA_GPU_QUERY, { timeoutMs: 10_000 }), runCommand('nvidia-smi', NVIDIA_APPS_QUERY, { timeoutMs: 10_000 })]);
  if (!gpus.ok) throw new Error(`nvidia-smi failed: ${gpus.message}`);
  return { ms: performance.now() - started, gpus: gpus.stdout, apps: apps.ok ? apps.stdout : '' };
}

/** MiB nvidia-smi lists for `pid` (null: not listed). */
function vramOf(reading: SmiReading, pid: number | undefined): number | null {
  return parseNvidiaApps(reading.apps).find((p) => p.pid === pid)?.usedMemoryMb ?? null;
}

function memoryUsed(reading: SmiReading): number | null {
  return parseNvidiaGpus(reading.gpus)[0]?.memoryUsedMb ?? null;
}

/** Keeps the raw outputs (for parser fixtures) when --save-smi names a folder. */
async function save(name: string, reading: SmiReading): Promise<void> {
  if (!saveSmi) return;
  await mkdir(saveSmi, { recursive: true });
  await writeFile(join(saveSmi, `${name}-gpus.csv`), reading.gpus);
  await writeFile(join(saveSmi, `${name}-apps.csv`), reading.apps);
}

function baseConfig(modelPath: string, overrides: Partial<EngineConfig> = {}): EngineConfig {
  return { modelPath, threads: defaultThreads(), contextSize: 2048, sequences: 1, gpu: 'auto', warmupTokens: 32, sandbox: false, ...overrides };
}

/** Starts a supervisor (the worker's own class, its own launcher) and loads the model. */
async function start(config: EngineConfig): Promise<{ supervisor: EngineSupervisor; info: EngineInfo }> {
  const supervisor = new EngineSupervisor({ config, launcher: new NodeJobProcessLauncher(), logger, loadTimeoutMs: 480_000, maxRestartsPerMinute: 0 });
  try {
    return { supervisor, info: await supervisor.start() };
  } catch (error) {
    await supervisor.stop(0);
    throw error instanceof JobFailure ? new Error(`${error.error.code}: ${error.error.message}`) : error;
  }
}

/** VRAM of the job process once loaded: the largest of a few readings (it settles quickly). */
async function loadedVram(supervisor: EngineSupervisor, name: string): Promise<{ processMiB: number | null; deviceUsedMiB: number | null }> {
  let best: SmiReading | undefined;
  let bestValue = -1;
  for (let i = 0; i < 3; i++) {
    const reading = await readSmi();
    const value = vramOf(reading, supervisor.pid) ?? -1;
    if (value >= bestValue) [best, bestValue] = [reading, value];
  }
  if (best) await save(name, best);
  return { processMiB: bestValue >= 0 ? bestValue : null, deviceUsedMiB: best ? memoryUsed(best) : null };
}

/**
 * The preemption path of Worker.pause(): cancel the streaming job, wait for it to end, stop the
 * job process with no grace, then poll nvidia-smi until the process is gone and memory is back.
 */
async function preempt(supervisor: EngineSupervisor, baselineUsedMiB: number | null): Promise<Record<string, unknown>> {
  const pid = supervisor.pid;
  let chunks = 0;
  let streaming!: () => void;
  const streamingNow = new Promise<void>((resolve) => (streaming = resolve));
  const job = supervisor.generate({ jobId: 'preempt', messages: [{ role: 'user', content: 'Hello' }], params: { maxTokens: 1800, temperature: 0 } }, () => {
    if (++chunks === 4) streaming();
  });
  const ended = job.then(
    () => 'finished',
    (error: unknown) => (error instanceof JobFailure ? error.error.code : String(error)),
  );
  await streamingNow;
  const started = performance.now();
  supervisor.cancel('preempt');
  const code = await ended;
  const stoppedMs = performance.now() - started;
  await supervisor.stop(0);
  const exitedMs = performance.now() - started;
  let goneMs: number | null = null;
  let freedMs: number | null = null;
  const polls: number[] = [];
  while (performance.now() - started < 10_000 && (goneMs === null || freedMs === null)) {
    const reading = await readSmi();
    polls.push(round(reading.ms));
    const at = performance.now() - started;
    if (goneMs === null && vramOf(reading, pid) === null) goneMs = at;
    const used = memoryUsed(reading);
    if (freedMs === null && (baselineUsedMiB === null || (used !== null && used <= baselineUsedMiB + 2))) freedMs = baselineUsedMiB === null ? -1 : at;
  }
  return {
    jobEndedAs: code,
    stoppedMs: round(stoppedMs),
    exitedMs: round(exitedMs),
    goneFromNvidiaSmiMs: goneMs === null ? null : round(goneMs),
    memoryBackToBaselineMs: freedMs === null || freedMs < 0 ? null : round(freedMs),
    nvidiaSmiPollMs: polls,
  };
}

const steps: Record<string, unknown> = {};
function record(name: string, value: unknown): void {
  steps[name] = value;
  console.log(`step ${JSON.stringify({ [name]: value })}`);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** One load → check → measure → stop cycle; errors become the step's result. */
async function step(name: string, config: EngineConfig, body: (supervisor: EngineSupervisor, info: EngineInfo) => Promise<Record<string, unknown>>): Promise<void> {
  if (only && !only.has(name)) return;
  const started = performance.now();
  let supervisor: EngineSupervisor | undefined;
  try {
    const loaded = await start(config);
    supervisor = loaded.supervisor;
    const { info } = loaded;
    const result = await body(supervisor, info);
    record(name, { backend: info.gpu, loadMs: round(info.loadMs), warmupTokensPerSecond: info.tokensPerSecond, tier: info.tier, ...result, wallMs: round(performance.now() - started) });
  } catch (error) {
    record(name, { error: error instanceof Error ? error.message : String(error), wallMs: round(performance.now() - started) });
  } finally {
    await supervisor?.stop(0);
  }
}

async function main(): Promise<void> {
  const probe = await runCommand('nvidia-smi', NVIDIA_GPU_QUERY, { timeoutMs: 10_000 });
  if (!probe.ok) {
    console.log(probe.reason === 'missing' ? 'skipped: no NVIDIA GPU (nvidia-smi not found)' : `skipped: no NVIDIA GPU (nvidia-smi: ${probe.message})`);
    return;
  }
  const gpus = parseNvidiaGpus(probe.stdout);
  if (gpus.length === 0) {
    console.log('skipped: no NVIDIA GPU (nvidia-smi lists none)');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-gpu-check-'));
  try {
    const bench = join(dir, 'bench.gguf');
    const large = join(dir, 'large.gguf');
    let started = performance.now();
    await writeTestModel(bench, { size: 'bench' });
    if (!quick) await writeTestModel(large, { size: 'large' });
    record('models', { built: quick ? ['bench'] : ['bench', 'large'], buildMs: round(performance.now() - started), threads: defaultThreads(), cores: availableParallelism() });
    const idle = await readSmi();
    await save('idle', idle);
    const baselineUsedMiB = memoryUsed(idle);
    record('idle', { gpus: parseNvidiaGpus(idle.gpus), apps: parseNvidiaApps(idle.apps), readMs: round(idle.ms) });

    const model = quick ? bench : large;
    const tokens = quick ? 256 : 1000;
    const prompt = 'abc';
    const exact = successorText(prompt, 64);
    started = performance.now();
    // First: the bench model on the GPU (a first CUDA load may JIT-compile kernels: its loadMs says).
    await step('gpu-bench', baseConfig(bench), async (supervisor) => {
      const out = await generate(supervisor, 'exact', prompt, 64);
      const speed = await generate(supervisor, 'speed', 'Hello', tokens);
      return { exactText: out.text === exact, text: out.text.slice(0, 80), tokensPerSecond: speed.tokensPerSecond, firstChunkMs: speed.firstChunkMs, vram: await loadedVram(supervisor, 'gpu-bench') };
    });
    await step('gpu-uncapped', baseConfig(model), async (supervisor) => {
      const out = await generate(supervisor, 'exact', prompt, 64);
      const speed = await generate(supervisor, 'speed', 'Hello', tokens);
      const vram = await loadedVram(supervisor, 'gpu-uncapped');
      return { exactText: out.text === exact, text: out.text.slice(0, 80), tokensPerSecond: speed.tokensPerSecond, firstChunkMs: speed.firstChunkMs, vram, preemption: await preempt(supervisor, baselineUsedMiB) };
    });
    for (const layers of [0, 4]) {
      await step(`gpu-layers-${layers}`, baseConfig(model, { gpuLayers: layers }), async (supervisor) => {
        const out = await generate(supervisor, 'exact', prompt, 64);
        const speed = await generate(supervisor, 'speed', 'Hello', Math.min(tokens, 500));
        return { exactText: out.text === exact, tokensPerSecond: speed.tokensPerSecond, vram: await loadedVram(supervisor, `gpu-layers-${layers}`) };
      });
    }
    for (const capMiB of [1024, 512, 256, 128]) {
      await step(`gpu-vram-cap-${capMiB}MiB`, baseConfig(model, { maxVramBytes: capMiB * MiB }), async (supervisor) => {
        const out = await generate(supervisor, 'exact', prompt, 64);
        return { exactText: out.text === exact, vram: await loadedVram(supervisor, `gpu-vram-cap-${capMiB}`) };
      });
    }
    await step('gpu-batch', baseConfig(model, { sequences: BATCH_STREAMS.at(-1) }), async (supervisor, info) => {
      const batch = await measureEngineBatch(supervisor, { streams: BATCH_STREAMS, tokens: quick ? 128 : 256, rounds: quick ? 3 : 5, prompt });
      return {
        sequences: info.sequences,
        textsExact: batch.textsExact,
        ...(batch.mismatch ? { mismatch: batch.mismatch } : {}),
        gains: batch.gains.map((g) => ({ streams: g.streams, median: roundTo(g.median, 2), min: roundTo(g.min, 2), max: roundTo(g.max, 2) })),
        arms: batch.arms.map((arm) => ({ streams: arm.streams, tokensPerSecond: arm.tokensPerSecond.map(round), cpuUsPerToken: arm.cpuUsPerToken.map((us) => (us === undefined ? null : round(us))) })),
      };
    });
    await step('gpu-sandboxed', baseConfig(model, { sandbox: true }), async (supervisor, info) => {
      const out = await generate(supervisor, 'exact', prompt, 64);
      return { sandboxReason: info.sandboxReason ?? null, exactText: out.text === exact, text: out.text.slice(0, 80) };
    });
    for (const [name, path] of noCpu ? [] : quick ? [['cpu-bench', bench]] : [['cpu-bench', bench], ['cpu-large', large]]) {
      await step(name as string, baseConfig(path as string, { gpu: 'cpu' }), async (supervisor) => {
        const out = await generate(supervisor, 'exact', prompt, 64);
        const speed = await generate(supervisor, 'speed', 'Hello', Math.min(tokens, 500));
        return { exactText: out.text === exact, tokensPerSecond: speed.tokensPerSecond, vram: await loadedVram(supervisor, name as string) };
      });
    }
    console.log(JSON.stringify({ gpu: gpus[0]?.name ?? null, model: quick ? 'bench' : 'large', wallMs: round(performance.now() - started), ...steps }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
