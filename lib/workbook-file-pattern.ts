/**
 * A workbook named by the day it is for, or by a pattern, as nightly schedules need:
 * - `exports/online-retail-{date}.xlsx`: `{date}` is the run's scheduled day (YYYY-MM-DD in the
 *   schedule's time zone), `{date-1}` the day before (any number of days);
 * - `exports/online-retail-*.xlsx`: the newest matching file (by modification time). `*` and `?`
 *   may stand in the file name only; the folders are taken as written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError, InvalidWorkbookError } from './errors';

const DATE_PLACEHOLDER = /\{date(?:-(\d{1,3}))?\}/g;
const WILDCARD = /[*?]/;
const DAY_MS = 86_400_000;

/** Fills `{date}` and `{date-N}` with the day `at` falls on in `timeZone`. */
export function fillDatePlaceholders(pattern: string, at: Date, timeZone: string): string {
  return pattern.replace(DATE_PLACEHOLDER, (_, daysBefore?: string) => calendarDay(at, timeZone, Number(daysBefore ?? 0)));
}

/** `pattern` (already filled in) → the path of one workbook relative to DATA_DIR. */
export function resolveWorkbookPattern(dataDir: string, pattern: string): string {
  if (!WILDCARD.test(pattern)) return pattern;
  const folder = path.dirname(pattern);
  if (WILDCARD.test(folder)) throw new InvalidInputError('file', `may use * and ? in the file name only, not in folders ("${pattern}")`);
  const matcher = new RegExp(`^${path.basename(pattern).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  let names: string[];
  try {
    names = fs.readdirSync(path.resolve(dataDir, folder));
  } catch {
    throw new InvalidWorkbookError({ file: pattern }, `no folder "${folder}" in DATA_DIR`);
  }
  const newest = names
    .filter((name) => matcher.test(name))
    .map((name) => ({ name, stat: fs.statSync(path.resolve(dataDir, folder, name)) }))
    .filter(({ stat }) => stat.isFile())
    .sort((a, b) => b.stat.mtimeMs - a.stat.mtimeMs || b.name.localeCompare(a.name))[0];
  if (!newest) throw new InvalidWorkbookError({ file: pattern }, 'no workbook in DATA_DIR matches this pattern');
  return path.join(folder, newest.name);
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
