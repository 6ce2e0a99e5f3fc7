/** A model file on disk as the worker announces it: id, path, sha256 (cached by size and mtime). */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { writeJsonFile } from '../../network/node-kit/json-file.js';
import { basename, join, resolve } from 'node:path';

/** A local model the worker can serve. */
export interface ModelFile {
  id: string;
  path: string;
  sha256: string;
  sizeBytes: number;
}

/** A wire-safe model id from a file name: "Llama-3.2-3B.Q4_K_M.gguf" → "Llama-3.2-3B.Q4_K_M". */
export function modelIdFromPath(path: string): string {
  const id = basename(path).replace(/\.gguf$/i, '').replace(/[^A-Za-z0-9._:-]+/g, '-').slice(0, 128);
  return id || 'model';
}

/** Hashes a file without reading it into memory. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Describes a model file, reusing a cached hash when the file has not changed. */
export async function describeModelFile(path: string, cacheDir: string): Promise<ModelFile> {
  const absolute = resolve(path);
  const info = await stat(absolute).catch((error: NodeJS.ErrnoException) => {
    throw new Error(error.code === 'ENOENT' ? `model file ${absolute} does not exist.` : `cannot read model file ${absolute}: ${error.message}`);
  });
  if (!info.isFile()) throw new Error(`${absolute} is not a file.`);
  const cacheFile = join(cacheDir, 'model-hashes.json');
  const key = `${absolute}|${info.size}|${info.mtimeMs}`;
  let cache: Record<string, string> = {};
  try {
    cache = JSON.parse(await readFile(cacheFile, 'utf8')) as Record<string, string>;
  } catch {
    // no cache yet
  }
  let sha256 = cache[key];
  if (!sha256) {
    sha256 = await sha256File(absolute);
    cache[key] = sha256;
    await writeJsonFile(cacheFile, cache);
  }
  return { id: modelIdFromPath(absolute), path: absolute, sha256, sizeBytes: info.size };
}
