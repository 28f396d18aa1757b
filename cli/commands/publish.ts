/**
 * `segment publish WORKFLOW_ID|RUN_KEY`: makes a completed run's result the published one, on
 * purpose: to undo a result that was approved by mistake, or to go back to it afterwards. The
 * same atomic replacement as a run's own publication (lib/publication/published-run.ts), recorded
 * as a publication event with who and why. Only runs that reconciled (completed or superseded) can
 * be published; a run its audit held is approved instead (`segment approve`).
 */
import os from 'node:os';
import type { Knex } from 'knex';
import { loadConfig } from '../../lib/config';
import { FENCED_STEPS } from '../../activities/step-attempt-fence';
import { createDatabase } from '../../lib/database';
import { isoOfDateColumn, lockPublication, replacePublishedSegments } from '../../lib/publication/published-run';
import { TABLES } from '../../lib/tables';

export interface PublishOutcome {
  runId: string;
  workflowId: string;
  /** The run customer_segments held before. */
  replaced: string | null;
  rowsWritten: number;
  /** The run is from before RFM segments: the RFM columns of customer_segments are now empty (NULL). */
  withoutRfm: boolean;
}

export async function publishCommand(run: string, options: { by?: string; reason?: string; json?: boolean }): Promise<number> {
  const db = createDatabase(loadConfig().mysql);
  try {
    const outcome = await publishRunOnPurpose(db, run, { by: options.by ?? os.userInfo().username, reason: options.reason });
    if (options.json) console.log(JSON.stringify(outcome));
    else if (outcome.replaced === outcome.runId) console.log(`run ${outcome.runId} (${outcome.workflowId}) is already the published one`);
    else console.log(`published run ${outcome.runId} (${outcome.workflowId}): ${outcome.rowsWritten.toLocaleString('en-US')} customers, replacing run ${outcome.replaced ?? '(none)'}`);
    if (outcome.withoutRfm && !options.json) console.log('this run is from before RFM segments: the RFM columns of customer_segments are now empty (NULL)');
    return 0;
  } finally {
    await db.destroy();
  }
}

export async function publishRunOnPurpose(db: Knex, run: string, decided: { by?: string; reason?: string }): Promise<PublishOutcome> {
  const record = await db(TABLES.runs)
    .where({ run_id: run })
    .orWhere({ workflow_id: run })
    .orderBy([{ column: 'started_at', order: 'desc' }])
    .first('run_id', 'workflow_id', 'status', 'data_date', 'started_at', 'customers_consumed');
  if (!record) throw new Error(`no run "${run}" is recorded (see \`segment runs\`)`);
  if (record.status !== 'completed' && record.status !== 'superseded') {
    const hint = record.status === 'awaiting-operator' ? `; if its audit held it, \`segment approve ${record.workflow_id}\`` : '';
    throw new Error(`run ${record.run_id} is ${record.status}: only a run that reconciled (completed or superseded) can be published${hint}`);
  }
  return await db.transaction(async (trx) => {
    // Before the publication lock, in the order the steps' own transactions take them.
    await assertNotRewrittenSinceReconciled(trx, record.run_id);
    const current = await lockPublication(trx);
    const base = { runId: record.run_id, workflowId: record.workflow_id };
    // One row says whether the run has RFM values (a run from before them has none at all, a later one all):
    // reading every row for it would make a rollback as slow as the copy it no longer is.
    const first: { RfmSegment: string | null } | undefined = await trx(TABLES.segmentHistory).where({ RunId: record.run_id }).first('RfmSegment');
    const withoutRfm = first !== undefined && first.RfmSegment === null;
    // Reconcile recorded the customers it checked in the history; counted for runs recorded without.
    const customers = record.customers_consumed ?? (await trx(TABLES.segmentHistory).where({ RunId: record.run_id }).count({ n: '*' }))[0].n;
    if (current.runId === record.run_id) return { ...base, replaced: current.runId, rowsWritten: 0, withoutRfm };
    const ranked = { runId: record.run_id, dataDate: isoOfDateColumn(record.data_date), startedAt: new Date(record.started_at), customers: Number(customers) };
    const rowsWritten = await replacePublishedSegments(trx, ranked, current, { kind: 'operator-publish', by: decided.by, reason: decided.reason });
    return { ...base, replaced: current.runId, rowsWritten, withoutRfm };
  });
}

/** The steps that write a run's history or what it is made of: reconcile checked what they wrote. */
const BEFORE_RECONCILE = FENCED_STEPS.slice(0, FENCED_STEPS.indexOf('reconcile'));

/**
 * A run that a reset or an operator's retry sent back to an earlier step after it reconciled is
 * having its history deleted and written again, whatever its record still says (the record lags
 * the steps): published now, readers would see part of it. The steps' claim rows say so, and their
 * shared locks keep any step from going back until this transaction ends (a step that does later
 * sets the published rows aside first). Runs from before the fences have no rows, and pass.
 */
async function assertNotRewrittenSinceReconciled(trx: Knex.Transaction, runId: string): Promise<void> {
  const steps: Array<{ step_key: string; scheduled_at: Date }> = await trx(TABLES.stepAttempts)
    .where({ run_id: runId })
    .whereIn('step_key', [...BEFORE_RECONCILE, 'reconcile'])
    .forShare()
    .select('step_key', 'scheduled_at');
  const reconciled = steps.find((step) => step.step_key === 'reconcile');
  if (!reconciled) return;
  const later = steps.find((step) => step.scheduled_at.getTime() > reconciled.scheduled_at.getTime());
  if (later) {
    throw new Error(
      `run ${runId} went back to its ${later.step_key} step after it reconciled (a reset or a retry is writing it again): publish it once it has reconciled again`,
    );
  }
}
