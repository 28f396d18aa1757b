/**
 * The acceptance test of the mission: the full UCI Online Retail workbook (541,909 rows) through
 * the real Temporal, Kafka and MySQL gives exactly the reference figures of
 * ../shared/data/SOURCE.md, twice in a row with the same table, in a small history that replays.
 */
import { Worker } from '@temporalio/worker';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { TABLES } from '../../lib/tables';
import { describeWithOnlineRetail, SHARED_DATA_DIR } from '../support/shared-data';
import { historyFacts, segments, startSegmentation, type SegmentRow } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(600_000);

describeWithOnlineRetail('the full Online Retail workbook', () => {
  let env: TestEnvironment;
  const results: SegmentationProgress[] = [];
  const tables: SegmentRow[][] = [];
  const workflowIds: string[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment('online_retail', { dataDir: SHARED_DATA_DIR });
    await env.startWorker();
    // Two runs of the same workbook, one after the other, as two nights would.
    for (let run = 0; run < 2; run++) {
      const handle = await startSegmentation(env.client, env.config, { file: 'online-retail.xlsx' }, 'online-retail');
      workflowIds.push(handle.workflowId);
      results.push(await handle.result());
      tables.push(await segments(env.db));
    }
  });

  afterAll(async () => {
    await env?.cleanup();
  });

  test('the run reports the reference figures', () => {
    const summary = results[0].summary!;
    expect(results[0].status).toBe('completed');
    expect(summary).toMatchObject({
      rowsRead: 541_909,
      rowsKept: 397_884,
      customers: 4_338,
      low: 3_466,
      high: 872,
      purchases: 18_532,
      messagesPublished: 4_338,
      messagesConsumed: 4_338,
      customersConsumed: 4_338,
      rowsWritten: 4_338,
      published: true,
    });
    expect(summary.dataQuality.rowsDropped.missingCustomerId).toBe(135_080);
    expect(summary.rowsRead).toBe(summary.rowsKept + Object.values(summary.dataQuality.rowsDropped).reduce((a, b) => a + b, 0));
  });

  test('customer_segments holds exactly the 4,338 customers with their invoice counts', () => {
    const table = tables[0];
    expect(table).toHaveLength(4_338);
    const byId = new Map(table.map((row) => [row.CustomerID, row]));
    expect(byId.get(12748)).toEqual({ CustomerID: 12748, PurchaseCount: 209, FrequencyCategory: 'High Frequency' });
    expect(byId.get(14911)).toEqual({ CustomerID: 14911, PurchaseCount: 201, FrequencyCategory: 'High Frequency' });
    expect(byId.get(17841)).toEqual({ CustomerID: 17841, PurchaseCount: 124, FrequencyCategory: 'High Frequency' });
    expect(table.filter((row) => row.FrequencyCategory === 'Low Frequency')).toHaveLength(3_466);
    expect(table.every((row) => (row.PurchaseCount <= 5) === (row.FrequencyCategory === 'Low Frequency'))).toBe(true);
    expect(table.reduce((sum, row) => sum + row.PurchaseCount, 0)).toBe(18_532);
  });

  test('a second run of the same workbook leaves customer_segments identical, and both runs are recorded', async () => {
    expect(results[1].summary).toEqual(results[0].summary);
    expect(tables[1]).toEqual(tables[0]);
    const runs = await env.db(TABLES.runs).orderBy('started_at').select('run_id', 'workflow_id', 'status', 'rows_written');
    expect(runs).toEqual(
      results.map((result, i) => ({ run_id: result.runId, workflow_id: workflowIds[i], status: 'completed', rows_written: 4_338 })),
    );
    // The table is the newest run's result, whole.
    expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: results[1].runId }]);
    expect(await env.db(TABLES.publication).first('run_id')).toEqual({ run_id: results[1].runId });
    const history = await env.db(TABLES.segmentHistory).groupBy('RunId').select('RunId', env.db.raw('COUNT(*) AS customers'));
    expect(history.map((row) => Number(row.customers))).toEqual([4_338, 4_338]);
    // Staging keeps each recent run's distinct pairs and counts exactly once, for resets.
    const staged = await env.db(TABLES.stagingInvoices).groupBy('run_id').orderBy('run_id').select('run_id', env.db.raw('COUNT(*) AS pairs'));
    expect(staged.map((row) => Number(row.pairs))).toEqual([18_532, 18_532]);
    const counts = await env.db(TABLES.stagingCounts).groupBy('run_id').select(env.db.raw('COUNT(*) AS customers'));
    expect(counts.map((row) => Number(row.customers))).toEqual([4_338, 4_338]);
  });

  test('a run reset in Temporal to just after loading re-runs the later steps to the same state', async () => {
    const workflowId = workflowIds[1];
    const handle = env.client.workflow.getHandle(workflowId);
    const { history } = await historyFacts(env.client, workflowId);
    // The workflow task that completed right after the load activity did: what "Reset" in the UI picks.
    const events = history.events ?? [];
    const loadScheduled = events.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'loadWorkbookPart')!;
    const loadCompleted = events.findIndex(
      (event) => String(event.activityTaskCompletedEventAttributes?.scheduledEventId ?? '') === String(loadScheduled.eventId),
    );
    const resetPoint = events.slice(loadCompleted).find((event) => event.workflowTaskCompletedEventAttributes)!;
    const steps = async () => {
      const { steps: value } = await env.db(TABLES.runs).where({ run_id: results[1].runId }).first('steps');
      return typeof value === 'string' ? JSON.parse(value) : value; // a JSON column arrives parsed or as text, by server
    };
    const loadStep = async () => (await steps()).load;
    const loadBefore = await loadStep();
    const { runId } = await env.client.workflowService.resetWorkflowExecution({
      namespace: env.config.temporalNamespace,
      workflowExecution: { workflowId, runId: (await handle.describe()).runId },
      reason: 'test: re-run from aggregate',
      workflowTaskFinishEventId: resetPoint.eventId,
      requestId: `reset-${workflowId}`,
    });
    const result: SegmentationProgress = await env.client.workflow.getHandle(workflowId, runId ?? undefined).result();

    expect(result.summary).toEqual(results[1].summary);
    expect(await segments(env.db)).toEqual(tables[1]);
    // Loading was not run again (its result comes from the history before the reset point)...
    expect(await loadStep()).toMatchObject({ startedAt: loadBefore.startedAt, counts: loadBefore.counts, runs: 1 });
    const { attempts: resetAttempts, history: resetHistory } = await historyFacts(env.client, workflowId);
    const scheduled = (type: string) =>
      (resetHistory.events ?? []).filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === type).length;
    expect(scheduled('loadWorkbookPart')).toBe(1);
    expect(scheduled('aggregatePurchases')).toBe(1);
    expect(resetAttempts.reconcileRun).toBe(1);
    // ...while every later step was, in the new run.
    const { aggregate } = await steps();
    expect(new Date(aggregate.startedAt).getTime()).toBeGreaterThan(new Date(loadBefore.finishedAt).getTime() + 1);
    // The reset run keeps the run's key: one run in MySQL, one set of history rows.
    expect(result.runId).toBe(results[1].runId);
    expect(runId).not.toBe(results[1].runId);
    const historyRows = await env.db(TABLES.segmentHistory).where({ RunId: result.runId }).count({ n: '*' });
    expect(historyRows).toEqual([{ n: 4_338 }]);
    expect(await env.db(TABLES.runs).count({ n: '*' })).toEqual([{ n: 2 }]);
  });

  test('the event history stays small and replays deterministically', async () => {
    for (const workflowId of workflowIds) {
      const facts = await historyFacts(env.client, workflowId);
      expect(facts.bytes).toBeLessThan(1024 * 1024);
      expect(facts.events).toBeLessThan(200);
      await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, facts.history, workflowId);
    }
  });
});
