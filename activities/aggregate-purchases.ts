/**
 * Step 2, aggregate: PurchaseCount per customer = the number of distinct invoices inside the
 * run's window, with the customer's RFM values, scores and segment (README "RFM segments"), computed by MySQL (invoice numbers compared byte for byte, like the dry run's
 * JavaScript strings). First the run's staged lines become its invoices, one row each (date,
 * exact amount; of an invoice in two of the run's files, the later file's lines), kept in a table
 * only by an append run, whose publication merges them. Then:
 * - snapshot: the run's invoices are the whole history;
 * - append: the invoice ledger with the run's invoices merged over it (an invoice sent again
 *   replaces its row, unless the ledger's came from an export for a later time), read at one
 *   ledger version, which the publication checks is still the latest before it merges
 *   (activities/publish-segments.ts). The ledger is only read here.
 * The data date is the newest invoice's (append: of the ledger after the merge, or the latest
 * scheduled night with no file, if later), and the window counts back from it
 * (lib/aggregation/invoice-window.ts). Replaces the run's rows in one transaction, so running it
 * twice gives the same tables; a stale attempt (fenced) replaces nothing.
 */
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { windowStart } from '../lib/aggregation/invoice-window';
import { StagingMissingError } from '../lib/errors';
import { readRfmRules, SCORES, type RfmRules } from '../lib/segmentation/rfm-rules';
import { asOfAfter, assertAsOfNotBefore } from '../lib/segmentation/rfm-scores';
import { dateColumnOfIso, isoOfDateColumn } from '../lib/publication/published-run';
import { TABLES } from '../lib/tables';
import { fillDatePlaceholders } from '../lib/workbook-file-pattern';
import type { RunInvoiceFigures } from '../workflows/segmentation-progress';
import type { RunMode } from '../workflows/segmentation-input';
import type { ActivityDependencies } from './activity-dependencies';
import { heartbeatWhile } from './heartbeat-while';
import { claimStepAttempt } from './step-attempt-fence';

export interface AggregateInput {
  runId: string;
  rowsKept: number;
  /** How many files the load read; absent in runs from before: as if several. */
  files?: number;
  /** Absent in runs from before append mode: snapshot, every invoice. */
  mode?: RunMode;
  window?: string;
  /** An append run that read no file, started by a schedule: its slot (ISO) and the zone of its day. */
  nightWithoutFile?: { scheduledAt: string; timezone: string } | null;
  /** Append mode: the time the run's export is for (its schedule's slot, or its start), which orders versions of an invoice. */
  sourceAt?: string;
  /** The day RecencyDays counts to; absent or null: the day after the data date. */
  asOf?: string | null;
  /** The RFM segment map's path in DATA_DIR; absent or null: the repository's (lib/segmentation/rfm-rules.ts). */
  rfmRules?: string | null;
  /** The map as the load's plan read it; absent in runs planned before that: read from `rfmRules` here. */
  rules?: RfmRules;
}

export interface AggregateResult {
  customers: number;
  /** Distinct (customer, invoice) pairs inside the window: every customer's PurchaseCount added up. */
  purchases: number;
  /** The run's invoices, its data date and window; absent in runs from before windows. */
  invoices?: RunInvoiceFigures;
}

export function createAggregatePurchases(dependencies: ActivityDependencies) {
  return async function aggregatePurchases(input: AggregateInput): Promise<AggregateResult> {
    const { runId, rowsKept } = input;
    const fence = await claimStepAttempt(dependencies, runId, 'aggregate');
    const rules = input.rules ?? readRfmRules(dependencies.dataDir, input.rfmRules ?? null);
    const result = await heartbeatWhile(fence.write((trx) => withRoomToSort(trx, () => aggregate(trx, input, rules))));
    Context.current().cancellationSignal.throwIfAborted();
    if (result.invoices!.invoices === 0 && rowsKept > 0) {
      throw new StagingMissingError(
        `run ${runId} kept ${rowsKept} rows but its staging rows are gone (pruned after the retention time): retry runs the load again`,
      );
    }
    return result;
  };
}

async function aggregate(trx: Knex.Transaction, input: AggregateInput, rules: RfmRules): Promise<AggregateResult> {
  const { runId } = input;
  const mode = input.mode ?? 'snapshot';
  const window = input.window ?? 'all';
  // First, so that no merge commits while this transaction reads the ledger (merges lock this row for update).
  const ledger = mode === 'append' ? await trx(TABLES.ledgerState).where({ id: 1 }).forShare().first('version', 'night_date') : undefined;
  // Pairs staged by a worker from before the ledger carry no dates or amounts (a run in flight across the upgrade).
  if (await trx(TABLES.stagingInvoices).where({ run_id: runId, part_key: '' }).first('run_id')) {
    throw new StagingMissingError(`run ${runId} was loaded by a worker from before invoice dates and amounts were staged: retry runs the load again`);
  }

  const own = invoicesOfRun(runId, input.files);
  // Only an append run keeps its invoices (the publication merges them into the ledger); a
  // snapshot reads them as a derived table, since writing millions of rows only to read them
  // back was most of the step (docs/performance.md).
  await trx(TABLES.runInvoices).where({ run_id: runId }).delete();
  if (ledger) {
    await trx.raw(
      `INSERT INTO ?? (run_id, CustomerID, InvoiceNo, InvoiceDate, Amount) SELECT ?, CustomerID, InvoiceNo, InvoiceDate, Amount FROM (${own.sql}) own`,
      [TABLES.runInvoices, runId, ...own.bindings],
    );
  }

  // The invoices that count: the run's own, or the ledger with them merged over it.
  let merged: { sql: string; bindings: unknown[] };
  let figures: Partial<RunInvoiceFigures> = {};
  let night: string | null = null;
  if (ledger) {
    const sourceAt = input.sourceAt ? new Date(input.sourceAt) : new Date();
    const ledgerRow = (alias: string) => `l.CustomerID = ${alias}.CustomerID AND l.InvoiceNo = ${alias}.InvoiceNo`;
    merged = {
      // The run's invoices that win (new, or the ledger's is from an export for no later time), and the ledger's rows they do not replace.
      sql: `SELECT r.CustomerID, r.InvoiceDate, r.Amount FROM ?? r LEFT JOIN ?? l ON ${ledgerRow('r')}
            WHERE r.run_id = ? AND (l.CustomerID IS NULL OR l.SourceAt <= ?)
            UNION ALL
            SELECT l.CustomerID, l.InvoiceDate, l.Amount FROM ?? l LEFT JOIN ?? r ON r.run_id = ? AND ${ledgerRow('r')}
            WHERE r.run_id IS NULL OR l.SourceAt > ?`,
      bindings: [TABLES.runInvoices, TABLES.ledger, runId, sourceAt, TABLES.ledger, TABLES.runInvoices, runId, sourceAt],
    };
    const [[against]] = await trx.raw(
      `SELECT COALESCE(SUM(l.CustomerID IS NULL), 0) AS added, COALESCE(SUM(l.SourceAt <= ?), 0) AS replaced, COALESCE(SUM(l.SourceAt > ?), 0) AS older
       FROM ?? r LEFT JOIN ?? l ON ${ledgerRow('r')} WHERE r.run_id = ?`,
      [sourceAt, sourceAt, TABLES.runInvoices, TABLES.ledger, runId],
    );
    night = input.nightWithoutFile ? `${fillDatePlaceholders('{date}', new Date(input.nightWithoutFile.scheduledAt), input.nightWithoutFile.timezone)}T00:00:00` : null;
    figures = {
      added: Number(against.added),
      replaced: Number(against.replaced),
      olderThanLedger: Number(against.older),
      ledgerVersion: Number(ledger.version),
      ...(night ? { night } : {}),
    };
  } else {
    merged = own;
  }
  const [range] = (await trx.raw(`SELECT COUNT(*) AS total, MIN(m.InvoiceDate) AS oldest, MAX(m.InvoiceDate) AS newest FROM (${merged.sql}) m`, merged.bindings))[0];
  const invoices = ledger ? Number((await trx(TABLES.runInvoices).where({ run_id: runId }).count({ invoices: '*' }))[0].invoices) : Number(range.total);
  // Append: the newest invoice of the ledger after the merge, or the latest night with no file (a night never goes back).
  const dataDate = latest([isoOfDateColumn(range.newest), ledger ? isoOfDateColumn(ledger.night_date) : null, night]);

  const start = windowStart(window, dataDate);
  const inWindow = start === null ? { sql: '', bindings: [] } : { sql: 'WHERE m.InvoiceDate >= ?', bindings: [dateColumnOfIso(start)] };
  const asOf = input.asOf ?? (dataDate === null ? null : asOfAfter(dataDate));
  // Counted from the data date plus one day rather than from the day after it, which MySQL cannot
  // hold when the data date is its last day (a typo such as 9999-12-31 that the audit then holds).
  const recencyFrom = input.asOf ? { day: input.asOf, plusDays: 0 } : { day: dataDate?.slice(0, 10) ?? null, plusDays: 1 };
  await trx(TABLES.stagingCounts).where({ run_id: runId }).delete();
  await insertCustomerValues(trx, runId, merged, inWindow, recencyFrom, rules);
  const [recency] = await trx(TABLES.stagingCounts).where({ run_id: runId }).min({ days: 'RecencyDays' });
  assertAsOfNotBefore(asOf, recency.days === null ? null : Number(recency.days));
  const [totals] = await trx(TABLES.stagingCounts)
    .where({ run_id: runId })
    .select(trx.raw('COUNT(*) AS customers'), trx.raw('COALESCE(SUM(PurchaseCount), 0) AS purchases'));
  const purchases = Number(totals.purchases);
  const all: RunInvoiceFigures = {
    mode,
    window,
    windowStart: start,
    dataDate,
    invoices,
    outsideWindow: Number(range.total) - purchases,
    oldest: isoOfDateColumn(range.oldest),
    newest: isoOfDateColumn(range.newest),
    asOf,
    rfmRules: rules.source,
    rfmRulesSha256: rules.sha256,
    ...(ledger ? { ...figures, ledgerInvoices: Number(range.total) } : {}),
  };
  return { customers: Number(totals.customers), purchases, invoices: all };
}

/**
 * Each customer's PurchaseCount, RecencyDays and Monetary over the invoices that count, then the
 * three scores and the segment (README "RFM segments"), in one statement: RANK() - 1 is the number
 * of customers strictly worse (for recency: undated first, then the most days), and DIV keeps
 * `5 × L / N` in whole numbers. The segment is the rules' cell of the two scores, by ELT.
 */
async function insertCustomerValues(
  trx: Knex.Transaction,
  runId: string,
  merged: { sql: string; bindings: unknown[] },
  inWindow: { sql: string; bindings: unknown[] },
  recencyFrom: { day: string | null; plusDays: number },
  rules: RfmRules,
): Promise<void> {
  const band = (order: string) => `1 + (5 * (RANK() OVER (ORDER BY ${order}) - 1)) DIV COUNT(*) OVER ()`;
  await trx.raw(
    `INSERT INTO ?? (run_id, CustomerID, PurchaseCount, RecencyDays, Monetary, RecencyScore, FrequencyScore, MonetaryScore, RfmSegment)
     SELECT ?, CustomerID, PurchaseCount, RecencyDays, Monetary, RecencyScore, FrequencyScore, MonetaryScore,
       ELT((RecencyScore - 1) * ${SCORES.length} + FrequencyScore, ${rules.cells.map(() => '?').join(', ')})
     FROM (
       SELECT CustomerID, PurchaseCount, RecencyDays, Monetary,
         ${band('RecencyDays IS NULL DESC, RecencyDays DESC')} AS RecencyScore,
         ${band('PurchaseCount')} AS FrequencyScore,
         ${band('Monetary')} AS MonetaryScore
       FROM (
         SELECT m.CustomerID, COUNT(*) AS PurchaseCount, DATEDIFF(?, MAX(m.InvoiceDate)) + ? AS RecencyDays, ROUND(SUM(m.Amount), 2) AS Monetary
         FROM (${merged.sql}) m ${inWindow.sql} GROUP BY m.CustomerID
       ) customer_values
     ) scored`,
    [TABLES.stagingCounts, runId, ...rules.cells, recencyFrom.day, recencyFrom.plusDays, ...merged.bindings, ...inWindow.bindings],
  );
}

/**
 * The run's invoices, one row each (CustomerID, InvoiceNo, InvoiceDate, Amount), as a query over
 * its staged lines, which are in key order, so MySQL groups them as it reads. Of an invoice in two
 * of the run's files, the later file's lines: that join is only made when the run read several
 * files.
 */
function invoicesOfRun(runId: string, files: number | undefined): { sql: string; bindings: unknown[] } {
  const grouped = 'SELECT s.CustomerID, s.InvoiceNo, MAX(s.InvoiceDate) AS InvoiceDate, SUM(s.Amount) AS Amount FROM ?? s';
  if (files !== undefined && files <= 1) {
    return { sql: `${grouped} WHERE s.run_id = ? GROUP BY s.CustomerID, s.InvoiceNo`, bindings: [TABLES.stagingInvoices, runId] };
  }
  return {
    sql: `${grouped}
          JOIN (SELECT CustomerID, InvoiceNo, MAX(file_no) AS file_no FROM ?? WHERE run_id = ? GROUP BY CustomerID, InvoiceNo) latest
            ON latest.CustomerID = s.CustomerID AND latest.InvoiceNo = s.InvoiceNo AND latest.file_no = s.file_no
          WHERE s.run_id = ?
          GROUP BY s.CustomerID, s.InvoiceNo`,
    bindings: [TABLES.stagingInvoices, TABLES.stagingInvoices, runId, runId],
  };
}

/**
 * Room for this session's sorts and temporary tables (the grouped invoices, the three RANK
 * windows): at MySQL's defaults (16 MB, 256 KB to 2 MB) a million customers' spill to disk and
 * took minutes, in memory seconds (docs/performance.md). Session values, each used only while a
 * statement needs it; set back before the connection returns to the pool.
 */
const ROOM_TO_SORT = { tmp_table_size: 256 * 2 ** 20, max_heap_table_size: 256 * 2 ** 20, sort_buffer_size: 64 * 2 ** 20 };

async function withRoomToSort<T>(trx: Knex.Transaction, work: () => Promise<T>): Promise<T> {
  const names = Object.keys(ROOM_TO_SORT);
  await trx.raw(`SET SESSION ${names.map((name) => `${name} = ?`).join(', ')}`, Object.values(ROOM_TO_SORT));
  try {
    return await work();
  } finally {
    // A connection that failed cannot be set back, and the pool drops it: the work's error is the one to tell.
    await trx.raw(`SET SESSION ${names.map((name) => `${name} = DEFAULT`).join(', ')}`).catch(() => undefined);
  }
}

/** The latest of ISO times (which order like text), or null if none. */
function latest(times: Array<string | null>): string | null {
  return times.reduce<string | null>((newest, time) => (time !== null && (newest === null || time > newest) ? time : newest), null);
}
