/**
 * What the transaction reader needs from a workbook, whichever parser reads it: the sheets in tab
 * order, and each sheet's rows as plain cell values. Two implementations: the fast tokenizer
 * (fast-workbook-source.ts, the default) and exceljs (exceljs-workbook-source.ts, kept as a
 * second opinion and a fallback). Both read the zip through XlsxPackage, from one base class
 * (xlsx-workbook-source.ts), so both get its checks.
 */
import type { PlainCellValue } from './plain-cell-value';
import type { WorkbookSheet } from './workbook-parts';

export type WorkbookReaderKind = 'fast' | 'exceljs';

export const WORKBOOK_READER_KINDS: readonly WorkbookReaderKind[] = ['fast', 'exceljs'];

/**
 * Called for each row that has content, in order. `cells[n]` is column n's value (1-based);
 * undefined where there is no cell or the column is not wanted. The array may be reused for the
 * next row: copy what you keep.
 */
export type SheetRowListener = (rowNumber: number, cells: readonly PlainCellValue[]) => void;

export interface SheetReadControl {
  /** Columns whose values are wanted (index = column number, 1 = wanted); undefined: all. */
  wanted?: Uint8Array;
}

export interface WorkbookSource {
  readonly displayName: string;
  readonly sheets: readonly WorkbookSheet[];
  /** The workbook counts dates from 1904-01-01 (old Mac workbooks), so its date serials are 1,462 days short. */
  readonly date1904: boolean;
  /**
   * Reads a worksheet, calling `onRow` as rows are parsed, and yields after each piece of the
   * file so the caller can hand rows on (or stop: leaving the loop stops inflating the sheet).
   * `control.wanted` may be changed from `onRow`; it applies from the next row on.
   */
  readSheet(sheet: WorkbookSheet, onRow: SheetRowListener, control: SheetReadControl): AsyncGenerator<void>;
  /** Called once all reading is done: the rest of the file counts as read. */
  finish(): void;
  close(): void;
}
