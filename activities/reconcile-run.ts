/**
 * Step 5, reconcile: every customer aggregated was published, consumed and written, exactly
 * once. Records the run's summary in segmentation_runs and prunes staging to the recent runs.
 */
import type { DataQualityReport } from '../lib/cleaning/data-quality-report';
import { ReconciliationError } from '../lib/errors';
import type { RunSummary } from '../workflows/segmentation-progress';
import type { ActivityDependencies } from './activity-dependencies';
import { runTotals, SEGMENTS_TABLE } from './classify-customers';
import { markStepCompleted, markStepStarted, RUNS_TABLE } from './run-log';
import { pruneStaging } from './staging';

export interface ReconcileInput {
  runId: string;
  dataQuality: DataQualityReport;
  customers: number;
  purchases: number;
  messagesPublished: number;
  customersConsumed: number;
}

export function createReconcileRun({ db }: ActivityDependencies) {
  return async function reconcileRun(input: ReconcileInput): Promise<RunSummary & { rowsWritten: number }> {
    const { runId, customers, customersConsumed, messagesPublished, dataQuality } = input;
    await markStepStarted(db, runId, 'reconcile');
    const written = await runTotals(db, runId);
    const [{ current }] = await db(SEGMENTS_TABLE).where({ RunId: runId }).count({ current: '*' });
    const problems: string[] = [];
    if (messagesPublished < customers) problems.push(`published ${messagesPublished} messages for ${customers} customers`);
    if (customersConsumed !== customers) problems.push(`consumed ${customersConsumed} of ${customers} customers`);
    if (written.customersConsumed !== customers) problems.push(`wrote ${written.customersConsumed} of ${customers} customers`);
    if (Number(current) > customers) problems.push(`customer_segments has ${current} rows from this run, more than ${customers}`);
    if (problems.length) throw new ReconciliationError(`run ${runId} does not reconcile: ${problems.join('; ')}`);

    const summary = {
      rowsRead: dataQuality.rowsRead,
      rowsKept: dataQuality.rowsKept,
      customers,
      low: written.low,
      high: written.high,
      purchases: input.purchases,
      messagesPublished,
      customersConsumed,
      rowsWritten: written.customersConsumed,
      dataQuality,
    };
    await markStepCompleted(db, runId, 'reconcile', { rowsWritten: summary.rowsWritten, low: summary.low, high: summary.high });
    await db(RUNS_TABLE).where({ run_id: runId }).update({
      status: 'completed',
      current_step: null,
      low_frequency: summary.low,
      high_frequency: summary.high,
      rows_written: summary.rowsWritten,
      finished_at: new Date(),
    });
    await pruneStaging(db);
    return summary;
  };
}
