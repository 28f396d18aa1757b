/**
 * The audit step's orchestration on the time-skipping test server with stub activities: a held
 * run waits for an operator (approve, abort, retry), and a publication that finds its audit
 * outdated audits again, and an append run whose publication finds the ledger merged since it counted
 * counts again. No MySQL, Kafka or Temporal dev server.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { AuditResult } from '../../activities/audit-run';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import { stubActivities } from '../support/stub-activities';
import { createTestWorker, newTaskQueue, startStubbedRun, untilStatus, timeSkippingServerPerFile } from '../support/time-skipping-server';

// Each test takes a second or two: a run that hangs (an Update no workflow task answers) should fail soon.
jest.setTimeout(30_000);

const server = timeSkippingServerPerFile();

const SHRUNK = '4 customers against 4,338 published: 99.91% fewer (limit 50%)';
const HELD: AuditResult = {
  outcome: 'held',
  comparedWith: 'run-published-before',
  superseded: false,
  checks: [
    { name: 'minCustomers', limit: 1, outcome: 'passed', measured: 4, published: null, run: 4, summary: '4 customers (at least 1)' },
    { name: 'maxShrinkPercent', limit: 50, outcome: 'failed', measured: 99.91, published: 4338, run: 4, summary: SHRUNK },
  ],
};
const PASSED: AuditResult = { ...HELD, outcome: 'passed', checks: [{ ...HELD.checks[0] }] };

const start = (taskQueue: string, input?: SegmentationInput) => startStubbedRun(server.env, taskQueue, input);

/** The audit holds the run the first time, passes after that. */
function heldOnce() {
  let audits = 0;
  return stubActivities({ auditRun: async () => (audits++ === 0 ? HELD : PASSED) });
}

test('a held run waits for an operator, its failed check in the progress and the current details; `approve` publishes it as approved, with by and reason', async () => {
  const taskQueue = newTaskQueue('approve');
  const stubs = heldOnce();
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await start(taskQueue);
    const waiting = await untilStatus(handle, 'awaiting-operator');
    expect(waiting.failure).toMatchObject({ step: 'audit', type: 'AuditHeldError', retryFrom: 'audit' });
    expect(waiting.failure?.message).toContain(`maxShrinkPercent: ${SHRUNK}`);
    const metadata: { currentDetails?: string } = await handle.query('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toContain('**Held by its audit:** nothing was published');
    expect(metadata.currentDetails).toContain(`✗ maxShrinkPercent: ${SHRUNK}`);
    expect(stubs.calls.publishSegments).toBe(0);

    const receipt = await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'approve', by: 'ana', reason: 'half the shops closed for the holiday' }] });
    expect(receipt).toEqual({ action: 'approve', step: 'audit', retryFrom: 'publication' });
    const done = await handle.result();
    expect(done.status).toBe('completed');
    expect(done.audit?.approval).toMatchObject({ by: 'ana', reason: 'half the shops closed for the holiday' });
  });
  expect(stubs.publications).toEqual([
    expect.objectContaining({ kind: 'approved', by: 'ana', reason: 'half the shops closed for the holiday', auditedAgainst: 'run-published-before' }),
  ]);
  expect(stubs.calls.auditRun).toBe(1);
});

test('`abort` of a held run publishes nothing', async () => {
  const taskQueue = newTaskQueue('abort-held');
  const stubs = heldOnce();
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await start(taskQueue);
    await untilStatus(handle, 'awaiting-operator');
    await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort', by: 'ana' }] });
    const error = await handle.result().catch((failed: unknown) => failed);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toMatchObject({ type: 'RunAbortedError' });
  });
  expect(stubs.calls.publishSegments).toBe(0);
  expect(stubs.calls.pruneStaging).toBe(0);
});

test('`retry` of a held run audits it again, and publishes it as audited once the audit passes', async () => {
  const taskQueue = newTaskQueue('retry-held');
  const stubs = heldOnce();
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await start(taskQueue);
    await untilStatus(handle, 'awaiting-operator');
    const receipt = await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry' }] });
    expect(receipt).toEqual({ action: 'retry', step: 'audit', retryFrom: 'audit' });
    expect((await handle.result()).status).toBe('completed');
  });
  expect(stubs.calls).toMatchObject({ reconcileRun: 1, auditRun: 2, publishSegments: 1 });
  expect(stubs.publications).toEqual([expect.objectContaining({ kind: 'audit-passed' })]);
  expect(stubs.publications[0].by).toBeUndefined();
});

test('a publication that finds another run published since the audit audits again, then publishes', async () => {
  const taskQueue = newTaskQueue('outdated');
  let publications = 0;
  const stubs = stubActivities({
    auditRun: async () => PASSED,
    publishSegments: async () =>
      publications++ === 0 ? { outcome: 'audit-outdated', publishedNow: 'run-published-meanwhile' } : { outcome: 'published', rowsWritten: 4, replaced: 'run-published-meanwhile' },
  });
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  const done = await worker.runUntil(async () => await (await start(taskQueue)).result());
  expect(done.status).toBe('completed');
  expect(done.summary).toMatchObject({ published: true, rowsWritten: 4 });
  expect(done.steps.audit.runs).toBe(2);
  expect(stubs.calls).toMatchObject({ reconcileRun: 1, auditRun: 2, publishSegments: 2 });
});

test('an append run whose publication finds the ledger merged since it counted counts again from the aggregate step, then publishes', async () => {
  const taskQueue = newTaskQueue('ledger-moved');
  let publications = 0;
  const versions: Array<number | undefined> = [];
  let aggregates = 0;
  const stubs = stubActivities({
    aggregatePurchases: async () => {
      aggregates += 1;
      const invoices = { mode: 'append' as const, window: 'all', windowStart: null, dataDate: '2011-12-09T12:50:00', invoices: 2, outsideWindow: 0, oldest: null, newest: null, added: 2, replaced: 0, ledgerInvoices: 9, ledgerVersion: aggregates };
      return { customers: 4, purchases: 9, invoices };
    },
    auditRun: async () => PASSED,
    publishSegments: async (input) => {
      versions.push(input.ledgerVersion);
      return publications++ === 0 ? { outcome: 'ledger-moved', ledgerVersion: 2 } : { outcome: 'published', rowsWritten: 4, replaced: null, invoicesMerged: 2 };
    },
  });
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  const done = await worker.runUntil(async () => await (await start(taskQueue, { mode: 'append' })).result());
  expect(done.status).toBe('completed');
  expect(done.summary).toMatchObject({ published: true, invoices: { mode: 'append', ledgerVersion: 2 } });
  // Counted again on the ledger as it is now: aggregate, publish, classify, reconcile and audit run a second time, the load does not.
  expect(stubs.calls).toMatchObject({ loadWorkbookPart: 1, aggregatePurchases: 2, reconcileRun: 2, auditRun: 2, publishSegments: 2 });
  expect(versions).toEqual([1, 2]);
  expect(done.steps.aggregate.runs).toBe(2);
});
