/**
 * Webhook notifications against a receiver this test runs (node:http on a free port), with a
 * `segment worker` process per setting (NOTIFY_* read from its environment, as in production) and
 * the real Temporal, Kafka and MySQL: a bad workbook is posted once as awaiting-operator, then
 * failed after `abort`; a receiver that fails twice gets the same event three times and takes it
 * once; the slack body's shape; NOTIFY_ON=published posts a published run's sizes and, against
 * the run published before it, the customers who moved. No body ever holds the webhook's token
 * or the MySQL password.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import { progressQuery, type SegmentationProgress } from '../../workflows/segmentation-progress';
import { historyFacts, startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { startWorkerProcess, untilPolling, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notify-'));
/** The webhook's secret part, as a Slack webhook carries it in its path. */
const TOKEN_PATH = `/services/T0NOTIFY/B0NOTIFY/${randomBytes(12).toString('hex')}`;
let env: TestEnvironment;
let receiver: Receiver;
let worker: WorkerProcess | undefined;

interface Received {
  headers: http.IncomingHttpHeaders;
  path: string;
  raw: string;
  body: any;
  /** The status this receiver answered. */
  answered: number;
}

interface Receiver {
  url: string;
  received: Received[];
  /** Statuses to answer the next posts with (then 200). */
  failNext: number[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const failNext: number[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const answered = failNext.shift() ?? 200;
      received.push({ headers: request.headers, path: request.url ?? '', raw, body: JSON.parse(raw), answered });
      response.writeHead(answered, { 'content-type': 'text/plain' }).end(answered === 200 ? 'ok' : 'try later');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${TOKEN_PATH}`,
    received,
    failNext,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  fs.writeFileSync(path.join(dataDir, 'not-a-workbook.xlsx'), 'InvoiceNo,StockCode\n536365,85123A\n');
  await generateWorkbook({ outPath: path.join(dataDir, 'orders.xlsx'), rows: 3_000, customers: 400, seed: 17 });
  receiver = await startReceiver();
  env = await createTestEnvironment('notify', { dataDir });
});

afterEach(async () => {
  await worker?.kill();
  // Whatever it logged (a failed post's warning included) never names the webhook's token.
  const logged = worker?.output() ?? '';
  worker = undefined;
  expect(logged).toContain('worker polling');
  expect(logged).not.toContain(TOKEN_PATH.split('/').at(-1));
});

afterAll(async () => {
  await worker?.kill();
  await receiver?.close();
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A `segment worker` of its own with these NOTIFY_* settings, polling the file's task queue. */
async function startNotifyingWorker(settings: Record<string, string>): Promise<void> {
  worker = startWorkerProcess({ ...env.env, NOTIFY_WEBHOOK_URL: receiver.url, ...settings }, path.join(dataDir, 'logs', `worker-${randomBytes(3).toString('hex')}.log`));
  await untilPolling(worker, 120_000);
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; received ${JSON.stringify(receiver.received.map((post) => post.body.event ?? post.body.text))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function untilAwaitingOperator(handle: WorkflowHandle): Promise<SegmentationProgress> {
  return await until('awaiting-operator', async () => {
    const progress = await handle.query(progressQuery).catch(() => undefined);
    return progress?.status === 'awaiting-operator' ? progress : undefined;
  });
}

/** The notifyRun activities the run's history shows completed. */
async function notificationsCompleted(workflowId: string): Promise<number> {
  const { history } = await historyFacts(env.client, workflowId);
  const notify = new Set((history.events ?? []).filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'notifyRun').map((event) => String(event.eventId)));
  return (history.events ?? []).filter((event) => notify.has(String(event.activityTaskCompletedEventAttributes?.scheduledEventId))).length;
}

/** The posts about one run (json names it in workflowId, slack in its text). */
const postsOf = (workflowId: string) => receiver.received.filter((post) => JSON.stringify(post.body).includes(workflowId));

function expectNoSecret(post: Received): void {
  expect(post.raw).not.toContain(TOKEN_PATH);
  expect(post.raw).not.toContain(TOKEN_PATH.split('/').at(-1));
  expect(post.raw).not.toContain(receiver.url);
  if (env.config.mysql.password.length >= 4) expect(post.raw).not.toContain(env.config.mysql.password);
  if (env.config.mysqlMigration.password.length >= 4) expect(post.raw).not.toContain(env.config.mysqlMigration.password);
}

test('a bad workbook: exactly one awaiting-operator notification with the run, its step, failure, link and commands; after `abort`, one failed', async () => {
  await startNotifyingWorker({});
  const handle = await startSegmentation(env.client, env.config, { file: 'not-a-workbook.xlsx' }, 'notify-json');
  const waiting = await untilAwaitingOperator(handle);
  const [post] = await until('the awaiting-operator post', () => (postsOf(handle.workflowId).length > 0 ? postsOf(handle.workflowId) : undefined));
  const { runId: executionRunId } = await handle.describe();
  expect(post.path).toBe(TOKEN_PATH);
  expect(post.headers['content-type']).toBe('application/json');
  expect(post.headers['idempotency-key']).toBe(`${handle.workflowId}/${executionRunId}/awaiting-operator/1`);
  expect(post.body).toMatchObject({
    schema: 1,
    event: 'awaiting-operator',
    eventId: post.headers['idempotency-key'],
    workflowId: handle.workflowId,
    runId: waiting.runId,
    step: 'load',
    failure: { type: 'InvalidWorkbookError', message: waiting.failure!.message, retryFrom: 'load' },
    awaitingOperatorUntil: waiting.awaitingOperatorUntil,
    link: `${env.config.temporalUiUrl}/namespaces/${env.config.temporalNamespace}/workflows/${handle.workflowId}`,
    commands: [
      { action: 'retry', command: `npx segment retry ${handle.workflowId}` },
      { action: 'abort', command: `npx segment abort ${handle.workflowId}` },
    ],
    published: null,
  });
  expect(post.body.failure.message).toContain('not-a-workbook.xlsx');

  await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort', by: 'ops', reason: 'wrong file' }] });
  await handle.result().catch(() => undefined);
  // Closed: every notification it started has settled.
  const posts = postsOf(handle.workflowId);
  expect(posts.map((each) => each.body.event)).toEqual(['awaiting-operator', 'failed']);
  expect(posts[1].body).toMatchObject({ event: 'failed', step: 'load', failure: { type: 'RunAbortedError' }, commands: [] });
  expect(posts[1].body.failure.message).toContain('aborted by ops (wrong file)');
  expect(await notificationsCompleted(handle.workflowId)).toBe(2);
  for (const each of posts) expectNoSecret(each);
});

test('a receiver failing the first two posts with 500 gets the same event three times and takes it once', async () => {
  await startNotifyingWorker({});
  receiver.failNext.push(500, 500);
  const handle = await startSegmentation(env.client, env.config, { file: 'not-a-workbook.xlsx' }, 'notify-retry');
  await until('the notification delivered', async () => ((await notificationsCompleted(handle.workflowId)) === 1 ? true : undefined));
  const posts = postsOf(handle.workflowId);
  expect(posts.map((post) => post.answered)).toEqual([500, 500, 200]);
  expect(new Set(posts.map((post) => post.headers['idempotency-key'])).size).toBe(1);
  expect(new Set(posts.map((post) => post.body.eventId))).toEqual(new Set([posts[0].headers['idempotency-key']]));
  expect(posts.every((post) => post.body.event === 'awaiting-operator')).toBe(true);
  expect((await historyFacts(env.client, handle.workflowId)).attempts.notifyRun).toBe(3);
  // Still waiting for its operator: the failing receiver held nothing up.
  expect((await handle.query(progressQuery)).status).toBe('awaiting-operator');
  await handle.terminate('test done');
});

test('NOTIFY_WEBHOOK_FORMAT=slack: an incoming webhook body, text and blocks, with the commands and the UI link', async () => {
  await startNotifyingWorker({ NOTIFY_WEBHOOK_FORMAT: 'slack' });
  const handle = await startSegmentation(env.client, env.config, { file: 'not-a-workbook.xlsx' }, 'notify-slack');
  await until('the notification delivered', async () => ((await notificationsCompleted(handle.workflowId)) === 1 ? true : undefined));
  const [post] = postsOf(handle.workflowId);
  expect(Object.keys(post.body).sort()).toEqual(['blocks', 'text']);
  expect(post.body.text).toMatch(new RegExp(`^Run waits for an operator: ${handle.workflowId}\\. Step load failed for good`));
  expect(post.body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: `Run waits for an operator: ${handle.workflowId}` } });
  for (const block of post.body.blocks) expect(['header', 'section', 'context']).toContain(block.type);
  const blocks = JSON.stringify(post.body.blocks);
  expect(blocks).toContain(`npx segment retry ${handle.workflowId}`);
  expect(blocks).toContain(`<${env.config.temporalUiUrl}/namespaces/${env.config.temporalNamespace}/workflows/${handle.workflowId}|Open in the Temporal UI>`);
  expect(post.headers['idempotency-key']).toMatch(new RegExp(`^${handle.workflowId}/.+/awaiting-operator/1$`));
  expectNoSecret(post);
  await handle.terminate('test done');
});

test('NOTIFY_ON=published: a published run posts its segment sizes, and the next one the customers who moved', async () => {
  await startNotifyingWorker({ NOTIFY_ON: 'published' });
  const first = await startSegmentation(env.client, env.config, { file: 'orders.xlsx' }, 'notify-published');
  const done = await first.result();
  expect(done.status).toBe('completed');
  const [post] = postsOf(first.workflowId);
  expect(postsOf(first.workflowId)).toHaveLength(1);
  const summary = done.summary!;
  expect(post.body).toMatchObject({
    event: 'published',
    runId: done.runId,
    step: null,
    failure: null,
    commands: [{ action: 'report', command: `npx segment report ${first.workflowId}` }],
    published: { customers: summary.customers, low: summary.low, high: summary.high, rowsWritten: summary.customers, dataDate: summary.dataDate, segments: summary.segments, moved: null },
  });
  expect(summary.customers).toBeGreaterThan(0);
  expect(post.body.published.low + post.body.published.high).toBe(summary.customers);
  expect(post.body.published.segments.reduce((total: number, size: { customers: number }) => total + size.customers, 0)).toBe(summary.customers);
  expectNoSecret(post);

  // The same export again: audited against the first, which it replaces; nobody changed category.
  const second = await startSegmentation(env.client, env.config, { file: 'orders.xlsx' }, 'notify-published');
  expect((await second.result()).status).toBe('completed');
  const [again] = postsOf(second.workflowId);
  expect(again.body.published.moved).toEqual({ customers: 0, of: summary.customers, percent: 0, comparedWith: done.runId });
  expectNoSecret(again);
});
