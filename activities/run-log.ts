/**
 * The `segmentation_runs` row: what a data engineer reads in MySQL after the fact, the same
 * per-step statuses and timings the Temporal UI shows while the run is live.
 */
import type { Knex } from 'knex';
import type { StepName } from '../workflows/segmentation-progress';

export const RUNS_TABLE = 'segmentation_runs';

export async function markStepStarted(db: Knex, runId: string, step: StepName): Promise<void> {
  await mergeStep(db, runId, step, { status: 'running', startedAt: new Date().toISOString() }, { current_step: step });
}

export async function markStepCompleted(
  db: Knex,
  runId: string,
  step: StepName,
  counts: Record<string, number>,
  columns: Record<string, unknown> = {},
): Promise<void> {
  const [row] = await db(RUNS_TABLE).where({ run_id: runId }).select(db.raw('JSON_UNQUOTE(JSON_EXTRACT(steps, ?)) AS startedAt', [`$.${step}.startedAt`]));
  const finishedAt = new Date();
  const startedAt = row?.startedAt ? new Date(row.startedAt) : finishedAt;
  await mergeStep(
    db,
    runId,
    step,
    { status: 'completed', finishedAt: finishedAt.toISOString(), seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000, counts },
    columns,
  );
}

export async function markStepFailed(db: Knex, runId: string, step: StepName, error: string): Promise<void> {
  await mergeStep(db, runId, step, { status: 'failed', finishedAt: new Date().toISOString(), error }, {});
}

/** JSON_MERGE_PATCH on the steps column: works the same on MySQL 8 and MariaDB. */
async function mergeStep(
  db: Knex,
  runId: string,
  step: StepName,
  patch: Record<string, unknown>,
  columns: Record<string, unknown>,
): Promise<void> {
  await db(RUNS_TABLE)
    .where({ run_id: runId })
    .update({ ...columns, steps: db.raw('JSON_MERGE_PATCH(steps, ?)', [JSON.stringify({ [step]: patch })]) });
}
