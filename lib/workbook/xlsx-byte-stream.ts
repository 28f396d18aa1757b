/**
 * Opens an xlsx for exceljs's streaming reader, with the worksheets moved behind every other part.
 *
 * Why reorder: exceljs can only parse a worksheet as it streams past once it has the shared
 * strings and the workbook's relationships. Excel stores those first, but exceljs's own writers
 * and the one that made the reference UCI workbook put the sheet first; exceljs then inflates the
 * whole sheet (170 MB for the UCI file) into a temporary file and parses it only after the zip has
 * been read. Byte progress would reach 100% at under a tenth of the reading time, the temporary
 * file would outlive an aborted read until the process exits, and the worker would need that much
 * spare disk. Zip
 * entries are self-contained (each carries its own local header), so serving them in another order
 * is still a valid zip stream for a parser that, like exceljs's, reads local headers front to back.
 *
 * Entries written by a streaming zip writer (exceljs's own WorkbookWriter among them) carry
 * their sizes in a "data descriptor" after the data, and zeros in the local header. exceljs's
 * unzipper then finds the end of such an entry by scanning for the descriptor's signature
 * (PK\x07\x08), which compressed data contains by chance often enough (two hits in a 4.6 MB
 * generated sheet): the entry is cut there and inflating fails with "unexpected end of file".
 * The central directory has the true sizes, so each such entry is served as a plain one: sizes
 * and CRC written into its local header, the descriptor left out.
 *
 * Two failure paths would otherwise hang the reader forever, found by feeding it damaged files:
 * - I/O errors are recorded rather than emitted: exceljs pipes this stream into its unzipper, and
 *   a pipe does not forward errors.
 * - unzipper reports a damaged deflate stream on itself, not on the entry exceljs is reading, and
 *   that entry then never ends. We watch the unzipper this stream is piped into and fail the
 *   current entry with its error, so the failure travels up through exceljs to the caller.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { InvalidWorkbookError } from '../errors';
import { NotAZipError, readZipDirectory, type ZipDirectory, type ZipEntryBytes } from './zip-directory';

export type BytesReadListener = (bytesRead: number, totalBytes: number) => void;

export interface XlsxByteStream {
  stream: Readable;
  /** The read error that ended the stream early, if any: report it instead of the parser's complaint. */
  readError(): Error | undefined;
  close(): Promise<void>;
}

/**
 * exceljs's unzipper queues up to 16 written chunks before it pushes back, so the chunk size sets
 * how far reading runs ahead of parsing (16 x 16 KiB = 256 KiB): small enough for progress to
 * follow the rows on small files too, large enough to cost nothing measurable.
 */
const CHUNK_SIZE = 16 * 1024;
const PROGRESS_EVERY_BYTES = 64 * 1024;
const WORKSHEET_PATH = /^xl\/worksheets\/sheet\d+\.xml$/;
/** OLE compound file: an Excel 97-2003 .xls, or an .xlsx saved with a password (it is encrypted). */
const OLE_SIGNATURE = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

export async function openXlsxByteStream(
  filePath: string,
  displayName: string,
  onBytesRead?: BytesReadListener,
): Promise<XlsxByteStream> {
  const file = await openWorkbookFile(filePath, displayName);
  try {
    const directory = await readXlsxDirectory(file, displayName);
    let readError: Error | undefined;
    const chunks = readInStreamingOrder(file, directory, onBytesRead, (error) => (readError = error));
    const stream = Readable.from(chunks, { objectMode: false, highWaterMark: CHUNK_SIZE });
    forwardUnzipErrorsToEntries(stream);
    return {
      stream,
      readError: () => readError,
      close: async () => {
        stream.destroy();
        await file.close().catch(() => undefined);
      },
    };
  } catch (error) {
    await file.close().catch(() => undefined);
    throw error;
  }
}

function forwardUnzipErrorsToEntries(stream: Readable): void {
  const pipe = stream.pipe.bind(stream);
  stream.pipe = <T extends NodeJS.WritableStream>(unzip: T, options?: { end?: boolean }): T => {
    let currentEntry: Readable | undefined;
    unzip.on('data', (entry: unknown) => {
      if (isStream(entry)) currentEntry = entry;
    });
    unzip.on('error', (error: Error) => currentEntry?.destroy(error));
    return pipe(unzip, options);
  };
}

function isStream(value: unknown): value is Readable {
  return typeof value === 'object' && value !== null && typeof (value as Readable).destroy === 'function';
}

/** Errors from Node's own modules fail `instanceof Error` inside Jest's sandbox, so check the shape. */
export function isError(value: unknown): value is Error {
  return typeof value === 'object' && value !== null && typeof (value as Error).message === 'string';
}

async function openWorkbookFile(filePath: string, displayName: string): Promise<FileHandle> {
  let file: FileHandle;
  try {
    file = await open(filePath, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new InvalidWorkbookError({ file: displayName }, 'not found');
    if (code === 'EISDIR') throw new InvalidWorkbookError({ file: displayName }, 'is a directory, not a workbook');
    throw error; // permissions, I/O: not a property of the workbook, so leave it retryable
  }
  const stat = await file.stat();
  if (!stat.isFile()) {
    await file.close();
    throw new InvalidWorkbookError({ file: displayName }, stat.isDirectory() ? 'is a directory, not a workbook' : 'is not a regular file');
  }
  return file;
}

async function readXlsxDirectory(file: FileHandle, displayName: string): Promise<ZipDirectory> {
  const { size } = await file.stat();
  if (size === 0) throw new InvalidWorkbookError({ file: displayName }, 'is empty, not an xlsx workbook');
  const head = Buffer.alloc(Math.min(size, OLE_SIGNATURE.length));
  await file.read(head, 0, head.length, 0);
  if (head.equals(OLE_SIGNATURE)) {
    throw new InvalidWorkbookError(
      { file: displayName },
      'is an Excel 97-2003 (.xls) or password-protected workbook, not a plain .xlsx: save it as .xlsx without a password',
    );
  }
  let directory: ZipDirectory;
  try {
    directory = await readZipDirectory(file, size);
  } catch (error) {
    if (error instanceof NotAZipError) {
      throw new InvalidWorkbookError({ file: displayName }, `is not a valid xlsx workbook: ${error.message}`);
    }
    throw error;
  }
  if (!directory.entries.some((entry) => entry.path === 'xl/workbook.xml')) {
    throw new InvalidWorkbookError({ file: displayName }, 'is a zip file but not an xlsx workbook (it has no xl/workbook.xml)');
  }
  return directory;
}

async function* readInStreamingOrder(
  file: FileHandle,
  directory: ZipDirectory,
  onBytesRead: BytesReadListener | undefined,
  onReadError: (error: Error) => void,
): AsyncGenerator<Buffer> {
  const worksheetsLast = [
    ...directory.entries.filter((entry) => !WORKSHEET_PATH.test(entry.path)),
    ...directory.entries.filter((entry) => WORKSHEET_PATH.test(entry.path)),
  ];
  const totalBytes = directory.fileSize;
  let bytesRead = 0;
  let reportedAt = 0;
  const report = (count: number) => {
    bytesRead += count;
    // Small parts come in small chunks: report per 64 KiB, and once at the very end.
    if (onBytesRead && (bytesRead - reportedAt >= PROGRESS_EVERY_BYTES || bytesRead === totalBytes)) {
      reportedAt = bytesRead;
      onBytesRead(bytesRead, totalBytes);
    }
  };
  try {
    for (const entry of worksheetsLast) {
      const { header, dataEnd } = await plainLocalHeader(file, entry);
      report(entry.end - dataEnd); // a skipped data descriptor counts as read
      report(header.length);
      yield header;
      yield* readRange(file, entry.start + header.length, dataEnd, report);
    }
    yield* readRange(file, directory.directoryStart, directory.fileSize, report);
  } catch (error) {
    onReadError(isError(error) ? error : new Error(String(error)));
  }
}

async function* readRange(file: FileHandle, start: number, end: number, report: (count: number) => void): AsyncGenerator<Buffer> {
  for (let position = start; position < end; ) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK_SIZE, end - position));
    const { bytesRead: got } = await file.read(chunk, 0, chunk.length, position);
    if (got === 0) throw new Error(`unexpected end of file at byte ${position}`);
    position += got;
    report(got);
    yield got === chunk.length ? chunk : chunk.subarray(0, got);
  }
}

const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_SIZE = 30;
const HAS_DATA_DESCRIPTOR = 0x08;

/**
 * The entry's local header (with its name and extra field), made to state the sizes itself, and
 * where the entry's compressed data ends. Entries that already state them pass unchanged.
 */
async function plainLocalHeader(file: FileHandle, entry: ZipEntryBytes): Promise<{ header: Buffer; dataEnd: number }> {
  const fixed = Buffer.alloc(LOCAL_HEADER_SIZE);
  await file.read(fixed, 0, LOCAL_HEADER_SIZE, entry.start);
  if (fixed.readUInt32LE(0) !== LOCAL_HEADER_SIGNATURE) throw new Error(`damaged zip entry ${entry.path}`);
  const header = Buffer.alloc(LOCAL_HEADER_SIZE + fixed.readUInt16LE(26) + fixed.readUInt16LE(28));
  await file.read(header, 0, header.length, entry.start);
  const flags = header.readUInt16LE(6);
  if (flags & HAS_DATA_DESCRIPTOR) {
    header.writeUInt16LE(flags & ~HAS_DATA_DESCRIPTOR, 6);
    header.writeUInt32LE(entry.crc32, 14);
    header.writeUInt32LE(entry.compressedSize, 18);
    header.writeUInt32LE(entry.uncompressedSize, 22);
  }
  const dataEnd = entry.start + header.length + entry.compressedSize;
  if (dataEnd > entry.end) throw new Error(`damaged zip entry ${entry.path}: its data runs past the next entry`);
  return { header, dataEnd };
}
