/**
 * The acceptance test of the mission: the full UCI Online Retail workbook (541,909 rows) through
 * the real Temporal, Kafka and MySQL gives exactly the reference figures (worked out from the same
 * rows as CSV by test/support/plain-segmentation.ts, which shares no code with the pipeline), the
 * RFM columns of all 4,338 customers included, twice in a row with the same table, in a small
 * history that replays.
 */
import { isDeepStrictEqual } from 'node:util';
import { Worker } from '@temporalio/worker';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { TABLES } from '../../lib/tables';
import { plainRfm, type PlainFigures } from '../support/plain-segmentation';
import { describeWithOnlineRetail, ONLINE_RETAIL_CSV_GZ, ONLINE_RETAIL_XLSX, onlineRetailReference, SHARED_DATA_DIR } from '../support/shared-data';
import { historyFacts, rfmSegments, segments, startSegmentation, type RfmRow, type SegmentRow } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(600_000);

describeWithOnlineRetail('the full Online Retail workbook', () => {
  let env: TestEnvironment;
  let reference: PlainFigures;
  const results: SegmentationProgress[] = [];
  const tables: SegmentRow[][] = [];
  const rfmTables: RfmRow[][] = [];
  const workflowIds: string[] = [];

  beforeAll(async () => {
    reference = await onlineRetailReference();
    env = await createTestEnvironment('online_retail', { dataDir: SHARED_DATA_DIR });
    await env.startWorker();
    // Two runs of the same workbook, one after the other, as two nights would.
    for (let run = 0; run < 2; run++) {
      const handle = await startSegmentation(env.client, env.config, { file: 'online-retail.xlsx' }, 'online-retail');
      workflowIds.push(handle.workflowId);
      results.push(await handle.result());
      tables.push(await segments(env.db));
      rfmTables.push(await rfmSegments(env.db));
    }
  });

  afterAll(async () => {
    await env?.cleanup();
  });

  test('the run reports the reference figures', () => {
    const summary = results[0].summary!;
    expect(results[0].status).toBe('completed');
    const { rowsRead, rowsKept, customers, low, high, purchases } = reference;
    expect(summary).toMatchObject({
      rowsRead,
      rowsKept,
      customers,
      low,
      high,
      purchases,
      messagesPublished: customers,
      messagesConsumed: customers,
      customersConsumed: customers,
      rowsWritten: customers,
      published: true,
    });
    expect(summary.dataQuality.rowsDropped).toEqual(reference.rowsDropped);
    expect(summary.rowsRead).toBe(summary.rowsKept + Object.values(summary.dataQuality.rowsDropped).reduce((a, b) => a + b, 0));
  });

  test('customer_segments holds exactly every customer with their invoice count', () => {
    const expected = [...reference.purchaseCounts]
      .sort(([a], [b]) => a - b)
      .map(([CustomerID, PurchaseCount]) => ({ CustomerID, PurchaseCount, FrequencyCategory: PurchaseCount > 5 ? 'High Frequency' : 'Low Frequency' }));
    expect(tables[0]).toEqual(expected);
  });

  test("every customer's RecencyDays, Monetary, three scores and segment are the ones worked out from the CSV", async () => {
    const rfm = plainRfm(reference);
    expect(rfm.asOf).toBe('2011-12-10');
    // The day RecencyDays counts to, in the run's figures and in its record.
    expect(results[0].invoices).toMatchObject({ asOf: '2011-12-10', rfmRules: 'rules/rfm-segments.json' });
    const { invoices } = await env.db(TABLES.runs).where({ run_id: results[0].runId }).first('invoices');
    expect(typeof invoices === 'string' ? JSON.parse(invoices) : invoices).toMatchObject({ asOf: '2011-12-10', rfmRules: 'rules/rfm-segments.json' });
    expect(rfmTables[0]).toHaveLength(reference.customers);
    // Customer by customer; a difference shows the first few customers both ways, not a diff of 4,338 rows.
    const expected = new Map(rfm.customers.map((customer) => [customer.CustomerID, customer]));
    const differing = rfmTables[0].filter((row) => !isDeepStrictEqual({ ...row }, expected.get(row.CustomerID)));
    expect({ differing: differing.length, first: differing.slice(0, 5).map((row) => ({ table: row, reference: expected.get(row.CustomerID) })) }).toEqual({
      differing: 0,
      first: [],
    });
    expect(rfmTables[0].map((row) => row.CustomerID)).toEqual(rfm.customers.map((customer) => customer.CustomerID));
    // The run's summary (what `run --wait` and the Temporal UI show) has the same sizes and Monetary per segment.
    const sizes = new Map<string, { customers: number; cents: bigint }>();
    for (const { RfmSegment, Monetary } of rfm.customers) {
      const size = sizes.get(RfmSegment) ?? { customers: 0, cents: 0n };
      sizes.set(RfmSegment, { customers: size.customers + 1, cents: size.cents + BigInt(Monetary.replace('.', '')) });
    }
    const bySize = (a: { segment: string; customers: number }, b: { segment: string; customers: number }) => b.customers - a.customers || (a.segment < b.segment ? -1 : 1);
    expect(results[0].summary!.segments).toEqual(
      [...sizes].map(([segment, { customers, cents }]) => ({ segment, customers, monetary: `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}` })).sort(bySize),
    );
  });

  test('a second run of the same workbook leaves customer_segments identical, and both runs are recorded', async () => {
    expect(results[1].summary).toEqual(results[0].summary);
    expect(tables[1]).toEqual(tables[0]);
    expect(rfmTables[1]).toEqual(rfmTables[0]);
    const runs = await env.db(TABLES.runs).orderBy('started_at').select('run_id', 'workflow_id', 'status', 'rows_written');
    expect(runs).toEqual(
      results.map((result, i) => ({ run_id: result.runId, workflow_id: workflowIds[i], status: 'completed', rows_written: reference.customers })),
    );
    // The table is the newest run's result, whole.
    expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: results[1].runId }]);
    expect(await env.db(TABLES.publication).first('run_id')).toEqual({ run_id: results[1].runId });
    const history = await env.db(TABLES.segmentHistory).groupBy('RunId').select('RunId', env.db.raw('COUNT(*) AS customers'));
    expect(history.map((row) => Number(row.customers))).toEqual([reference.customers, reference.customers]);
    // Staging keeps each recent run's counts exactly once, for resets (and no invoice rows: only an append run merges them);
    // its batches hold each distinct pair (an invoice whose lines span two batches is in both).
    const staged = await env.db(TABLES.stagingInvoices)
      .groupBy('run_id')
      .orderBy('run_id')
      .select('run_id', env.db.raw('COUNT(DISTINCT CustomerID, InvoiceNo) AS pairs'));
    expect(staged.map((row) => Number(row.pairs))).toEqual([reference.purchases, reference.purchases]);
    expect(await env.db(TABLES.runInvoices).count({ invoices: '*' })).toEqual([{ invoices: 0 }]);
    const counts = await env.db(TABLES.stagingCounts).groupBy('run_id').select(env.db.raw('COUNT(*) AS customers'));
    expect(counts.map((row) => Number(row.customers))).toEqual([reference.customers, reference.customers]);
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
    expect(await rfmSegments(env.db)).toEqual(rfmTables[1]);
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
    expect(historyRows).toEqual([{ n: reference.customers }]);
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
}, [ONLINE_RETAIL_XLSX, ONLINE_RETAIL_CSV_GZ]);
