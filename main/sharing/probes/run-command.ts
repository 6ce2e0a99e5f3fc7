/**
 * Runs a probe's helper program (nvidia-smi, loginctl, …) with a timeout and turns every
 * failure into a value: a missing program is "unknown", never an exception.
 */
import { execFile } from 'node:child_process';

/** The outcome of one command. */
export type CommandResult =
  | { ok: true; stdout: string }
  | { ok: false; reason: 'missing' | 'failed' | 'timeout'; message: string };

/** Runs a program; injected into probes so tests can replay captured output. */
export type CommandRunner = (file: string, args: readonly string[], options?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }) => Promise<CommandResult>;

/** How long a program found missing is not looked for again (each try costs a fork). */
const MISSING_RETRY_MS = 10 * 60_000;
const missingUntil = new Map<string, number>();

/** The real runner: execFile (no shell), a timeout, a bounded output buffer, no console window on Windows. */
export const runCommand: CommandRunner = (file, args, options = {}) =>
  new Promise((resolve) => {
    // Forking costs the worker's event loop 6–45 ms; a program that is not there stays absent.
    if ((missingUntil.get(file) ?? 0) > Date.now()) return resolve({ ok: false, reason: 'missing', message: `${file} is not installed` });
    execFile(
      file,
      [...args],
      { timeout: options.timeoutMs ?? 2000, maxBuffer: 1024 * 1024, windowsHide: true, encoding: 'utf8', env: options.env ?? process.env },
      (error, stdout) => {
        if (!error) return resolve({ ok: true, stdout });
        const failure = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
        if (failure.code === 'ENOENT') {
          missingUntil.set(file, Date.now() + MISSING_RETRY_MS);
          return resolve({ ok: false, reason: 'missing', message: `${file} is not installed` });
        }
        if (failure.killed || failure.signal === 'SIGTERM') return resolve({ ok: false, reason: 'timeout', message: `${file} took too long` });
        resolve({ ok: false, reason: 'failed', message: failure.message.split('\n')[0] ?? String(error) });
      },
    );
  });

/** A number from a tool's output, or null for "[N/A]", "[Not Supported]", "unknown", "". */
export function parseNumber(text: string | undefined): number | null {
  if (text === undefined) return null;
  const trimmed = text.trim();
  if (!/^-?\d+(?:\.\d+)?$/.test(trimmed)) return null;
  return Number(trimmed);
}
