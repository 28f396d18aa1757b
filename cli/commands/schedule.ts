/**
 * `segment schedule create|describe|trigger|delete`: the nightly run as a Temporal Schedule,
 * visible and pausable in the UI. Overlapping runs are skipped: a run still going when the next
 * night comes is left to finish.
 */
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { loadConfig } from '../../lib/config';
import { customerSegmentation } from '../../workflows';
import { connectClient } from '../temporal-client';
import { workflowInput, type RunOptions } from './run';

export const DEFAULT_SCHEDULE_ID = 'customer-segmentation-nightly';

export async function scheduleCommand(
  action: string,
  options: Omit<RunOptions, 'file'> & { file?: string; id?: string; cron?: string; timezone?: string },
): Promise<number> {
  const config = loadConfig();
  const scheduleId = options.id ?? DEFAULT_SCHEDULE_ID;
  const { client, close } = await connectClient(config);
  try {
    const handle = client.schedule.getHandle(scheduleId);
    switch (action) {
      case 'create': {
        if (!options.file) throw new Error('schedule create needs --file');
        await client.schedule.create({
          scheduleId,
          spec: { cronExpressions: [options.cron ?? '0 2 * * *'], timezone: options.timezone ?? 'UTC' },
          action: {
            type: 'startWorkflow',
            workflowType: customerSegmentation,
            taskQueue: config.taskQueue,
            workflowId: 'customer-segmentation-scheduled',
            args: [workflowInput({ ...options, file: [options.file] }, config)],
          },
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' },
        });
        console.log(`schedule ${scheduleId} created: ${options.cron ?? '0 2 * * *'} ${options.timezone ?? 'UTC'}`);
        return 0;
      }
      case 'describe': {
        const description = await handle.describe();
        console.log(
          JSON.stringify(
            {
              scheduleId,
              paused: description.state.paused,
              cron: description.spec.calendars ?? description.spec,
              nextActionTimes: description.info.nextActionTimes,
              recentActions: description.info.recentActions.map((action) => ({
                scheduledAt: action.scheduledAt,
                workflowId: action.action.workflow.workflowId,
              })),
            },
            null,
            2,
          ),
        );
        return 0;
      }
      case 'trigger':
        await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
        console.log(`schedule ${scheduleId} triggered`);
        return 0;
      case 'delete':
        await handle.delete();
        console.log(`schedule ${scheduleId} deleted`);
        return 0;
      default:
        console.error(`unknown action "${action}": use create, describe, trigger or delete`);
        return 2;
    }
  } finally {
    await close();
  }
}
