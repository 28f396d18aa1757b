/**
 * exceljs as the parser (`reader: 'exceljs'`): slower, but a second, independent reading of the
 * same cells, and the library the generator writes with. Its shared-strings and worksheet
 * parsers are fed from XlsxPackage rather than from exceljs's own unzipper, so this path gets
 * the same zip checks and limits as the fast one, reads parts by name in any order, and needs
 * none of the workarounds streaming the zip front to back used to (reordering entries, rewriting
 * data descriptors, forwarding unzipper's errors, spooling a sheet to a temporary file).
 *
 * That uses two methods exceljs 4.4 does not document (`_parseSharedStrings`, `_parseWorksheet`,
 * the steps of its own `WorkbookReader.parse`); exceljs is pinned, and the equivalence test
 * (test/unit/reader-equivalence.test.ts) would catch an upgrade that moved them.
 */
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import ExcelJS from 'exceljs';
import type { Row } from 'exceljs';
import { InvalidWorkbookError } from '../errors';
import { NamespacePrefixStripper } from './namespace-prefix';
import { plainCellValue, type PlainCellValue } from './plain-cell-value';
import { columnName } from './sheet-tokenizer';
import type { WorkbookSheet } from './workbook-parts';
import type { SheetReadControl, SheetRowListener } from './workbook-source';
import { rootElementStart } from './xml-text';
import { openWorkbook, XlsxWorkbookSource, type OpenedWorkbook, type OpenWorkbookOptions } from './xlsx-workbook-source';

/**
 * What exceljs needs and nothing more, spelt out so an upgrade that changes its defaults cannot
 * quietly slow the reader down or turn dates into Date objects (the fast reader returns serials).
 */
export const EXCELJS_READER_OPTIONS = {
  worksheets: 'emit',
  sharedStrings: 'cache',
  hyperlinks: 'ignore',
  styles: 'ignore',
  entries: 'ignore',
} as const;

const EXCELJS_PIECE_BYTES = 16 * 1024;

/** The parts of exceljs's WorkbookReader this source drives. */
interface ExcelJsWorkbookInternals {
  sharedStrings?: unknown[];
  properties?: unknown;
  _parseSharedStrings(entry: Readable): AsyncGenerator<unknown>;
  _parseWorksheet(iterator: AsyncIterable<string>, sheetNo: string): Generator<{ eventType: string; value: ExcelJsWorksheetInternals }>;
}

interface ExcelJsWorksheetInternals {
  parse(): AsyncGenerator<Array<{ eventType: string; value: Row }>>;
}

export class ExcelJsWorkbookSource extends XlsxWorkbookSource {
  private readonly workbook: ExcelJsWorkbookInternals;
  private sharedStringsRead = false;

  private constructor(opened: OpenedWorkbook) {
    super(opened);
    this.workbook = new ExcelJS.stream.xlsx.WorkbookReader(undefined as unknown as string, EXCELJS_READER_OPTIONS) as unknown as ExcelJsWorkbookInternals;
    this.workbook.properties = {}; // what _parseWorkbook would set; only date formats read it, and styles are ignored
  }

  static async open(options: OpenWorkbookOptions): Promise<ExcelJsWorkbookSource> {
    return new ExcelJsWorkbookSource(await openWorkbook(options));
  }

  async *readSheet(sheet: WorkbookSheet, onRow: SheetRowListener, control: SheetReadControl): AsyncGenerator<void> {
    if (sheet.partPath === undefined) return;
    await this.readSharedStrings();
    const [emitted] = [...this.workbook._parseWorksheet(this.text(sheet.partPath), '1')];
    const cells: PlainCellValue[] = [];
    for await (const events of emitted.value.parse()) {
      for (const { eventType, value: row } of events) {
        if (eventType !== 'row' || !row.hasValues) continue;
        cells.length = 0;
        row.eachCell((cell, column) => {
          if (column > this.limits.maxColumns) {
            throw new InvalidWorkbookError(
              { file: this.displayName, sheet: sheet.name, row: row.number, column: columnName(column) },
              `has a cell in column ${columnName(column)} (${column}), past the limit of ${this.limits.maxColumns} columns (maxColumns)`,
            );
          }
          if (control.wanted === undefined || control.wanted[column] === 1) {
            const value = plainCellValue(cell.value);
            if (value !== null) cells[column] = value;
          }
        });
        onRow(row.number, cells);
      }
      yield;
    }
  }

  private async readSharedStrings(): Promise<void> {
    if (this.sharedStringsRead) return;
    this.sharedStringsRead = true;
    const path = this.parts.sharedStringsPath;
    if (path === undefined) {
      this.workbook.sharedStrings = [];
      return;
    }
    const count = this.limits.maxSharedStrings;
    for await (const _ of this.workbook._parseSharedStrings(Readable.from(this.text(path)))) {
      // 'cache' mode yields nothing; the strings land on workbook.sharedStrings
    }
    if ((this.workbook.sharedStrings?.length ?? 0) > count) {
      throw new InvalidWorkbookError({ file: this.displayName }, `${path}: has more than ${count} shared strings (limit maxSharedStrings)`);
    }
  }

  /**
   * A part as text, decoded across chunk boundaries, its prolog checked for a DOCTYPE first, and
   * namespace prefixes taken out of its tags (exceljs matches unprefixed names only, so on its own
   * it reads no row of an Open XML SDK export).
   */
  private async *text(path: string): AsyncGenerator<string> {
    const decoder = new StringDecoder('utf8');
    const prefixes = new NamespacePrefixStripper();
    let prologChecked = false;
    for await (const inflated of this.xlsx.inflate(path, this.inflating)) {
      if (!prologChecked) {
        rootElementStart(inflated); // throws on a DOCTYPE; saxes would otherwise read it
        prologChecked = true;
      }
      const chunk = prefixes.write(inflated);
      // In pieces of 16 KiB: exceljs gathers every event of a piece before handing any on, and
      // 256 KiB of sheet (some 40,000 events) outlives the young generation: 3x slower in GC.
      for (let at = 0; at < chunk.length; at += EXCELJS_PIECE_BYTES) yield decoder.write(chunk.subarray(at, at + EXCELJS_PIECE_BYTES));
    }
    yield decoder.write(prefixes.end()) + decoder.end();
  }
}
