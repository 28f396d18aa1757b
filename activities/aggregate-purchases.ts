/**
 * Step 2, aggregate: PurchaseCount per customer = the number of distinct invoices, computed by
 * MySQL from the staged pairs (already distinct by their key). Replaces the run's counts in one
 * transaction, so running it twice gives the same table.
 */
import { StagingMissingError } from '../lib/errors';
import type { ActivityDependencies } from './activity-dependencies';
import { markStepCompleted, markStepStarted } from './run-log';
import { STAGING_COUNTS, STAGING_INVOICES } from './staging';

export interface AggregateResult {
  customers: number;
  /** Distinct (customer, invoice) pairs: every customer's PurchaseCount added up. */
  purchases: number;
}

export function createAggregatePurchases({ db }: ActivityDependencies) {
  return async function aggregatePurchases({ runId, rowsKept }: { runId: string; rowsKept: number }): Promise<AggregateResult> {
    await markStepStarted(db, runId, 'aggregate');
    await db.transaction(async (trx) => {
      await trx(STAGING_COUNTS).where({ run_id: runId }).delete();
      await trx.raw(
        `INSERT INTO ?? (run_id, CustomerID, PurchaseCount)
         SELECT run_id, CustomerID, COUNT(*) FROM ?? WHERE run_id = ? GROUP BY run_id, CustomerID`,
        [STAGING_COUNTS, STAGING_INVOICES, runId],
      );
    });
    const [totals] = await db(STAGING_COUNTS)
      .where({ run_id: runId })
      .select(db.raw('COUNT(*) AS customers'), db.raw('COALESCE(SUM(PurchaseCount), 0) AS purchases'));
    const result = { customers: Number(totals.customers), purchases: Number(totals.purchases) };
    if (result.customers === 0 && rowsKept > 0) {
      throw new StagingMissingError(
        `run ${runId} kept ${rowsKept} rows but its staging rows are gone (only the newest runs keep them): reset it to its start, before loading`,
      );
    }
    await markStepCompleted(db, runId, 'aggregate', { ...result }, { customers: result.customers });
    return result;
  };
}
