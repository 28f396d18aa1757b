/**
 * Waits until a run is inside a step with some of that step's work done and most still to do:
 * the moment a fault test lands its fault. Work done is read where the step leaves it: messages
 * in the topic (publish), consumed messages committed (classify). A load stages its first pairs
 * only at its first checkpoint, most of the way through a small workbook, so a fault landed then
 * can miss it: for load, an attempt of loadWorkbookPart that a worker has started is the sign.
 *
 * Each look reads only that (one Kafka or MySQL round trip). The fault tests' steps are small: a
 * fifth of one lasts a few hundred milliseconds, less than one workflow query can take on a busy
 * machine (the query goes through the worker, which is busy with the step), so a look that also
 * queried the run could miss the whole window. The run's progress is asked for only between
 * looks that find nothing done yet, to notice a run that went past the step or stopped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Admin } from 'kafkajs';
import { connectKafkaAdmin } from '../../lib/kafka';
import { TABLES } from '../../lib/tables';
import { progressQuery, type StepName } from '../../workflows/segmentation-progress';
import type { TestEnvironment } from './test-environment';

/** Messages in a topic (0 before its first publish creates it). */
export async function messagesIn(admin: Admin, topic: string): Promise<number> {
  if (!(await admin.listTopics()).includes(topic)) return 0;
  // Just after a topic's creation or a broker's restart its leaders move ("not the leader"): a
  // retriable answer, asked again until the broker settles.
  for (const deadline = Date.now() + 30_000; ; await sleep(200)) {
    try {
      return (await admin.fetchTopicOffsets(topic)).reduce((sum, { high }) => sum + Number(high), 0);
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || Date.now() > deadline) throw error;
    }
  }
}

/** How often, while nothing of the step is done yet, the run's progress is checked. */
const PROGRESS_EVERY_MS = 500;

export async function untilMidStep(
  env: TestEnvironment,
  handle: WorkflowHandleWithFirstExecutionRunId,
  step: StepName,
  customers: number,
): Promise<{ runId: string }> {
  // The run's key (SegmentationProgress.runId): its first execution's run id.
  const runId = handle.firstExecutionRunId;
  const admin = await connectKafkaAdmin(env.config.kafkaBrokers, 'mid-step-probe', env.config.kafkaSecurity);
  const messagesInTopic = () => messagesIn(admin, env.config.kafkaTopic);
  const before = await messagesInTopic();
  try {
    let progressCheckedAt = 0;
    let lookedAt = Date.now();
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(20)) {
      const previousLook = lookedAt;
      lookedAt = Date.now();
      const done = await workDone(env, handle, runId, step, async () => (await messagesInTopic()) - before);
      // Early in the step, so the fault lands well before its end.
      if (done > 0 && done < customers / 5) return { runId };
      if (done > 0) {
        throw new Error(`step ${step} had ${done} of ${customers} done at the first look that found it under way (${lookedAt - previousLook} ms after the one before): too late to land a fault early in it`);
      }
      if (Date.now() - progressCheckedAt < PROGRESS_EVERY_MS) continue;
      progressCheckedAt = Date.now();
      const progress = await handle.query(progressQuery).catch(() => undefined); // undefined: no worker has started it yet
      if (progress && progress.currentStep !== step && progress.steps[step].status !== 'pending') {
        throw new Error(`the run went past step ${step} before the probe saw it`);
      }
      if (progress && progress.status !== 'running') throw new Error(`the run is ${progress.status} before step ${step} did any work`);
    }
  } finally {
    await admin.disconnect();
  }
  throw new Error(`the run never got into the middle of step ${step}`);
}

async function workDone(env: TestEnvironment, handle: WorkflowHandleWithFirstExecutionRunId, runId: string, step: StepName, published: () => Promise<number>): Promise<number> {
  switch (step) {
    case 'load': {
      const { raw } = await handle.describe();
      const loading = (raw.pendingActivities ?? []).some(
        (activity) => activity.activityType?.name === 'loadWorkbookPart' && activity.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
      );
      return loading ? 1 : 0;
    }
    case 'publish':
      // Only this run publishes to the test's topic while it runs: any new message is its.
      return await published();
    case 'classify':
      return Number((await env.db(TABLES.consumerOffsets).where({ run_id: runId }).sum({ n: 'messages_consumed' }))[0].n ?? 0);
    default:
      throw new Error(`no probe for step ${step}`);
  }
}
