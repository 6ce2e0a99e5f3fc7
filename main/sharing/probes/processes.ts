/**
 * Lists running processes for game detection: /proc on Linux, `ps` on macOS, `tasklist` on
 * Windows. Returns null when the list cannot be read, so the game signal becomes unknown.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, type CommandRunner } from './run-command.js';

/** A running process: its executable name and, where readable, its arguments. */
export interface ProcessInfo {
  pid: number;
  name: string;
  args: string[] | null;
}

/** Splits a /proc/<pid>/cmdline (NUL-separated) into arguments. */
export function parseCmdline(raw: string): string[] {
  return raw.split('\0').filter((arg) => arg !== '');
}

/** Reads processes from a /proc tree (a folder argument so tests can pass a fake one). */
export async function listLinuxProcesses(procRoot = '/proc'): Promise<ProcessInfo[] | null> {
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch {
    return null;
  }
  const pids = entries.filter((entry) => /^\d+$/.test(entry));
  const found = await Promise.all(
    pids.map(async (pid): Promise<ProcessInfo | null> => {
      try {
        const name = (await readFile(join(procRoot, pid, 'comm'), 'utf8')).trim();
        const args = await readFile(join(procRoot, pid, 'cmdline'), 'utf8').then(parseCmdline, () => null);
        return { pid: Number(pid), name, args };
      } catch {
        return null; // The process ended while we looked, or is not ours to read.
      }
    }),
  );
  return found.filter((p): p is ProcessInfo => p !== null);
}

/** Parses `ps -axo pid=,comm=` (macOS: comm is the executable's full path, spaces and all). */
export function parsePsOutput(stdout: string): ProcessInfo[] {
  const processes: ProcessInfo[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^\s*(\d+)\s+(.+?)\s*$/.exec(line);
    if (!match?.[1] || !match[2]) continue;
    const path = match[2];
    processes.push({ pid: Number(match[1]), name: path.split('/').pop() ?? path, args: [path] });
  }
  return processes;
}

/** Parses `tasklist /fo csv /nh`: "Image Name","PID","Session Name","Session#","Mem Usage". */
export function parseTasklistCsv(stdout: string): ProcessInfo[] {
  const processes: ProcessInfo[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const fields = [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => (m[1] ?? '').replace(/""/g, '"'));
    const pid = Number(fields[1]);
    if (fields.length < 2 || !fields[0] || !Number.isInteger(pid)) continue;
    processes.push({ pid, name: fields[0], args: null });
  }
  return processes;
}

/** Lists processes on the given platform; null when it cannot. */
export async function listProcesses(platform: NodeJS.Platform, options: { run?: CommandRunner; procRoot?: string } = {}): Promise<ProcessInfo[] | null> {
  const run = options.run ?? runCommand;
  if (platform === 'linux') return listLinuxProcesses(options.procRoot);
  if (platform === 'darwin') {
    const result = await run('ps', ['-axo', 'pid=,comm=']);
    return result.ok ? parsePsOutput(result.stdout) : null;
  }
  if (platform === 'win32') {
    const result = await run('tasklist', ['/fo', 'csv', '/nh']);
    return result.ok ? parseTasklistCsv(result.stdout) : null;
  }
  return null;
}
