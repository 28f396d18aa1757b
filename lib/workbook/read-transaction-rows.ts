/**
 * Streams the transaction rows of a workbook shaped like the UCI "Online Retail" export (or the
 * Online Retail II export, whose years sit on separate sheets), in batches of a few thousand
 * rows, decoding only the columns the pipeline needs. Memory stays flat whatever the row count:
 * each sheet is parsed as it is inflated, and a batch is let go once the caller has it.
 *
 * Which sheets: the one named by `sheet`, or else every sheet whose header is recognised, in tab
 * order; the others are skipped and named (`onSheetSkipped`, listTransactionSheets).
 */
import { InvalidWorkbookError, type WorkbookLocation } from '../errors';
import type { BytesReadListener } from './byte-progress';
import { decodeCustomerId, decodeInvoiceDate, decodeInvoiceNo, decodeNumber, UnexpectedCellValue } from './decode-transaction-cell';
import { csvCompression, CSV_SHEET_NAME, CsvWorkbookSource } from './csv-workbook-source';
import { FastWorkbookSource } from './fast-workbook-source';
import { describeCellValue, type PlainCellValue } from './plain-cell-value';
import { DECODED_COLUMNS, TRANSACTION_COLUMNS, type DecodedColumn, type TransactionColumn } from './transaction-columns';
import { matchTransactionHeader, recognisedCount, type HeaderCell, type HeaderMatch } from './transaction-header';
import { resolveWorkbookLimits, type WorkbookLimits } from './workbook-limits';
import type { WorkbookSheet } from './workbook-parts';
import type { SheetReadControl, WorkbookReaderKind, WorkbookSource } from './workbook-source';
import { MalformedXmlError } from './xml-text';
import { asZipError } from './xlsx-package';

export { CSV_SHEET_NAME };
export { DEFAULT_WORKBOOK_LIMITS, type WorkbookLimits } from './workbook-limits';
export { WORKBOOK_READER_KINDS, type WorkbookReaderKind } from './workbook-source';
export type { BytesReadListener } from './byte-progress';

export interface TransactionRow {
  /** The Excel row number (1-based) within its sheet, or a CSV file's line, so a problem can be found in the file. */
  rowNumber: number;
  invoiceNo: string | null;
  customerId: number | null;
  quantity: number | null;
  unitPrice: number | null;
  /** An Excel date serial (1900 system): see decodeInvoiceDate. */
  invoiceDate: number | null;
}

/** Consecutive rows of one sheet. */
export interface TransactionRowBatch {
  sheet: string;
  rows: TransactionRow[];
}

export interface SkippedSheet {
  sheet: string;
  /** Why it is not a transactions sheet, e.g. "no header row with the columns … in the first 20 rows". */
  reason: string;
}

export interface ReadTransactionRowsOptions {
  filePath: string;
  /** The only name errors show (the path relative to DATA_DIR), never the worker's absolute path. */
  displayName: string;
  /** Exactly this sheet (case-insensitive); without it, every sheet with a transactions header. */
  sheet?: string;
  /** Which parser reads a workbook's cells; 'fast' unless told otherwise. A CSV file is always read by the CSV reader. */
  reader?: WorkbookReaderKind;
  /** Bytes of the file read so far, about every 64 KiB, and once at the end with the file's size. */
  onBytesRead?: BytesReadListener;
  /** Stops the read: the iteration rejects with `signal.reason` and the file is closed. */
  signal?: AbortSignal;
  /** Ceilings on what the workbook may hold; see DEFAULT_WORKBOOK_LIMITS. */
  limits?: Partial<WorkbookLimits>;
  /** Told about each sheet left out because it has no transactions header (only without `sheet`). */
  onSheetSkipped?: (skipped: SkippedSheet) => void;
}

export interface ListTransactionSheetsOptions {
  filePath: string;
  displayName: string;
  reader?: WorkbookReaderKind;
  limits?: Partial<WorkbookLimits>;
  signal?: AbortSignal;
}

/** Exports put a title or a blank line or two above the header; twenty rows (a CSV's lines) is generous. */
export const HEADER_SEARCH_ROWS = 20;

/** Rows per batch: the loader writes each batch to MySQL in one statement. */
export const BATCH_ROWS = 5_000;

/** Fewer recognised names than this and a row is taken for a title, not a damaged header. */
const MIN_NAMES_FOR_A_HEADER = 2;

type ColumnNumbers = Record<TransactionColumn, number>;

export function readTransactionRows(options: ReadTransactionRowsOptions): AsyncIterable<TransactionRowBatch> {
  return readBatches(options, DECODED_COLUMNS, decodeRow);
}

/** A row's values in all eight transaction columns, undecoded: what a reader saw in the cells. */
export interface TransactionCells {
  rowNumber: number;
  cells: Record<TransactionColumn, PlainCellValue>;
}

/**
 * The same rows as readTransactionRows, with every transaction column's plain value instead of
 * the decoded five: for comparing readers cell by cell, and for reports that show raw values.
 */
export function readTransactionCells(options: ReadTransactionRowsOptions): AsyncIterable<{ sheet: string; rows: TransactionCells[] }> {
  return readBatches(options, TRANSACTION_COLUMNS, (rowNumber, cells, columns) => ({
    rowNumber,
    cells: Object.fromEntries(TRANSACTION_COLUMNS.map((column) => [column, cells[columns[column]] ?? null])) as Record<TransactionColumn, PlainCellValue>,
  }));
}

/** Turns a row's cells (indexed by column number) into what the caller reads. */
type RowMapper<T> = (rowNumber: number, cells: readonly PlainCellValue[], columns: ColumnNumbers, place: SheetPlace, date1904: boolean) => T;

/** The sheets readTransactionRows would read, and why the others would be skipped; reads only as far as each header. */
export async function listTransactionSheets(options: ListTransactionSheetsOptions): Promise<{ sheets: string[]; skipped: SkippedSheet[] }> {
  const limits = resolveWorkbookLimits(options.limits);
  const source = await openSource({ ...options, limits });
  try {
    const sheets: string[] = [];
    const skipped: SkippedSheet[] = [];
    for (const sheet of source.sheets) {
      const outcome = await findHeader(source, sheet, options.signal);
      if (outcome.columns !== undefined) sheets.push(sheet.name);
      else skipped.push({ sheet: sheet.name, reason: outcome.reason });
    }
    return { sheets, skipped };
  } catch (error) {
    throw asWorkbookError(error, options.displayName, options.signal);
  } finally {
    source.close();
  }
}

async function* readBatches<T>(
  options: ReadTransactionRowsOptions,
  wantedColumns: readonly TransactionColumn[],
  mapRow: RowMapper<T>,
): AsyncGenerator<{ sheet: string; rows: T[] }> {
  const { displayName, signal } = options;
  const limits = resolveWorkbookLimits(options.limits);
  signal?.throwIfAborted();
  let source: WorkbookSource | undefined;
  const closeOnAbort = () => source?.close();
  signal?.addEventListener('abort', closeOnAbort, { once: true });
  try {
    source = await openSource({ ...options, limits });
    const counter = { rows: 0 };
    if (options.sheet !== undefined) {
      const problem = yield* readSheet(source, findSheet(source, options.sheet), { limits, counter, signal, wantedColumns, mapRow });
      if (problem !== undefined) throw problem;
    } else {
      const skipped: Array<{ sheet: WorkbookSheet; error: InvalidWorkbookError }> = [];
      for (const sheet of source.sheets) {
        const problem = yield* readSheet(source, sheet, { limits, counter, signal, wantedColumns, mapRow });
        if (problem === undefined) continue;
        skipped.push({ sheet, error: problem });
        options.onSheetSkipped?.({ sheet: sheet.name, reason: reasonOf(problem) });
      }
      if (skipped.length === source.sheets.length) throw noTransactionSheet(displayName, source.sheets, skipped);
    }
    source.finish();
  } catch (error) {
    throw asWorkbookError(error, displayName, signal);
  } finally {
    signal?.removeEventListener('abort', closeOnAbort);
    source?.close();
  }
}

/**
 * The one place a file's name picks its reader: `.csv` and `.csv.gz` the CSV reader (whatever
 * `reader` says), anything else the workbook reader asked for. The name the input gave decides,
 * not the file behind it (a link in DATA_DIR may point at a file named anything).
 */
function openSource(options: ListTransactionSheetsOptions & { limits: WorkbookLimits; onBytesRead?: BytesReadListener }): Promise<WorkbookSource> {
  if (csvCompression(options.displayName) !== undefined) return CsvWorkbookSource.open(options);
  const reader = options.reader ?? 'fast';
  if (reader === 'fast') return FastWorkbookSource.open(options);
  // Loaded only when asked for: exceljs takes a noticeable part of a second to load.
  if (reader === 'exceljs') return (require('./exceljs-workbook-source') as typeof import('./exceljs-workbook-source')).ExcelJsWorkbookSource.open(options);
  throw new RangeError(`unknown workbook reader "${String(reader)}" (fast or exceljs)`);
}

function findSheet(source: WorkbookSource, wanted: string): WorkbookSheet {
  const sheet = source.sheets.find((candidate) => sameSheetName(candidate.name, wanted));
  if (sheet === undefined && source instanceof CsvWorkbookSource) {
    throw new InvalidWorkbookError(
      { file: source.displayName },
      `is a CSV file, whose rows are one sheet, "${CSV_SHEET_NAME}": there is no sheet "${wanted}" (leave the sheet out, or name "${CSV_SHEET_NAME}")`,
    );
  }
  if (sheet === undefined) {
    const names = source.sheets.map((candidate) => `"${candidate.name}"`);
    throw new InvalidWorkbookError(
      { file: source.displayName, sheet: wanted },
      `no such sheet; the workbook has ${names.length === 0 ? 'none' : names.join(', ')}`,
    );
  }
  return sheet;
}

interface SheetReadOptions<T> {
  limits: WorkbookLimits;
  /** Data rows read so far over all sheets, held to limits.maxRows. */
  counter: { rows: number };
  signal: AbortSignal | undefined;
  wantedColumns: readonly TransactionColumn[];
  mapRow: RowMapper<T>;
}

/**
 * One sheet's rows, batch by batch. Returns (does not throw) the reason the sheet is not a
 * transactions sheet, so the caller decides between skipping it and failing; anything wrong
 * past the header is thrown.
 */
async function* readSheet<T>(
  source: WorkbookSource,
  sheet: WorkbookSheet,
  { limits, counter, signal, wantedColumns, mapRow }: SheetReadOptions<T>,
): AsyncGenerator<{ sheet: string; rows: T[] }, InvalidWorkbookError | undefined> {
  const place = sheetPlace(source, sheet);
  if (sheet.partPath === undefined) return new InvalidWorkbookError(place.where, 'is a chart or dialog sheet, not a worksheet');
  const search = new HeaderSearch(place, wantedColumns);
  const control: SheetReadControl = {};
  let rows: T[] = [];
  const onRow = (rowNumber: number, cells: readonly PlainCellValue[]) => {
    const columns = search.columns;
    if (columns !== undefined) {
      if (++counter.rows > limits.maxRows) {
        throw new InvalidWorkbookError(place.at(rowNumber), `has more than ${limits.maxRows} data rows (limit maxRows)`);
      }
      rows.push(mapRow(rowNumber, cells, columns, place, source.date1904));
    } else if (search.offer(rowNumber, cells)) {
      control.wanted = search.wantedColumns;
    }
  };
  for await (const _ of source.readSheet(sheet, onRow, control)) {
    signal?.throwIfAborted();
    if (search.problem !== undefined) break;
    if (rows.length >= BATCH_ROWS) {
      yield { sheet: sheet.name, rows };
      rows = [];
    }
  }
  signal?.throwIfAborted();
  if (search.columns === undefined) return search.problem ?? search.notFound();
  if (rows.length > 0) yield { sheet: sheet.name, rows };
  return undefined;
}

/** Reads a sheet only as far as its header: its columns, or why it has none. */
async function findHeader(
  source: WorkbookSource,
  sheet: WorkbookSheet,
  signal: AbortSignal | undefined,
): Promise<{ columns: ColumnNumbers; reason?: undefined } | { columns?: undefined; reason: string }> {
  if (sheet.partPath === undefined) return { reason: 'is a chart or dialog sheet, not a worksheet' };
  const search = new HeaderSearch(sheetPlace(source, sheet), DECODED_COLUMNS);
  for await (const _ of source.readSheet(sheet, (rowNumber, cells) => search.columns ?? search.offer(rowNumber, cells), {})) {
    signal?.throwIfAborted();
    if (search.columns !== undefined || search.problem !== undefined) break;
  }
  if (search.columns !== undefined) return { columns: search.columns };
  return { reason: reasonOf(search.problem ?? search.notFound()) };
}

/** Looks for the header among a sheet's first rows. */
class HeaderSearch {
  columns: ColumnNumbers | undefined;
  /** Set once it is clear there is no usable header; the search is then over. */
  problem: InvalidWorkbookError | undefined;
  wantedColumns: Uint8Array | undefined;
  private bestGuess: { rowNumber: number; match: HeaderMatch } | undefined;

  constructor(
    private readonly place: SheetPlace,
    /** The columns whose values the reader should build once the header is known. */
    private readonly decodedColumns: readonly TransactionColumn[],
  ) {}

  /** Considers one row; true if it is the header. A header naming a column twice is thrown at once. */
  offer(rowNumber: number, cells: readonly PlainCellValue[]): boolean {
    if (this.columns !== undefined || this.problem !== undefined) return false;
    if (rowNumber > HEADER_SEARCH_ROWS) {
      this.problem = this.notFound();
      return false;
    }
    const match = matchTransactionHeader(headerCells(cells));
    if (match.missing.length === 0) {
      if (match.duplicated.length > 0) {
        throw new InvalidWorkbookError(
          this.place.at(rowNumber),
          `the header names ${match.duplicated.join(', ')} more than once, so which column to read is ambiguous`,
        );
      }
      this.columns = match.columnNumbers as ColumnNumbers;
      this.wantedColumns = new Uint8Array(Math.max(...this.decodedColumns.map((column) => this.columns![column])) + 1);
      for (const column of this.decodedColumns) this.wantedColumns[this.columns[column]] = 1;
      return true;
    }
    if (this.bestGuess === undefined || recognisedCount(match) > recognisedCount(this.bestGuess.match)) this.bestGuess = { rowNumber, match };
    return false;
  }

  notFound(): InvalidWorkbookError {
    const guess = this.bestGuess;
    if (guess !== undefined && recognisedCount(guess.match) >= MIN_NAMES_FOR_A_HEADER) {
      return new InvalidWorkbookError(
        this.place.at(guess.rowNumber),
        `the header row lacks the column${guess.match.missing.length > 1 ? 's' : ''} ${guess.match.missing.join(', ')} ` +
          `(required: ${TRANSACTION_COLUMNS.join(', ')})`,
      );
    }
    return new InvalidWorkbookError(
      this.place.where,
      `no header row with the columns ${TRANSACTION_COLUMNS.join(', ')} in the first ${HEADER_SEARCH_ROWS} ${this.place.rows}`,
    );
  }
}

function headerCells(cells: readonly PlainCellValue[]): HeaderCell[] {
  const header: HeaderCell[] = [];
  cells.forEach((value, columnNumber) => {
    if (typeof value === 'string' || typeof value === 'number') header.push({ columnNumber, text: String(value) });
  });
  return header;
}

function decodeRow(rowNumber: number, cells: readonly PlainCellValue[], columns: ColumnNumbers, place: SheetPlace, date1904: boolean): TransactionRow {
  return {
    rowNumber,
    invoiceNo: decodeCell(cells, columns, 'InvoiceNo', decodeInvoiceNo, rowNumber, place),
    customerId: decodeCell(cells, columns, 'CustomerID', decodeCustomerId, rowNumber, place),
    quantity: decodeCell(cells, columns, 'Quantity', decodeNumber, rowNumber, place),
    unitPrice: decodeCell(cells, columns, 'UnitPrice', decodeNumber, rowNumber, place),
    invoiceDate: decodeCell(cells, columns, 'InvoiceDate', (value) => decodeInvoiceDate(value, date1904), rowNumber, place),
  };
}

function decodeCell<T>(
  cells: readonly PlainCellValue[],
  columns: ColumnNumbers,
  column: DecodedColumn,
  decode: (value: PlainCellValue) => T | null,
  rowNumber: number,
  place: SheetPlace,
): T | null {
  const value = cells[columns[column]] ?? null;
  try {
    return decode(value);
  } catch (error) {
    if (!(error instanceof UnexpectedCellValue)) throw error;
    throw new InvalidWorkbookError({ ...place.at(rowNumber), column }, `${error.expected}, found ${describeCellValue(value)}`);
  }
}

function noTransactionSheet(
  displayName: string,
  sheets: readonly WorkbookSheet[],
  skipped: Array<{ sheet: WorkbookSheet; error: InvalidWorkbookError }>,
): InvalidWorkbookError {
  if (sheets.length === 0) return new InvalidWorkbookError({ file: displayName }, 'has no worksheet');
  if (skipped.length === 1) return skipped[0].error;
  const reasons = skipped.map(({ sheet, error }) => `"${sheet.name}" ${reasonOf(error)}`).join('; ');
  return new InvalidWorkbookError({ file: displayName }, `no sheet has a transactions header: ${reasons}`);
}

/** An error's problem with its row (or line), without the file and sheet (which the context already names). */
function reasonOf(error: InvalidWorkbookError): string {
  const { row, line } = error.location;
  if (row !== undefined) return `row ${row}: ${error.problem}`;
  return line === undefined ? error.problem : `line ${line}: ${error.problem}`;
}

/**
 * How errors name a sheet and its rows: a workbook's sheet and row; a CSV file's line, its one
 * sheet left unnamed (the file is the sheet, and a CSV has no rows apart from its lines).
 */
interface SheetPlace {
  where: WorkbookLocation;
  at(rowNumber: number): WorkbookLocation;
  rows: 'rows' | 'lines';
}

function sheetPlace(source: WorkbookSource, sheet: WorkbookSheet): SheetPlace {
  if (source instanceof CsvWorkbookSource) {
    return { where: { file: source.displayName }, at: (line) => ({ file: source.displayName, line }), rows: 'lines' };
  }
  const where = { file: source.displayName, sheet: sheet.name };
  return { where, at: (row) => ({ ...where, row }), rows: 'rows' };
}

/** Excel treats sheet names case-insensitively ("Sheet1" and "SHEET1" cannot coexist). */
function sameSheetName(actual: string, wanted: string): boolean {
  return actual.trim().toLowerCase() === wanted.trim().toLowerCase();
}

/** What the caller sees: the abort reason, an InvalidWorkbookError, or an I/O error left retryable. */
function asWorkbookError(error: unknown, displayName: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  if (error instanceof MalformedXmlError) return new InvalidWorkbookError({ file: displayName }, `is not a valid xlsx workbook: ${error.message}`);
  return asZipError(error, displayName);
}
