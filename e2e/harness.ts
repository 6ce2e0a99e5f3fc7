/**
 * Whole-system test tools: real `silkworm` processes on port 0 in temp dirs, their JSON log
 * lines as events to wait on, and a generated model. Everything started is killed after.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { writeTestModel, type TestModelOptions } from '../main/models/test-model.js';
import { sha256File } from '../main/models/model-file.js';

const CLI = fileURLToPath(new URL('../bin/silkworm.mjs', import.meta.url));

/** One JSON log line. */
export type LogLine = Record<string, unknown> & { msg?: string };

/** A running `silkworm` process whose log lines can be awaited. */
export class SilkwormProcess {
  readonly lines: LogLine[] = [];
  readonly output: string[] = [];
  private waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    const onLine = (text: string) => {
      this.output.push(text);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
    };
    if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
    if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves with the first log line (past or future) that matches. */
  waitFor(match: (line: LogLine) => boolean, timeoutMs = 30_000, what = 'log line'): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return this.waitForNext(match, timeoutMs, what);
  }

  /** Resolves with the next log line from now on that matches. */
  waitForNext(match: (line: LogLine) => boolean, timeoutMs = 30_000, what = 'log line'): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; output:\n${this.output.slice(-20).join('\n')}`)), timeoutMs);
      this.waiters.push({ match, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  }

  /** Lines whose msg is exactly `msg`. */
  count(msg: string): number {
    return this.lines.filter((l) => l.msg === msg).length;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }
}

/** Tracks temp dirs and processes of one test file, and cleans them up. */
export class Harness {
  private readonly processes: SilkwormProcess[] = [];
  private readonly dirs: string[] = [];
  private modelPath: string | undefined;

  /** `model`: which test model the workers and catalogs of this harness serve (default: the plain one). */
  constructor(private readonly options: { model?: TestModelOptions } = {}) {}

  /** A fresh temp dir, removed at cleanup. */
  async tempDir(prefix = 'silkworm-e2e-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** The generated test model (written once per harness). */
  async model(): Promise<string> {
    if (!this.modelPath) {
      this.modelPath = join(await this.tempDir('silkworm-model-'), 'silkworm-test.gguf');
      await writeTestModel(this.modelPath, this.options.model);
    }
    return this.modelPath;
  }

  /**
   * A catalog folder holding the test model as `{id}.gguf` and a catalog.json listing it (what a
   * coordinator's --catalog reads): its path and the model's SHA-256.
   */
  async catalog(id = 'silkworm-test'): Promise<{ file: string; sha256: string }> {
    const modelPath = await this.model();
    const sha256 = await sha256File(modelPath);
    const dir = await this.tempDir();
    await copyFile(modelPath, join(dir, `${id}.gguf`));
    const file = join(dir, 'catalog.json');
    await writeFile(file, JSON.stringify({ models: [{ id, name: 'test', url: `files/${id}.gguf`, sizeBytes: (await stat(modelPath)).size, sha256, quantization: 'F32', contextLength: 2048 }] }));
    return { file, sha256 };
  }

  /** Runs `silkworm ARGS…` as a child process. */
  spawn(args: string[], env: Record<string, string> = {}): SilkwormProcess {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, SILKWORM_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = new SilkwormProcess(child);
    this.processes.push(proc);
    return proc;
  }

  /** Starts a coordinator on port 0 (or `port`) and resolves with it and its URL once ready. */
  async coordinator(options: { apiKeys?: string[]; port?: number; dataDir?: string; extra?: string[] } = {}): Promise<{ proc: SilkwormProcess; url: string; dataDir: string }> {
    const dataDir = options.dataDir ?? (await this.tempDir());
    const args = ['coordinator', '--listen', `127.0.0.1:${options.port ?? 0}`, '--data', dataDir, ...(options.apiKeys ?? []).flatMap((k) => ['--api-key', k]), ...(options.extra ?? [])];
    const proc = this.spawn(args);
    const ready = await proc.waitFor((l) => l.msg === 'coordinator ready', 90_000, 'coordinator ready');
    return { proc, url: String(ready.url), dataDir };
  }

  /** Starts a headless worker and resolves once it has joined the coordinator. */
  async worker(coordinatorUrl: string, options: { extra?: string[] } = {}): Promise<{ proc: SilkwormProcess; enginePid: number; workerId: string }> {
    const proc = this.spawn(['worker', '--coordinator', coordinatorUrl, '--data', await this.tempDir(), '--model', await this.model(), '--threads', '1', ...(options.extra ?? [])]);
    const loaded = await proc.waitFor((l) => l.msg === 'model loaded', 60_000, 'model loaded');
    await proc.waitFor((l) => l.msg === 'connected to the coordinator', 30_000, 'connected');
    return { proc, enginePid: Number(loaded.enginePid), workerId: String(loaded.workerId) };
  }

  /** Kills every process and removes every temp dir. */
  async cleanup(): Promise<void> {
    for (const p of this.processes) if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
    await Promise.all(this.processes.map((p) => p.exited));
    await Promise.all(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One sample of a coordinator's metric (`labels` as written inside the braces, '' for none); 0 when absent. */
export async function metricValue(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

export { eventually } from '../network/node-kit/eventually.js';
