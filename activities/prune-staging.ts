/**
 * Housekeeping after a run: removes the staging rows (pairs, counts, consumer positions) that no
 * run needs any more, by the owner run's status:
 * - running or awaiting an operator: never touched, whatever their age (a row whose workflow
 *   closed without saying so is settled by the sweep, workers/settle-closed-runs.ts, first);
 * - completed or superseded: the newest `keepFinishedRuns` keep theirs (a reset to any step of
 *   them re-runs from their own data); older ones lose them;
 * - failed or cancelled (terminated and timed-out runs are recorded as failed): kept
 *   `keepFailedHours` after they ended, for an operator to retry or reset them, then removed;
 * - rows of no recorded run at all: removed.
 * Every run's classification stays in customer_segment_history: that is the record, not staging.
 * Each run's delete checks again, in its own transaction, that the run may still lose its staging.
 */
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import type { StagingRetention } from '../lib/config';
import { STAGING_TABLES, TABLES } from '../lib/tables';
import type { ActivityDependencies } from './activity-dependencies';
import { heartbeatWhile } from './heartbeat-while';

export interface PruneResult {
  runsPruned: string[];
}

export function createPruneStaging({ db, retention }: ActivityDependencies) {
  return async function pruneStaging(): Promise<PruneResult> {
    const candidates = await runsToPrune(db, retention);
    const runsPruned: string[] = [];
    for (const [index, runId] of candidates.entries()) {
      if (await heartbeatWhile(pruneRun(db, retention, runId))) runsPruned.push(runId);
      Context.current().heartbeat({ runsPruned: index + 1, of: candidates.length });
    }
    return { runsPruned };
  };
}

/**
 * One run's staging, if it may still go: checked again in the deleting transaction, with the
 * run's row locked, so neither a prune attempt that was frozen since it listed the runs nor a run
 * that came back meanwhile (a reset: its steps claim again after it had finished) loses what it needs.
 */
async function pruneRun(db: Knex, retention: StagingRetention, runId: string): Promise<boolean> {
  return await db.transaction(async (trx) => {
    const run: { finished_at: Date | null } | undefined = await trx(TABLES.runs).where({ run_id: runId }).forUpdate().first('finished_at');
    if (!(await runsToPrune(trx, retention, new Date(), runId)).includes(runId)) return false;
    const [{ lastClaim }] = await trx(TABLES.stepAttempts).where({ run_id: runId }).forShare().max({ lastClaim: 'claimed_at' });
    if (run?.finished_at && lastClaim && new Date(lastClaim).getTime() > run.finished_at.getTime()) return false;
    for (const table of STAGING_TABLES) await trx(table).where({ run_id: runId }).delete();
    return true;
  });
}

/** The runs whose staging may go (`only`: that run, if it may). */
export async function runsToPrune(db: Knex, retention: StagingRetention, now = new Date(), only?: string): Promise<string[]> {
  const keptFinished: string[] = await db(TABLES.runs)
    .whereIn('status', ['completed', 'superseded'])
    .orderBy([{ column: 'started_at', order: 'desc' }, { column: 'run_id', order: 'desc' }])
    .limit(retention.keepFinishedRuns)
    .pluck('run_id');
  const failedBefore = new Date(now.getTime() - retention.keepFailedHours * 3_600_000);
  const distinctRuns = (table: string) => (only === undefined ? db(table).distinct('run_id') : db(table).distinct('run_id').where({ run_id: only }));
  const staged = db.union(STAGING_TABLES.map(distinctRuns), true);
  const rows: Array<{ run_id: string }> = await db
    .select('staged.run_id')
    .from(staged.as('staged'))
    .leftJoin(`${TABLES.runs} as runs`, 'runs.run_id', 'staged.run_id')
    .where((query) =>
      query
        .whereNull('runs.run_id')
        .orWhere((finished) => finished.whereIn('runs.status', ['completed', 'superseded']).whereNotIn('runs.run_id', keptFinished))
        .orWhere((failed) => failed.whereIn('runs.status', ['failed', 'cancelled']).andWhere('runs.finished_at', '<', failedBefore)),
    );
  return rows.map((row) => row.run_id);
}
