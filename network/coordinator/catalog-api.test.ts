import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from './server.js';
import { createLogger } from './log.js';
import { loadCatalogFile, parseRange } from './catalog-api.js';
import { parseCatalog, resolveCatalogUrl, type Catalog } from '../protocol/catalog.js';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const entry = (over: Record<string, unknown> = {}) => ({ id: 'tiny', name: 'Tiny', url: 'files/tiny.gguf', sizeBytes: 10, sha256: 'a'.repeat(64), quantization: 'F32', contextLength: 2048, ...over });

describe('catalog schema', () => {
  test('a good catalog parses, with defaults filled in', () => {
    const parsed = parseCatalog({ models: [entry({ parameters: '1M', license: 'MIT' }), entry({ id: 'big', url: 'https://example.org/big.gguf' })] });
    assert.ok(parsed.ok);
    assert.equal(parsed.value.models[0]?.description, '');
  });

  for (const [why, models] of [
    ['a bad sha256', [entry({ sha256: 'xyz' })]],
    ['an id with a slash', [entry({ id: 'a/b' })]],
    ['a URL climbing out with ..', [entry({ url: 'files/../../etc/passwd' })]],
    ['an absolute path', [entry({ url: '/etc/passwd' })]],
    ['a file: URL', [entry({ url: 'file:///etc/passwd' })]],
    ['a negative size', [entry({ sizeBytes: -1 })]],
    ['an unknown field', [entry({ vram: 1 })]],
    ['duplicate ids', [entry(), entry()]],
  ] as const) {
    test(`refuses ${why}`, () => assert.equal(parseCatalog({ models }).ok, false));
  }

  test('relative URLs resolve against the catalog on the coordinator', () => {
    assert.equal(resolveCatalogUrl('files/tiny.gguf', 'http://127.0.0.1:8787'), 'http://127.0.0.1:8787/v1/files/tiny.gguf');
    assert.equal(resolveCatalogUrl('https://cdn.example/x.gguf', 'http://127.0.0.1:8787'), 'https://cdn.example/x.gguf');
  });

  test('Range headers: start-, start-end, suffix, and unsatisfiable ones', () => {
    assert.deepEqual(parseRange('bytes=5-', 10), { start: 5, end: 9 });
    assert.deepEqual(parseRange('bytes=2-4', 10), { start: 2, end: 4 });
    assert.deepEqual(parseRange('bytes=-3', 10), { start: 7, end: 9 });
    assert.equal(parseRange('bytes=10-', 10), 'invalid');
    assert.equal(parseRange('items=1-2', 10), 'invalid');
    assert.equal(parseRange(undefined, 10), null);
  });
});

describe('a coordinator publishing a catalog', () => {
  let dir = '';
  let coordinator: Coordinator;
  const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
  let catalog: { models: Record<string, unknown>[] };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'silkworm-catalog-'));
    const served = join(dir, 'served');
    await mkdir(served);
    await writeFile(join(served, 'tiny.gguf'), data);
    await writeFile(join(served, 'secret.txt'), 'not listed');
    await writeFile(join(dir, 'outside.txt'), 'not for you');
    await symlink(join(dir, 'outside.txt'), join(served, 'linked.gguf'));
    catalog = { models: [entry({ sizeBytes: data.length, sha256: sha(data), description: 'd' }), entry({ id: 'linked', url: 'files/linked.gguf' })] };
    await writeFile(join(served, 'catalog.json'), JSON.stringify(catalog));
    const loaded = await loadCatalogFile(join(served, 'catalog.json'));
    coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'coordinator'), apiKeys: ['sk-only'], catalog: loaded, logger: createLogger('coordinator', { level: 'silent' }) });
  });
  after(async () => {
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a bad catalog file is a clear startup error', async () => {
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ models: [entry({ sha256: 'nope' })] }));
    await assert.rejects(loadCatalogFile(join(dir, 'bad.json')), /bad\.json is not a valid catalog:[\s\S]*sha256/);
    await writeFile(join(dir, 'broken.json'), '{ models: ');
    await assert.rejects(loadCatalogFile(join(dir, 'broken.json')), /not valid JSON/);
    await assert.rejects(loadCatalogFile(join(dir, 'missing.json')), /cannot read .*no such file/);
  });

  test('GET /v1/catalog is public (no API key) and answers the catalog', async () => {
    const response = await fetch(`${coordinator.url}/v1/catalog`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as Catalog;
    assert.deepEqual(body.models.map((m) => m.id), ['tiny', 'linked']);
    assert.equal(body.models[0]?.sha256, sha(data));
    const models = await fetch(`${coordinator.url}/v1/models`);
    assert.equal(models.status, 401, 'the rest of the API still needs a key');
  });

  test('serves a listed file whole and by Range', async () => {
    const whole = await fetch(`${coordinator.url}/v1/files/tiny.gguf`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), data);
    const part = await fetch(`${coordinator.url}/v1/files/tiny.gguf`, { headers: { range: 'bytes=4000-' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 4000-4999/${data.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), data.subarray(4000));
    const beyond = await fetch(`${coordinator.url}/v1/files/tiny.gguf`, { headers: { range: 'bytes=9000-' } });
    assert.equal(beyond.status, 416);
    const head = await fetch(`${coordinator.url}/v1/files/tiny.gguf`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(data.length));
  });

  test('path traversal, unlisted files and symlinks out of the folder are refused', async () => {
    for (const path of ['..%2Fcatalog.json', '%2E%2E%2Fsecret.txt', '.hidden', 'a%5Cb']) {
      const response = await fetch(`${coordinator.url}/v1/files/${path}`);
      assert.equal(response.status, 400, path);
    }
    const unlisted = await fetch(`${coordinator.url}/v1/files/secret.txt`);
    assert.equal(unlisted.status, 404);
    const raw = await fetch(`${coordinator.url}/v1/files/../catalog.json`);
    assert.notEqual(raw.status, 200);
    const linked = await fetch(`${coordinator.url}/v1/files/linked.gguf`);
    assert.equal(linked.status, 404, 'a symlink leading outside the served folder is not followed');
  });
});
