/**
 * Keeps batched decoding from swapping two sequences' tokens (node-llama-cpp 3.21.1).
 *
 * The race: a context of several sequences has one KV stream per sequence, so llama.cpp splits
 * a batch with `split_equal`, which can compute the outputs in an order other than the batch's
 * (three sequences in one step are enough). `llama_context::decode` then records the row swaps
 * that would restore batch order in `output_swaps` and points `output_ids` at the restored rows,
 * but leaves the logits where they are: the swaps are applied lazily by `output_reorder()`, on
 * the first `llama_get_logits*` call after the decode (llama.cpp PR #14853). node-llama-cpp
 * samples the sequences of a batch concurrently, one `sampleToken` AsyncWorker each on libuv's
 * thread pool, and each begins with `llama_get_logits` → `output_reorder()`. Two workers that
 * enter it together both apply the same swaps: the rows go back to the unsorted order while
 * `output_ids` still says sorted, so each sequence samples the other's logits. Nothing in
 * `output_reorder()` is locked.
 *
 * The guard: after each decode, the first `sampleToken` runs alone and applies the swaps; the
 * others wait for it to finish and then run together as before (with the swaps cleared,
 * `output_reorder()` only reads an empty list).
 */
import type { LlamaContext } from 'node-llama-cpp';

/** The two methods of node-llama-cpp's native context (`LlamaContext._ctx`) the guard wraps. */
export interface NativeContext {
  decodeBatch(): Promise<void>;
  sampleToken(...args: unknown[]): Promise<unknown>;
}

/** Installs the guard on a context; throws if node-llama-cpp's internals are not as expected. */
export function guardBatchedSampling(context: LlamaContext): void {
  const native = (context as unknown as { _ctx?: Partial<NativeContext> })._ctx;
  if (!native || typeof native.decodeBatch !== 'function' || typeof native.sampleToken !== 'function') {
    throw new Error('Cannot guard batched sampling: node-llama-cpp\'s context has no _ctx.decodeBatch / _ctx.sampleToken (was node-llama-cpp upgraded?). Serve one job at a time (--max-jobs 1).');
  }
  gateFirstSample(native as NativeContext);
}

/** The guard itself, on anything shaped like the native context (exported for tests). */
export function gateFirstSample(native: NativeContext): void {
  const decodeBatch = native.decodeBatch.bind(native);
  const sampleToken = native.sampleToken.bind(native);
  /** A decode finished and no sample has read its outputs yet. */
  let reorderPending = false;
  /** Settles when the first sample after the last decode has finished. */
  let first: Promise<unknown> = Promise.resolve();
  // Own properties: the addon's methods sit read-only on its prototype, so plain assignment throws.
  define(native, 'decodeBatch', async () => {
    try {
      await decodeBatch();
    } finally {
      reorderPending = true;
    }
  });
  define(native, 'sampleToken', (...args: unknown[]) => {
    if (reorderPending) {
      reorderPending = false;
      const result = sampleToken(...args);
      first = result.then(
        () => undefined,
        () => undefined,
      );
      return result;
    }
    return first.then(() => sampleToken(...args));
  });
}

function define<K extends keyof NativeContext>(target: NativeContext, key: K, value: NativeContext[K]): void {
  Object.defineProperty(target, key, { value, writable: false, enumerable: false, configurable: true });
}
