/** Plain-text tables for the benchmark report (stdout, monospace, no colours). */

/** One table a section prints: a title, column headers, rows of cells, and notes under it. */
export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  notes?: string[];
}

/** Renders a table with columns padded to their widest cell. */
export function formatTable(table: Table): string {
  const widths = table.columns.map((header, column) => Math.max(header.length, ...table.rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  const out = [table.title, line(table.columns), line(widths.map((width) => '-'.repeat(width))), ...table.rows.map(line)];
  for (const note of table.notes ?? []) out.push(`  * ${note}`);
  return out.join('\n');
}
