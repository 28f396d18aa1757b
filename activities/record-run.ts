/** The first and the last bookkeeping step of a run: its row in segmentation_runs. */
import type { ResolvedInput } from '../workflows/segmentation-input';
import type { StepName } from '../workflows/segmentation-progress';
import type { ActivityDependencies } from './activity-dependencies';
import { markStepFailed, RUNS_TABLE } from './run-log';
import { deleteStagingRows } from './staging';

export interface RunStartedInput extends ResolvedInput {
  runId: string;
}

export interface RunFailedInput {
  runId: string;
  step: StepName | null;
  error: string;
}

export function createRecordRunStarted({ db }: ActivityDependencies) {
  return async function recordRunStarted(input: RunStartedInput): Promise<void> {
    const row = {
      run_id: input.runId,
      file: input.file,
      sheet: input.sheet,
      threshold: input.threshold,
      chunk_size: input.chunkSize,
      status: 'running',
      current_step: null,
      steps: '{}',
      started_at: new Date(),
      finished_at: null,
      error: null,
    };
    // A reset workflow reuses its workflow id: start its row afresh.
    await db(RUNS_TABLE).insert(row).onConflict('run_id').merge();
  };
}

export function createRecordRunFailed({ db }: ActivityDependencies) {
  return async function recordRunFailed({ runId, step, error }: RunFailedInput): Promise<void> {
    if (step) await markStepFailed(db, runId, step, error);
    await db(RUNS_TABLE).where({ run_id: runId }).update({ status: 'failed', error, finished_at: new Date() });
    await deleteStagingRows(db, runId);
  };
}
