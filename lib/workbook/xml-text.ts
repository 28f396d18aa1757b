/**
 * The little XML the workbook reader needs, without a general parser: text with the five
 * predefined entities and character references, and a guard against DOCTYPE. An xlsx has no DTD,
 * so a DOCTYPE can only be there to define entities (billion laughs) or fetch external ones: it is
 * refused, and so is any entity that is not predefined. Nothing is ever expanded or fetched.
 */
import { indexOf, isXmlSpace, startsWithAt } from './byte-search';

/** What is wrong with the XML; the caller adds the file, sheet and row. */
export class MalformedXmlError extends Error {}

const PREDEFINED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const ENTITY = /&([^;&<]{0,12});|&/g;
/** OOXML escapes characters XML cannot hold as _xHHHH_ (e.g. _x000D_ for a carriage return). */
const OOXML_ESCAPE = /_x([0-9A-Fa-f]{4})_/g;
const CDATA = /<!\[CDATA\[([\s\S]*?)\]\]>/g;

const LESS_THAN = 0x3c;
const QUESTION = 0x3f;
const BANG = 0x21;

/** Decodes the text between two tags (UTF-8 bytes, CDATA allowed) to the characters it stands for. */
export function decodeXmlText(bytes: Uint8Array, start: number, end: number): string {
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', start, end);
  return decodeXmlString(raw);
}

export function decodeXmlString(raw: string): string {
  if (raw.includes('<![CDATA[')) {
    let decoded = '';
    let last = 0;
    for (const match of raw.matchAll(CDATA)) {
      decoded += decodeXmlString(raw.slice(last, match.index)) + match[1];
      last = (match.index ?? 0) + match[0].length;
    }
    return decoded + decodeXmlString(raw.slice(last));
  }
  let text = raw.includes('&') ? raw.replace(ENTITY, decodeEntity) : raw;
  if (text.includes('_x')) text = text.replace(OOXML_ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return text;
}

function decodeEntity(match: string, name: string | undefined): string {
  if (name === undefined) throw new MalformedXmlError('a bare "&" that starts no entity');
  const predefined = PREDEFINED_ENTITIES[name];
  if (predefined !== undefined) return predefined;
  const code = name.startsWith('#x') ? parseInt(name.slice(2), 16) : name.startsWith('#') ? parseInt(name.slice(1), 10) : NaN;
  if (/^#(x[0-9A-Fa-f]+|[0-9]+)$/.test(name) && isXmlChar(code)) return String.fromCodePoint(code);
  if (name.startsWith('#')) throw new MalformedXmlError(`the character reference ${match}, which is not a valid character`);
  throw new MalformedXmlError(`the entity reference ${match}; workbooks define no entities, so it is refused`);
}

function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/**
 * Where the root element starts, after the XML declaration, comments and white space. A DOCTYPE
 * there is refused; undefined means the prolog goes on past these bytes (ask again with more).
 */
export function rootElementStart(bytes: Uint8Array, end: number = bytes.length): number | undefined {
  let at = 0;
  if (bytes[0] === 0xef) {
    if (end < 3) return undefined; // a byte order mark, perhaps, cut short
    if (bytes[1] === 0xbb && bytes[2] === 0xbf) at = 3; // UTF-8 byte order mark
  }
  for (;;) {
    while (at < end && bytes[at] !== LESS_THAN) {
      if (!isXmlSpace(bytes[at])) throw new MalformedXmlError('text before the root element');
      at += 1;
    }
    if (at + 1 >= end) return undefined;
    const next = bytes[at + 1];
    if (next === QUESTION) {
      const close = indexOf(bytes, '?>', at + 2, end);
      if (close < 0) return undefined;
      at = close + 2;
    } else if (next === BANG) {
      if (startsWithAt(bytes, '<!--', at, end)) {
        const close = indexOf(bytes, '-->', at + 4, end);
        if (close < 0) return undefined;
        at = close + 3;
      } else if (end - at < 9) {
        return undefined;
      } else {
        throw new MalformedXmlError('a DOCTYPE declaration; workbooks have none, and its entities could expand without bound or reach outside');
      }
    } else {
      return at;
    }
  }
}

/** A small part (workbook, relationships) as its elements' names and attributes, in order. */
export interface SmallXmlElement {
  /** Local name, without a namespace prefix. */
  name: string;
  attributes: Record<string, string>;
}

const TAG = /<([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?>/g;
const ATTRIBUTE = /([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** The start tags of a small part. Enough for workbook.xml and .rels files: they hold no text we need. */
export function smallXmlElements(bytes: Buffer): SmallXmlElement[] {
  const start = rootElementStart(bytes);
  if (start === undefined) throw new MalformedXmlError('no root element');
  const text = bytes.toString('utf8', start);
  if (text.includes('<!')) {
    // Comments are harmless; a DOCTYPE or entity declaration past the prolog is malformed.
    if (/<!(?!--)/.test(text.replace(/<!--[\s\S]*?-->/g, ''))) throw new MalformedXmlError('a markup declaration inside the document');
  }
  const elements: SmallXmlElement[] = [];
  for (const tag of text.matchAll(TAG)) {
    const attributes: Record<string, string> = {};
    for (const attribute of tag[2].matchAll(ATTRIBUTE)) attributes[attribute[1]] = decodeXmlString(attribute[2] ?? attribute[3]);
    elements.push({ name: tag[1].slice(tag[1].indexOf(':') + 1), attributes });
  }
  return elements;
}
