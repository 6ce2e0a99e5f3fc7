/**
 * How many jobs one loaded model serves at once (its context sequences), from what the machine
 * has left after loading it. Pure: the job process measures, this decides, and says why.
 */

/** Never more sequences than this without an explicit `--max-jobs`. */
export const MAX_AUTO_SEQUENCES = 16;

/** What the decision reads. */
export interface SequenceFitInput {
  /** Where the context's KV cache lives. */
  backend: 'cpu' | 'gpu';
  /** Logical CPU cores of the machine. */
  cores: number;
  /** Free RAM after the model loaded, in bytes. */
  freeRamBytes: number;
  /** Free VRAM after the model loaded (less what the owner's VRAM cap reserves), in bytes. */
  freeVramBytes: number;
  /** Memory one more sequence costs (its KV cache and compute buffers), in bytes. */
  perSequenceBytes: number;
}

/** The number of sequences, with the limit that chose it. */
export interface SequenceFit {
  sequences: number;
  reason: string;
}

/** Share of free memory the contexts may take: the owner's other programs keep the rest. */
const MEMORY_SHARE = { cpu: 0.5, gpu: 0.8 } as const;

/**
 * The most sequences that fit. On a GPU the VRAM is the limit (batched decoding is nearly free
 * there until memory runs out). On a CPU, RAM, and the cores: a batch is compute-bound, so past
 * about two streams per core each stream only gets slower without the total growing.
 */
export function fitSequences(input: SequenceFitInput): SequenceFit {
  const free = input.backend === 'gpu' ? input.freeVramBytes : input.freeRamBytes;
  const perSequence = Math.max(1, input.perSequenceBytes);
  const byMemory = Math.floor((free * MEMORY_SHARE[input.backend]) / perSequence);
  const limits: Array<[number, string]> = [
    [byMemory, `${input.backend === 'gpu' ? 'VRAM' : 'RAM'}: ${mib(free)} MiB free, ${mib(perSequence)} MiB per sequence`],
    [MAX_AUTO_SEQUENCES, `at most ${MAX_AUTO_SEQUENCES} without --max-jobs`],
  ];
  if (input.backend === 'cpu') limits.push([Math.max(2, 2 * input.cores), `CPU: ${input.cores} cores, two streams per core`]);
  const [count, reason] = limits.reduce((best, limit) => (limit[0] < best[0] ? limit : best));
  return count >= 1 ? { sequences: count, reason } : { sequences: 1, reason: `${reason}; one sequence regardless` };
}

function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
