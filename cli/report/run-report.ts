/**
 * Everything `segment report` says about one run, read from MySQL: which run and what it read,
 * its data-quality report, its segment sizes (FrequencyCategory and the named RFM segments, with
 * their Monetary), the PurchaseCount histogram, the recency × frequency grid, and the customers
 * who changed category or RFM segment since the previous published run.
 *
 * - The run: by default the one `customer_segments` holds (segment_publication); or the one a
 *   workflow id (its newest run) or run key names.
 * - The previous published run, the one baseline of both comparisons: the newest run started
 *   before it (by start time, then run key) whose result was ever published (published_at set).
 *   What customers saw is what a change is measured against; a run that reconciled but was held,
 *   superseded or rolled past before publishing never was anyone's segments.
 */
import type { Knex } from 'knex';
import { TABLES } from '../../lib/tables';
import type { DataQualityReport } from '../../lib/cleaning/data-quality-report';
import type { FrequencyCategory } from '../../lib/segmentation/frequency-category';
import { isoOfDateColumn } from '../../lib/publication/published-run';
import type { RunAudit, RunInvoiceFigures, WorkbookFingerprint } from '../../workflows/segmentation-progress';
import { parseJson } from '../commands/runs';
import { purchaseCountHistogram, type HistogramBin } from './purchase-count-histogram';
import { loadRfmSegments, loadSegmentMoves, type RfmSegments, type SegmentMoves } from './rfm-segments-report';

export interface ReportedRun {
  runId: string;
  workflowId: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  /** Low Frequency is at most this many invoices. */
  threshold: number;
  /** The workbooks it read, with their fingerprints (only the names for runs recorded before fingerprints). */
  files: Array<Pick<WorkbookFingerprint, 'file'> & Partial<WorkbookFingerprint>>;
  /** The data's own date: publication follows it and the window ends there (null for runs recorded before data dates). */
  dataDate: string | null;
  /** snapshot: the files were the whole history; append: merged into the invoice ledger. */
  mode: 'snapshot' | 'append';
  /** all, or e.g. 90d, 12m. */
  window: string;
  /** The run's invoices against its window and the ledger: added, replaced, outside the window, date range (null until aggregated). */
  invoices: RunInvoiceFigures | null;
  /** What each check before publication saw, and an operator's approval (null before the audit step). */
  audit: RunAudit | null;
  error: string | null;
}

export interface MovedCustomer {
  CustomerID: number;
  Before: FrequencyCategory;
  After: FrequencyCategory;
  PurchasesBefore: number;
  PurchasesAfter: number;
  /** The customer's RFM segment in each run (null in a run from before RFM). */
  SegmentBefore: string | null;
  SegmentAfter: string | null;
}

export interface RunReport {
  run: ReportedRun;
  /** Whether customer_segments holds this run's result now. */
  published: boolean;
  /** Rows read, kept and dropped per reason (null until the run has loaded). */
  dataQuality: DataQualityReport | null;
  /** Customers per segment in the run's classification, Low first. */
  categories: Array<{ FrequencyCategory: FrequencyCategory; Customers: number }>;
  histogram: HistogramBin[];
  /** Named segments, their Monetary and the recency × frequency grid (null: a run from before RFM, or nothing classified yet). */
  rfm: RfmSegments | null;
  /** The previous published run: the baseline of `changes`, `moved` and `segmentMoves`. */
  previousRun: ReportedRun | null;
  changes: { lowToHigh: number; highToLow: number; newCustomers: number; goneCustomers: number };
  /** Every customer in both runs whose category differs, the biggest change in PurchaseCount first. */
  moved: MovedCustomer[];
  /** Customers in both runs whose RfmSegment differs: counts per (From, To) pair and the customers (null without a previous run). */
  segmentMoves: SegmentMoves | null;
}

const RUN_COLUMNS = ['run_id', 'workflow_id', 'status', 'started_at', 'finished_at', 'threshold', 'file', 'files', 'data_quality', 'data_date', 'mode', 'window_length', 'invoices', 'audit', 'error'];

/** `which`: a workflow id or run key; by default the run customer_segments holds. `dataDir`: where a run's own rules file is (the segments' order). */
export async function loadRunReport(db: Knex, which: string | undefined, { dataDir }: { dataDir: string }): Promise<RunReport> {
  const row = which === undefined ? await publishedRun(db) : await namedRun(db, which);
  const run = reportedRun(row);
  const publication = await db(TABLES.publication).where({ id: 1 }).first('run_id');
  const previous = await db(TABLES.runs)
    .whereNotNull('published_at')
    .andWhere((older) =>
      older.where('started_at', '<', row.started_at).orWhere((tie) => tie.where('started_at', row.started_at).andWhere('run_id', '<', row.run_id)),
    )
    .orderBy([{ column: 'started_at', order: 'desc' }, { column: 'run_id', order: 'desc' }])
    .first(RUN_COLUMNS);

  const sizes: Array<{ FrequencyCategory: FrequencyCategory; customers: number }> = await db(TABLES.segmentHistory)
    .where({ RunId: run.runId })
    .groupBy('FrequencyCategory')
    .select('FrequencyCategory', db.raw('COUNT(*) AS customers'));
  const sizeOf = (category: FrequencyCategory) => Number(sizes.find((size) => size.FrequencyCategory === category)?.customers ?? 0);
  const frequencies: Array<{ PurchaseCount: number; customers: number }> = await db(TABLES.segmentHistory)
    .where({ RunId: run.runId })
    .groupBy('PurchaseCount')
    .select('PurchaseCount', db.raw('COUNT(*) AS customers'));

  const comparison = previous ? await compareRuns(db, run.runId, previous.run_id) : { moved: [], newCustomers: 0, goneCustomers: 0 };
  const rfm = await loadRfmSegments(db, run.runId, run.invoices, dataDir);
  const segmentMoves = previous ? await loadSegmentMoves(db, run.runId, previous.run_id, rfm?.segments.map((segment) => segment.RfmSegment) ?? []) : null;
  return {
    run,
    published: publication?.run_id === run.runId,
    dataQuality: parseJson(row.data_quality),
    categories: [
      { FrequencyCategory: 'Low Frequency', Customers: sizeOf('Low Frequency') },
      { FrequencyCategory: 'High Frequency', Customers: sizeOf('High Frequency') },
    ],
    histogram: purchaseCountHistogram(
      frequencies.map((entry) => ({ purchaseCount: Number(entry.PurchaseCount), customers: Number(entry.customers) })),
      run.threshold,
    ),
    rfm,
    previousRun: previous ? reportedRun(previous) : null,
    changes: {
      lowToHigh: comparison.moved.filter((customer) => customer.After === 'High Frequency').length,
      highToLow: comparison.moved.filter((customer) => customer.After === 'Low Frequency').length,
      newCustomers: comparison.newCustomers,
      goneCustomers: comparison.goneCustomers,
    },
    moved: comparison.moved,
    segmentMoves,
  };
}

async function publishedRun(db: Knex) {
  const publication = await db(TABLES.publication).where({ id: 1 }).first('run_id');
  const row = publication?.run_id ? await db(TABLES.runs).where({ run_id: publication.run_id }).first(RUN_COLUMNS) : undefined;
  if (!row) throw new Error('no run has published to customer_segments yet; name one: `segment report WORKFLOW_ID` (see `segment runs`)');
  return row;
}

async function namedRun(db: Knex, which: string) {
  const row = await db(TABLES.runs)
    .where({ run_id: which })
    .orWhere({ workflow_id: which })
    .orderBy([{ column: 'started_at', order: 'desc' }, { column: 'run_id', order: 'desc' }])
    .first(RUN_COLUMNS);
  if (!row) throw new Error(`no run "${which}" in ${TABLES.runs} (see \`segment runs\`)`);
  return row;
}

/** Who changed category between two runs' classifications, and who is new or gone. */
async function compareRuns(db: Knex, runId: string, previousRunId: string) {
  const moved: MovedCustomer[] = await db(`${TABLES.segmentHistory} as after`)
    .join(`${TABLES.segmentHistory} as before`, 'before.CustomerID', 'after.CustomerID')
    .where('after.RunId', runId)
    .andWhere('before.RunId', previousRunId)
    .andWhereRaw('?? <> ??', ['before.FrequencyCategory', 'after.FrequencyCategory'])
    .select(
      'after.CustomerID as CustomerID',
      'before.FrequencyCategory as Before',
      'after.FrequencyCategory as After',
      'before.PurchaseCount as PurchasesBefore',
      'after.PurchaseCount as PurchasesAfter',
      'before.RfmSegment as SegmentBefore',
      'after.RfmSegment as SegmentAfter',
    );
  moved.sort(
    (a, b) => Math.abs(b.PurchasesAfter - b.PurchasesBefore) - Math.abs(a.PurchasesAfter - a.PurchasesBefore) || a.CustomerID - b.CustomerID,
  );
  return { moved, newCustomers: await onlyIn(db, runId, previousRunId), goneCustomers: await onlyIn(db, previousRunId, runId) };
}

/** Customers in one run's classification and not in the other's. */
async function onlyIn(db: Knex, runId: string, otherRunId: string): Promise<number> {
  const [{ customers }] = await db(`${TABLES.segmentHistory} as mine`)
    .leftJoin(`${TABLES.segmentHistory} as other`, function sameCustomer() {
      this.on('other.CustomerID', '=', 'mine.CustomerID').andOn('other.RunId', '=', db.raw('?', [otherRunId]));
    })
    .where('mine.RunId', runId)
    .whereNull('other.CustomerID')
    .count({ customers: '*' });
  return Number(customers);
}

function reportedRun(row: Record<string, any>): ReportedRun {
  const files = parseJson(row.files) as WorkbookFingerprint[] | null;
  return {
    runId: row.run_id,
    workflowId: row.workflow_id,
    status: row.status,
    startedAt: new Date(row.started_at).toISOString(),
    finishedAt: row.finished_at ? new Date(row.finished_at).toISOString() : null,
    threshold: Number(row.threshold),
    files: files ?? String(row.file).split(', ').map((file) => ({ file })),
    dataDate: isoOfDateColumn(row.data_date),
    mode: row.mode ?? 'snapshot',
    window: row.window_length ?? 'all',
    invoices: parseJson(row.invoices) as RunInvoiceFigures | null,
    audit: parseJson(row.audit) as RunAudit | null,
    error: row.error,
  };
}

/** A customer whose FrequencyCategory or RfmSegment changed since the previous published run: a line of `--moved`. */
export interface ChangedCustomer {
  CustomerID: number;
  SegmentBefore: string | null;
  SegmentAfter: string | null;
  CategoryBefore: FrequencyCategory;
  CategoryAfter: FrequencyCategory;
  PurchasesBefore: number;
  PurchasesAfter: number;
}

/**
 * The customers whose category or segment changed (`moved` and `segmentMoves.customers` as one
 * list): the biggest change in PurchaseCount first, then by segment move, the biggest move first
 * (a recency that alone moved a customer changes no PurchaseCount), then by CustomerID.
 */
export function changedCustomers({ moved, segmentMoves }: Pick<RunReport, 'moved' | 'segmentMoves'>): ChangedCustomer[] {
  const byId = new Map<number, ChangedCustomer & { pair: number }>();
  const pairs = segmentMoves?.pairs ?? [];
  const pairOf = (from: string, to: string) => pairs.findIndex((pair) => pair.From === from && pair.To === to);
  for (const customer of segmentMoves?.customers ?? []) byId.set(customer.CustomerID, { ...customer, pair: pairOf(customer.SegmentBefore, customer.SegmentAfter) });
  for (const customer of moved) {
    if (byId.has(customer.CustomerID)) continue;
    const { CustomerID, SegmentBefore, SegmentAfter, PurchasesBefore, PurchasesAfter } = customer;
    byId.set(CustomerID, { CustomerID, SegmentBefore, SegmentAfter, CategoryBefore: customer.Before, CategoryAfter: customer.After, PurchasesBefore, PurchasesAfter, pair: pairs.length });
  }
  const change = (customer: ChangedCustomer) => Math.abs(customer.PurchasesAfter - customer.PurchasesBefore);
  return [...byId.values()]
    .sort((a, b) => change(b) - change(a) || a.pair - b.pair || a.CustomerID - b.CustomerID)
    .map(({ pair, ...customer }) => customer);
}
