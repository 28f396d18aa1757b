/**
 * Reads a zip file's central directory (the index at its end) to learn where each entry's bytes
 * lie. An xlsx is a zip; knowing the layout up front lets us reject files that are not a zip at
 * all, or are cut short, before any parser sees them, and lets us hand the entries to exceljs in
 * the order it can stream (see xlsx-byte-stream.ts).
 */
import type { FileHandle } from 'node:fs/promises';

/** One entry's raw bytes: local header, compressed data and any data descriptor. */
export interface ZipEntryBytes {
  path: string;
  start: number;
  end: number;
  /** From the central directory, which always has them (a local header may say 0, see below). */
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
}

export interface ZipDirectory {
  entries: ZipEntryBytes[];
  /** The central directory and end record, copied last so a streaming parser ends cleanly. */
  directoryStart: number;
  fileSize: number;
}

/** Why a file is not a zip we can read; the caller turns it into an InvalidWorkbookError. */
export class NotAZipError extends Error {}

const END_RECORD_SIGNATURE = 0x06054b50;
const END_RECORD_SIZE = 22;
const MAX_COMMENT_SIZE = 0xffff;
const DIRECTORY_HEADER_SIGNATURE = 0x02014b50;
const DIRECTORY_HEADER_SIZE = 46;
const ZIP64_MARKER = 0xffffffff;

export async function readZipDirectory(file: FileHandle, fileSize: number): Promise<ZipDirectory> {
  const tailSize = Math.min(fileSize, END_RECORD_SIZE + MAX_COMMENT_SIZE);
  const tail = await readAt(file, fileSize - tailSize, tailSize);
  const endRecordAt = findEndRecord(tail);
  if (endRecordAt < 0) {
    throw new NotAZipError('no zip directory at its end (not a zip file, or cut short)');
  }
  const entryCount = tail.readUInt16LE(endRecordAt + 10);
  const directorySize = tail.readUInt32LE(endRecordAt + 12);
  const directoryStart = tail.readUInt32LE(endRecordAt + 16);
  if (directorySize === ZIP64_MARKER || directoryStart === ZIP64_MARKER) {
    throw new NotAZipError('is a zip64 archive (over 4 GiB), which is not supported');
  }
  const endRecordOffset = fileSize - tailSize + endRecordAt;
  if (directoryStart + directorySize > endRecordOffset) {
    throw new NotAZipError('has a zip directory that points past the end of the file');
  }

  const directory = await readAt(file, directoryStart, directorySize);
  const headers: Array<Omit<ZipEntryBytes, 'end'>> = [];
  let at = 0;
  for (let i = 0; i < entryCount; i++) {
    if (at + DIRECTORY_HEADER_SIZE > directory.length || directory.readUInt32LE(at) !== DIRECTORY_HEADER_SIGNATURE) {
      throw new NotAZipError('has a damaged zip directory');
    }
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const start = directory.readUInt32LE(at + 42);
    if (start >= directoryStart) throw new NotAZipError('has a zip entry that points past its data');
    const path = directory.toString('utf8', at + DIRECTORY_HEADER_SIZE, at + DIRECTORY_HEADER_SIZE + nameLength);
    headers.push({
      path,
      start,
      crc32: directory.readUInt32LE(at + 16),
      compressedSize: directory.readUInt32LE(at + 20),
      uncompressedSize: directory.readUInt32LE(at + 24),
    });
    at += DIRECTORY_HEADER_SIZE + nameLength + extraLength + commentLength;
  }

  // Entries are stored back to back, so each one ends where the next (or the directory) starts.
  headers.sort((a, b) => a.start - b.start);
  const entries = headers.map((header, i) => ({
    ...header,
    end: i + 1 < headers.length ? headers[i + 1].start : directoryStart,
  }));
  return { entries, directoryStart, fileSize };
}

/** The end record sits in the last 22 bytes unless an archive comment follows it: search backwards. */
function findEndRecord(tail: Buffer): number {
  for (let at = tail.length - END_RECORD_SIZE; at >= 0; at--) {
    if (tail.readUInt32LE(at) === END_RECORD_SIGNATURE && at + END_RECORD_SIZE + tail.readUInt16LE(at + 20) <= tail.length) {
      return at;
    }
  }
  return -1;
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  if (bytesRead !== length) throw new NotAZipError('is shorter than its zip directory says');
  return buffer;
}
