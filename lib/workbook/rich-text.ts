/**
 * The text of a string item, shared (<si>) or inline (<is>): its <t> runs joined (rich text
 * keeps every run), phonetic guides (<rPh>) left out. One loop for both readers of string items,
 * so the shared strings and inline strings cannot drift apart (they once had, and only one of
 * two copies refused a <t> tag cut short).
 */
import { findByte, indexOf, isXmlSpace, startsWithAt } from './byte-search';
import { decodeXmlText, MalformedXmlError } from './xml-text';

const GT = 0x3e;
const SLASH = 0x2f;
const T = 0x74;

/** The visible text of the item in bytes[start, end): its runs joined, trimmed; null when blank. */
export function textOfRuns(bytes: Uint8Array, start: number, end: number): string | null {
  let text = '';
  for (let at = start; ; ) {
    const tag = findByte(bytes, 0x3c /* < */, at, end);
    if (tag < 0) break;
    if (startsWithAt(bytes, '<rPh', tag, end)) {
      const close = indexOf(bytes, '</rPh>', tag, end);
      at = close < 0 ? end : close + 6;
    } else if (bytes[tag + 1] === T && tag + 2 < end && isNameEnd(bytes[tag + 2])) {
      const open = findByte(bytes, GT, tag, end);
      if (open < 0) throw new MalformedXmlError('a <t> tag that is never finished');
      if (bytes[open - 1] === SLASH) {
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

/** What may follow an element's name in a tag: ">", "/" or any XML white space. */
export function isNameEnd(byte: number): boolean {
  return byte === GT || byte === SLASH || isXmlSpace(byte);
}
