/**
 * Searches over raw bytes (UTF-8 XML as inflated), for the tokenizers: plain loops, which beat
 * Buffer#indexOf's call cost on the short hops between tags.
 */

/** First index of `byte` in bytes[from, end), or -1. */
export function findByte(bytes: Uint8Array, byte: number, from: number, end: number): number {
  for (let at = from; at < end; at++) if (bytes[at] === byte) return at;
  return -1;
}

/** First index of an ASCII pattern in bytes[from, end), or -1. */
export function indexOf(bytes: Uint8Array, pattern: string, from: number, end: number): number {
  const first = pattern.charCodeAt(0);
  const last = end - pattern.length;
  outer: for (let at = from; at <= last; at++) {
    if (bytes[at] !== first) continue;
    for (let k = 1; k < pattern.length; k++) if (bytes[at + k] !== pattern.charCodeAt(k)) continue outer;
    return at;
  }
  return -1;
}

export function startsWithAt(bytes: Uint8Array, pattern: string, at: number, end: number): boolean {
  if (at + pattern.length > end) return false;
  for (let k = 0; k < pattern.length; k++) if (bytes[at + k] !== pattern.charCodeAt(k)) return false;
  return true;
}

export function isXmlSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}
