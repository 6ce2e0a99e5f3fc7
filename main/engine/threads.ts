/** How many CPU threads the engine uses, from the real core count. */
import { availableParallelism } from 'node:os';

/**
 * Half the logical cores, at least one. llama.cpp's default (max(4, cores)) oversubscribes
 * small machines badly — 600× slower on 2 cores — and a gaming PC's owner keeps the rest.
 */
export function defaultThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}
