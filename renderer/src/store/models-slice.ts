/**
 * The Models screen: the coordinator's catalog as this PC sees it (installed, active, fit),
 * downloads (live from the `download` push), switching the served model and removing one.
 */
import type { AppError, DownloadView, ModelCatalogView } from '../../../main/ipc/contract.js';
import type { SliceCreator } from './app-store.js';
import { fromResult, idle, loading, ready, type Loadable } from './loadable.js';

/** State and actions of the Models screen. */
export interface ModelsSlice {
  modelCatalog: Loadable<ModelCatalogView>;
  /** Live downloads by model id (from pushes; survive catalog reloads). */
  downloads: Record<string, DownloadView>;
  /** The model being switched to while `useModel` runs. */
  switchingTo: string | null;
  /** The last failed action (download, switch, remove), shown above the catalog. */
  modelsError: AppError | null;
  loadModelCatalog(): Promise<void>;
  /** Reloads the catalog without showing it as loading (a switch's progress). */
  refreshCatalog(): Promise<void>;
  downloadModel(id: string): Promise<void>;
  cancelDownload(id: string): Promise<void>;
  useModel(id: string): Promise<void>;
  removeModel(id: string): Promise<void>;
  /** Writes a `download` push; a finished download reloads the catalog (installed flags). */
  onDownload(view: DownloadView): void;
}

/** The models slice. */
export const createModelsSlice: SliceCreator<ModelsSlice> = (set, get, api) => ({
  modelCatalog: idle(),
  downloads: {},
  switchingTo: null,
  modelsError: null,
  loadModelCatalog: async () => {
    set((s) => ({ modelCatalog: loading(s.modelCatalog) }));
    // The installed list comes from this PC alone, so it shows even when the coordinator is down.
    const [result] = await Promise.all([api.getModelCatalog(), get().loadModels()]);
    set((s) => ({ modelCatalog: fromResult(result, s.modelCatalog) }));
  },
  refreshCatalog: async () => {
    const result = await api.getModelCatalog();
    if (result.ok) set({ modelCatalog: ready(result.value) });
  },
  downloadModel: async (id) => {
    set({ modelsError: null });
    const result = await api.downloadModel({ id });
    if (!result.ok) set({ modelsError: result.error });
    else get().onDownload(result.value);
  },
  cancelDownload: async (id) => {
    const result = await api.cancelDownload({ id });
    if (!result.ok) set({ modelsError: result.error });
    else if (result.value) get().onDownload(result.value);
  },
  useModel: async (id) => {
    set({ switchingTo: id, modelsError: null });
    const result = await api.useModel({ id });
    set((s) => ({ switchingTo: null, modelsError: result.ok ? null : result.error, modelCatalog: result.ok ? ready(result.value) : s.modelCatalog }));
    if (result.ok) await get().loadModels();
    else await get().loadModelCatalog();
  },
  removeModel: async (id) => {
    set({ modelsError: null });
    const result = await api.removeModel({ id });
    if (!result.ok) set({ modelsError: result.error });
    // A finished or stopped download of it no longer describes this PC.
    else set((s) => ({ downloads: Object.fromEntries(Object.entries(s.downloads).filter(([key]) => key !== id)) }));
    await get().loadModelCatalog();
  },
  onDownload: (view) => {
    const previous = get().downloads[view.id];
    set((s) => ({ downloads: { ...s.downloads, [view.id]: view } }));
    if (view.state !== 'downloading' && view.state !== 'verifying' && previous?.state !== view.state) void get().loadModelCatalog();
  },
});
