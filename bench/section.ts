/** The shape of one benchmark section: bench/index.ts runs a list of these. */
import type { BenchContext } from './context.js';
import type { Table } from './table.js';

/** A value on the final JSON line (null where a figure could not be measured). */
export type ResultValue = number | string | boolean | null;

/** What a section hands back: tables to print and keys for the final JSON line. */
export interface SectionReport {
  tables: Table[];
  results: Record<string, ResultValue>;
}

/** One named part of the benchmark, runnable alone with `--only NAME`. */
export interface Section {
  name: string;
  summary: string;
  run(context: BenchContext): Promise<SectionReport>;
}
