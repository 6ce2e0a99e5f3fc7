/**
 * The Models verbs end to end on the real worker core: a coordinator publishing the demo
 * catalog (tiny model serving, bench model to download), a headless worker running llama.cpp
 * in its job process, and the app services. Download → verify → "Use this model" while a job
 * runs (the job is not cut) → the coordinator routes the new model id to this worker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from '../network/coordinator/server.js';
import { createLogger as createCoordinatorLogger } from '../network/coordinator/log.js';
import { startWorkerCore, type WorkerCore } from '../main/worker/worker-core.js';
import { createLogger } from '../network/node-kit/log.js';
import { successorText, writeTestModel } from '../main/models/test-model.js';
import { DEMO_BENCH_MODEL_ID, makeDemoCatalog } from '../main/models/catalog-demo.js';
import { chooseStartModel } from '../main/models/catalog-choice.js';
import { assembleApp, type AppServices } from '../main/app/assemble-app.js';
import type { DownloadView } from '../main/ipc/views-models.js';
import type { Signals } from '../main/sharing/signals.js';

const AWAY: Signals = { idleSeconds: 3600, screenLocked: false, localSession: true, fullscreen: { detected: false }, game: { detected: false }, gpu: null, battery: null };

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('models: download, verify and switch the served model', () => {
  let dir = '';
  let coordinator: Coordinator;
  let core: WorkerCore;
  let services: AppServices;
  let dataDir = '';
  const downloads: DownloadView[] = [];

  const chat = async (model: string, content: string, maxTokens: number) => {
    const response = await fetch(`${coordinator.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 0 }),
    });
    const body = (await response.json()) as { choices?: { message: { content: string }; finish_reason: string }[]; usage?: { completion_tokens: number } };
    return { status: response.status, text: body.choices?.[0]?.message.content, finish: body.choices?.[0]?.finish_reason, tokens: body.usage?.completion_tokens };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'silkworm-models-'));
    const modelPath = join(dir, 'silkworm-test.gguf');
    await writeTestModel(modelPath);
    const catalogDir = join(dir, 'catalog');
    coordinator = await startCoordinator({
      host: '127.0.0.1',
      port: 0,
      dataDir: join(dir, 'coordinator'),
      apiKeys: [],
      unmetered: true,
      catalog: { catalog: await makeDemoCatalog(catalogDir, modelPath), dir: catalogDir },
      logger: createCoordinatorLogger('coordinator', { level: 'silent' }),
    });
    dataDir = join(dir, 'worker');
    core = await startWorkerCore({
      coordinatorUrl: coordinator.url,
      dataDir,
      modelPath,
      threads: 1,
      sandbox: false,
      logger: createLogger('worker', { level: 'silent' }),
      signalSource: { read: async () => AWAY },
      sharingPollMs: 200,
      reconnect: { minDelayMs: 20, maxDelayMs: 200 },
    });
    services = await assembleApp({ core, shell: { kind: 'dashboard' }, coordinatorUrl: coordinator.url, modelPath, dataDir, network: 'testnet' });
    services.subscribe((name, payload) => {
      if (name === 'download') downloads.push(payload as DownloadView);
    });
    await until(() => [...coordinator.registry.all()].some((w) => w.available), 'the worker to share');
  });

  after(async () => {
    services.close();
    await core.stop();
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the catalog shows the serving tiny model and the bench model to download, with a fit', async () => {
    const catalog = await services.handlers.getModelCatalog(undefined);
    assert.ok(catalog.ok, JSON.stringify(catalog));
    const [tiny, bench] = catalog.value.models;
    assert.equal(tiny?.id, 'silkworm-test');
    assert.ok(tiny.active && tiny.installed);
    assert.equal(bench?.id, DEMO_BENCH_MODEL_ID);
    assert.ok(!bench.active && !bench.installed);
    assert.equal(bench.fit.exact, true, 'the header was read over HTTP from the coordinator');
    assert.ok(bench.fit.needsBytes > bench.sizeBytes);
    assert.equal(catalog.value.hardware.engineGpu, core.engineInfo.gpu);
    // No GPU telemetry here: the verdict is CPU only when llama.cpp runs on the CPU, else unknown.
    assert.equal(bench.fit.verdict, core.engineInfo.gpu === 'cpu' ? 'cpu-only' : 'unknown');
  });

  test('a model that is not downloaded cannot be used, and the served one cannot be removed', async () => {
    const use = await services.handlers.useModel({ id: DEMO_BENCH_MODEL_ID });
    assert.equal(!use.ok && use.error.code, 'unavailable');
    const remove = await services.handlers.removeModel({ id: 'silkworm-test' });
    assert.equal(!remove.ok && remove.error.code, 'unsupported');
  });

  test('download: progress pushes up to the total, then done; the file is installed', async () => {
    const started = await services.handlers.downloadModel({ id: DEMO_BENCH_MODEL_ID });
    assert.ok(started.ok);
    await until(() => downloads.some((d) => d.state === 'done'), 'the download to finish');
    assert.ok(downloads.some((d) => d.state === 'downloading'));
    assert.equal(downloads.at(-1)?.receivedBytes, downloads.at(-1)?.totalBytes);
    const catalog = await services.handlers.getModelCatalog(undefined);
    assert.ok(catalog.ok);
    assert.equal(catalog.value.models[1]?.installed, true);
    assert.equal(catalog.value.installed.length, 2);
  });

  test('use this model: a running job finishes first, then the coordinator routes the new id here', async () => {
    const jobModels: string[] = [];
    core.worker.on('job-started', ({ model }) => jobModels.push(model));
    const long = chat('silkworm-test', 'abc', 1500);
    await until(() => core.worker.activeJobs > 0, 'the long job to start');
    const switched = services.handlers.useModel({ id: DEMO_BENCH_MODEL_ID });
    let answered = false;
    void long.then(() => (answered = true));
    let during = await services.handlers.getModelCatalog(undefined);
    while (during.ok && during.value.switching === null && !answered) during = await services.handlers.getModelCatalog(undefined);
    assert.ok(during.ok && !answered, 'the switch is seen while the job still runs');
    assert.deepEqual(during.value.switching, { id: DEMO_BENCH_MODEL_ID, state: 'waiting-for-jobs', waitingJobs: 1, error: null });
    const answer = await long;
    assert.equal(answer.status, 200);
    assert.equal(answer.tokens, 1500, 'the running job was not cut');
    assert.equal(answer.finish, 'length');
    const result = await switched;
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.value.models.find((m) => m.active)?.id, DEMO_BENCH_MODEL_ID);
    assert.equal(core.worker.model.id, DEMO_BENCH_MODEL_ID);
    await until(() => coordinator.registry.get(core.workerId)?.models.has(DEMO_BENCH_MODEL_ID) === true && coordinator.registry.get(core.workerId)?.available === true, 'the worker to re-announce');
    assert.deepEqual([...(coordinator.registry.get(core.workerId)?.models ?? [])], [DEMO_BENCH_MODEL_ID]);

    const served = await chat(DEMO_BENCH_MODEL_ID, 'abc', 12);
    assert.equal(served.status, 200);
    assert.equal(served.text, successorText('abc', 12));
    assert.equal(jobModels.at(-1), DEMO_BENCH_MODEL_ID, 'the worker ran it as the bench model');
    const old = await chat('silkworm-test', 'abc', 4);
    assert.equal(old.status, 404, 'nobody serves the tiny model any more');
  });

  test('the choice is remembered for the next start, and the model served can no longer be removed', async () => {
    const stored = JSON.parse(await readFile(join(dataDir, 'app-settings.json'), 'utf8')) as { modelPath?: string };
    assert.equal(stored.modelPath, join(dataDir, 'models', `${DEMO_BENCH_MODEL_ID}.gguf`));
    assert.equal(chooseStartModel(undefined, stored.modelPath).path, stored.modelPath);
    assert.equal(chooseStartModel('/other.gguf', stored.modelPath).path, '/other.gguf', '--model still overrides');
    const remove = await services.handlers.removeModel({ id: DEMO_BENCH_MODEL_ID });
    assert.equal(!remove.ok && remove.error.code, 'unsupported');
    const doctor = await services.handlers.getDoctor(undefined);
    assert.ok(doctor.ok);
  });

  test('switching back to the model it started with, then removing the downloaded one', async () => {
    const back = await services.handlers.useModel({ id: 'silkworm-test' });
    assert.ok(back.ok, JSON.stringify(back));
    await until(() => coordinator.registry.get(core.workerId)?.models.has('silkworm-test') === true && coordinator.registry.get(core.workerId)?.available === true, 'the worker to re-announce the tiny model');
    assert.equal((await chat('silkworm-test', 'xyz', 5)).text, successorText('xyz', 5));
    const removeStart = await services.handlers.removeModel({ id: 'silkworm-test' });
    assert.equal(!removeStart.ok && removeStart.error.code, 'unsupported');
    const removed = await services.handlers.removeModel({ id: DEMO_BENCH_MODEL_ID });
    assert.ok(removed.ok);
    assert.deepEqual(removed.value.map((m) => m.id), ['silkworm-test']);
    const catalog = await services.handlers.getModelCatalog(undefined);
    assert.ok(catalog.ok && catalog.value.models[1]?.installed === false);
  });
});
