/**
 * A workbook named by the day it is for, or by a pattern, as nightly schedules need:
 * - `exports/online-retail-{date}.xlsx`: `{date}` is the run's scheduled day (YYYY-MM-DD in the
 *   schedule's time zone), `{date-1}` the day before (any number of days);
 * - `exports/online-retail-*.xlsx`: the newest matching file (by modification time). `*` and `?`
 *   may stand in the file name only, `*` at most MAX_STARS times; the folders are taken as
 *   written and must lie inside DATA_DIR (checked, links resolved, before anything is listed).
 *
 * Names are matched with picomatch, every other character taken literally. picomatch compiles
 * to a backtracking RegExp: each further `*` multiplies the worst case by the name's length
 * (measured on a 255-character name: 0.3 ms with two, 70 ms with three, 4.7 s with four), hence
 * the cap. Runs of stars count once (`**` is `*`), as picomatch folds them.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import fs from 'node:fs/promises';
import path from 'node:path';
import { resolveInsideDataDir } from './data-dir';
import { InvalidInputError, InvalidWorkbookError } from './errors';

// picomatch ships no types (@types/picomatch is not installed); this is the part used here.
const picomatch = require('picomatch') as (glob: string, options: { dot: boolean }) => (name: string) => boolean;

const DATE_PLACEHOLDER = /\{date(?:-(\d{1,3}))?\}/g;
const WILDCARD = /[*?]/;
const STAR_RUN = /\*+/g;
/** Stars a file-name pattern may hold (after folding runs): enough for `*-{date}-*.xlsx`. */
export const MAX_STARS = 2;
/** Names matched between two turns of the event loop, so heartbeats keep going in a huge folder. */
const NAMES_PER_TURN = 1_000;
const DAY_MS = 86_400_000;

/** Fills `{date}` and `{date-N}` with the day `at` falls on in `timeZone`. */
export function fillDatePlaceholders(pattern: string, at: Date, timeZone: string): string {
  return pattern.replace(DATE_PLACEHOLDER, (_, daysBefore?: string) => calendarDay(at, timeZone, Number(daysBefore ?? 0)));
}

/** `pattern` (already filled in) → the path of one workbook relative to DATA_DIR. */
export async function resolveWorkbookPattern(dataDir: string, pattern: string): Promise<string> {
  if (!WILDCARD.test(pattern)) return pattern;
  // The folder's place is settled before anything else, so what lies outside never shapes an answer.
  const { displayName: folder, realPath: realFolder } = resolveInsideDataDir(dataDir, path.dirname(pattern));
  const name = path.basename(pattern);
  const shown = path.join(folder, name);
  if (WILDCARD.test(folder)) throw new InvalidInputError('file', `may use * and ? in the file name only, not in folders ("${shown}")`);
  const stars = name.match(STAR_RUN)?.length ?? 0;
  if (stars > MAX_STARS) throw new InvalidInputError('file', `may use * at most ${MAX_STARS} times in a file name ("${shown}" has ${stars})`);
  const matches = picomatch(name.replace(/[^*?\w]/gu, '\\$&'), { dot: true });

  if (realFolder === undefined || !(await isFolder(realFolder))) throw new InvalidWorkbookError({ file: shown }, `no folder "${folder}" in DATA_DIR`);
  const names = await fs.readdir(realFolder).catch((error: NodeJS.ErrnoException) => {
    // Not the input's fault (permissions, I/O): retried, with no absolute path in the message.
    throw new Error(`cannot list the folder "${folder}" in DATA_DIR (${error.code ?? 'error'})`);
  });
  const matched: string[] = [];
  for (const [index, candidate] of names.entries()) {
    if (index % NAMES_PER_TURN === NAMES_PER_TURN - 1) await nextTurn();
    if (matches(candidate)) matched.push(candidate);
  }
  const workbooks: Array<{ name: string; mtimeMs: number }> = [];
  for (const candidate of matched) {
    const found = await workbookInside(dataDir, path.join(folder, candidate));
    if (found) workbooks.push({ name: candidate, mtimeMs: found.mtimeMs });
  }
  const newest = workbooks.sort((a, b) => b.mtimeMs - a.mtimeMs || b.name.localeCompare(a.name))[0];
  if (!newest) throw new InvalidWorkbookError({ file: shown }, 'no workbook in DATA_DIR matches this pattern', true);
  return path.join(folder, newest.name);
}

async function isFolder(realPath: string): Promise<boolean> {
  return (await fs.stat(realPath).catch(() => undefined))?.isDirectory() ?? false;
}

/** A regular file inside DATA_DIR (a link out, or to nothing, is no candidate: skipping it tells nothing about its target). */
async function workbookInside(dataDir: string, relative: string): Promise<{ mtimeMs: number } | undefined> {
  try {
    const { realPath } = resolveInsideDataDir(dataDir, relative);
    const stat = realPath === undefined ? undefined : await fs.stat(realPath);
    return stat?.isFile() ? { mtimeMs: stat.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

function calendarDay(at: Date, timeZone: string, daysBefore: number): string {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  } catch {
    throw new InvalidInputError('timezone', `"${timeZone}" is not a time zone this worker knows`);
  }
  // The calendar day in the zone first, then whole days back (a DST day is still one day).
  const [year, month, day] = format.format(at).split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day) - daysBefore * DAY_MS).toISOString().slice(0, 10);
}
