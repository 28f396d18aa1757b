/**
 * The shared-strings table (xl/sharedStrings.xml): the text of every string cell that refers to
 * it by index. Parsed once, as it streams, into the values the cells show (runs of rich text
 * joined, phonetic guides left out, trimmed; blank text is no value), and bounded in count and
 * size: the table stays in memory while the sheets are read, so it is kept compact (one buffer of
 * UTF-8 text and one of offsets, not a JS string per entry: two million short strings cost some
 * 90 MiB of heap that way, against about 25 MiB like this).
 */
import { InvalidWorkbookError } from '../errors';
import type { WorkbookLimits } from './workbook-limits';
import { findByte, indexOf } from './byte-search';
import { NamespacePrefixStripper } from './namespace-prefix';
import { isNameEnd, textOfRuns } from './rich-text';
import { MalformedXmlError, rootElementStart } from './xml-text';
import type { XlsxPackage } from './xlsx-package';

/**
 * Index → trimmed text, or null for an entry with no visible text; undefined past the end. A plain
 * array is one too (tests, benches); the reader's own is a SharedStringTable.
 */
export interface SharedStrings {
  readonly length: number;
  at(index: number): string | null | undefined;
}

/** The entries' text back to back as UTF-8, and where each ends; an empty entry is null. */
export class SharedStringTable implements SharedStrings {
  private bytes = Buffer.allocUnsafe(64 * 1024);
  private ends = new Int32Array(16 * 1024);
  private used = 0;
  length = 0;

  push(text: string | null): void {
    if (this.length === this.ends.length) {
      const ends = new Int32Array(this.ends.length * 2);
      ends.set(this.ends);
      this.ends = ends;
    }
    if (text !== null) {
      if (this.used + 3 * text.length > this.bytes.length) {
        const bytes = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.used + 3 * text.length));
        this.bytes.copy(bytes, 0, 0, this.used);
        this.bytes = bytes;
      }
      this.used += this.bytes.write(text, this.used, 'utf8');
    }
    this.ends[this.length++] = this.used;
  }

  at(index: number): string | null | undefined {
    if (!(index >= 0 && index < this.length)) return undefined;
    const start = index === 0 ? 0 : this.ends[index - 1];
    const end = this.ends[index];
    return start === end ? null : this.bytes.toString('utf8', start, end);
  }

  /** Every entry, in order (for tests and debugging). */
  toArray(): Array<string | null> {
    return Array.from({ length: this.length }, (_, index) => this.at(index) as string | null);
  }
}

export async function readSharedStrings(
  xlsx: XlsxPackage,
  path: string,
  limits: WorkbookLimits,
  options: { signal?: AbortSignal; onCompressedBytes?: (count: number) => void } = {},
): Promise<SharedStrings> {
  const parser = new SharedStringsParser(limits);
  const prefixes = new NamespacePrefixStripper();
  try {
    for await (const chunk of xlsx.inflate(path, options)) parser.write(prefixes.write(chunk));
    parser.write(prefixes.end());
    return parser.end();
  } catch (error) {
    if (error instanceof SharedStringsError || error instanceof MalformedXmlError) {
      throw new InvalidWorkbookError({ file: xlsx.displayName }, `${path}: ${error.message}`);
    }
    throw error;
  }
}

/** What is wrong with the table; readSharedStrings adds the file and part. */
export class SharedStringsError extends Error {}

/** Takes the part's bytes in pieces of any size; holds at most one unfinished <si> item between them. */
export class SharedStringsParser {
  private readonly strings = new SharedStringTable();
  private chars = 0;
  private pending: Buffer = Buffer.alloc(0);
  private inRoot = false;

  constructor(private readonly limits: WorkbookLimits) {}

  write(chunk: Buffer): void {
    const { limits, strings } = this;
    const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    if (!this.inRoot) {
      const root = rootElementStart(bytes);
      if (root === undefined) {
        if (bytes.length > limits.maxCellBytes) throw new SharedStringsError('no root element where it should start');
        this.pending = bytes;
        return;
      }
      this.inRoot = true;
      at = root;
    }
    for (;;) {
      const start = indexOf(bytes, '<si', at, bytes.length);
      if (start < 0 || start + 3 >= bytes.length) {
        at = start < 0 ? Math.max(at, bytes.length - 3) : start;
        break;
      }
      const after = bytes[start + 3];
      if (!isNameEnd(after)) {
        at = start + 3; // another element whose name starts with "si"
        continue;
      }
      const open = findByte(bytes, 0x3e /* > */, start, bytes.length);
      if (open < 0) {
        at = start;
        break;
      }
      if (bytes[open - 1] === 0x2f /* <si/> */) {
        strings.push(null);
        at = open + 1;
      } else {
        const end = indexOf(bytes, '</si>', open, bytes.length);
        if (end < 0) {
          at = start;
          break;
        }
        if (end - start > limits.maxCellBytes) throw this.tooLong();
        const text = textOfRuns(bytes, open + 1, end);
        this.chars += text?.length ?? 0;
        strings.push(text);
        at = end + 5;
      }
      if (strings.length > limits.maxSharedStrings) throw new SharedStringsError(`has more than ${limits.maxSharedStrings} shared strings (limit maxSharedStrings)`);
      if (this.chars > limits.maxSharedStringChars) {
        throw new SharedStringsError(`holds more than ${limits.maxSharedStringChars} characters (limit maxSharedStringChars)`);
      }
    }
    if (bytes.length - at > limits.maxCellBytes + 16) throw this.tooLong();
    this.pending = Buffer.from(bytes.subarray(at)); // a copy: do not pin the whole chunk
  }

  end(): SharedStringTable {
    if (!this.inRoot) throw new SharedStringsError('has no root element');
    return this.strings;
  }

  private tooLong(): SharedStringsError {
    return new SharedStringsError(`shared string ${this.strings.length} is longer than ${this.limits.maxCellBytes} bytes (limit maxCellBytes)`);
  }
}
