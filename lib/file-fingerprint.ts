/** What identifies a workbook's bytes: a retry can tell whether the file it resumes is the one it started on. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export interface FileFingerprint {
  size: number;
  /** ISO time, millisecond precision. */
  mtime: string;
  sha256: string;
}

export async function fingerprintFile(filePath: string, signal?: AbortSignal): Promise<FileFingerprint> {
  const before = await stat(filePath);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath, { highWaterMark: 1024 * 1024, signal })) hash.update(chunk as Buffer);
  return { size: before.size, mtime: before.mtime.toISOString(), sha256: hash.digest('hex') };
}

/** Size and time only: cheap enough to check before every read; the hash confirms. */
export async function sizeAndTime(filePath: string): Promise<Pick<FileFingerprint, 'size' | 'mtime'>> {
  const current = await stat(filePath);
  return { size: current.size, mtime: current.mtime.toISOString() };
}

export function describeChange(before: FileFingerprint, after: Partial<FileFingerprint>): string {
  const changes: string[] = [];
  if (after.size !== undefined && after.size !== before.size) changes.push(`size ${before.size} → ${after.size} bytes`);
  if (after.mtime !== undefined && after.mtime !== before.mtime) changes.push(`modified ${before.mtime} → ${after.mtime}`);
  if (after.sha256 !== undefined && after.sha256 !== before.sha256) changes.push(`sha256 ${before.sha256.slice(0, 12)}… → ${after.sha256.slice(0, 12)}…`);
  return changes.join(', ');
}
