/**
 * The default reader: XlsxPackage for the zip, the shared strings parsed once, and the byte
 * tokenizer (sheet-tokenizer.ts) for each worksheet as node's zlib inflates it. zlib inflates on
 * libuv's thread pool, so inflating the next pieces overlaps with tokenizing this one on two
 * cores; a worker thread of our own was measured and gained nothing (see xlsx-package.ts).
 * Opening, the sheet list, progress and closing are shared with exceljs (xlsx-workbook-source.ts).
 */
import { NamespacePrefixStripper } from './namespace-prefix';
import { readSharedStrings, type SharedStrings } from './shared-strings';
import { SheetTokenizer } from './sheet-tokenizer';
import type { WorkbookSheet } from './workbook-parts';
import type { SheetReadControl, SheetRowListener } from './workbook-source';
import { openWorkbook, XlsxWorkbookSource, type OpenWorkbookOptions } from './xlsx-workbook-source';

export class FastWorkbookSource extends XlsxWorkbookSource {
  private sharedStrings: SharedStrings | undefined;

  static async open(options: OpenWorkbookOptions): Promise<FastWorkbookSource> {
    return new FastWorkbookSource(await openWorkbook(options));
  }

  async *readSheet(sheet: WorkbookSheet, onRow: SheetRowListener, control: SheetReadControl): AsyncGenerator<void> {
    if (sheet.partPath === undefined) return;
    const sharedStrings = await this.loadSharedStrings();
    const tokenizer = new SheetTokenizer(sharedStrings, this.limits, { file: this.displayName, sheet: sheet.name }, onRow, control);
    const prefixes = new NamespacePrefixStripper();
    for await (const chunk of this.xlsx.inflate(sheet.partPath, this.inflating)) {
      const bytes = prefixes.write(chunk);
      if (bytes.length > 0 && !tokenizer.write(bytes)) return;
      yield;
    }
    const rest = prefixes.end();
    if (rest.length > 0 && !tokenizer.write(rest)) return;
    tokenizer.end();
  }

  private async loadSharedStrings(): Promise<SharedStrings> {
    if (this.sharedStrings === undefined) {
      const path = this.parts.sharedStringsPath;
      this.sharedStrings = path === undefined ? [] : await readSharedStrings(this.xlsx, path, this.limits, this.inflating);
    }
    return this.sharedStrings;
  }
}
