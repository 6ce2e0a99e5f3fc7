import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DISK_MARGIN_BYTES, downloadModelFile, modelFilePath, partFilePath, type DownloadError, type DownloadProgress } from './download.js';
import { DownloadManager } from './download-manager.js';
import type { DownloadView } from './download-view.js';

const SIZE = 3 * 1024 * 1024;
const data = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 7) % 256));
const sha256 = createHash('sha256').update(data).digest('hex');
/** Every request's Range header, to prove resumes ask for the rest only. */
const ranges: (string | undefined)[] = [];
let server: Server;
let base = '';
let dir = '';
const plenty = async () => 1e12;

/**
 * /file: the data with Range; /cut: sends the first MB then drops the connection;
 * /slow: 64 KB every 20 ms; /norange: ignores Range; /wrong: same size, other bytes.
 */
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'silkworm-download-'));
  server = createServer((req, res) => {
    ranges.push(req.headers.range);
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    const path = req.url ?? '/';
    const body = path === '/wrong' ? Buffer.alloc(SIZE, 1) : data;
    if (path === '/norange' || from === 0) res.writeHead(200, { 'content-length': String(SIZE) });
    else res.writeHead(206, { 'content-length': String(SIZE - from), 'content-range': `bytes ${from}-${SIZE - 1}/${SIZE}` });
    const rest = path === '/norange' ? body : body.subarray(from);
    if (path === '/cut') {
      res.write(rest.subarray(0, 1024 * 1024), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    if (path === '/slow') {
      let at = 0;
      const tick = setInterval(() => {
        if (res.destroyed || at >= rest.length) return clearInterval(tick), res.end();
        res.write(rest.subarray(at, (at += 64 * 1024)));
      }, 20);
      return;
    }
    res.end(rest);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const request = (id: string, path: string, extra: Partial<Parameters<typeof downloadModelFile>[0]> = {}) => ({ id, url: `${base}${path}`, sizeBytes: SIZE, sha256, dir, freeBytes: plenty, ...extra });

test('downloads, reports progress up to the total, verifies and installs', async () => {
  const progress: DownloadProgress[] = [];
  const path = await downloadModelFile(request('whole', '/slow', { onProgress: (p) => progress.push(p), progressIntervalMs: 50 }));
  assert.equal(path, modelFilePath(dir, 'whole'));
  assert.deepEqual(await readFile(path), data);
  assert.equal(existsSync(partFilePath(dir, 'whole')), false);
  assert.ok(progress.length >= 3, `several progress reports (${progress.length})`);
  assert.equal(progress.at(-1)?.receivedBytes, SIZE);
  assert.ok(progress.every((p, i) => i === 0 || p.receivedBytes >= (progress[i - 1] as DownloadProgress).receivedBytes), 'bytes only grow');
  const measured = progress.find((p) => p.bytesPerSecond !== null && p.receivedBytes < SIZE);
  assert.ok(measured && measured.bytesPerSecond! > 0 && measured.etaSeconds! > 0, 'a rate and an ETA once measurable');
});

test('an interrupted transfer keeps its .part and the next call resumes with Range', async () => {
  await assert.rejects(downloadModelFile(request('resumed', '/cut')), (error: DownloadError) => error.code === 'network' && /resume/.test(error.message));
  const kept = (await stat(partFilePath(dir, 'resumed'))).size;
  // What reached the file before the cut (at most the 1 MB sent; a loaded machine may see less).
  assert.ok(kept > 0 && kept <= 1024 * 1024, `kept ${kept} bytes`);
  ranges.length = 0;
  const path = await downloadModelFile(request('resumed', '/file'));
  assert.deepEqual(ranges, [`bytes=${kept}-`], 'only the rest was asked for');
  assert.deepEqual(await readFile(path), data, 'the resumed file hashes right');
});

test('a server that ignores Range restarts the file from zero, still correct', async () => {
  await writeFile(partFilePath(dir, 'norange'), data.subarray(0, 1000));
  const path = await downloadModelFile(request('norange', '/norange'));
  assert.deepEqual(await readFile(path), data);
});

test('a sha256 mismatch deletes the download and installs nothing', async () => {
  await assert.rejects(downloadModelFile(request('wrong', '/wrong')), (error: DownloadError) => error.code === 'bad-hash' && /nothing was installed/.test(error.message));
  assert.equal(existsSync(modelFilePath(dir, 'wrong')), false);
  assert.equal(existsSync(partFilePath(dir, 'wrong')), false);
});

test('not enough disk space is refused before any byte is fetched', async () => {
  ranges.length = 0;
  const free = async () => SIZE + DISK_MARGIN_BYTES - 1;
  await assert.rejects(downloadModelFile(request('full', '/file', { freeBytes: free })), (error: DownloadError) => error.code === 'no-space' && /Not enough disk space/.test(error.message));
  assert.equal(ranges.length, 0);
  assert.equal(existsSync(partFilePath(dir, 'full')), false);
});

test('the real statfs check passes on this disk for a small file', async () => {
  const { freeBytes: _omit, ...rest } = request('statfs', '/file');
  assert.ok(await downloadModelFile(rest));
});

test('cancel (manager): the push says cancelled, the .part stays, Download resumes it', async () => {
  const views: DownloadView[] = [];
  let installed = '';
  const manager = new DownloadManager(dir, (view) => views.push(view), (_id, path) => (installed = path));
  const first = manager.start({ id: 'cancelled', url: `${base}/slow`, sizeBytes: SIZE, sha256, freeBytes: plenty }, 0);
  assert.equal(first.state, 'downloading');
  while (!views.some((v) => v.receivedBytes > 256 * 1024)) await new Promise((r) => setTimeout(r, 20));
  const stopped = await manager.cancel('cancelled');
  assert.equal(stopped?.state, 'cancelled');
  const kept = (await stat(partFilePath(dir, 'cancelled'))).size;
  assert.ok(kept > 0 && kept < SIZE, `part kept (${kept} bytes)`);
  assert.equal(manager.view('cancelled'), null, 'a cancel is not a failure to show');
  manager.start({ id: 'cancelled', url: `${base}/file`, sizeBytes: SIZE, sha256, freeBytes: plenty }, kept);
  while (!views.some((v) => v.state === 'done')) await new Promise((r) => setTimeout(r, 20));
  assert.equal(installed, modelFilePath(dir, 'cancelled'));
  assert.deepEqual(await readFile(installed), data);
});

test('a failed download (manager) is kept with its reason until retried', async () => {
  const views: DownloadView[] = [];
  const manager = new DownloadManager(dir, (view) => views.push(view));
  manager.start({ id: 'failing', url: `${base}/wrong`, sizeBytes: SIZE, sha256, freeBytes: plenty }, 0);
  while (!views.some((v) => v.state === 'failed')) await new Promise((r) => setTimeout(r, 20));
  assert.match(manager.view('failing')?.error ?? '', /does not match the catalog/);
});
