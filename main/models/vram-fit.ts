/**
 * Will a model run well on this PC? Estimates the memory a model needs at a context length and
 * compares it with the GPU's memory (nvidia-smi / rocm-smi telemetry) and the system RAM.
 * Pure arithmetic, so the rule is table-tested; the GGUF header is read in vram-fit-gguf.ts.
 *
 * The estimate (llama.cpp, KV cache in F16, everything offloaded):
 *   weights   = the file's size (GGUF tensors are stored as loaded; the header is tiny)
 *   KV cache  = n_layers × n_ctx × n_kv_heads × (key_length + value_length) × 2 bytes
 *               (key/value length default to n_embd / n_heads)
 *   overhead  = 400 MiB (CUDA/Vulkan context and compute buffers) + 5 % of the weights
 * It is an estimate: the UI says "~" and rounds.
 */

/** The shape of a model that decides its KV cache (from the GGUF header). */
export interface ModelShape {
  layers: number;
  kvHeads: number;
  keyLength: number;
  valueLength: number;
}

/** Fixed memory beyond weights and KV cache: runtime context and compute buffers. */
export const OVERHEAD_BYTES = 400 * 1024 * 1024;

/** Share of the GPU's memory a model may plan on (the desktop and other apps keep the rest). */
export const USABLE_VRAM = 0.9;
/** Share of the system memory a model may plan on (the OS and the owner's programs keep the rest). */
export const USABLE_RAM = 0.75;

/** Memory a model needs, in bytes; `kvCacheBytes` is null when the header could not be read. */
export interface MemoryEstimate {
  weightsBytes: number;
  kvCacheBytes: number | null;
  overheadBytes: number;
  totalBytes: number;
}

/** Estimates the memory of a model of `fileBytes` at `contextLength` tokens. */
export function estimateMemory(fileBytes: number, contextLength: number, shape: ModelShape | null): MemoryEstimate {
  const kvCacheBytes = shape ? shape.layers * contextLength * shape.kvHeads * (shape.keyLength + shape.valueLength) * 2 : null;
  const overheadBytes = OVERHEAD_BYTES + Math.round(fileBytes * 0.05);
  // Without the header, assume a KV cache of a fifth of the weights (typical at 4–8k context).
  const totalBytes = fileBytes + (kvCacheBytes ?? Math.round(fileBytes * 0.2)) + overheadBytes;
  return { weightsBytes: fileBytes, kvCacheBytes, overheadBytes, totalBytes };
}

/** What the verdict is measured against; null where unknown. */
export interface Hardware {
  /** The largest GPU's memory (telemetry), in bytes. */
  vramBytes: number | null;
  ramBytes: number | null;
  /** The engine's backend ('cpu', 'cuda', …): 'cpu' means llama.cpp found no usable GPU. */
  engineGpu: string | null;
}

/** The verdict's kind. */
export type FitVerdict = 'fits-gpu' | 'partial-gpu' | 'cpu-only' | 'too-big' | 'unknown';

/** A verdict with the figures behind it and a sentence for the owner. */
export interface Fit {
  verdict: FitVerdict;
  /** Share of the model that fits in the GPU (0–1); null without GPU figures. */
  gpuShare: number | null;
  summary: string;
  /** The summary without its verdict, for a screen that shows the verdict as a badge. */
  detail: string;
}

/** "6.6 GB", "0.45 GB" — in GiB, as GPU makers and the OS count memory (a 12 GB card says 12). */
export function formatGb(bytes: number): string {
  const value = bytes / 1024 ** 3;
  return `${value < 10 ? value.toFixed(value < 1 ? 2 : 1) : Math.round(value)} GB`;
}

/** Compares a model's needs with the hardware. */
export function judgeFit(needsBytes: number, hardware: Hardware): Fit {
  const needs = `~${formatGb(needsBytes)}`;
  const { vramBytes, ramBytes } = hardware;
  if (vramBytes !== null && vramBytes > 0) {
    const usableVram = vramBytes * USABLE_VRAM;
    if (needsBytes <= usableVram) return { verdict: 'fits-gpu', gpuShare: 1, summary: `Fits in your GPU (needs ${needs} of ${formatGb(vramBytes)})`, detail: `Needs ${needs} of ${formatGb(vramBytes)}` };
    const share = usableVram / needsBytes;
    if (ramBytes === null) return { verdict: 'unknown', gpuShare: share, summary: `Needs ${needs}: more than your GPU's ${formatGb(vramBytes)}; system memory unknown`, detail: `Needs ${needs}: more than your GPU's ${formatGb(vramBytes)}; system memory unknown` };
    if (needsBytes <= usableVram + ramBytes * USABLE_RAM) {
      return { verdict: 'partial-gpu', gpuShare: share, summary: `Partly on GPU: about ${Math.round(share * 100)}% fits in ${formatGb(vramBytes)}, the rest runs slower from system memory (needs ${needs})`, detail: `About ${Math.round(share * 100)}% fits in ${formatGb(vramBytes)}; the rest runs slower from system memory (needs ${needs})` };
    }
    return { verdict: 'too-big', gpuShare: share, summary: `Too big for this PC (needs ${needs}; GPU ${formatGb(vramBytes)} + memory ${formatGb(ramBytes)})`, detail: `Needs ${needs}; GPU ${formatGb(vramBytes)} + memory ${formatGb(ramBytes)}` };
  }
  if (hardware.engineGpu === 'cpu' && ramBytes !== null) {
    if (needsBytes <= ramBytes * USABLE_RAM) return { verdict: 'cpu-only', gpuShare: 0, summary: `CPU only (slow): no GPU in use; needs ${needs} of your ${formatGb(ramBytes)} memory`, detail: `No GPU in use; needs ${needs} of your ${formatGb(ramBytes)} memory` };
    return { verdict: 'too-big', gpuShare: 0, summary: `Too big for this PC (needs ${needs}; memory ${formatGb(ramBytes)}, no GPU in use)`, detail: `Needs ${needs}; memory ${formatGb(ramBytes)}, no GPU in use` };
  }
  return { verdict: 'unknown', gpuShare: null, summary: `Unknown: no GPU readings on this PC (needs ${needs})`, detail: `No GPU readings on this PC; needs ${needs}` };
}
