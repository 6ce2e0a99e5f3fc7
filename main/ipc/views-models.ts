/**
 * What the Models screen shows: the coordinator's catalog with what is installed and active
 * here, how well each model fits this PC, downloads in progress and a model switch under way.
 * Pure types (re-exported by views.ts).
 */
import type { InstalledModel } from './views.js';
import type { DownloadView } from '../models/download-view.js';

/** How well a model fits this PC (see main/models/vram-fit.ts). */
export type FitVerdictView = 'fits-gpu' | 'partial-gpu' | 'cpu-only' | 'too-big' | 'unknown';

/** The memory estimate of a model and the verdict (the screen writes the figures with its one byte format). */
export interface ModelFitView {
  verdict: FitVerdictView;
  /** Estimated bytes needed (weights + KV cache + overhead). */
  needsBytes: number;
  /** False when the GGUF header could not be read: the KV cache was guessed. */
  exact: boolean;
  /** Share of the model that fits in the GPU (0–1); null without GPU figures. */
  gpuShare: number | null;
}

export type { DownloadView } from '../models/download-view.js';

/** A switch of the served model under way (or failed). */
export interface ModelSwitchView {
  id: string;
  state: 'waiting-for-jobs' | 'loading' | 'failed';
  /** Jobs it waits for before unloading (running jobs are never cut). */
  waitingJobs: number;
  error: string | null;
}

/** One model of the catalog as this PC sees it. */
export interface CatalogItemView {
  id: string;
  name: string;
  description: string;
  sizeBytes: number;
  sha256: string;
  quantization: string;
  parameters: string | null;
  contextLength: number;
  license: string | null;
  /** Downloaded and verified on this PC. */
  installed: boolean;
  /** The model this worker serves now. */
  active: boolean;
  /** Bytes of an interrupted download kept for resuming (0: none). */
  partialBytes: number;
  fit: ModelFitView;
  /** What this PC would earn per hour serving it at full load, at the network's prices now; null when it cannot be estimated. */
  estimate: { tokensPerSecond: number; nanotonsPerHour: string } | null;
  download: DownloadView | null;
}

/** What the fit verdicts were measured against. */
export interface HardwareView {
  gpuName: string | null;
  /** The largest GPU's memory; null without GPU telemetry. */
  vramBytes: number | null;
  ramBytes: number;
  /** The engine's backend ('cpu', 'cuda', …); null before it first loaded. */
  engineGpu: string | null;
}

/** The whole Models screen: the answer of `getModelCatalog`. */
export interface ModelCatalogView {
  coordinator: string;
  models: CatalogItemView[];
  installed: InstalledModel[];
  hardware: HardwareView;
  switching: ModelSwitchView | null;
  /** The model that would earn most on this PC (see main/app/model-advice.ts); null when none can be estimated. */
  recommendedId: string | null;
}
