/**
 * The shared-strings table (xl/sharedStrings.xml): the text of every string cell that refers to
 * it by index. Parsed once, as it streams, into the values the cells show (runs of rich text
 * joined, phonetic guides left out, trimmed; blank text is no value), and bounded in count and
 * size: the table stays in memory while the sheets are read.
 */
import { InvalidWorkbookError } from '../errors';
import type { WorkbookLimits } from './workbook-limits';
import { indexOf, startsWithAt } from './byte-search';
import { decodeXmlText, MalformedXmlError, rootElementStart } from './xml-text';
import type { XlsxPackage } from './xlsx-package';

/** Index → trimmed text, or null for an entry with no visible text. */
export type SharedStrings = ReadonlyArray<string | null>;

export async function readSharedStrings(
  xlsx: XlsxPackage,
  path: string,
  limits: WorkbookLimits,
  options: { signal?: AbortSignal; onCompressedBytes?: (count: number) => void } = {},
): Promise<SharedStrings> {
  const parser = new SharedStringsParser(limits);
  try {
    for await (const chunk of xlsx.inflate(path, options)) parser.write(chunk);
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
  private readonly strings: Array<string | null> = [];
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
      if (after === 0x2f /* <si/> */) {
        strings.push(null);
        at = start + 5;
      } else if (after === 0x3e || after === 0x20) {
        const end = indexOf(bytes, '</si>', start, bytes.length);
        if (end < 0) {
          at = start;
          break;
        }
        if (end - start > limits.maxCellBytes) throw this.tooLong();
        const text = itemText(bytes, start, end);
        this.chars += text?.length ?? 0;
        strings.push(text);
        at = end + 5;
      } else {
        at = start + 3; // another element whose name starts with "si"
        continue;
      }
      if (strings.length > limits.maxSharedStrings) throw new SharedStringsError(`has more than ${limits.maxSharedStrings} shared strings (limit maxSharedStrings)`);
      if (this.chars > limits.maxSharedStringChars) {
        throw new SharedStringsError(`holds more than ${limits.maxSharedStringChars} characters (limit maxSharedStringChars)`);
      }
    }
    if (bytes.length - at > limits.maxCellBytes + 16) throw this.tooLong();
    this.pending = Buffer.from(bytes.subarray(at)); // a copy: do not pin the whole chunk
  }

  end(): SharedStrings {
    if (!this.inRoot) throw new SharedStringsError('has no root element');
    return this.strings;
  }

  private tooLong(): SharedStringsError {
    return new SharedStringsError(`shared string ${this.strings.length} is longer than ${this.limits.maxCellBytes} bytes (limit maxCellBytes)`);
  }
}

/** The visible text of one <si> item: its <t> elements, except those of phonetic runs (<rPh>). */
export function itemText(bytes: Uint8Array, start: number, end: number): string | null {
  let text = '';
  let at = start;
  for (;;) {
    const tag = indexOf(bytes, '<', at, end);
    if (tag < 0) break;
    if (startsWithAt(bytes, '<rPh', tag, end)) {
      const close = indexOf(bytes, '</rPh>', tag, end);
      at = close < 0 ? end : close + 6;
    } else if (startsWithAt(bytes, '<t', tag, end) && (bytes[tag + 2] === 0x3e || bytes[tag + 2] === 0x20 || bytes[tag + 2] === 0x2f)) {
      const open = indexOf(bytes, '>', tag, end);
      if (open < 0) break;
      if (bytes[open - 1] === 0x2f) {
        at = open + 1; // <t/>
        continue;
      }
      const close = indexOf(bytes, '</t>', open, end);
      if (close < 0) throw new MalformedXmlError('a <t> element that is never closed');
      text += decodeXmlText(bytes, open + 1, close);
      at = close + 4;
    } else {
      at = tag + 1;
    }
  }
  const trimmed = text.trim();
  return trimmed === '' ? null : trimmed;
}
