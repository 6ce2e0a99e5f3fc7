/**
 * Cuts the earnings service's CSV export down to a range of days, keeping every kept line
 * byte for byte as the service wrote it (header included). The service exports everything;
 * the Earnings screen exports the range it shows.
 */
/** The fields of one CSV record (RFC 4180: quoted fields, doubled quotes; the CRLF is dropped). */
export function csvFields(line: string): string[] {
  const record = line.replace(/\r?\n$/, '');
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (record[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const close = record.indexOf('"', i);
        if (close < 0) throw new SyntaxError('unterminated quoted CSV field');
        value += record.slice(i, close);
        i = close + 1;
        if (record[i] !== '"') break;
        value += '"';
        i++;
      }
      fields.push(value);
    } else {
      const comma = record.indexOf(',', i);
      fields.push(record.slice(i, comma < 0 ? record.length : comma));
      i = comma < 0 ? record.length : comma;
    }
    if (i >= record.length) return fields;
    i++; // the comma
  }
}

/** The header, then only the lines whose `column` (a `YYYY-MM-DD` day key) lies in `from`..`to` inclusive. */
export function* linesInRange(lines: Iterable<string>, column: string, from: string, to: string): Generator<string> {
  let index = -1;
  for (const line of lines) {
    if (index < 0) {
      index = csvFields(line).indexOf(column);
      if (index < 0) throw new Error(`the CSV has no '${column}' column`);
      yield line;
      continue;
    }
    const day = csvFields(line)[index] ?? '';
    if (day >= from && day <= to) yield line;
  }
}
