/**
 * Step 5, reconcile: every customer aggregated was published, consumed and written to the run's
 * history exactly once, with the PurchaseCount and RFM values it was aggregated with (and the
 * same sums of Monetary and of each score) and the category the threshold gives. A run that agrees with itself goes on to its audit (audit-run.ts) and then its
 * publication (publish-segments.ts); this step changes nothing.
 *
 * Runs recorded before the audit existed call this step with `checkOnly` unset: for them it also
 * publishes, as it always did (without an audit: they were started before there was one).
 */
import type { Knex } from 'knex';
import { ReconciliationError, StagingMissingError } from '../lib/errors';
import { lockPublication, outranks, replacePublishedSegments } from '../lib/publication/published-run';
import { TABLES } from '../lib/tables';
import type { ActivityDependencies } from './activity-dependencies';
import { heartbeatWhile } from './heartbeat-while';
import { claimStepAttempt, type StepFence } from './step-attempt-fence';

export interface ReconcileInput {
  runId: string;
  /** When the run was started (kept across resets): on equal data dates, a run started later wins the publication. */
  runStartedAt: string;
  /** Only check (every run since the audit step); unset in histories from before it, which publish here too. */
  checkOnly?: boolean;
  threshold: number;
  customers: number;
  purchases: number;
  messagesPublished: number;
  messagesConsumed: number;
}

export interface ReconcileResult extends RunResult {
  /** Legacy (publishing) calls only: whether customer_segments now holds this run's result. */
  published: boolean;
  /** Legacy calls only: rows this run put into customer_segments (0 when superseded). */
  rowsWritten: number;
  /** Legacy calls only: the run whose result stays published, when this one is superseded. */
  supersededBy?: string;
}

/** The columns carried from the aggregate step to the history through Kafka, compared row by row. */
const CARRIED_COLUMNS = ['PurchaseCount', 'RecencyDays', 'Monetary', 'RecencyScore', 'FrequencyScore', 'MonetaryScore', 'RfmSegment'];
const LOW = 'Low Frequency';
const HIGH = 'High Frequency';

export function createReconcileRun(dependencies: ActivityDependencies) {
  const { db } = dependencies;
  return async function reconcileRun(input: ReconcileInput): Promise<ReconcileResult> {
    const fence = await claimStepAttempt(dependencies, input.runId, 'reconcile');
    const written = await heartbeatWhile(checkRunResult(db, input));
    if (input.checkOnly) return { ...written, published: false, rowsWritten: 0 };
    return await heartbeatWhile(publishRunResult(db, input, written, fence));
  };
}

export interface RunResult {
  customersConsumed: number;
  low: number;
  high: number;
  /** Customers and Monetary (exact decimal text) per RFM segment of the run's history, the largest first; absent in runs from before RFM. */
  segments?: SegmentSize[];
}

export interface SegmentSize {
  segment: string;
  customers: number;
  monetary: string;
}

/** The checks; exported, like the publication, for the scale bench to time each at a million rows. */
export async function checkRunResult(db: Knex, input: ReconcileInput): Promise<RunResult> {
  const { runId, customers, purchases, messagesPublished, messagesConsumed, threshold } = input;
  const [totals] = await db(TABLES.segmentHistory)
    .where({ RunId: runId })
    .select(
      db.raw('COUNT(*) AS customers'),
      db.raw('COALESCE(SUM(PurchaseCount), 0) AS purchases'),
      db.raw('COALESCE(SUM(FrequencyCategory = ?), 0) AS low', [LOW]),
      db.raw('COALESCE(SUM((PurchaseCount > ?) <> (FrequencyCategory = ?)), 0) AS miscategorised', [threshold, HIGH]),
    );
  // Each history row against what the run aggregated and published for that customer (<=>: NULL equals NULL).
  const [{ mismatched }] = await db(`${TABLES.segmentHistory} as h`)
    .leftJoin(`${TABLES.stagingCounts} as c`, function joinCounts() {
      this.on('c.run_id', '=', 'h.RunId').andOn('c.CustomerID', '=', 'h.CustomerID');
    })
    .where('h.RunId', runId)
    .andWhere((query) => {
      query.whereNull('c.CustomerID');
      for (const column of CARRIED_COLUMNS) query.orWhereRaw('NOT (?? <=> ??)', [`c.${column}`, `h.${column}`]);
    })
    .count({ mismatched: '*' });
  // The RFM sums, aggregated against written: what the run's record and the report add up.
  const sums = (table: string, runColumn: string) =>
    db(table)
      .where(runColumn, runId)
      .first(
        db.raw('COALESCE(SUM(Monetary), 0) AS monetary'),
        db.raw('COALESCE(SUM(RecencyScore), 0) AS recencyScores'),
        db.raw('COALESCE(SUM(FrequencyScore), 0) AS frequencyScores'),
        db.raw('COALESCE(SUM(MonetaryScore), 0) AS monetaryScores'),
      );
  const [aggregated, written] = await Promise.all([sums(TABLES.stagingCounts, 'run_id'), sums(TABLES.segmentHistory, 'RunId')]);
  // Aggregated by a worker from before RFM (a run in flight across the upgrade, past its publish):
  // staging and history agree on having no RFM values, which must not be published as a result.
  const [{ unscored }] = await db(TABLES.stagingCounts).where({ run_id: runId }).whereNull('RfmSegment').count({ unscored: '*' });
  if (Number(unscored) > 0) {
    throw new StagingMissingError(`run ${runId} was aggregated by a worker from before RFM segments (${unscored} customers have none): retry runs the load again`);
  }

  const sizes: Array<{ segment: string; customers: number | string; monetary: string }> = await db(TABLES.segmentHistory)
    .where({ RunId: runId })
    .groupBy('RfmSegment')
    .select('RfmSegment as segment', db.raw('COUNT(*) AS customers'), db.raw('SUM(Monetary) AS monetary'))
    .orderBy([{ column: 'customers', order: 'desc' }, { column: 'segment' }]);
  const result = {
    customersConsumed: Number(totals.customers),
    low: Number(totals.low),
    high: Number(totals.customers) - Number(totals.low),
    segments: sizes.map(({ segment, customers, monetary }) => ({ segment, customers: Number(customers), monetary: String(monetary ?? '0.00') })),
  };
  const problems: string[] = [];
  if (messagesPublished !== customers) problems.push(`published ${messagesPublished} messages for ${customers} customers`);
  if (messagesConsumed < customers) problems.push(`consumed ${messagesConsumed} messages for ${customers} customers`);
  if (result.customersConsumed !== customers) problems.push(`wrote ${result.customersConsumed} of ${customers} customers to the run's history`);
  if (Number(totals.purchases) !== purchases) problems.push(`history adds up to ${totals.purchases} purchases, aggregated ${purchases}`);
  if (Number(mismatched) > 0) problems.push(`${mismatched} customers' PurchaseCount or RFM values differ from what was aggregated`);
  for (const [sum, name] of [['monetary', 'Monetary'], ['recencyScores', 'RecencyScore'], ['frequencyScores', 'FrequencyScore'], ['monetaryScores', 'MonetaryScore']] as const) {
    if (String(aggregated[sum]) !== String(written[sum])) problems.push(`history's ${name} adds up to ${written[sum]}, aggregated ${aggregated[sum]}`);
  }
  if (Number(totals.miscategorised) > 0) problems.push(`${totals.miscategorised} customers' category disagrees with the threshold ${threshold}`);
  if (problems.length) throw new ReconciliationError(`run ${runId} does not reconcile: ${problems.join('; ')}`);
  return result;
}

/**
 * The publication of runs from before the audit step: no data date, no audit, the same lock and
 * replacement. Fenced when `fence` is given (the activity always gives it): a stale attempt publishes nothing.
 */
export async function publishRunResult(db: Knex, input: ReconcileInput, written: RunResult, fence?: StepFence): Promise<ReconcileResult> {
  const run = { runId: input.runId, dataDate: null, startedAt: new Date(input.runStartedAt), customers: input.customers };
  const write = fence ? fence.write : <T>(work: (trx: Knex.Transaction) => Promise<T>) => db.transaction(work);
  return await write(async (trx) => {
    const current = await lockPublication(trx);
    if (outranks(current, run)) return { ...written, published: false, rowsWritten: 0, supersededBy: current.runId! };
    const rowsWritten = await replacePublishedSegments(trx, run, current, { kind: 'audit-off' });
    return { ...written, published: true, rowsWritten };
  });
}
