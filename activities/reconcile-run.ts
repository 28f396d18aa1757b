/**
 * Step 5, reconcile and publish. First the checks: every customer aggregated was published,
 * consumed and written to the run's history exactly once, with the PurchaseCount it was
 * aggregated with and the category the threshold gives. Then the publication, in one transaction:
 * `customer_segments` becomes exactly this run's result (customers absent from it are removed),
 * unless a run started later has already published, in which case this run is superseded and the
 * table is left alone. Readers see the old table or the new one, never a mix.
 *
 * Why a transaction and not a table swap: a RENAME TABLE swap needs CREATE and DROP, which the
 * worker's MySQL user does not have; a transaction needs only the rows.
 */
import type { Knex } from 'knex';
import { ReconciliationError } from '../lib/errors';
import { TABLES } from '../lib/tables';
import type { ActivityDependencies } from './activity-dependencies';
import { heartbeatWhile } from './heartbeat-while';
import { claimStepAttempt, type StepFence } from './step-attempt-fence';

export interface ReconcileInput {
  runId: string;
  /** When the run was started (kept across resets): a run started later wins the publication. */
  runStartedAt: string;
  threshold: number;
  customers: number;
  purchases: number;
  messagesPublished: number;
  messagesConsumed: number;
}

export interface ReconcileResult {
  /** true: customer_segments now holds this run's result; false: a newer run's result stays. */
  published: boolean;
  /** Distinct customers the run consumed from Kafka: its rows in customer_segment_history. */
  customersConsumed: number;
  /** Rows this run put into customer_segments (0 when superseded). */
  rowsWritten: number;
  low: number;
  high: number;
  /** The run whose result stays published, when this one is superseded. */
  supersededBy?: string;
}

const LOW = 'Low Frequency';
const HIGH = 'High Frequency';

export function createReconcileRun(dependencies: ActivityDependencies) {
  const { db } = dependencies;
  return async function reconcileRun(input: ReconcileInput): Promise<ReconcileResult> {
    const fence = await claimStepAttempt(dependencies, input.runId, 'reconcile');
    const written = await heartbeatWhile(checkRunResult(db, input));
    return await heartbeatWhile(publishRunResult(db, input, written, fence));
  };
}

export interface RunResult {
  customersConsumed: number;
  low: number;
  high: number;
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
  // Each history row against the count the run aggregated and published for that customer.
  const [{ mismatched }] = await db(`${TABLES.segmentHistory} as h`)
    .leftJoin(`${TABLES.stagingCounts} as c`, function joinCounts() {
      this.on('c.run_id', '=', 'h.RunId').andOn('c.CustomerID', '=', 'h.CustomerID');
    })
    .where('h.RunId', runId)
    .andWhere((query) => query.whereNull('c.CustomerID').orWhereRaw('?? <> ??', ['c.PurchaseCount', 'h.PurchaseCount']))
    .count({ mismatched: '*' });

  const result = { customersConsumed: Number(totals.customers), low: Number(totals.low), high: Number(totals.customers) - Number(totals.low) };
  const problems: string[] = [];
  if (messagesPublished !== customers) problems.push(`published ${messagesPublished} messages for ${customers} customers`);
  if (messagesConsumed < customers) problems.push(`consumed ${messagesConsumed} messages for ${customers} customers`);
  if (result.customersConsumed !== customers) problems.push(`wrote ${result.customersConsumed} of ${customers} customers to the run's history`);
  if (Number(totals.purchases) !== purchases) problems.push(`history adds up to ${totals.purchases} purchases, aggregated ${purchases}`);
  if (Number(mismatched) > 0) problems.push(`${mismatched} customers' PurchaseCount differs from what was aggregated`);
  if (Number(totals.miscategorised) > 0) problems.push(`${totals.miscategorised} customers' category disagrees with the threshold ${threshold}`);
  if (problems.length) throw new ReconciliationError(`run ${runId} does not reconcile: ${problems.join('; ')}`);
  return result;
}

/** Fenced when `fence` is given (the activity always gives it): a stale attempt publishes nothing. */
export async function publishRunResult(db: Knex, input: ReconcileInput, written: RunResult, fence?: StepFence): Promise<ReconcileResult> {
  const { runId, customers } = input;
  const startedAt = new Date(input.runStartedAt);
  const write = fence ? fence.write : <T>(work: (trx: Knex.Transaction) => Promise<T>) => db.transaction(work);
  return await write(async (trx) => {
    // The single publication row is the lock: publications happen one at a time.
    const current: { run_id: string | null; run_started_at: Date | null } = await trx(TABLES.publication).where({ id: 1 }).forUpdate().first();
    if (current.run_id !== null && current.run_id !== runId && isNewer(current, { runId, startedAt })) {
      return { ...written, published: false, rowsWritten: 0, supersededBy: current.run_id };
    }
    const now = new Date();
    await trx.raw(
      `DELETE s FROM ?? s LEFT JOIN ?? h ON h.RunId = ? AND h.CustomerID = s.CustomerID WHERE h.CustomerID IS NULL`,
      [TABLES.segments, TABLES.segmentHistory, runId],
    );
    await trx.raw(
      `INSERT INTO ?? (CustomerID, PurchaseCount, FrequencyCategory, RunId, UpdatedAt)
       SELECT CustomerID, PurchaseCount, FrequencyCategory, RunId, ? FROM ?? WHERE RunId = ?
       ON DUPLICATE KEY UPDATE PurchaseCount = VALUES(PurchaseCount), FrequencyCategory = VALUES(FrequencyCategory),
         RunId = VALUES(RunId), UpdatedAt = VALUES(UpdatedAt)`,
      [TABLES.segments, now, TABLES.segmentHistory, runId],
    );
    const [table] = await trx(TABLES.segments).select(trx.raw('COUNT(*) AS total'), trx.raw('COALESCE(SUM(RunId = ?), 0) AS mine', [runId]));
    if (Number(table.total) !== customers || Number(table.mine) !== customers) {
      // Thrown inside the transaction: it rolls back, and readers keep the previous result.
      throw new ReconciliationError(`publishing run ${runId} would leave ${table.total} rows (${table.mine} of them its own) for ${customers} customers`);
    }
    await trx(TABLES.publication).where({ id: 1 }).update({ run_id: runId, run_started_at: startedAt, published_at: now });
    await trx(TABLES.runs).where({ run_id: runId }).update({ published_at: now });
    return { ...written, published: true, rowsWritten: Number(table.mine) };
  });
}

/** Runs are ordered by when they were started; the run id breaks a tie. */
function isNewer(current: { run_id: string | null; run_started_at: Date | null }, mine: { runId: string; startedAt: Date }): boolean {
  const theirs = current.run_started_at?.getTime() ?? 0;
  return theirs > mine.startedAt.getTime() || (theirs === mine.startedAt.getTime() && current.run_id! > mine.runId);
}
