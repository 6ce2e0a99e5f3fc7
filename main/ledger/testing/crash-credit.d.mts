/** Types of crash-credit.mjs (the crash test's deterministic credits). */
import type { JobCredit } from '../jobs.js';

/** The credit written for job id `r<run>-<index>`. */
export function creditFor(id: string): Required<JobCredit>;
