/**
 * Small files written so a crash never leaves half of one: the bytes go to a temporary file
 * beside the target, are fsynced, and replace the target with one rename (atomic on every OS
 * Silkworm runs on). The one implementation for every state file of the app, the worker and
 * the network side (settings, keys, identities, caches, chain state).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** File and folder permissions of a written file (secrets: 0o600 in a 0o700 folder). */
export interface WriteFileOptions {
  mode?: number;
  dirMode?: number;
}

/** Writes `data` to `path` atomically: temp file, fsync, rename; the folder is created if missing. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: WriteFileOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true, ...(options.dirMode !== undefined ? { mode: options.dirMode } : {}) });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Writes a value as pretty JSON, atomically. */
export function writeJsonFile(path: string, value: unknown, options: WriteFileOptions = {}): Promise<void> {
  return writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** Reads a JSON file; undefined when it is missing or not JSON (the caller decides what that means). */
export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Reads a JSON file, or creates it with `create()` on first use (ids, keys, seeds). `valid`
 * rejects a file of the wrong shape, which is then replaced as if missing.
 */
export async function readOrCreateJsonFile<T>(path: string, create: () => T | Promise<T>, options: WriteFileOptions & { valid?: (value: unknown) => boolean } = {}): Promise<T> {
  const existing = await readJsonFile<unknown>(path);
  if (existing !== undefined && (options.valid?.(existing) ?? true)) return existing as T;
  const value = await create();
  await writeJsonFile(path, value, options);
  return value;
}
