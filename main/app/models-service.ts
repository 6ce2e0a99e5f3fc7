/**
 * The Models screen's verbs on the real worker core: the coordinator's catalog with fit
 * verdicts, downloads into `<dataDir>/models/` (progress pushed as `download`), switching the
 * served model (after the running job ends; remembered in app-settings.json) and removing a
 * downloaded model (never the one being served).
 */
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { resolveCatalogUrl, type Catalog, type CatalogModel } from '../../network/protocol/catalog.js';
import { describeModelFile, type ModelFile } from '../models/model-file.js';
import { DownloadManager } from '../models/download-manager.js';
import { modelFilePath } from '../models/download.js';
import { readModelShape } from '../models/vram-fit-gguf.js';
import type { ModelShape } from '../models/vram-fit.js';
import type { WorkerCore } from '../worker/worker-core.js';
import type { Logger } from '../../network/node-kit/log.js';
import type { VerbHandlers } from '../ipc/dispatch.js';
import { fail, ok, type Result } from '../ipc/result.js';
import type { AppSettingsStore } from './settings-store.js';
import type { InstalledModel } from '../ipc/views.js';
import type { DownloadView, ModelCatalogView, ModelSwitchView } from '../ipc/views-models.js';
import { catalogItem, fetchCatalog, hardwareOf, scanModelsDir } from './models-service-catalog.js';
import { recommendModel, type MeasuredSpeed } from './model-advice.js';

/** What the models service is built from. */
export interface ModelsServiceOptions {
  core: WorkerCore;
  coordinatorUrl: string;
  /** The model the worker was started with (used when the core does not say). */
  modelPath: string;
  dataDir: string;
  /** The app's settings store (the chosen model is remembered there). */
  store: AppSettingsStore;
  /** Sends the `download` push. */
  push: (view: DownloadView) => void;
  logger?: Logger;
  fetch?: typeof fetch;
  readShape?: (source: string) => Promise<ModelShape | null>;
  ramBytes?: number;
}

type ModelVerbs = Pick<VerbHandlers, 'listModels' | 'getModelCatalog' | 'downloadModel' | 'cancelDownload' | 'useModel' | 'removeModel'>;

/** The Models verbs, the active model for other verbs (Doctor), and shutdown. */
export interface ModelsService {
  handlers: ModelVerbs;
  activeModel(): Promise<InstalledModel>;
  close(): Promise<void>;
}

/** Builds the Models verbs over one worker core. */
export function createModelsService(options: ModelsServiceOptions): ModelsService {
  const { core, dataDir, store } = options;
  const modelsDir = join(dataDir, 'models');
  const doFetch = options.fetch ?? fetch;
  const readShape = options.readShape ?? readModelShape;
  const shapes = new Map<string, Promise<ModelShape | null>>();
  let catalog: Catalog | null = null;
  let switching: ModelSwitchView | null = null;
  let startModel: Promise<ModelFile> | undefined;
  // describeModelFile writes a shared hash cache (tmp + rename): two at once would race, so one at a time.
  let describing: Promise<unknown> = Promise.resolve();
  const describe = (path: string): Promise<ModelFile> => {
    const next = describing.then(() => describeModelFile(path, dataDir));
    describing = next.catch(() => undefined);
    return next;
  };
  // The last speed measured for a served model: the base of every other model's estimate.
  let measured: MeasuredSpeed | null = null;
  const measure = async () => {
    const info = core.engine.info ?? core.engineInfo;
    if (info && info.tokensPerSecond > 0) measured = { sizeBytes: (await currentModel()).sizeBytes, tokensPerSecond: info.tokensPerSecond };
    return measured;
  };
  const downloads = new DownloadManager(modelsDir, options.push, (id, path) => options.logger?.info({ model: id, path }, 'model downloaded and verified'));

  /** The model served now: the worker's own record, else the file it was started with. */
  const currentModel = async (): Promise<ModelFile> => {
    const live = (core.worker as { model?: ModelFile }).model;
    if (live) return live;
    startModel ??= describe(options.modelPath);
    return startModel;
  };
  /** The models folder, plus the file the worker was started with (it can be switched back to). */
  const scanInstalled = async () => {
    const files = await scanModelsDir(modelsDir);
    startModel ??= describe(options.modelPath);
    const start = await startModel.catch(() => null);
    if (start && !files.installed.has(start.id)) files.installed.set(start.id, start.path);
    return files;
  };
  const activeModel = async (): Promise<InstalledModel> => ({ ...(await currentModel()), loaded: core.engine.info !== undefined });
  const shapeOf = (entry: CatalogModel, source: string) => {
    let shape = shapes.get(entry.sha256);
    if (!shape) {
      shape = readShape(source);
      shapes.set(entry.sha256, shape);
      // A header that could not be read (coordinator briefly down) is tried again next time.
      void shape.then((value) => value ?? shapes.delete(entry.sha256));
    }
    return shape;
  };
  const loadCatalog = async (): Promise<Result<Catalog>> => {
    try {
      catalog = await fetchCatalog(options.coordinatorUrl, doFetch);
      return ok(catalog);
    } catch (error) {
      return fail('unreachable', error instanceof Error ? error.message : String(error));
    }
  };
  const entryFor = async (id: string): Promise<Result<CatalogModel>> => {
    const found = catalog?.models.find((m) => m.id === id);
    if (found) return ok(found);
    const fresh = await loadCatalog();
    if (!fresh.ok) return fresh;
    const entry = fresh.value.models.find((m) => m.id === id);
    return entry ? ok(entry) : fail('unavailable', `The coordinator's catalog has no model '${id}'.`);
  };

  const listModels = async (): Promise<InstalledModel[]> => {
    const active = await activeModel();
    const { installed } = await scanInstalled();
    const others = await Promise.all(
      [...installed.values()].filter((path) => resolve(path) !== resolve(active.path)).map(async (path) => ({ ...(await describe(path)), loaded: false })),
    );
    return [active, ...others];
  };

  const getModelCatalog = async (): Promise<Result<ModelCatalogView>> => {
    const loaded = await loadCatalog();
    if (!loaded.ok) return loaded;
    const active = await currentModel();
    const files = await scanInstalled();
    const devices = core.sharing.snapshot().signals?.gpu?.devices ?? [];
    const hardware = hardwareOf(devices, core.engine.info?.gpu ?? core.engineInfo?.gpu ?? null, options.ramBytes);
    const context = { coordinatorUrl: options.coordinatorUrl, modelsDir, active, files, hardware, shapeOf, download: (id: string) => downloads.view(id), measured: core.engine.info ? await measure() : measured ?? (await measure()), pricing: core.worker.terms?.pricing };
    const models = await Promise.all(loaded.value.models.map((entry) => catalogItem(entry, context)));
    const recommendedId = recommendModel(models.map((item) => ({ id: item.id, verdict: item.fit.verdict, estimate: item.estimate ? { tokensPerSecond: item.estimate.tokensPerSecond, nanotonsPerHour: BigInt(item.estimate.nanotonsPerHour) } : null })));
    return ok({ coordinator: options.coordinatorUrl, models, installed: await listModels(), hardware, switching, recommendedId });
  };

  const handlers: ModelVerbs = {
    listModels: async () => ok(await listModels()),
    getModelCatalog,
    downloadModel: async ({ id }) => {
      const entry = await entryFor(id);
      if (!entry.ok) return entry;
      const files = await scanInstalled();
      if (files.installed.has(id)) return ok({ id, state: 'done', receivedBytes: entry.value.sizeBytes, totalBytes: entry.value.sizeBytes, bytesPerSecond: null, etaSeconds: 0, error: null });
      const url = resolveCatalogUrl(entry.value.url, options.coordinatorUrl);
      options.logger?.info({ model: id, sizeBytes: entry.value.sizeBytes }, 'model download started');
      return ok(downloads.start({ id, url, sizeBytes: entry.value.sizeBytes, sha256: entry.value.sha256, fetch: doFetch }, files.partial.get(id) ?? 0));
    },
    cancelDownload: async ({ id }) => ok(await downloads.cancel(id)),
    useModel: async ({ id }) => {
      if (switching && switching.state !== 'failed') return fail('unavailable', `Already switching to ${switching.id}; wait until it has loaded.`);
      const active = await currentModel();
      if (active.id !== id) {
        const path = (await scanInstalled()).installed.get(id);
        if (!path) return fail('unavailable', `'${id}' is not downloaded yet: download it first.`);
        const model = await describe(path);
        const waiting = core.worker.activeJobs;
        switching = { id, state: waiting > 0 ? 'waiting-for-jobs' : 'loading', waitingJobs: waiting, error: null };
        try {
          await core.worker.switchModel(model, (state, jobs) => (switching = { id, state, waitingJobs: jobs, error: null }));
        } catch (error) {
          const message = `Could not load ${id} (${error instanceof Error ? error.message : String(error)}); still serving ${active.id}.`;
          switching = { id, state: 'failed', waitingJobs: 0, error: message };
          return fail('unavailable', message);
        }
        switching = null;
        await store.update({ modelPath: model.path });
      }
      return getModelCatalog();
    },
    removeModel: async ({ id }) => {
      const active = await currentModel();
      const path = modelFilePath(modelsDir, id);
      if (active.id === id || resolve(active.path) === resolve(path)) return fail('unsupported', `'${id}' is the model this worker serves; switch to another one before removing it.`);
      const start = await startModel?.catch(() => null);
      if (start?.id === id && resolve(start.path) !== resolve(path)) return fail('unsupported', `'${id}' was not downloaded by this app (${start.path}); delete that file yourself if you no longer need it.`);
      await downloads.discard(id);
      await rm(path, { force: true });
      options.logger?.info({ model: id }, 'model removed');
      return ok(await listModels());
    },
  };

  return { handlers, activeModel, close: () => downloads.close() };
}
