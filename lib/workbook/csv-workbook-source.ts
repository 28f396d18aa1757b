/**
 * A CSV export (`.csv`, or gzipped `.csv.gz`) as a workbook of one sheet, named CSV_SHEET_NAME,
 * so everything above the source (header search, decoding, limits, the load plan, reports) reads
 * it exactly as it reads a worksheet. The bytes are streamed from the file (and through node's
 * zlib for .csv.gz) into the CsvTokenizer: memory stays flat whatever the size.
 *
 * Limits, as for a workbook: a line (record) may take maxCellBytes, a record maxColumns fields,
 * the file maxRows rows; a .csv.gz inflates to at most maxDecompressedBytes, and past its first
 * MiB to at most maxCompressionRatio times its size on disk: a gzip bomb is refused as it
 * inflates, like a zip bomb. The reader kind (fast or exceljs) means nothing for a CSV.
 */
import fs from 'node:fs';
import { pipeline, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InvalidWorkbookError } from '../errors';
import { ByteProgress, type BytesReadListener } from './byte-progress';
import { CsvTokenizer } from './csv-tokenizer';
import { RATIO_EXEMPT_BYTES, type WorkbookLimits } from './workbook-limits';
import type { WorkbookSheet } from './workbook-parts';
import type { SheetReadControl, SheetRowListener, WorkbookSource } from './workbook-source';
import { formatBytes, isError } from './xlsx-package';

/**
 * The one sheet of a CSV file, as the load plan, the run's details and reports name it. A fixed
 * name, not the file's: a nightly `exports/online-retail-{date}.csv` keeps the same sheet name.
 */
export const CSV_SHEET_NAME = 'CSV';

/** Pieces read from the file (and handed out by zlib) at a time. */
const PIECE_BYTES = 256 * 1024;

export type CsvCompression = 'none' | 'gzip';

/** How a file is read as CSV, from its name (`.csv`, `.csv.gz`, any case), or undefined if it is no CSV. */
export function csvCompression(fileName: string): CsvCompression | undefined {
  const name = fileName.toLowerCase();
  if (name.endsWith('.csv')) return 'none';
  if (name.endsWith('.csv.gz')) return 'gzip';
  return undefined;
}

export interface OpenCsvOptions {
  filePath: string;
  displayName: string;
  limits: WorkbookLimits;
  onBytesRead?: BytesReadListener;
}

export class CsvWorkbookSource implements WorkbookSource {
  readonly sheets: readonly WorkbookSheet[];
  readonly date1904 = false;
  private readonly progress: ByteProgress;
  private readonly streams = new Set<NodeJS.ReadableStream & { destroy(error?: Error): void }>();

  private constructor(
    readonly displayName: string,
    private readonly filePath: string,
    private readonly compression: CsvCompression,
    private readonly fileSize: number,
    private readonly limits: WorkbookLimits,
    onBytesRead: BytesReadListener | undefined,
  ) {
    // partPath is only "a worksheet is there" for the reader; a CSV has no parts.
    this.sheets = [{ name: CSV_SHEET_NAME, partPath: displayName }];
    this.progress = new ByteProgress(fileSize, onBytesRead);
  }

  static async open({ filePath, displayName, limits, onBytesRead }: OpenCsvOptions): Promise<CsvWorkbookSource> {
    const compression = csvCompression(displayName);
    if (compression === undefined) throw new RangeError(`${displayName} is not named .csv or .csv.gz`);
    const size = await csvFileSize(filePath, displayName);
    return new CsvWorkbookSource(displayName, filePath, compression, size, limits, onBytesRead);
  }

  async *readSheet(_sheet: WorkbookSheet, onRow: SheetRowListener, control: SheetReadControl): AsyncGenerator<void> {
    const tokenizer = new CsvTokenizer(this.limits, { file: this.displayName }, onRow, control);
    const text = this.openText();
    try {
      for await (const piece of text) {
        tokenizer.write(piece as Buffer);
        yield;
      }
      tokenizer.end();
    } catch (error) {
      throw asCsvError(error, this.displayName);
    } finally {
      text.destroy();
      this.streams.delete(text);
    }
  }

  finish(): void {
    this.progress.finish();
  }

  close(): void {
    for (const stream of this.streams) stream.destroy();
    this.streams.clear();
  }

  /** The file's text, inflated if gzipped and held to the size limits; compressed bytes count as progress. */
  private openText() {
    const file = fs.createReadStream(this.filePath, { highWaterMark: PIECE_BYTES });
    const counted = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.progress.add(chunk.length);
        done(null, chunk);
      },
    });
    let text: NodeJS.ReadableStream & { destroy(error?: Error): void };
    if (this.compression === 'none') {
      text = pipeline(file, counted, () => undefined);
    } else {
      const limit = inflatedLimit(this.fileSize, this.limits);
      let inflated = 0;
      const held = new Transform({
        transform: (chunk: Buffer, _encoding, done) => {
          inflated += chunk.length;
          done(inflated > limit.bytes ? tooMuchInflated(this.displayName, this.fileSize, limit) : null, chunk);
        },
      });
      text = pipeline(file, counted, createGunzip({ chunkSize: PIECE_BYTES }), held, () => undefined);
    }
    this.streams.add(text);
    return text;
  }
}

/**
 * What a CSV file's load inflates, counted by inflating it (a gzip file's own size field holds
 * only the last member's size, modulo 4 GiB). Counting stops once it passes `countUpTo` (the
 * caller's limit: the answer is then "more than that"); a gzip bomb (maxCompressionRatio) is refused.
 */
export async function csvInflatedBytes(
  filePath: string,
  displayName: string,
  { countUpTo, maxCompressionRatio }: { countUpTo: number; maxCompressionRatio: number },
  signal?: AbortSignal,
): Promise<number> {
  const size = await csvFileSize(filePath, displayName);
  if (csvCompression(displayName) !== 'gzip') return size;
  const byRatio = Math.max(RATIO_EXEMPT_BYTES, maxCompressionRatio * size);
  let inflated = 0;
  const file = fs.createReadStream(filePath, { highWaterMark: PIECE_BYTES, signal });
  try {
    for await (const piece of pipeline(file, createGunzip({ chunkSize: PIECE_BYTES }), () => undefined)) {
      inflated += (piece as Buffer).length;
      if (inflated > byRatio) throw tooMuchInflated(displayName, size, { bytes: byRatio, name: 'maxCompressionRatio' });
      if (inflated > countUpTo) break;
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw asCsvError(error, displayName);
  } finally {
    file.destroy();
  }
  return inflated;
}

interface InflatedLimit {
  bytes: number;
  /** Which limit `bytes` is. */
  name: 'maxDecompressedBytes' | 'maxCompressionRatio';
}

/** The tighter of maxDecompressedBytes and, past RATIO_EXEMPT_BYTES, maxCompressionRatio times the file. */
function inflatedLimit(fileSize: number, limits: WorkbookLimits): InflatedLimit {
  const byRatio = Math.max(RATIO_EXEMPT_BYTES, limits.maxCompressionRatio * fileSize);
  return byRatio < limits.maxDecompressedBytes ? { bytes: byRatio, name: 'maxCompressionRatio' } : { bytes: limits.maxDecompressedBytes, name: 'maxDecompressedBytes' };
}

function tooMuchInflated(displayName: string, fileSize: number, limit: InflatedLimit): InvalidWorkbookError {
  const problem =
    limit.name === 'maxDecompressedBytes'
      ? `inflates to more than ${formatBytes(limit.bytes)} (limit maxDecompressedBytes)`
      : `inflates to more than ${Math.round(limit.bytes / Math.max(fileSize, 1))} times its compressed size of ${formatBytes(fileSize)} ` +
        '(limit maxCompressionRatio): a gzip bomb, not an export';
  return new InvalidWorkbookError({ file: displayName }, problem);
}

/** zlib's complaints about the bytes are the file's fault; errors from the system stay retryable. */
function asCsvError(error: unknown, displayName: string): unknown {
  if (error instanceof InvalidWorkbookError || !isError(error)) return error;
  const { code, syscall } = error as NodeJS.ErrnoException;
  if (syscall !== undefined || code === undefined || !code.startsWith('Z_')) return error;
  return new InvalidWorkbookError({ file: displayName }, `is not a valid gzip file: ${error.message.split('\n', 1)[0].slice(0, 200)}`);
}

async function csvFileSize(filePath: string, displayName: string): Promise<number> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(filePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new InvalidWorkbookError({ file: displayName }, 'not found');
    throw error; // permissions, I/O: not a property of the file, so leave it retryable
  }
  if (stat.isDirectory()) throw new InvalidWorkbookError({ file: displayName }, 'is a directory, not a CSV file');
  if (!stat.isFile()) throw new InvalidWorkbookError({ file: displayName }, 'is not a regular file');
  return stat.size;
}
