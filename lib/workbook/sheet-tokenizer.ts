/**
 * The hot path: a worksheet's XML, as inflated bytes, to rows of cell values, in one pass over
 * the bytes with no string made for what is not asked for.
 *
 * A worksheet is regular: `<row r="2"><c r="A2" t="s"><v>8</v></c>…</row>`. The tokenizer knows
 * just that grammar (rows, cells, and a cell's <v>, <f> and <is> children), skips everything
 * else tag by tag, and refuses what a worksheet cannot contain (a DOCTYPE, an undefined entity).
 * Only the columns in `wanted` get a value built; the others are stepped over. Bytes are carried
 * from one chunk to the next only from the start of an unfinished tag or cell, so what is held
 * is bounded by the cell-size limit, not by the sheet.
 *
 * Measured against saxes (the streaming parser exceljs uses) on the UCI sheet: see
 * docs/performance.md, "Reading the workbook".
 */
import { InvalidWorkbookError, type WorkbookLocation } from '../errors';
import type { PlainCellValue } from './plain-cell-value';
import type { SharedStrings } from './shared-strings';
import { EXCEL_MAX_ROWS, type WorkbookLimits } from './workbook-limits';
import type { SheetReadControl, SheetRowListener } from './workbook-source';
import { findByte, indexOf, startsWithAt } from './byte-search';
import { textOfRuns } from './rich-text';
import { decodeXmlText, MalformedXmlError, rootElementStart } from './xml-text';


const enum Phase {
  Prolog,
  BeforeSheetData,
  SheetData,
  Done,
}

const enum CellType {
  Number,
  SharedString,
  FormulaString,
  InlineString,
  Boolean,
  Error,
  Date,
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const UPPER_A = 0x41;
const UPPER_Z = 0x5a;

/** 10^k for k ≤ 22 is exact in a double: m / 10^k is then correctly rounded (Clinger's fast path). */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);
const MAX_FAST_DIGITS = 15;

export class SheetTokenizer {
  private phase = Phase.Prolog;
  /** Holds the carried bytes (the first `carried` of it) and then the chunk appended to them. */
  private work: Buffer = Buffer.alloc(0);
  private carried = 0;
  private rowNumber = 0;
  private inRow = false;
  private column = 0;
  private rowHasContent = false;
  private readonly cells: PlainCellValue[] = [];
  /** Where the r and t values of the start tag just scanned lie; reused for every tag. */
  private readonly attributes: TagAttributes = { rStart: -1, rEnd: -1, tStart: -1, tEnd: -1 };
  private touched: number[] = [];

  constructor(
    private readonly sharedStrings: SharedStrings,
    private readonly limits: WorkbookLimits,
    private readonly where: WorkbookLocation,
    private readonly onRow: SheetRowListener,
    /** `control.wanted`: the columns (by number) to build values for; undefined: all. Read at each cell. */
    private readonly control: SheetReadControl = {},
  ) {}

  /** Feeds the next inflated bytes. False once the sheet's data has ended: the rest need not be read. */
  write(chunk: Buffer): boolean {
    if (this.phase === Phase.Done) return false;
    const bytes = this.withCarried(chunk);
    let at = 0;
    try {
      if (this.phase === Phase.Prolog) {
        const root = rootElementStart(bytes);
        if (root === undefined) return this.carry(bytes, 0);
        this.phase = Phase.BeforeSheetData;
        at = root;
      }
      if (this.phase === Phase.BeforeSheetData) {
        at = this.findSheetData(bytes, at);
        if (at < 0) return this.carry(bytes, Math.max(0, bytes.length - 16));
      }
      if (!this.done()) at = this.readSheetData(bytes, at);
    } catch (error) {
      if (error instanceof MalformedXmlError) throw this.error(`is not a valid worksheet: ${error.message}`, this.rowNumber);
      throw error;
    }
    return this.done() ? false : this.carry(bytes, at);
  }

  /** The sheet's bytes have all been fed: they must have held the end of its data. */
  end(): void {
    if (!this.done()) throw this.error('is cut short: its cell data never ends');
  }

  private done(): boolean {
    return this.phase === Phase.Done;
  }

  /**
   * The unfinished tag or cell carried from the last chunk, followed by this chunk, in one
   * buffer that is reused from chunk to chunk: a fresh Buffer.concat per chunk would churn
   * through as much memory as the sheet is large and lift peak RSS while the GC catches up.
   */
  private withCarried(chunk: Buffer): Buffer {
    if (this.carried === 0) return chunk;
    const length = this.carried + chunk.length;
    if (this.work.length < length) {
      const larger = Buffer.allocUnsafe(Math.max(length, 2 * this.work.length));
      this.work.copy(larger, 0, 0, this.carried);
      this.work = larger;
    }
    chunk.copy(this.work, this.carried);
    this.carried = 0;
    return this.work.subarray(0, length);
  }

  private carry(bytes: Buffer, from: number): true {
    const length = bytes.length - from;
    if (length > this.limits.maxCellBytes + 1024) {
      throw this.error(`has a cell or tag longer than ${this.limits.maxCellBytes} bytes (limit maxCellBytes)`, this.rowNumber);
    }
    if (this.work.length < length) this.work = Buffer.allocUnsafe(Math.max(length, 64 * 1024));
    bytes.copy(this.work, 0, from); // may overlap when `bytes` is `work` itself: Buffer#copy moves safely
    this.carried = length;
    return true;
  }

  private findSheetData(bytes: Buffer, from: number): number {
    const start = indexOf(bytes, '<sheetData', from, bytes.length);
    if (start < 0) return -1;
    const close = findByte(bytes, GT, start, bytes.length);
    if (close < 0) return -1;
    this.phase = bytes[close - 1] === SLASH ? Phase.Done : Phase.SheetData;
    return close + 1;
  }

  /** Reads rows and cells from `at`; returns where an unfinished tag or cell starts (or the end). */
  private readSheetData(bytes: Buffer, at: number): number {
    const end = bytes.length;
    for (;;) {
      while (at < end && bytes[at] !== LT) at++;
      if (at + 2 >= end) return at;
      const next = bytes[at + 1];
      if (next === 0x63 /* c */ && isTagNameEnd(bytes[at + 2])) {
        const after = this.readCell(bytes, at, end);
        if (after < 0) return at;
        at = after;
      } else if (next === SLASH) {
        const close = findByte(bytes, GT, at, end);
        if (close < 0) return at;
        if (bytes[at + 2] === 0x72 /* r */ && bytes[at + 3] === 0x6f /* o */ && bytes[at + 4] === 0x77 /* w */) this.endRow();
        else if (startsWithAt(bytes, '</sheetData', at, end)) {
          if (this.inRow) this.endRow();
          this.phase = Phase.Done;
          return close + 1;
        }
        at = close + 1;
      } else if (next === 0x72 /* r */ && startsWithAt(bytes, '<row', at, end) && at + 4 < end && isTagNameEnd(bytes[at + 4])) {
        const close = this.startRow(bytes, at + 4, end);
        if (close < 0) return at;
        at = close + 1;
      } else if (next === 0x21 /* ! */) {
        if (!startsWithAt(bytes, '<!--', at, end)) {
          if (end - at < 9) return at;
          throw new MalformedXmlError('a markup declaration (DOCTYPE, ENTITY or CDATA) between cells');
        }
        const close = indexOf(bytes, '-->', at + 4, end);
        if (close < 0) return at;
        at = close + 3;
      } else {
        const close = findByte(bytes, GT, at, end);
        if (close < 0) return at;
        at = close + 1; // an element the reader has no use for
      }
    }
  }

  /** Reads a row's start tag from `from` (past "<row"); returns where its ">" is, or -1 if it is not all here. */
  private startRow(bytes: Buffer, from: number, end: number): number {
    const found = this.attributes;
    const close = scanStartTag(bytes, from, end, found);
    if (close < 0) return -1;
    if (this.inRow) this.endRow();
    let rowNumber = this.rowNumber + 1;
    if (found.rStart >= 0) {
      rowNumber = parseDigits(bytes, found.rStart, found.rEnd);
      if (!(rowNumber >= 1)) throw this.error(`has a row with the number "${latin1(bytes, found.rStart, found.rEnd)}"`);
      // Rows are numbered upwards: a repeated or earlier number would be read as the same rows
      // twice, or make a resumed load (which skips up to the last row it wrote) skip real ones.
      if (rowNumber <= this.rowNumber) {
        throw this.error(`has row ${rowNumber} after row ${this.rowNumber}: row numbers must increase down the sheet`, rowNumber);
      }
    }
    if (rowNumber > EXCEL_MAX_ROWS) throw this.error(`has a row numbered ${rowNumber}, past Excel's last row (${EXCEL_MAX_ROWS})`);
    this.rowNumber = rowNumber;
    this.column = 0;
    this.rowHasContent = false;
    this.inRow = bytes[close - 1] !== SLASH;
    return close;
  }

  private endRow(): void {
    this.inRow = false;
    if (this.rowHasContent) this.onRow(this.rowNumber, this.cells);
    const { cells, touched } = this;
    for (let k = 0; k < touched.length; k++) cells[touched[k]] = undefined as unknown as PlainCellValue;
    touched.length = 0;
  }

  /** Reads the cell starting at `at`; returns the index after it, or -1 if it is not all here yet. */
  private readCell(bytes: Buffer, at: number, end: number): number {
    if (!this.inRow) throw new MalformedXmlError('a cell outside any row');
    const found = this.attributes;
    const close = scanStartTag(bytes, at + 2, end, found);
    if (close < 0) return this.incomplete(at, end);
    let column = found.rStart >= 0 ? columnNumber(bytes, found.rStart, found.rEnd) : 0;
    const type = found.tStart >= 0 ? cellType(bytes, found.tStart, found.tEnd) : CellType.Number;
    if (column === 0) column = this.column + 1;
    this.column = column;
    if (column > this.limits.maxColumns) {
      throw this.error(`has a cell in column ${columnName(column)} (${column}), past the limit of ${this.limits.maxColumns} columns (maxColumns)`, this.rowNumber, columnName(column));
    }
    if (bytes[close - 1] === SLASH) return close + 1; // <c …/>: a formatted cell with nothing in it
    const cellEnd = findCellEnd(bytes, close + 1, end);
    if (cellEnd < 0) return this.incomplete(at, end);
    if (cellEnd - at > this.limits.maxCellBytes) {
      throw this.error(`has a cell longer than ${this.limits.maxCellBytes} bytes (limit maxCellBytes)`, this.rowNumber, columnName(column));
    }
    if (cellEnd > close + 1) this.rowHasContent = true;
    const wanted = this.control.wanted;
    if (wanted === undefined || wanted[column] === 1) {
      const value = this.cellValue(bytes, close + 1, cellEnd, type, column);
      if (value !== null) {
        this.cells[column] = value;
        this.touched.push(column);
      }
    }
    return cellEnd + 4;
  }

  private incomplete(at: number, end: number): number {
    if (end - at > this.limits.maxCellBytes) {
      throw this.error(`has a cell longer than ${this.limits.maxCellBytes} bytes (limit maxCellBytes)`, this.rowNumber);
    }
    return -1;
  }

  /** A cell's value from its children: <v> (value or cached result), <f> (formula), <is> (inline string). */
  private cellValue(bytes: Buffer, start: number, end: number, type: CellType, column: number): PlainCellValue {
    let valueStart = -1;
    let valueEnd = -1;
    let inlineStart = -1;
    let inlineEnd = -1;
    let formula = false;
    for (let at = start; ; ) {
      while (at < end && bytes[at] !== LT) at++;
      if (at >= end) break;
      const close = findByte(bytes, GT, at, end);
      if (close < 0 || close >= end) throw new MalformedXmlError('an unfinished tag inside a cell');
      const name = bytes[at + 1];
      const selfClosing = bytes[close - 1] === SLASH;
      const nameEnd = isTagNameEnd(bytes[at + 2]);
      if (name === 0x76 /* v */ && nameEnd) {
        if (selfClosing) {
          valueStart = valueEnd = close;
          at = close + 1;
        } else {
          valueStart = close + 1;
          valueEnd = findEndTag(bytes, 0x76 /* v */, valueStart, end);
          if (valueEnd < 0) throw new MalformedXmlError('a <v> element that is never closed');
          at = valueEnd + 4;
        }
      } else if (name === 0x66 /* f */ && nameEnd) {
        formula = true;
        const formulaEnd = selfClosing ? close + 1 : indexOf(bytes, '</f>', close + 1, end);
        if (formulaEnd < 0) throw new MalformedXmlError('an <f> element that is never closed');
        at = selfClosing ? formulaEnd : formulaEnd + 4;
      } else if (name === 0x69 /* i */ && bytes[at + 2] === 0x73 /* s */ && isTagNameEnd(bytes[at + 3])) {
        if (selfClosing) {
          inlineStart = inlineEnd = close;
          at = close + 1;
        } else {
          inlineStart = close + 1;
          inlineEnd = indexOf(bytes, '</is>', inlineStart, end);
          if (inlineEnd < 0) throw new MalformedXmlError('an <is> element that is never closed');
          at = inlineEnd + 5;
        }
      } else {
        at = close + 1;
      }
    }

    if (type === CellType.InlineString) return inlineStart < 0 ? null : textOfRuns(bytes, inlineStart, inlineEnd);
    // openpyxl writes formulas with an empty <v/>: no result was ever computed (an empty text result has t="str").
    if (valueStart < 0 || (formula && valueStart === valueEnd && type !== CellType.FormulaString)) {
      return formula ? { unusable: 'a formula without a stored result (open and save it in Excel)' } : null;
    }
    switch (type) {
      case CellType.Number:
        return parseNumber(bytes, valueStart, valueEnd);
      case CellType.SharedString: {
        if (valueStart === valueEnd) return null; // <v/>: no string at all (calamine reads it so too)
        const index = parseDigits(bytes, valueStart, valueEnd);
        if (!(index >= 0) || index >= this.sharedStrings.length) {
          throw this.error(
            `refers to shared string "${latin1(bytes, valueStart, valueEnd)}", which the shared-strings table (${this.sharedStrings.length} entries) does not have`,
            this.rowNumber,
            columnName(column),
          );
        }
        return this.sharedStrings.at(index) as string | null;
      }
      case CellType.FormulaString:
        return trimmed(decodeXmlText(bytes, valueStart, valueEnd));
      case CellType.Boolean:
        return parseDigits(bytes, valueStart, valueEnd) === 1;
      case CellType.Error:
        return { unusable: `the error value ${decodeXmlText(bytes, valueStart, valueEnd).trim()}` };
      case CellType.Date: {
        const text = decodeXmlText(bytes, valueStart, valueEnd).trim();
        const date = new Date(text);
        return Number.isNaN(date.getTime()) ? { unusable: `the malformed date ${JSON.stringify(text)}` } : date;
      }
      default:
        return null;
    }
  }

  private error(problem: string, row?: number, column?: string): InvalidWorkbookError {
    const location: WorkbookLocation = { ...this.where };
    if (row !== undefined && row > 0) location.row = row;
    if (column !== undefined) location.column = column;
    return new InvalidWorkbookError(location, problem);
  }
}

interface TagAttributes {
  rStart: number;
  rEnd: number;
  tStart: number;
  tEnd: number;
}

/**
 * One pass over a start tag's attributes, from just past its name to its ">": the values of r and
 * t (the only ones rows and cells need) are left in `found`, the others stepped over whole (a
 * quoted value may hold a ">"). Names are found back from the "=" before each value. Returns
 * where the ">" is, or -1 if the tag is not all in these bytes.
 */
function scanStartTag(bytes: Buffer, from: number, end: number, found: TagAttributes): number {
  found.rStart = found.tStart = -1;
  for (let at = from; at < end; at++) {
    const byte = bytes[at];
    if (byte === GT) return at;
    if (byte !== QUOTE && byte !== APOSTROPHE) continue;
    const valueEnd = findByte(bytes, byte, at + 1, end);
    if (valueEnd < 0) return -1;
    let name = at - 1;
    while (bytes[name] <= 0x20) name--;
    if (bytes[name] === EQUALS) {
      name--;
      while (bytes[name] <= 0x20) name--;
      if (bytes[name - 1] <= 0x20) {
        if (bytes[name] === 0x72 /* r */) {
          found.rStart = at + 1;
          found.rEnd = valueEnd;
        } else if (bytes[name] === 0x74 /* t */) {
          found.tStart = at + 1;
          found.tEnd = valueEnd;
        }
      }
    }
    at = valueEnd;
  }
  return -1;
}

/** Where `</c>` starts, or -1. */
function findCellEnd(bytes: Buffer, from: number, end: number): number {
  return findEndTag(bytes, 0x63 /* c */, from, end);
}

/** Where the end tag of a one-letter element (`</c>`, `</v>`) starts, or -1. */
function findEndTag(bytes: Buffer, letter: number, from: number, end: number): number {
  for (let at = from; at + 3 < end; at++) {
    if (bytes[at] === LT && bytes[at + 1] === SLASH && bytes[at + 2] === letter && bytes[at + 3] === GT) return at;
  }
  return -1;
}

function isTagNameEnd(byte: number): boolean {
  return byte === GT || byte === SLASH || byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** "AB12" → 28: the letters of a cell reference. */
function columnNumber(bytes: Buffer, start: number, end: number): number {
  let column = 0;
  for (let at = start; at < end; at++) {
    const byte = bytes[at];
    if (byte < UPPER_A || byte > UPPER_Z) break;
    column = column * 26 + (byte - UPPER_A + 1);
    if (column > 1_000_000) break; // absurd; the column limit reports it
  }
  return column;
}

export function columnName(column: number): string {
  let name = '';
  for (let rest = column; rest > 0; rest = Math.floor((rest - 1) / 26)) name = String.fromCharCode(65 + ((rest - 1) % 26)) + name;
  return name;
}

function cellType(bytes: Buffer, start: number, end: number): CellType {
  const length = end - start;
  const first = bytes[start];
  if (length === 1) {
    if (first === 0x73 /* s */) return CellType.SharedString;
    if (first === 0x6e /* n */) return CellType.Number;
    if (first === 0x62 /* b */) return CellType.Boolean;
    if (first === 0x65 /* e */) return CellType.Error;
    if (first === 0x64 /* d */) return CellType.Date;
  }
  if (length === 3 && startsWithAt(bytes, 'str', start, end)) return CellType.FormulaString;
  if (length === 9 && startsWithAt(bytes, 'inlineStr', start, end)) return CellType.InlineString;
  throw new MalformedXmlError(`a cell of the unknown type "${latin1(bytes, start, end)}"`);
}

/** A whole number in ASCII digits, or NaN. */
function parseDigits(bytes: Buffer, start: number, end: number): number {
  if (start >= end || end - start > 15) return NaN;
  let value = 0;
  for (let at = start; at < end; at++) {
    const digit = bytes[at] - ZERO;
    if (digit < 0 || digit > 9) return NaN;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * A number as Excel writes it. Plain decimals of up to 15 digits (nearly every value in an
 * export) are computed from the bytes exactly as Number() would round them; anything else
 * (exponents, 17-digit doubles) goes through Number().
 */
export function parseNumber(bytes: Buffer, start: number, end: number): PlainCellValue {
  let at = start;
  const negative = bytes[at] === MINUS;
  if (negative) at++;
  let mantissa = 0;
  let digits = 0;
  let fractionDigits = -1;
  for (; at < end; at++) {
    const byte = bytes[at];
    if (byte >= ZERO && byte <= NINE) {
      mantissa = mantissa * 10 + (byte - ZERO);
      digits++;
      if (fractionDigits >= 0) fractionDigits++;
    } else if (byte === DOT && fractionDigits < 0) {
      fractionDigits = 0;
    } else {
      break;
    }
  }
  if (at === end && digits > 0 && digits <= MAX_FAST_DIGITS) {
    const value = fractionDigits > 0 ? mantissa / POWERS_OF_TEN[fractionDigits] : mantissa;
    return negative ? -value : value;
  }
  const text = latin1(bytes, start, end).trim();
  if (text === '') return null;
  const value = Number(text);
  return Number.isNaN(value) ? { unusable: `the malformed number ${JSON.stringify(text.slice(0, 40))}` } : value;
}

function trimmed(text: string): string | null {
  const value = text.trim();
  return value === '' ? null : value;
}

function latin1(bytes: Buffer, start: number, end: number): string {
  return bytes.toString('latin1', start, Math.min(end, start + 64));
}
