/**
 * Downloads one model file of the catalog: into `<dir>/<id>.gguf.part`, resuming from what is
 * already there (HTTP Range), reporting progress, cancellable, and renamed to `<id>.gguf` only
 * once its size and sha256 match the catalog — so a corrupt or wrong file never becomes a model.
 *
 * Why not node-llama-cpp's `createModelDownloader`: it would pull node-llama-cpp (~40 MB) into
 * the main process for a plain HTTP transfer, picks its own file names, and has no hook to verify
 * a sha256 before the file is in place. fetch + Range is ~150 lines we control and test.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** Space kept free beyond the file itself, so a download never fills the disk to the brim. */
export const DISK_MARGIN_BYTES = 256 * 1024 * 1024;

/** How a download failed. */
export type DownloadErrorCode = 'no-space' | 'bad-hash' | 'bad-size' | 'http' | 'network' | 'cancelled';

/** A failed download, with a message meant for the owner. */
export class DownloadError extends Error {
  constructor(
    readonly code: DownloadErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Progress of one transfer. */
export interface DownloadProgress {
  receivedBytes: number;
  totalBytes: number;
  /** Over the last few seconds; null until it can be measured. */
  bytesPerSecond: number | null;
  /** Seconds left at that rate; null while the rate is unknown. */
  etaSeconds: number | null;
}

/** What to download and where. */
export interface DownloadRequest {
  id: string;
  url: string;
  sizeBytes: number;
  sha256: string;
  /** The models folder (`<dataDir>/models`). */
  dir: string;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Least time between two progress reports (default 250 ms). */
  progressIntervalMs?: number;
  /** Injected in tests: free bytes in a folder. */
  freeBytes?: (dir: string) => Promise<number>;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The installed path of a model id in a models folder. */
export function modelFilePath(dir: string, id: string): string {
  return join(dir, `${id}.gguf`);
}

/** The partial download of a model id. */
export function partFilePath(dir: string, id: string): string {
  return `${modelFilePath(dir, id)}.part`;
}

async function freeBytesOf(dir: string): Promise<number> {
  const info = await statfs(dir);
  return Number(info.bavail) * Number(info.bsize);
}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then((info) => info.size, () => 0);
}

async function hashInto(hash: Hash, path: string): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(bytes < 1e9 ? 2 : 1)} GB`;
}

/** Measures the rate over a sliding window of a few seconds. */
function rateMeter(now: () => number, windowMs = 5000) {
  const samples: { at: number; bytes: number }[] = [];
  return (bytes: number): number | null => {
    const at = now();
    samples.push({ at, bytes });
    while (samples.length > 2 && at - (samples[0] as { at: number }).at > windowMs) samples.shift();
    const first = samples[0] as { at: number; bytes: number };
    const elapsed = at - first.at;
    return elapsed >= 200 ? ((bytes - first.bytes) * 1000) / elapsed : null;
  };
}

/** Checks the disk has room for the rest of the file plus a margin. */
async function checkSpace(request: DownloadRequest, have: number): Promise<void> {
  const free = await (request.freeBytes ?? freeBytesOf)(request.dir);
  const needed = request.sizeBytes - have + DISK_MARGIN_BYTES;
  if (free < needed) {
    throw new DownloadError('no-space', `Not enough disk space: this model needs ${gb(request.sizeBytes - have)} more (plus ${gb(DISK_MARGIN_BYTES)} to spare) but only ${gb(free)} is free in ${request.dir}.`);
  }
}

/** Opens the transfer from `have` bytes; a server that ignores Range restarts it from 0. */
async function openTransfer(request: DownloadRequest, have: number): Promise<{ body: ReadableStream<Uint8Array>; from: number }> {
  const doFetch = request.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(request.url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, ...(request.signal ? { signal: request.signal } : {}) });
  } catch (error) {
    if (request.signal?.aborted) throw new DownloadError('cancelled', 'Download cancelled.');
    throw new DownloadError('network', `Cannot reach ${new URL(request.url).host}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const range = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
  if (response.status === 206 && range && Number(range[1]) === have && response.body) return { body: response.body, from: have };
  if (response.status === 200 && response.body) return { body: response.body, from: 0 };
  await response.body?.cancel().catch(() => undefined);
  throw new DownloadError('http', `The download server answered ${response.status} ${response.statusText || ''}`.trim() + ` for ${request.url}.`);
}

/**
 * Downloads (or resumes) a model file and installs it once verified; resolves with its path.
 * On cancel or a network failure the `.part` file stays, so the next call resumes; on a size or
 * sha256 mismatch it is deleted. Rejects with a DownloadError.
 */
export async function downloadModelFile(request: DownloadRequest): Promise<string> {
  const now = request.now ?? Date.now;
  await mkdir(request.dir, { recursive: true });
  const finalPath = modelFilePath(request.dir, request.id);
  const partPath = partFilePath(request.dir, request.id);
  let have = await sizeOf(partPath);
  if (have > request.sizeBytes) {
    await rm(partPath, { force: true });
    have = 0;
  }
  await checkSpace(request, have);
  let hash = createHash('sha256');
  if (have > 0 && have < request.sizeBytes) await hashInto(hash, partPath);
  let received = have;
  if (have < request.sizeBytes) {
    const transfer = await openTransfer(request, have);
    if (transfer.from === 0 && have > 0) hash = createHash('sha256');
    received = transfer.from;
    const file = await open(partPath, transfer.from === 0 ? 'w' : 'a');
    const meter = rateMeter(now);
    const interval = request.progressIntervalMs ?? 250;
    let lastReport = -Infinity;
    const report = (force: boolean) => {
      const rate = meter(received);
      if (!force && now() - lastReport < interval) return;
      lastReport = now();
      const eta = rate && rate > 0 ? (request.sizeBytes - received) / rate : null;
      request.onProgress?.({ receivedBytes: received, totalBytes: request.sizeBytes, bytesPerSecond: rate, etaSeconds: eta });
    };
    try {
      report(true);
      for await (const chunk of transfer.body) {
        if (received + chunk.byteLength > request.sizeBytes) {
          await file.close();
          await rm(partPath, { force: true });
          throw new DownloadError('bad-size', `The server sent more than the catalog's ${request.sizeBytes} bytes; the download was discarded.`);
        }
        await file.write(chunk);
        hash.update(chunk);
        received += chunk.byteLength;
        report(false);
      }
      await file.sync();
    } catch (error) {
      if (error instanceof DownloadError) throw error;
      if (request.signal?.aborted) throw new DownloadError('cancelled', 'Download cancelled.');
      throw new DownloadError('network', `The transfer was interrupted after ${gb(received)}: ${error instanceof Error ? error.message : String(error)}. Download again to resume.`);
    } finally {
      await file.close().catch(() => undefined);
    }
    report(true);
    if (received < request.sizeBytes) throw new DownloadError('network', `The transfer ended early (${received} of ${request.sizeBytes} bytes). Download again to resume.`);
  } else {
    await hashInto(hash, partPath);
  }
  const digest = hash.digest('hex');
  if (digest !== request.sha256) {
    await rm(partPath, { force: true });
    throw new DownloadError('bad-hash', `The downloaded file does not match the catalog (sha256 ${digest.slice(0, 12)}… instead of ${request.sha256.slice(0, 12)}…); it was deleted and nothing was installed.`);
  }
  await rename(partPath, finalPath);
  return finalPath;
}
