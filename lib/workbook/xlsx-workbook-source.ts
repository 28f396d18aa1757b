/**
 * What the two workbook sources share, whichever parser reads the cells: the zip opened through
 * XlsxPackage (so both get its checks and limits), the workbook's parts read (sheets in tab order,
 * date system, where the shared strings are), progress counted in compressed bytes, and closing.
 * A source adds only how it parses the shared strings and a sheet: fast-workbook-source.ts (the
 * byte tokenizer) and exceljs-workbook-source.ts.
 */
import { ByteProgress, type BytesReadListener } from './byte-progress';
import type { WorkbookLimits } from './workbook-limits';
import { readWorkbookParts, type WorkbookParts, type WorkbookSheet } from './workbook-parts';
import type { SheetReadControl, SheetRowListener, WorkbookSource } from './workbook-source';
import { XlsxPackage, type InflateOptions } from './xlsx-package';

export interface OpenWorkbookOptions {
  filePath: string;
  displayName: string;
  limits: WorkbookLimits;
  signal?: AbortSignal;
  onBytesRead?: BytesReadListener;
}

/** A workbook whose zip is open and whose parts have been read: what a source starts from. */
export interface OpenedWorkbook {
  readonly xlsx: XlsxPackage;
  readonly parts: WorkbookParts;
  readonly limits: WorkbookLimits;
  readonly progress: ByteProgress;
  readonly signal: AbortSignal | undefined;
}

/** Opens the file and reads its workbook parts; the file is closed again if that fails. */
export async function openWorkbook({ filePath, displayName, limits, signal, onBytesRead }: OpenWorkbookOptions): Promise<OpenedWorkbook> {
  const xlsx = await XlsxPackage.open(filePath, displayName, limits);
  try {
    const parts = await readWorkbookParts(xlsx, signal);
    return { xlsx, parts, limits, progress: new ByteProgress(xlsx.fileSize, onBytesRead), signal };
  } catch (error) {
    xlsx.close();
    throw error;
  }
}

export abstract class XlsxWorkbookSource implements WorkbookSource {
  protected readonly xlsx: XlsxPackage;
  protected readonly parts: WorkbookParts;
  protected readonly limits: WorkbookLimits;
  private readonly progress: ByteProgress;
  /** How every part is inflated: stopped by the signal, its compressed bytes counted as progress. */
  protected readonly inflating: InflateOptions;

  protected constructor({ xlsx, parts, limits, progress, signal }: OpenedWorkbook) {
    this.xlsx = xlsx;
    this.parts = parts;
    this.limits = limits;
    this.progress = progress;
    this.inflating = { signal, onCompressedBytes: progress.add };
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

  abstract readSheet(sheet: WorkbookSheet, onRow: SheetRowListener, control: SheetReadControl): AsyncGenerator<void>;

  finish(): void {
    this.progress.finish();
  }

  close(): void {
    this.xlsx.close();
  }
}
