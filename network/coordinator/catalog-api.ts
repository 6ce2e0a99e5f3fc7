/**
 * The model catalog on the coordinator: loads the operator's catalog file (`--catalog FILE`),
 * answers `GET /v1/catalog` (public: the network's wish list is no secret) and, for local and
 * demo networks, serves the model files of entries with relative URLs from a directory
 * (`--catalog-dir DIR`) with HTTP Range support so interrupted downloads resume.
 */
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, resolve, sep } from 'node:path';
import { CATALOG_FILE_NAME, parseCatalog, servedFileName, type Catalog } from '../protocol/catalog.js';
import { decodePathPart, sendError, sendJson } from './http-util.js';

/** A loaded catalog and where its relative files are served from. */
export interface CoordinatorCatalog {
  catalog: Catalog;
  /** The directory relative `files/NAME` entries are served from (none: they are not served). */
  dir?: string;
}

/** Reads and validates a catalog file; throws an Error that says what is wrong and where. */
export async function loadCatalogFile(file: string, dir?: string): Promise<CoordinatorCatalog> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`--catalog: cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`--catalog: ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = parseCatalog(json);
  if (!parsed.ok) throw new Error(`--catalog: ${file} is not a valid catalog:\n${parsed.message}`);
  return { catalog: parsed.value, dir: resolve(dir ?? dirname(file)) };
}

/** `GET /v1/catalog`: the models this network wants served (an empty list without a catalog). */
export function handleCatalog(res: ServerResponse, catalog: CoordinatorCatalog | undefined): void {
  sendJson(res, 200, catalog?.catalog ?? { models: [] }, { 'cache-control': 'no-cache' });
}

/** A parsed `Range: bytes=…` header: one range within the file, null (none), or 'invalid'. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'invalid' {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (match[1] === '') {
    // A suffix range: the last N bytes.
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  return start > end || start >= size ? 'invalid' : { start, end };
}

/**
 * `GET|HEAD /v1/files/NAME`: a model file of the catalog. Only plain names of files that a
 * catalog entry points to are served, and only from inside the catalog directory.
 */
export async function handleCatalogFile(req: IncomingMessage, res: ServerResponse, rawName: string, catalog: CoordinatorCatalog | undefined): Promise<void> {
  const name = decodePathPart(rawName);
  if (name === undefined) return sendError(res, 400, 'Bad file name.', 'invalid_request');
  // SECURITY: path traversal — a plain file name only (no '/', '\\', '..', leading dot).
  if (!CATALOG_FILE_NAME.test(name)) return sendError(res, 400, 'Bad file name: plain file names only.', 'invalid_request');
  const listed = catalog?.catalog.models.find((m) => servedFileName(m.url) === name);
  if (!catalog?.dir || !listed) return sendError(res, 404, `No catalog file named '${name}'.`, 'not_found');
  const root = await realpath(catalog.dir).catch(() => catalog.dir as string);
  const path = await realpath(join(root, name)).catch(() => null);
  // SECURITY: a symlink in the directory must not lead outside it.
  if (!path || !path.startsWith(root + sep)) return sendError(res, 404, `No catalog file named '${name}'.`, 'not_found');
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) return sendError(res, 404, `No catalog file named '${name}'.`, 'not_found');
  const range = parseRange(req.headers.range, info.size);
  const common = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream', etag: `"${listed.sha256}"` };
  if (range === 'invalid') {
    res.writeHead(416, { ...common, 'content-range': `bytes */${info.size}` }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: info.size - 1 };
  res.writeHead(range ? 206 : 200, {
    ...common,
    'content-length': String(Math.max(0, end - start + 1)),
    ...(range ? { 'content-range': `bytes ${start}-${end}/${info.size}` } : {}),
  });
  if (req.method === 'HEAD' || info.size === 0) {
    res.end();
    return;
  }
  await new Promise<void>((done) => {
    const stream = createReadStream(path, { start, end });
    stream.on('error', () => {
      res.destroy();
      done();
    });
    res.on('close', () => {
      stream.destroy();
      done();
    });
    stream.pipe(res);
  });
}
