/**
 * Workflow-side, for tests only: when an activation holds both a fired timer and an Update, the
 * timer is delivered first. The SDK (1.24) delivers the Update first; this shows the workflow
 * answers the other order the same way, as an SDK that ordered them so would have it.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  internals: [
    {
      activate(input, next) {
        const jobs = input.activation.jobs ?? [];
        if (jobs.some((job) => job.fireTimer) && jobs.some((job) => job.doUpdate)) {
          jobs.sort((a, b) => Number(!a.fireTimer) - Number(!b.fireTimer)); // stable: otherwise as they came
        }
        return next(input);
      },
    },
  ],
});
