/**
 * Streams the transaction rows of a workbook shaped like the UCI "Online Retail" export, decoding
 * only the columns the pipeline needs. Memory stays flat whatever the row count: exceljs's
 * streaming reader parses the sheet as it is inflated and each row is dropped once yielded.
 */
import ExcelJS from 'exceljs';
import type { Row } from 'exceljs';
import { InvalidWorkbookError } from '../errors';
import { decodeCustomerId, decodeInvoiceNo, decodeNumber, UnexpectedCellValue } from './decode-transaction-cell';
import { describeCellValue, plainCellValue, type PlainCellValue } from './plain-cell-value';
import { TRANSACTION_COLUMNS, type DecodedColumn, type TransactionColumn } from './transaction-columns';
import { matchTransactionHeader, recognisedCount, type HeaderCell, type HeaderMatch } from './transaction-header';
import { isError, openXlsxByteStream, type BytesReadListener } from './xlsx-byte-stream';

export interface TransactionRow {
  /** The Excel row number (1-based), so a problem can be found in the workbook. */
  rowNumber: number;
  invoiceNo: string | null;
  customerId: number | null;
  quantity: number | null;
  unitPrice: number | null;
}

/** Rows of one sheet, a few thousand at a time (the loader writes each batch to MySQL). */
export interface TransactionRowBatch {
  sheet: string;
  rows: TransactionRow[];
}

export type WorkbookReaderKind = 'fast' | 'exceljs';

export interface ReadTransactionRowsOptions {
  /** Which reader parses the file (only exceljs's for now). */
  reader?: WorkbookReaderKind;
  /** Stops the read between batches. */
  signal?: AbortSignal;
  filePath: string;
  /** The name used in errors (the path relative to the data dir), never the worker's absolute path. */
  displayName: string;
  /** The worksheet to read (case-insensitive); if not given, the first one stored in the file, which is the first tab in files Excel saved. */
  sheet?: string;
  /** Called as the file is read, at most about every 64 KiB, for progress reporting. */
  onBytesRead?: BytesReadListener;
}

/**
 * What exceljs needs and nothing more. These equal exceljs 4.4's own defaults (its README
 * still documents the older, slower 'cache' defaults for styles and hyperlinks); they are spelt
 * out so an upgrade that changes the defaults cannot quietly slow the reader down or turn dates
 * into Date objects. Styles are only needed to recognise dates, which the pipeline does not read.
 */
export const WORKBOOK_READER_OPTIONS = {
  worksheets: 'emit',
  sharedStrings: 'cache',
  hyperlinks: 'ignore',
  styles: 'ignore',
  entries: 'ignore',
} as const;

/** Exports put a title or a blank line or two above the header; twenty rows is generous. */
export const HEADER_SEARCH_ROWS = 20;

/** Fewer recognised names than this and a row is taken for a title, not a damaged header. */
const MIN_NAMES_FOR_A_HEADER = 2;

type ColumnNumbers = Record<TransactionColumn, number>;

const ROWS_PER_BATCH = 5_000;

export async function* readTransactionRows(options: ReadTransactionRowsOptions): AsyncGenerator<TransactionRowBatch> {
  let batch: TransactionRowBatch | undefined;
  for await (const { sheet, row } of readRows(options)) {
    if (batch === undefined) batch = { sheet, rows: [] };
    batch.rows.push(row);
    if (batch.rows.length >= ROWS_PER_BATCH) {
      yield batch;
      batch = undefined;
      options.signal?.throwIfAborted();
    }
  }
  if (batch !== undefined) yield batch;
}

/** The sheets with transactions (for now: the first sheet, or the one asked for). */
export async function listTransactionSheets(options: {
  filePath: string;
  displayName: string;
  sheet?: string;
  reader?: WorkbookReaderKind;
  signal?: AbortSignal;
}): Promise<{ sheets: string[]; skipped: Array<{ sheet: string; reason: string }> }> {
  const source = await openXlsxByteStream(options.filePath, options.displayName);
  const workbook = new ExcelJS.stream.xlsx.WorkbookReader(source.stream, WORKBOOK_READER_OPTIONS);
  try {
    for await (const worksheet of workbook) return { sheets: [(worksheet as WorksheetReader).name], skipped: [] };
  } catch (error) {
    throw asWorkbookError(error, options.displayName, source.readError());
  } finally {
    await source.close();
  }
  throw new InvalidWorkbookError({ file: options.displayName }, 'has no worksheet');
}

async function* readRows(options: ReadTransactionRowsOptions): AsyncGenerator<{ sheet: string; row: TransactionRow }> {
  const { filePath, displayName, sheet: wantedSheet } = options;
  const source = await openXlsxByteStream(filePath, displayName, options.onBytesRead);
  const workbook = new ExcelJS.stream.xlsx.WorkbookReader(source.stream, WORKBOOK_READER_OPTIONS);
  let sheetFound = false;
  try {
    for await (const worksheet of workbook) {
      const sheet = worksheet as WorksheetReader;
      if (wantedSheet !== undefined && !sameSheetName(sheet.name, wantedSheet)) continue;
      sheetFound = true;
      for await (const row of readSheet(sheet, { file: displayName, sheet: sheet.name })) yield { sheet: sheet.name, row };
      break; // stop inflating: later sheets are not wanted
    }
  } catch (error) {
    throw asWorkbookError(error, displayName, source.readError());
  } finally {
    await source.close();
  }
  if (source.readError() !== undefined) throw source.readError();
  if (!sheetFound) {
    const names = sheetNames(workbook);
    if (wantedSheet === undefined) throw new InvalidWorkbookError({ file: displayName }, 'has no worksheet');
    throw new InvalidWorkbookError(
      { file: displayName, sheet: wantedSheet },
      `no such sheet; the workbook has ${names.length === 0 ? 'none' : names.map((name) => `"${name}"`).join(', ')}`,
    );
  }
}

type WorksheetReader = ExcelJS.stream.xlsx.WorksheetReader & { name: string };
interface SheetLocation {
  file: string;
  sheet: string;
}

async function* readSheet(worksheet: WorksheetReader, where: SheetLocation): AsyncGenerator<TransactionRow> {
  let columns: ColumnNumbers | undefined;
  let bestGuess: { rowNumber: number; match: HeaderMatch } | undefined;
  // exceljs's event batches (worksheet.parse()) skip one async step per row, but measured only
  // 1-3% faster than this typed iterator: not worth reading an untyped API.
  for await (const row of worksheet) {
    if (columns !== undefined) {
      if (row.hasValues) yield decodeRow(row, columns, where);
      continue;
    }
    if (row.number > HEADER_SEARCH_ROWS) throw headerNotFound(where, bestGuess);
    const match = matchTransactionHeader(headerCells(row));
    if (match.missing.length === 0) {
      if (match.duplicated.length > 0) {
        throw new InvalidWorkbookError(
          { ...where, row: row.number },
          `the header names ${match.duplicated.join(', ')} more than once, so which column to read is ambiguous`,
        );
      }
      columns = match.columnNumbers as ColumnNumbers;
    } else if (bestGuess === undefined || recognisedCount(match) > recognisedCount(bestGuess.match)) {
      bestGuess = { rowNumber: row.number, match };
    }
  }
  if (columns === undefined) throw headerNotFound(where, bestGuess);
}

function decodeRow(row: Row, columns: ColumnNumbers, where: SheetLocation): TransactionRow {
  const cell = <T>(column: DecodedColumn, decode: (value: PlainCellValue) => T | null): T | null => {
    const value = plainCellValue(row.findCell(columns[column])?.value ?? null);
    try {
      return decode(value);
    } catch (error) {
      if (!(error instanceof UnexpectedCellValue)) throw error;
      throw new InvalidWorkbookError({ ...where, row: row.number, column }, `${error.expected}, found ${describeCellValue(value)}`);
    }
  };
  return {
    rowNumber: row.number,
    invoiceNo: cell('InvoiceNo', decodeInvoiceNo),
    customerId: cell('CustomerID', decodeCustomerId),
    quantity: cell('Quantity', decodeNumber),
    unitPrice: cell('UnitPrice', decodeNumber),
  };
}

function headerCells(row: Row): HeaderCell[] {
  const cells: HeaderCell[] = [];
  row.eachCell((cell, columnNumber) => {
    const value = plainCellValue(cell.value);
    if (typeof value === 'string' || typeof value === 'number') cells.push({ columnNumber, text: String(value) });
  });
  return cells;
}

function headerNotFound(where: SheetLocation, bestGuess: { rowNumber: number; match: HeaderMatch } | undefined): InvalidWorkbookError {
  if (bestGuess !== undefined && recognisedCount(bestGuess.match) >= MIN_NAMES_FOR_A_HEADER) {
    return new InvalidWorkbookError(
      { ...where, row: bestGuess.rowNumber },
      `the header row lacks the column${bestGuess.match.missing.length > 1 ? 's' : ''} ${bestGuess.match.missing.join(', ')} ` +
        `(required: ${TRANSACTION_COLUMNS.join(', ')})`,
    );
  }
  return new InvalidWorkbookError(
    where,
    `no header row with the columns ${TRANSACTION_COLUMNS.join(', ')} in the first ${HEADER_SEARCH_ROWS} rows`,
  );
}

/** Excel treats sheet names case-insensitively ("Sheet1" and "SHEET1" cannot coexist). */
function sameSheetName(actual: string, wanted: string): boolean {
  return actual.trim().toLowerCase() === wanted.trim().toLowerCase();
}

function sheetNames(workbook: ExcelJS.stream.xlsx.WorkbookReader): string[] {
  // exceljs keeps the parsed xl/workbook.xml on `model`; its typings describe a different shape.
  const model = (workbook as unknown as { model?: { sheets?: Array<{ name?: string }> } }).model;
  return (model?.sheets ?? []).flatMap((sheet) => (sheet.name === undefined ? [] : [sheet.name]));
}

/** exceljs, unzipper, zlib and saxes throw plain errors on malformed input: give them a type and the file. */
function asWorkbookError(error: unknown, displayName: string, readError: Error | undefined): unknown {
  if (readError !== undefined) return readError;
  if (error instanceof InvalidWorkbookError) return error;
  const message = isError(error) ? error.message : String(error);
  return new InvalidWorkbookError({ file: displayName }, `is not a readable xlsx workbook: ${firstLine(message)}`);
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0].slice(0, 200);
}
