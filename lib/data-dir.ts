/**
 * The worker reads workbooks from DATA_DIR and nowhere else: a path from a workflow input is
 * resolved inside it, and one that leaves it (`..`, an absolute path elsewhere, a symlink out)
 * is refused as bad input.
 *
 * A refusal never tells what lies outside: every path that leaves DATA_DIR gets the same message,
 * whether or not anything exists where it leads, and messages name paths relative to DATA_DIR only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError, InvalidWorkbookError } from './errors';

export interface WorkbookPath {
  /** Where the worker opens it. */
  absolutePath: string;
  /** What messages and the runs table show: the path relative to DATA_DIR. */
  displayName: string;
}

/** The one answer to any path that leaves DATA_DIR, whatever is (or is not) out there. */
export function outsideDataDir(): InvalidInputError {
  return new InvalidInputError('file', 'must name a workbook inside DATA_DIR (a path relative to it, not leaving it by ".." or a link)');
}

export function resolveWorkbookPath(dataDir: string, file: string): WorkbookPath {
  const { displayName, realPath } = resolveInsideDataDir(dataDir, file);
  if (displayName === '.') throw outsideDataDir();
  if (realPath === undefined) throw new InvalidWorkbookError({ file: displayName }, 'not found in DATA_DIR', true);
  if (!fs.statSync(realPath).isFile()) throw new InvalidWorkbookError({ file: displayName }, 'is not a file');
  return { absolutePath: realPath, displayName };
}

/**
 * Where `relative` leads inside DATA_DIR: its name relative to DATA_DIR ('.' for DATA_DIR itself)
 * and its real path, or no real path if nothing is there. Refused (outsideDataDir) if it leaves
 * DATA_DIR lexically or through a link, checked on the deepest part of the path that exists, so a
 * link out is refused the same way whether what lies behind it exists or not.
 */
export function resolveInsideDataDir(dataDir: string, relative: string): { displayName: string; realPath: string | undefined } {
  const root = path.resolve(dataDir);
  const absolutePath = path.resolve(root, relative);
  if (!isInsideOrSame(root, absolutePath)) throw outsideDataDir();
  const realRoot = fs.realpathSync(root);
  const displayName = path.relative(root, absolutePath) || '.';
  for (let existing = absolutePath; ; existing = path.dirname(existing)) {
    let realPath: string;
    try {
      realPath = fs.realpathSync(existing);
    } catch {
      // A link that resolves to nothing (dangling, a loop, a folder we may not read) may point
      // anywhere: refused like one that resolves outside.
      if (isSymbolicLink(existing)) throw outsideDataDir();
      if (existing === root) throw new Error('DATA_DIR is gone'); // it existed a moment ago: retried, as any I/O trouble
      continue;
    }
    if (!isInsideOrSame(realRoot, realPath)) throw outsideDataDir();
    return { displayName, realPath: existing === absolutePath ? realPath : undefined };
  }
}

/** For the CLI: a path the user typed (absolute or relative to the current folder) → relative to DATA_DIR. */
export function relativeToDataDir(dataDir: string, userPath: string, field = 'file'): string {
  const root = path.resolve(dataDir);
  const absolutePath = path.resolve(userPath);
  if (!isInside(root, absolutePath)) {
    throw new InvalidInputError(field, `${absolutePath} is not inside DATA_DIR (${root}); copy it there or set DATA_DIR`);
  }
  return path.relative(root, absolutePath);
}

function isSymbolicLink(candidate: string): boolean {
  try {
    return fs.lstatSync(candidate).isSymbolicLink();
  } catch {
    return false;
  }
}

function isInsideOrSame(root: string, candidate: string): boolean {
  return path.relative(root, candidate) === '' || isInside(root, candidate);
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}
