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
    const runsPruned = await runsToPrune(db, retention);
    for (const runId of runsPruned) {
      for (const table of STAGING_TABLES) await heartbeatWhile(db(table).where({ run_id: runId }).delete());
      Context.current().heartbeat({ runsPruned: runsPruned.indexOf(runId) + 1, of: runsPruned.length });
    }
    return { runsPruned };
  };
}

export async function runsToPrune(db: Knex, retention: StagingRetention, now = new Date()): Promise<string[]> {
  const keptFinished: string[] = await db(TABLES.runs)
    .whereIn('status', ['completed', 'superseded'])
    .orderBy([{ column: 'started_at', order: 'desc' }, { column: 'run_id', order: 'desc' }])
    .limit(retention.keepFinishedRuns)
    .pluck('run_id');
  const failedBefore = new Date(now.getTime() - retention.keepFailedHours * 3_600_000);
  const staged = db.union(STAGING_TABLES.map((table) => db(table).distinct('run_id')), true);
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
