/**
 * The RFM part of a run's report, read from the run's history in MySQL: each named segment's
 * customers and Monetary, the recency × frequency grid, and how customers moved between named
 * segments since an earlier run.
 *
 * - Monetary is summed in SQL (DECIMAL) and kept as the decimal text MySQL returns: never a double.
 * - The segments' order is the rules file's, for the file the run used (its figures name it), if
 *   that file still reads as the run read it: the same sha256 (runs record it), and every score
 *   pair the history holds mapped to the name the history has. Otherwise (a run's own file changed
 *   or gone since) the history's names, each at its first score pair counting recency first, then
 *   frequency: the order the repository's map is written in.
 * - A run from before RFM (no RfmSegment in its history) has no RFM part (null).
 */
import type { Knex } from 'knex';
import { TABLES } from '../../lib/tables';
import { readRfmRules, SCORES, cellIndex, type RfmRules } from '../../lib/segmentation/rfm-rules';
import type { FrequencyCategory } from '../../lib/segmentation/frequency-category';

export interface RfmSegmentSize {
  RfmSegment: string;
  Customers: number;
  /** Σ Monetary of its customers, exact decimal text (cents), e.g. "8911407.90". */
  Monetary: string;
}

export interface RfmGrid {
  /** customers[RecencyScore - 1][FrequencyScore - 1]: how many customers have that pair of scores. */
  customers: number[][];
  /** The segment of each pair, same indexes (null: no customer there, and the run's rules file is not at hand). */
  segments: Array<Array<string | null>>;
}

export interface RfmSegments {
  /** The day RecencyDays counts to, and where the map came from, as the run's figures say. */
  asOf: string | null;
  rules: string | null;
  /** `rules file`: the order of the file the run used; `history`: its file is not at hand, the order of the score pairs. */
  order: 'rules file' | 'history';
  /** Every segment of the map (those without customers too, when the file is at hand), in that order. */
  segments: RfmSegmentSize[];
  customers: number;
  /** Σ Monetary of the run's customers, exact decimal text. */
  monetary: string;
  grid: RfmGrid;
}

/** How many customers went from one named segment to another. */
export interface SegmentMove {
  From: string;
  To: string;
  Customers: number;
}

export interface SegmentMovedCustomer {
  CustomerID: number;
  SegmentBefore: string;
  SegmentAfter: string;
  CategoryBefore: FrequencyCategory;
  CategoryAfter: FrequencyCategory;
  PurchasesBefore: number;
  PurchasesAfter: number;
}

export interface SegmentMoves {
  /** False when either run is from before RFM (nothing to compare: pairs and customers are empty). */
  compared: boolean;
  /** Every (From, To) pair with customers, the most customers first. */
  pairs: SegmentMove[];
  /** The customers behind the pairs, in the pairs' order, then by CustomerID. */
  customers: SegmentMovedCustomer[];
}

/** Whether any customer of the run has a named segment: runs from before RFM have none. */
export async function hasRfmSegments(db: Knex, runId: string): Promise<boolean> {
  const row = await db(TABLES.segmentHistory).where({ RunId: runId }).whereNotNull('RfmSegment').first('CustomerID');
  return row !== undefined;
}

/** The run's segments, Monetary and grid; null for a run from before RFM or with no customers yet. */
export async function loadRfmSegments(
  db: Knex,
  runId: string,
  figures: { asOf?: string | null; rfmRules?: string; rfmRulesSha256?: string } | null,
  dataDir: string,
): Promise<RfmSegments | null> {
  if (!(await hasRfmSegments(db, runId))) return null;
  const cells: Array<{ RecencyScore: number; FrequencyScore: number; RfmSegment: string; customers: number }> = await db(TABLES.segmentHistory)
    .where({ RunId: runId })
    .whereNotNull('RfmSegment')
    .groupBy('RecencyScore', 'FrequencyScore', 'RfmSegment')
    .select('RecencyScore', 'FrequencyScore', 'RfmSegment', db.raw('COUNT(*) AS customers'));
  const sizes: Array<{ RfmSegment: string; customers: number; monetary: string | null }> = await db(TABLES.segmentHistory)
    .where({ RunId: runId })
    .whereNotNull('RfmSegment')
    .groupBy('RfmSegment')
    .select('RfmSegment', db.raw('COUNT(*) AS customers'), db.raw('SUM(Monetary) AS monetary'));
  const [total]: Array<{ customers: number; monetary: string | null }> = await db(TABLES.segmentHistory)
    .where({ RunId: runId })
    .whereNotNull('RfmSegment')
    .select(db.raw('COUNT(*) AS customers'), db.raw('SUM(Monetary) AS monetary'));

  const rules = rulesOfRun(figures?.rfmRules ?? null, dataDir);
  const sameFile = rules !== null && (figures?.rfmRulesSha256 === undefined || figures.rfmRulesSha256 === rules.sha256);
  const agreeing = sameFile && cells.every((cell) => rules.cells[cellIndex(Number(cell.RecencyScore), Number(cell.FrequencyScore))] === cell.RfmSegment) ? rules : null;
  const grid: RfmGrid = {
    customers: SCORES.map(() => SCORES.map(() => 0)),
    segments: SCORES.map((r) => SCORES.map((f) => agreeing?.cells[cellIndex(r, f)] ?? null)),
  };
  for (const cell of cells) {
    const [r, f] = [Number(cell.RecencyScore), Number(cell.FrequencyScore)];
    grid.customers[r - 1][f - 1] += Number(cell.customers);
    grid.segments[r - 1][f - 1] = cell.RfmSegment;
  }
  const names = agreeing ? agreeing.segments : historyOrder(cells);
  const sizeOf = new Map(sizes.map((size) => [size.RfmSegment, size]));
  return {
    asOf: figures?.asOf ?? null,
    rules: figures?.rfmRules ?? null,
    order: agreeing ? 'rules file' : 'history',
    segments: names.map((name) => ({ RfmSegment: name, Customers: Number(sizeOf.get(name)?.customers ?? 0), Monetary: decimalText(sizeOf.get(name)?.monetary) })),
    customers: Number(total.customers),
    monetary: decimalText(total.monetary),
    grid,
  };
}

/**
 * Customers in both runs whose named segment differs, counted per (From, To) pair; `order` (this
 * run's segments) breaks ties between pairs of equal size. Not compared if either run has no segments.
 */
export async function loadSegmentMoves(db: Knex, runId: string, previousRunId: string, order: string[]): Promise<SegmentMoves> {
  if (!(await hasRfmSegments(db, runId)) || !(await hasRfmSegments(db, previousRunId))) return { compared: false, pairs: [], customers: [] };
  const customers: SegmentMovedCustomer[] = await db(`${TABLES.segmentHistory} as after`)
    .join(`${TABLES.segmentHistory} as before`, 'before.CustomerID', 'after.CustomerID')
    .where('after.RunId', runId)
    .andWhere('before.RunId', previousRunId)
    .andWhereRaw('?? <> ??', ['before.RfmSegment', 'after.RfmSegment'])
    .select(
      'after.CustomerID as CustomerID',
      'before.RfmSegment as SegmentBefore',
      'after.RfmSegment as SegmentAfter',
      'before.FrequencyCategory as CategoryBefore',
      'after.FrequencyCategory as CategoryAfter',
      'before.PurchaseCount as PurchasesBefore',
      'after.PurchaseCount as PurchasesAfter',
    );
  const counts = new Map<string, SegmentMove>();
  for (const customer of customers) {
    const key = JSON.stringify([customer.SegmentBefore, customer.SegmentAfter]);
    const pair = counts.get(key) ?? { From: customer.SegmentBefore, To: customer.SegmentAfter, Customers: 0 };
    pair.Customers += 1;
    counts.set(key, pair);
  }
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  const pairs = [...counts.values()].sort(
    (a, b) => b.Customers - a.Customers || rank(a.From) - rank(b.From) || a.From.localeCompare(b.From) || rank(a.To) - rank(b.To) || a.To.localeCompare(b.To),
  );
  const pairRank = new Map(pairs.map((pair, index) => [JSON.stringify([pair.From, pair.To]), index]));
  customers.sort((a, b) => pairRank.get(JSON.stringify([a.SegmentBefore, a.SegmentAfter]))! - pairRank.get(JSON.stringify([b.SegmentBefore, b.SegmentAfter]))! || a.CustomerID - b.CustomerID);
  return { compared: true, pairs, customers };
}

/** The rules file a run names (the repository's, or one in DATA_DIR), as it reads now; null when it cannot be read (gone, or no longer valid). */
function rulesOfRun(source: string | null, dataDir: string): RfmRules | null {
  if (source === null) return null;
  try {
    const repository = readRfmRules(dataDir, null);
    return source === repository.source ? repository : readRfmRules(dataDir, source);
  } catch {
    return null;
  }
}

/** The history's segment names, each at its first score pair (recency, then frequency). */
function historyOrder(cells: Array<{ RecencyScore: number; FrequencyScore: number; RfmSegment: string }>): string[] {
  const first = new Map<string, number>();
  for (const cell of cells) {
    const index = cellIndex(Number(cell.RecencyScore), Number(cell.FrequencyScore));
    first.set(cell.RfmSegment, Math.min(index, first.get(cell.RfmSegment) ?? Infinity));
  }
  return [...first.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).map(([name]) => name);
}

/** MySQL's DECIMAL text as is; a sum over no rows (NULL) is zero. */
function decimalText(value: string | null | undefined): string {
  return value === null || value === undefined ? '0.00' : String(value);
}
