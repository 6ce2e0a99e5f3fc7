/** Names the hardware a run used, so CPU and GPU results are never compared by mistake. */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { getLlama } from 'node-llama-cpp';

/** "AMD EPYC (2 cores)": the CPU this process runs on. */
export function describeCpu(): string {
  return `${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${availableParallelism()} cores)`;
}

/** Load averages (1, 5, 15 min) rounded, to tell a busy machine's numbers apart. */
export function describeLoad(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' / ');
}

/**
 * The engine's backend as the job process reported it ('cpu', 'cuda', 'vulkan', 'metal'),
 * with the GPU's name when there is one (asked of node-llama-cpp here, only in that case).
 */
export async function describeBackend(backend: string): Promise<string> {
  if (backend === 'cpu') return `cpu: ${describeCpu()}`;
  try {
    const llama = await getLlama({ gpu: 'auto', build: 'never' });
    const names = await llama.getGpuDeviceNames();
    await llama.dispose();
    return `${backend}: ${names.join(', ') || 'unnamed GPU'}`;
  } catch {
    return backend;
  }
}
