/**
 * Reads the shape of a model (layers, KV heads, key/value lengths) from its GGUF header — of a
 * local file or of a catalog URL, fetching only the header through HTTP Range.
 *
 * node-llama-cpp's `readGgufFileInfo` is a pure-JavaScript parser: it never loads llama.cpp's
 * native addon (checked: no .node mapped), so a crafted header cannot reach native code here.
 * Its `GgufInsights` would need a Llama instance (the addon), so the estimate itself is ours
 * (vram-fit.ts). The package is imported lazily, on the first catalog view, not at start.
 */
import type { ModelShape } from './vram-fit.js';

/** Header fields this reader uses, as node-llama-cpp returns them. */
interface ArchitectureMetadata {
  block_count?: number;
  embedding_length?: number;
  attention?: { head_count?: number | number[]; head_count_kv?: number | number[]; key_length?: number; value_length?: number };
}

/** Big tokenizer arrays are skipped while parsing (they can be several MB). */
const IGNORED_KEYS = ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type', 'tokenizer.ggml.merges'];

function firstNumber(value: number | number[] | undefined): number | undefined {
  return Array.isArray(value) ? Math.max(...value) : value;
}

/** The model's shape from architecture metadata, or null when a field is missing. */
export function shapeFromMetadata(meta: ArchitectureMetadata): ModelShape | null {
  const layers = meta.block_count;
  const heads = firstNumber(meta.attention?.head_count);
  const kvHeads = firstNumber(meta.attention?.head_count_kv) ?? heads;
  const headDim = meta.embedding_length && heads ? meta.embedding_length / heads : undefined;
  const keyLength = meta.attention?.key_length ?? headDim;
  const valueLength = meta.attention?.value_length ?? headDim;
  if (!layers || !kvHeads || !keyLength || !valueLength) return null;
  return { layers, kvHeads, keyLength, valueLength };
}

/** Reads a model's shape from a file path or an http(s) URL; null when it cannot be read. */
export async function readModelShape(source: string, timeoutMs = 10_000): Promise<ModelShape | null> {
  try {
    const { readGgufFileInfo } = await import('node-llama-cpp');
    const info = await readGgufFileInfo(source, {
      readTensorInfo: false,
      ignoreKeys: IGNORED_KEYS,
      logWarnings: false,
      fetchRetryOptions: { retries: 0 },
      signal: AbortSignal.timeout(timeoutMs),
    });
    return shapeFromMetadata(info.architectureMetadata as ArchitectureMetadata);
  } catch {
    return null;
  }
}
