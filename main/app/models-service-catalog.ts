/**
 * Builds the Models screen's view: the coordinator's catalog read over HTTP, what lies in
 * `<dataDir>/models/`, the hardware the fit verdicts are measured against, and each entry's
 * memory estimate (from its GGUF header, read once per sha256).
 */
import { readdir, stat } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { CATALOG_PATH, catalogSchema, resolveCatalogUrl, type Catalog, type CatalogModel } from '../../network/protocol/catalog.js';
import { estimateMemory, judgeFit, type ModelShape } from '../models/vram-fit.js';
import type { GpuDevice } from '../sharing/signals.js';
import type { CatalogItemView, DownloadView, HardwareView, ModelFitView } from '../ipc/views-models.js';
import type { CoordinatorTerms } from '../worker/worker.js';
import { estimateEarning, type MeasuredSpeed } from './model-advice.js';
import { readJsonBounded } from '../../network/node-kit/response-body.js';

/** Largest catalog read from a coordinator (thousands of entries fit in far less). */
const MAX_CATALOG_BYTES = 4 * 1024 * 1024;

/** Reads the catalog a coordinator publishes; throws an Error saying why it could not. */
export async function fetchCatalog(coordinatorUrl: string, doFetch: typeof fetch = fetch, timeoutMs = 10_000): Promise<Catalog> {
  const url = new URL(CATALOG_PATH, coordinatorUrl).toString();
  let response: Response;
  try {
    response = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new Error(`Cannot reach the coordinator at ${coordinatorUrl} to read its model catalog (${error instanceof Error ? error.message : String(error)}).`);
  }
  if (response.status === 404) throw new Error(`The coordinator at ${coordinatorUrl} publishes no model catalog (it may be an older version).`);
  if (!response.ok) throw new Error(`The coordinator answered ${response.status} for its model catalog.`);
  const parsed = catalogSchema.safeParse(await readJsonBounded(response, MAX_CATALOG_BYTES).catch(() => null));
  if (!parsed.success) throw new Error('The coordinator sent a model catalog this app cannot read.');
  return parsed.data;
}

/** The hardware a verdict compares with: the largest GPU (telemetry), RAM, the engine's backend. */
export function hardwareOf(devices: readonly GpuDevice[], engineGpu: string | null, ramBytes = totalmem()): HardwareView {
  const withMemory = devices.filter((device) => device.memoryTotalMb !== null);
  const largest = withMemory.reduce<GpuDevice | null>((best, device) => (!best || (device.memoryTotalMb ?? 0) > (best.memoryTotalMb ?? 0) ? device : best), null);
  return {
    gpuName: largest?.name ?? devices[0]?.name ?? null,
    vramBytes: largest?.memoryTotalMb ? largest.memoryTotalMb * 1024 * 1024 : null,
    ramBytes,
    engineGpu,
  };
}

/** Files in the models folder: installed `<id>.gguf` and interrupted `<id>.gguf.part` sizes. */
export async function scanModelsDir(dir: string): Promise<{ installed: Map<string, string>; partial: Map<string, number> }> {
  const installed = new Map<string, string>();
  const partial = new Map<string, number>();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (name.endsWith('.gguf')) installed.set(name.slice(0, -'.gguf'.length), join(dir, name));
    else if (name.endsWith('.gguf.part')) partial.set(name.slice(0, -'.gguf.part'.length), await stat(join(dir, name)).then((info) => info.size, () => 0));
  }
  return { installed, partial };
}

/** The fit of one entry on this hardware. */
export function fitOf(entry: CatalogModel, shape: ModelShape | null, hardware: HardwareView): ModelFitView {
  const estimate = estimateMemory(entry.sizeBytes, entry.contextLength, shape);
  const fit = judgeFit(estimate.totalBytes, { vramBytes: hardware.vramBytes, ramBytes: hardware.ramBytes, engineGpu: hardware.engineGpu });
  return { verdict: fit.verdict, needsBytes: estimate.totalBytes, exact: shape !== null, gpuShare: fit.gpuShare };
}

/** Everything one catalog card needs. */
export interface ItemContext {
  coordinatorUrl: string;
  modelsDir: string;
  active: { id: string; sha256: string; path: string };
  files: { installed: Map<string, string>; partial: Map<string, number> };
  hardware: HardwareView;
  shapeOf: (entry: CatalogModel, source: string) => Promise<ModelShape | null>;
  download: (id: string) => DownloadView | null;
  /** What this PC measured for the model it serves, and the network's prices (for the earning estimate). */
  measured: MeasuredSpeed | null;
  pricing: CoordinatorTerms['pricing'] | undefined;
}

/** One catalog card: flags, fit (header read from the local file when installed, else the URL). */
export async function catalogItem(entry: CatalogModel, context: ItemContext): Promise<CatalogItemView> {
  const active = context.active.id === entry.id && context.active.sha256 === entry.sha256;
  const localPath = context.files.installed.get(entry.id);
  const installed = active || localPath !== undefined;
  const source = localPath ?? (active ? context.active.path : resolveCatalogUrl(entry.url, context.coordinatorUrl));
  const shape = await context.shapeOf(entry, source);
  const fit = fitOf(entry, shape, context.hardware);
  const estimate = estimateEarning({ id: entry.id, sizeBytes: entry.sizeBytes, verdict: fit.verdict }, context.measured, context.pricing);
  return {
    id: entry.id,
    name: entry.name,
    description: entry.description,
    sizeBytes: entry.sizeBytes,
    sha256: entry.sha256,
    quantization: entry.quantization,
    parameters: entry.parameters ?? null,
    contextLength: entry.contextLength,
    license: entry.license ?? null,
    installed,
    active,
    partialBytes: installed ? 0 : (context.files.partial.get(entry.id) ?? 0),
    fit,
    estimate: estimate ? { tokensPerSecond: estimate.tokensPerSecond, nanotonsPerHour: estimate.nanotonsPerHour.toString() } : null,
    download: context.download(entry.id),
  };
}
