/**
 * Waits until a run is inside a step with some of that step's work done and most still to do:
 * the moment a fault test lands its fault. Work done is read where the step leaves it: staged
 * pairs (load), messages in the topic (publish), consumed messages committed (classify).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { connectKafkaAdmin } from '../../lib/kafka';
import { TABLES } from '../../lib/tables';
import { progressQuery, type SegmentationProgress, type StepName } from '../../workflows/segmentation-progress';
import type { TestEnvironment } from './test-environment';

export async function untilMidStep(env: TestEnvironment, handle: WorkflowHandle, step: StepName, customers: number): Promise<SegmentationProgress> {
  const admin = await connectKafkaAdmin(env.config.kafkaBrokers, 'mid-step-probe');
  const messagesInTopic = async () => {
    if (!(await admin.listTopics()).includes(env.config.kafkaTopic)) return 0; // created by the first publish
    return (await admin.fetchTopicOffsets(env.config.kafkaTopic)).reduce((sum, { high }) => sum + Number(high), 0);
  };
  const before = await messagesInTopic();
  try {
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(20)) {
      let progress: SegmentationProgress;
      try {
        progress = await handle.query(progressQuery);
      } catch {
        continue; // no worker has started it yet
      }
      if (progress.currentStep !== step) {
        if (progress.steps[step].status !== 'pending') throw new Error(`the run went past step ${step} before the probe saw it`);
        continue;
      }
      const done = await workDone(env, progress.runId, step, async () => (await messagesInTopic()) - before);
      // Early in the step, so the fault lands well before its end.
      if (done > 0 && done < customers / 5) return progress;
    }
  } finally {
    await admin.disconnect();
  }
  throw new Error(`the run never got into the middle of step ${step}`);
}

async function workDone(env: TestEnvironment, runId: string, step: StepName, published: () => Promise<number>): Promise<number> {
  switch (step) {
    case 'load':
      return Number((await env.db(TABLES.stagingInvoices).where({ run_id: runId }).count({ n: '*' }))[0].n) > 0 ? 1 : 0;
    case 'publish':
      return await published();
    case 'classify':
      return Number((await env.db(TABLES.consumerOffsets).where({ run_id: runId }).sum({ n: 'messages_consumed' }))[0].n ?? 0);
    default:
      throw new Error(`no probe for step ${step}`);
  }
}
