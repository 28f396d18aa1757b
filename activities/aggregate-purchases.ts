/**
 * Step 2, aggregate: PurchaseCount per customer = the number of distinct invoices, computed by
 * MySQL from the staged pairs (distinct by their key; invoice numbers compared byte for byte,
 * like the dry run's JavaScript strings). Replaces the run's counts in one transaction, so running
 * it twice gives the same table; a stale attempt (fenced) replaces nothing.
 */
import { Context } from '@temporalio/activity';
import { StagingMissingError } from '../lib/errors';
import { TABLES } from '../lib/tables';
import type { ActivityDependencies } from './activity-dependencies';
import { heartbeatWhile } from './heartbeat-while';
import { claimStepAttempt } from './step-attempt-fence';

export interface AggregateResult {
  customers: number;
  /** Distinct (customer, invoice) pairs: every customer's PurchaseCount added up. */
  purchases: number;
}

export function createAggregatePurchases(dependencies: ActivityDependencies) {
  return async function aggregatePurchases({ runId, rowsKept }: { runId: string; rowsKept: number }): Promise<AggregateResult> {
    const fence = await claimStepAttempt(dependencies, runId, 'aggregate');
    const aggregation = fence.write(async (trx) => {
      await trx(TABLES.stagingCounts).where({ run_id: runId }).delete();
      await trx.raw(
        `INSERT INTO ?? (run_id, CustomerID, PurchaseCount)
         SELECT run_id, CustomerID, COUNT(*) FROM ?? WHERE run_id = ? GROUP BY run_id, CustomerID`,
        [TABLES.stagingCounts, TABLES.stagingInvoices, runId],
      );
      const [totals] = await trx(TABLES.stagingCounts)
        .where({ run_id: runId })
        .select(trx.raw('COUNT(*) AS customers'), trx.raw('COALESCE(SUM(PurchaseCount), 0) AS purchases'));
      return { customers: Number(totals.customers), purchases: Number(totals.purchases) };
    });
    const result = await heartbeatWhile(aggregation);
    Context.current().cancellationSignal.throwIfAborted();
    if (result.customers === 0 && rowsKept > 0) {
      throw new StagingMissingError(
        `run ${runId} kept ${rowsKept} rows but its staging rows are gone (pruned after the retention time): retry runs the load again`,
      );
    }
    return result;
  };
}
