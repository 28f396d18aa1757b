/**
 * `segmentation_step_duration_seconds`: one observation per activity attempt, labelled with the
 * step the activity works for (STEP_OF_ACTIVITY) and how the attempt ended. An interceptor
 * rather than a line in every activity: the attempt is timed from the worker's side, whatever
 * the activity does, and a new activity is timed without being touched.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { STEP_OF_ACTIVITY, type SegmentationActivities } from '../activities';
import type { PipelineMetrics } from '../lib/metrics/pipeline-metrics';

export function stepDurationInterceptor(metrics: PipelineMetrics): ActivityInterceptorsFactory {
  return (context) => ({
    inbound: {
      async execute(input, next) {
        const type = context.info.activityType as keyof SegmentationActivities;
        // An activity type this worker does not know fails in the SDK before it gets here; a decorated one keeps its type.
        const step = STEP_OF_ACTIVITY[type] ?? type;
        const started = process.hrtime.bigint();
        const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
        try {
          const result = await next(input);
          metrics.stepAttempt(step, 'completed', seconds());
          return result;
        } catch (error) {
          // Failed, cancelled or timed out on this worker: the attempt did not complete.
          metrics.stepAttempt(step, 'failed', seconds());
          throw error;
        }
      },
    },
  });
}
