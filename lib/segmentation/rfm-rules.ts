/**
 * The map from a customer's recency and frequency scores (1–5 each) to a named RFM segment: the
 * repository's rules/rfm-segments.json (the common ten-name map), or a file of the same shape in
 * DATA_DIR that a run names (input `rfmRules`). A file is refused unless every one of the 25 score
 * pairs maps to exactly one segment, naming the first pair that maps to none or to two.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../config';
import { resolveInsideDataDir } from '../data-dir';
import { InvalidInputError } from '../errors';

/** The repository's map, used when a run names none. */
export const DEFAULT_RFM_RULES_FILE = path.join(PROJECT_ROOT, 'rules', 'rfm-segments.json');
/** The rules-file format this code reads. */
const RULES_VERSION = 1;
export const SCORES = [1, 2, 3, 4, 5] as const;
/** The longest segment name the RfmSegment column holds. */
export const MAX_SEGMENT_NAME = 64;
/** A map of 25 pairs fits in a few KiB; anything much larger is not a rules file. */
const MAX_RULES_BYTES = 64 * 1024;
const MAX_ENTRIES = SCORES.length * SCORES.length;

const scoreRange = z
  .string()
  .regex(/^[1-5](-[1-5])?$/, { error: 'must be a score such as "3" or a range such as "1-2" (scores are 1 to 5)' })
  .refine((text) => text.length === 1 || text[0] <= text[2], { error: 'must be a range from low to high, such as "1-2"' });

// Strict: a key this version does not read (a "monetary" condition, say) is refused, never ignored.
const rulesSchema = z.strictObject({
  version: z.literal(RULES_VERSION, { error: `must be ${RULES_VERSION} (the rules-file format this version reads)` }),
  description: z.string().max(2_000).optional(),
  segments: z
    .array(
      z.strictObject({
        segment: z
          .string()
          .trim()
          .min(1, { error: 'must name the segment' })
          .max(MAX_SEGMENT_NAME, { error: `must be at most ${MAX_SEGMENT_NAME} characters` })
          // Names go into terminal tables, the HTML report and MySQL: no control or format characters.
          .regex(/^[^\p{C}]+$/u, { error: 'must be printable text (no control characters)' }),
        recency: scoreRange,
        frequency: scoreRange,
      }),
    )
    .min(1, { error: 'must list at least one segment' })
    .max(MAX_ENTRIES, { error: `must list at most ${MAX_ENTRIES} entries` }),
});

export interface RfmRules {
  /** Where the map came from: `rules/rfm-segments.json`, or the path relative to DATA_DIR. */
  source: string;
  version: number;
  /** The segment of every pair: cells[(recency - 1) * 5 + (frequency - 1)]. */
  cells: string[];
  /** The segment names, in the order the file lists them (the report's order). */
  segments: string[];
  /** Of the file's bytes: the run records which map it used, as it does its workbooks. */
  sha256: string;
}

/** The rules a run uses: the file it names in DATA_DIR, or the repository's. Bad rules are the run's bad input (InvalidInputError, field rfmRules). */
export function readRfmRules(dataDir: string, relativePath: string | null): RfmRules {
  if (relativePath === null) return parseRfmRules(fs.readFileSync(DEFAULT_RFM_RULES_FILE, 'utf8'), 'rules/rfm-segments.json');
  let found: { displayName: string; realPath: string | undefined };
  try {
    found = resolveInsideDataDir(dataDir, relativePath);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new InvalidInputError('rfmRules', 'must name a rules file inside DATA_DIR (a path relative to it, not leaving it by ".." or a link)');
    throw error;
  }
  if (found.realPath === undefined) throw new InvalidInputError('rfmRules', `names "${found.displayName}", which is not a file in DATA_DIR`);
  return parseRfmRules(readSmallFile(found.realPath, found.displayName), found.displayName);
}

/**
 * The file's text, read through one descriptor that is checked to be a regular file of at most
 * MAX_RULES_BYTES (no link followed, never blocking on a FIFO swapped in): a worker reads it, so a
 * hostile file must not stall or exhaust it.
 */
function readSmallFile(realPath: string, displayName: string): string {
  const refuse = (problem: string) => new InvalidInputError('rfmRules', `file "${displayName}" ${problem}`);
  let fd: number;
  try {
    fd = fs.openSync(realPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    throw refuse(`cannot be opened (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw refuse('is not a regular file');
    if (stat.size > MAX_RULES_BYTES) throw refuse(`is ${stat.size} bytes; a rules file is at most ${MAX_RULES_BYTES}`);
    const buffer = Buffer.alloc(stat.size);
    const read = fs.readSync(fd, buffer, 0, stat.size, 0);
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** Parses and checks a rules file's text; `source` names it in messages. */
export function parseRfmRules(text: string, source: string): RfmRules {
  const refuse = (problem: string) => new InvalidInputError('rfmRules', `file "${source}" ${problem}`);
  let json: unknown;
  try {
    // A byte-order mark (Windows editors write one) is not part of the JSON.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    // The parser's message quotes the file; the run's failure must not show what a file holds.
    throw refuse('is not JSON');
  }
  const parsed = rulesSchema.safeParse(json);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw refuse(`${issue.path.length ? `at ${issue.path.join('.')} ` : ''}${issue.message}`);
  }
  // MySQL compares names ignoring case and accents: two names it would take for one are refused.
  const names = new Map<string, string>();
  for (const { segment } of parsed.data.segments) {
    const folded = segment.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
    const other = names.get(folded);
    if (other !== undefined && other !== segment) throw refuse(`names two segments that differ only in case or accents: "${other}" and "${segment}"`);
    names.set(folded, segment);
  }
  const cells: Array<string | undefined> = new Array(SCORES.length * SCORES.length).fill(undefined);
  for (const { segment, recency, frequency } of parsed.data.segments) {
    for (const r of scoresOf(recency)) {
      for (const f of scoresOf(frequency)) {
        const earlier = cells[cellIndex(r, f)];
        if (earlier !== undefined) throw refuse(`maps the score pair (recency ${r}, frequency ${f}) twice: to "${earlier}" and to "${segment}"`);
        cells[cellIndex(r, f)] = segment;
      }
    }
  }
  for (const r of SCORES) {
    for (const f of SCORES) {
      if (cells[cellIndex(r, f)] === undefined) throw refuse(`maps the score pair (recency ${r}, frequency ${f}) to no segment`);
    }
  }
  return {
    source,
    version: parsed.data.version,
    cells: cells as string[],
    segments: [...new Set(parsed.data.segments.map((entry) => entry.segment))],
    sha256: createHash('sha256').update(text).digest('hex'),
  };
}

export function cellIndex(recencyScore: number, frequencyScore: number): number {
  return (recencyScore - 1) * SCORES.length + (frequencyScore - 1);
}

export function segmentOf(rules: RfmRules, recencyScore: number, frequencyScore: number): string {
  return rules.cells[cellIndex(recencyScore, frequencyScore)];
}

function scoresOf(range: string): number[] {
  const low = Number(range[0]);
  const high = Number(range.length === 1 ? range[0] : range[2]);
  return SCORES.filter((score) => score >= low && score <= high);
}
