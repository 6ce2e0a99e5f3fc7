/**
 * The model catalog of `silkworm demo`: the tiny test model the demo worker already serves and
 * a bigger generated one (the 'bench' shape, ~6.6 MB) the owner can download from the Models
 * screen and switch to. Both answer with the same predictable text; only their ids differ.
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File, modelIdFromPath } from './model-file.js';
import { writeTestModel } from './test-model.js';
import type { Catalog } from '../../network/protocol/catalog.js';

/** The id of the downloadable demo model. */
export const DEMO_BENCH_MODEL_ID = 'silkworm-test-bench';

/**
 * Writes the demo's catalog files into `dir` (the coordinator's `--catalog-dir`) and returns
 * the catalog: `tinyModelPath` (copied in as served file) and the bench model.
 */
export async function makeDemoCatalog(dir: string, tinyModelPath: string): Promise<Catalog> {
  await mkdir(dir, { recursive: true });
  const benchPath = join(dir, `${DEMO_BENCH_MODEL_ID}.gguf`);
  if (!(await stat(benchPath).catch(() => null))) await writeTestModel(benchPath, { size: 'bench' });
  const tinyId = modelIdFromPath(tinyModelPath);
  const tinyServed = join(dir, `${tinyId}.gguf`);
  if (!(await stat(tinyServed).catch(() => null))) await copyFile(tinyModelPath, tinyServed);
  const describe = async (path: string) => ({ sizeBytes: (await stat(path)).size, sha256: await sha256File(path) });
  return {
    models: [
      { id: tinyId, name: 'Silkworm test model (tiny)', description: 'A tiny generated model: greedy decoding continues the alphabet. For demos and tests.', url: `files/${tinyId}.gguf`, ...(await describe(tinyServed)), quantization: 'F32', parameters: '0.1M', contextLength: 2048, license: 'Apache-2.0' },
      { id: DEMO_BENCH_MODEL_ID, name: 'Silkworm test model (bench)', description: 'A bigger generated model with the same predictable answers, to try downloading and switching.', url: `files/${DEMO_BENCH_MODEL_ID}.gguf`, ...(await describe(benchPath)), quantization: 'F16', parameters: '3.3M', contextLength: 2048, license: 'Apache-2.0' },
    ],
  };
}
