/**
 * Some writers qualify every element of a part with a prefix bound to the SpreadsheetML
 * namespace: `<x:worksheet xmlns:x="…"><x:sheetData><x:row><x:c>`, as the .NET Open XML SDK
 * writes them (and with it many ERP and point-of-sale exports). It is the same document as the
 * unprefixed one the tokenizers know, so this stage takes the root element's prefix out of every
 * start and end tag as the part streams; a part whose root has no prefix (what Excel, openpyxl,
 * exceljs and XlsxWriter write) passes through untouched, chunk for chunk.
 *
 * Only tags are rewritten: "<" stands for itself nowhere else in XML but comments and CDATA, and
 * a worksheet's comments are skipped anyway. CDATA text holding "<x:" would lose the prefix: no
 * writer that prefixes elements writes CDATA.
 */
import { isNameEnd } from './rich-text';
import { rootElementStart } from './xml-text';

const LT = 0x3c;
const SLASH = 0x2f;
const COLON = 0x3a;
/** A prefix is a short name; a root whose name runs past this has none we strip. */
const MAX_PREFIX_BYTES = 32;

export class NamespacePrefixStripper {
  /** undefined until the root element's name has been seen; empty: nothing to strip. */
  private prefix: Buffer | undefined;
  private pending: Buffer = Buffer.alloc(0);

  /** The next bytes of the part, prefixes taken out; may hold back the last few bytes (or, before the root, all). */
  write(chunk: Buffer): Buffer {
    if (this.prefix === undefined) {
      const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      const prefix = rootPrefix(bytes);
      if (prefix === undefined) {
        this.pending = bytes;
        return Buffer.alloc(0);
      }
      this.prefix = prefix;
      this.pending = Buffer.alloc(0);
      chunk = bytes;
    }
    if (this.prefix.length === 0) return chunk;
    const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const { out, kept } = strip(bytes, this.prefix);
    this.pending = Buffer.from(bytes.subarray(kept)); // a copy: do not pin the chunk
    return out;
  }

  /** Whatever was held back: the part has ended. */
  end(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }
}

/**
 * The root element's prefix (empty for none), or undefined while its name is not all here. A
 * malformed prolog is left for the tokenizer to report: it reads the same bytes.
 */
function rootPrefix(bytes: Buffer): Buffer | undefined {
  let root: number | undefined;
  try {
    root = rootElementStart(bytes);
  } catch {
    return Buffer.alloc(0);
  }
  if (root === undefined) return bytes.length > 64 * 1024 ? Buffer.alloc(0) : undefined;
  for (let at = root + 1; at < bytes.length; at++) {
    if (bytes[at] === COLON) return at - root - 1 <= MAX_PREFIX_BYTES ? Buffer.from(bytes.subarray(root + 1, at)) : Buffer.alloc(0);
    if (isNameEnd(bytes[at])) return Buffer.alloc(0);
  }
  return undefined;
}

/** bytes with "<p:" and "</p:" made "<" and "</"; stops before a "<" too near the end to tell. */
function strip(bytes: Buffer, prefix: Buffer): { out: Buffer; kept: number } {
  const out = Buffer.allocUnsafe(bytes.length);
  const needed = prefix.length + 2; // "/" + prefix + ":"
  let written = 0;
  let from = 0;
  for (let at = bytes.indexOf(LT, 0); at >= 0; at = bytes.indexOf(LT, at + 1)) {
    if (bytes.length - at <= needed) {
      written += bytes.copy(out, written, from, at);
      return { out: out.subarray(0, written), kept: at };
    }
    const name = bytes[at + 1] === SLASH ? at + 2 : at + 1;
    if (bytes[name + prefix.length] !== COLON || !prefix.equals(bytes.subarray(name, name + prefix.length))) continue;
    written += bytes.copy(out, written, from, name);
    from = name + prefix.length + 1;
  }
  written += bytes.copy(out, written, from);
  return { out: out.subarray(0, written), kept: bytes.length };
}
