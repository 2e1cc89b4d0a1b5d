import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../util/errors.js';

export interface Csv {
  file: string;
  header: string[];
  rows: string[][];
}

/** Reads a .csv or .csv.gz file; every malformed line is reported with file, line and column. */
export function readCsv(file: string): Csv {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new UserError(`cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
  }
  let text: string;
  try {
    text = (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
  } catch (e) {
    throw new UserError(`not a valid gzip file: ${(e as Error).message}`, file);
  }
  return parseCsv(text, file);
}

/** Plain comma-separated values (no quoting: the bundled data has none); a header line first. */
export function parseCsv(text: string, file: string): Csv {
  const lines = text.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new UserError('is empty, expected a header line', file);
  const header = lines[0]!.split(',').map((h) => h.trim());
  if (header.some((h) => h === '')) throw new UserError('line 1: empty column name in the header', file);
  const rows: string[][] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split(',');
    if (cells.length !== header.length) throw new UserError(`line ${i + 1}: expected ${header.length} columns, got ${cells.length}`, file);
    rows.push(cells);
  }
  return { file, header, rows };
}

export function columnIndex(csv: Csv, name: string): number {
  const i = csv.header.indexOf(name);
  if (i < 0) throw new UserError(`missing column '${name}' (columns: ${csv.header.slice(0, 8).join(', ')}${csv.header.length > 8 ? ', …' : ''})`, csv.file);
  return i;
}

/** A numeric cell; `positive` also rejects zero and negatives (latencies). */
export function numberAt(csv: Csv, row: number, col: number, positive = false): number {
  const raw = csv.rows[row]![col]!;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (positive && !(v > 0))) {
    throw new UserError(`line ${row + 2}, column '${csv.header[col]}': expected ${positive ? 'a positive number' : 'a number'}, got '${raw}'`, csv.file);
  }
  return v;
}
