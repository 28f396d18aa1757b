/**
 * How much of a workbook the reader is willing to take in. A workbook comes from outside (an
 * upload, an export), so every quantity that could make the reader spend unbounded time or memory
 * has a ceiling; past it the read fails with an InvalidWorkbookError naming the limit. The
 * defaults admit the real UCI workbook (23 MiB on disk, a 172 MB sheet, 541,909 rows, 8 columns,
 * 9,232 shared strings) with a wide margin, and Excel's own maxima where those are smaller.
 */
export interface WorkbookLimits {
  /** Decompressed bytes of all parts read together (the UCI sheet is 172 MB; 4x its rows is 0.7 GB). */
  maxDecompressedBytes: number;
  /** Decompressed size of a part over its compressed size; parts under 1 MiB are not held to it. */
  maxCompressionRatio: number;
  /** Bytes of XML one cell (or one shared string) may take; Excel holds at most 32,767 characters. */
  maxCellBytes: number;
  /** Highest column a cell may sit in (Excel's own limit is 16,384, column XFD). */
  maxColumns: number;
  /** Data rows over all sheets read. One sheet holds at most Excel's 1,048,576 rows in any case. */
  maxRows: number;
  /** Entries in the shared-strings table (the UCI workbook has 9,232). */
  maxSharedStrings: number;
  /** Characters held by the shared-strings table in all: it is kept in memory while rows are read. */
  maxSharedStringChars: number;
  /** Entries in the zip directory (an xlsx has a dozen or so, plus one or two per sheet). */
  maxZipEntries: number;
  /** Sheets the workbook lists: each becomes a step of its own downstream (the UCI workbook has 1). */
  maxSheets: number;
}

export const DEFAULT_WORKBOOK_LIMITS: Readonly<WorkbookLimits> = Object.freeze({
  maxDecompressedBytes: 2 * 1024 ** 3,
  maxCompressionRatio: 200,
  maxCellBytes: 256 * 1024,
  maxColumns: 1_024,
  maxRows: 20_000_000,
  maxSharedStrings: 2_000_000,
  maxSharedStringChars: 64 * 1024 * 1024,
  maxZipEntries: 10_000,
  maxSheets: 256,
});

/** Excel's row limit: a row number above it is not a worksheet Excel could have written. */
export const EXCEL_MAX_ROWS = 1_048_576;

/** Parts smaller than this are exempt from the ratio check: tiny XML files compress oddly well. */
export const RATIO_EXEMPT_BYTES = 1024 * 1024;

export function resolveWorkbookLimits(limits: Partial<WorkbookLimits> | undefined): WorkbookLimits {
  const resolved = { ...DEFAULT_WORKBOOK_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`workbook limit ${name} must be a whole number above 0 (got ${value})`);
  }
  return resolved;
}
