/**
 * The worker reads workbooks from DATA_DIR and nowhere else: a path from a workflow input is
 * resolved inside it, and one that leaves it (`..`, an absolute path elsewhere, a symlink out)
 * is refused as bad input.
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

export function resolveWorkbookPath(dataDir: string, file: string): WorkbookPath {
  const root = path.resolve(dataDir);
  const absolutePath = path.resolve(root, file);
  if (!isInside(root, absolutePath)) {
    throw new InvalidInputError('file', `must name a workbook inside DATA_DIR, got "${file}"`);
  }
  const displayName = path.relative(root, absolutePath);
  let realPath: string;
  try {
    realPath = fs.realpathSync(absolutePath);
  } catch {
    throw new InvalidWorkbookError({ file: displayName }, 'not found in DATA_DIR');
  }
  if (!isInside(fs.realpathSync(root), realPath)) {
    throw new InvalidInputError('file', `"${file}" links outside DATA_DIR`);
  }
  if (!fs.statSync(realPath).isFile()) throw new InvalidWorkbookError({ file: displayName }, 'is not a file');
  return { absolutePath: realPath, displayName };
}

/** For the CLI: a path the user typed (absolute or relative to the current folder) → relative to DATA_DIR. */
export function relativeToDataDir(dataDir: string, userPath: string): string {
  const root = path.resolve(dataDir);
  const absolutePath = path.resolve(userPath);
  if (!isInside(root, absolutePath)) {
    throw new InvalidInputError('file', `${absolutePath} is not inside DATA_DIR (${root}); copy it there or set DATA_DIR`);
  }
  return path.relative(root, absolutePath);
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}
