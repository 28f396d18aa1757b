/**
 * maxRows and maxDecompressedBytes hold for a whole run, all its workbooks and sheets together,
 * not for each load activity alone (each one's reader still holds its own part to them too):
 * - bytes are settled by the plan, before anything loads: a sheet inflates to exactly what the
 *   zip directory declares (the reader refuses one that inflates further), so the plan adds up
 *   what each load would inflate (its sheet and the shared strings it reads);
 * - rows are only known while reading, and the sheets load side by side on any workers: each load
 *   activity records its count in MySQL as it goes and checks the run's total, so a run is refused
 *   within one checkpoint (at most 50,000 rows per activity in flight) of passing the limit.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { RunLimits } from '../lib/config';
import { InvalidWorkbookError } from '../lib/errors';
import { TABLES } from '../lib/tables';
import { csvCompression, csvInflatedBytes } from '../lib/workbook/csv-workbook-source';
import { DEFAULT_WORKBOOK_LIMITS, resolveWorkbookLimits } from '../lib/workbook/workbook-limits';
import { readWorkbookParts } from '../lib/workbook/workbook-parts';
import { formatBytes, XlsxPackage } from '../lib/workbook/xlsx-package';

export function resolveRunLimits(limits: Partial<RunLimits> | undefined): RunLimits {
  const { maxRows, maxDecompressedBytes } = resolveWorkbookLimits(limits);
  return { maxRows, maxDecompressedBytes };
}

/**
 * Bytes each named sheet's load inflates: the sheet's part and the shared strings (read by every
 * load of the workbook). A CSV file's one sheet is its text: a .csv.gz is inflated to count it,
 * up to just past `maxDecompressedBytes` (a count past the limit is refused all the same).
 */
export async function inflatedBytesPerSheet(
  filePath: string,
  displayName: string,
  sheets: string[],
  signal?: AbortSignal,
  maxDecompressedBytes = DEFAULT_WORKBOOK_LIMITS.maxDecompressedBytes,
): Promise<number[]> {
  if (csvCompression(displayName) !== undefined) {
    const { maxCompressionRatio } = DEFAULT_WORKBOOK_LIMITS;
    const bytes = await csvInflatedBytes(filePath, displayName, { countUpTo: maxDecompressedBytes, maxCompressionRatio }, signal);
    return sheets.map(() => bytes);
  }
  const xlsx = await XlsxPackage.open(filePath, displayName, resolveWorkbookLimits(undefined));
  try {
    const parts = await readWorkbookParts(xlsx, signal);
    const size = (partPath: string | undefined) => (partPath === undefined ? 0 : (xlsx.part(partPath)?.decompressedSize ?? 0));
    const sharedStrings = size(parts.sharedStringsPath);
    return sheets.map((name) => sharedStrings + size(parts.sheets.find((sheet) => sheet.name === name)?.partPath));
  } finally {
    xlsx.close();
  }
}

/** The plan's parts would inflate past maxDecompressedBytes together: refused, naming the part that passes it. */
export function runTooLarge(part: { file: string; sheet: string }, bytes: number, parts: number, limit: number): InvalidWorkbookError {
  return new InvalidWorkbookError(
    part,
    `takes the run past ${formatBytes(limit)} inflated over all its workbooks and sheets (${parts} sheets, ${formatBytes(bytes)} so far; ` +
      'limit maxDecompressedBytes, for the whole run, WORKBOOK_MAX_DECOMPRESSED_BYTES)',
  );
}

/** A load part (one sheet of one file) as staging keys it: sha256, since either name may be longer than an index allows. */
export function loadPartKey(file: string, sheet: string): string {
  return createHash('sha256').update(`${file}\u0000${sheet}`).digest('hex');
}

/**
 * Records how many data rows this part has read (replacing its earlier count: a resumed attempt
 * counts once) and refuses if the run's parts together have read more than maxRows.
 */
export async function holdRowsToRunLimit(
  db: Knex,
  { runId, file, sheet, rowsRead, rowNumber }: { runId: string; file: string; sheet: string; rowsRead: number; rowNumber: number },
  maxRows: number,
): Promise<void> {
  await db(TABLES.stagingLoadRows).insert({ run_id: runId, part_key: loadPartKey(file, sheet), rows_read: rowsRead }).onConflict(['run_id', 'part_key']).merge(['rows_read']);
  // A statement of its own, after the write committed: of two parts writing at once, the later one sees both.
  const [{ total }] = await db(TABLES.stagingLoadRows).where({ run_id: runId }).sum({ total: 'rows_read' });
  if (Number(total) > maxRows) {
    throw new InvalidWorkbookError(
      { file, sheet, row: rowNumber },
      `takes the run past ${maxRows} data rows over all its workbooks and sheets (${Number(total)} read so far; ` +
        'limit maxRows, for the whole run, WORKBOOK_MAX_ROWS)',
    );
  }
}
