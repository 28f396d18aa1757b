/**
 * The default reader: XlsxPackage for the zip, the shared strings parsed once, and the byte
 * tokenizer (sheet-tokenizer.ts) for each worksheet as node's zlib inflates it. zlib inflates on
 * libuv's thread pool, so inflating the next pieces overlaps with tokenizing this one on two
 * cores; a worker thread of our own was measured and gained nothing (see xlsx-package.ts).
 */
import { ByteProgress, type BytesReadListener } from './byte-progress';
import { NamespacePrefixStripper } from './namespace-prefix';
import { readSharedStrings, type SharedStrings } from './shared-strings';
import { SheetTokenizer } from './sheet-tokenizer';
import type { WorkbookLimits } from './workbook-limits';
import { readWorkbookParts, type WorkbookParts, type WorkbookSheet } from './workbook-parts';
import type { SheetReadControl, SheetRowListener, WorkbookSource } from './workbook-source';
import { XlsxPackage } from './xlsx-package';

export interface OpenWorkbookOptions {
  filePath: string;
  displayName: string;
  limits: WorkbookLimits;
  signal?: AbortSignal;
  onBytesRead?: BytesReadListener;
}

export class FastWorkbookSource implements WorkbookSource {
  private sharedStrings: SharedStrings | undefined;

  private constructor(
    private readonly xlsx: XlsxPackage,
    private readonly parts: WorkbookParts,
    private readonly limits: WorkbookLimits,
    private readonly progress: ByteProgress,
    private readonly signal: AbortSignal | undefined,
  ) {}

  static async open({ filePath, displayName, limits, signal, onBytesRead }: OpenWorkbookOptions): Promise<FastWorkbookSource> {
    const xlsx = await XlsxPackage.open(filePath, displayName, limits);
    try {
      const parts = await readWorkbookParts(xlsx, signal);
      return new FastWorkbookSource(xlsx, parts, limits, new ByteProgress(xlsx.fileSize, onBytesRead), signal);
    } catch (error) {
      xlsx.close();
      throw error;
    }
  }

  get displayName(): string {
    return this.xlsx.displayName;
  }

  get sheets(): readonly WorkbookSheet[] {
    return this.parts.sheets;
  }

  get date1904(): boolean {
    return this.parts.date1904;
  }

  async *readSheet(sheet: WorkbookSheet, onRow: SheetRowListener, control: SheetReadControl): AsyncGenerator<void> {
    if (sheet.partPath === undefined) return;
    const sharedStrings = await this.loadSharedStrings();
    const tokenizer = new SheetTokenizer(sharedStrings, this.limits, { file: this.displayName, sheet: sheet.name }, onRow, control);
    const prefixes = new NamespacePrefixStripper();
    for await (const chunk of this.xlsx.inflate(sheet.partPath, { signal: this.signal, onCompressedBytes: this.progress.add })) {
      const bytes = prefixes.write(chunk);
      if (bytes.length > 0 && !tokenizer.write(bytes)) return;
      yield;
    }
    const rest = prefixes.end();
    if (rest.length > 0 && !tokenizer.write(rest)) return;
    tokenizer.end();
  }

  finish(): void {
    this.progress.finish();
  }

  close(): void {
    this.xlsx.close();
  }

  private async loadSharedStrings(): Promise<SharedStrings> {
    if (this.sharedStrings === undefined) {
      const path = this.parts.sharedStringsPath;
      this.sharedStrings = path === undefined ? [] : await readSharedStrings(this.xlsx, path, this.limits, { signal: this.signal, onCompressedBytes: this.progress.add });
    }
    return this.sharedStrings;
  }
}
