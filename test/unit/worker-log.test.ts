/** The worker's log (workers/worker-log.ts): a retried infrastructure error is one line, a bug keeps its stack. */
import { ApplicationFailure } from '@temporalio/common';
import { KafkaJSProtocolError } from 'kafkajs';
import { InvalidWorkbookError } from '../../lib/errors';
import { oneLineLogger } from '../../workers/worker-log';

/** What the SDK's worker passes for a failed activity attempt (worker/src/activity.ts), beside the error. */
const ACTIVITY_CONTEXT = {
  sdkComponent: 'worker',
  taskQueue: 'customer-segmentation',
  isLocal: false,
  attempt: 1,
  namespace: 'default',
  taskToken: 'CiQwMWEyMzcwNy1jZmZjLTc0MTMtYThkZC0yNzhjZjFmODBiMDQSGWNzdi1leHBvcnRz',
  activityId: '8',
  activityType: 'publishPurchaseCounts',
  workflowId: 'nightly-2026-12-02',
  workflowType: 'customerSegmentation',
  durationMs: 121,
};

function logged(error: unknown): string[] {
  const lines: string[] = [];
  oneLineLogger('WARN', (line) => lines.push(line)).warn('Activity failed', { ...ACTIVITY_CONTEXT, error });
  return lines;
}

test("kafkajs's retried GROUP_LOAD_IN_PROGRESS is one line with its type, code, activity, attempt and workflow", () => {
  const error = new KafkaJSProtocolError({ message: 'The coordinator is loading and hence can\'t process requests', type: 'GROUP_LOAD_IN_PROGRESS', code: 14, retriable: true } as unknown as Error);
  const lines = logged(error);
  expect(lines).toHaveLength(1);
  const [line] = lines;
  expect(line.endsWith('\n')).toBe(true);
  expect(line.trimEnd()).not.toContain('\n');
  expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[WARN\] Activity failed: KafkaJSProtocolError GROUP_LOAD_IN_PROGRESS: The coordinator is loading/);
  for (const field of ['activityType=publishPurchaseCounts', 'attempt=1', 'workflowId=nightly-2026-12-02', 'taskQueue=customer-segmentation', 'durationMs=121']) expect(line).toContain(field);
  expect(line).not.toContain('taskToken');
  expect(line).not.toMatch(/\bat .+:\d+:\d+/);
});

test("a mysql2 error says its code, and a typed non-retryable failure says it is not retried", () => {
  const mysqlError = Object.assign(new Error('Deadlock found when trying to get lock;\ntry restarting transaction'), { code: 'ER_LOCK_DEADLOCK' });
  expect(logged(mysqlError)[0]).toContain('Activity failed: Error ER_LOCK_DEADLOCK: Deadlock found when trying to get lock; try restarting transaction activityType=publishPurchaseCounts attempt=1 workflowId=nightly-2026-12-02 ');

  const refused = ApplicationFailure.create({ type: 'InvalidInputError', message: 'data/x.xlsx, sheet Online Retail, row 7, column Quantity: not a number', nonRetryable: true });
  expect(logged(refused)[0]).toContain('Activity failed: InvalidInputError: data/x.xlsx, sheet Online Retail, row 7, column Quantity: not a number [not retried]');
});

test("an error's innermost cause is named on the same line", () => {
  const error = new Error('could not publish chunk 3', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' }) });
  const lines = logged(error);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain('Error: could not publish chunk 3 (cause: Error: connect ECONNREFUSED 127.0.0.1:9092)');
});

test('a TypeError (a bug, not the weather) keeps its stack under the line', () => {
  const bug = new TypeError("Cannot read properties of undefined (reading 'customerId')");
  const [entry] = logged(bug);
  const [first, ...stack] = entry.trimEnd().split('\n');
  expect(first).toContain("Activity failed: TypeError: Cannot read properties of undefined (reading 'customerId') activityType=publishPurchaseCounts attempt=1 ");
  expect(stack[0]).toBe(`TypeError: Cannot read properties of undefined (reading 'customerId')`);
  expect(stack.slice(1).join('\n')).toMatch(/^\s+at /m);
});

test('lines below the level are not written; other context prints as key=value', () => {
  const lines: string[] = [];
  const logger = oneLineLogger('WARN', (line) => lines.push(line));
  logger.info('Worker state changed', { state: 'RUNNING' });
  logger.error('Worker failed', { state: 'FAILED', details: { polls: 3 } });
  expect(lines).toEqual([expect.stringMatching(/\[ERROR\] Worker failed state=FAILED details=\{ polls: 3 \}\n$/)]);
});

test('a thrown value that is not an Error says what it holds, on one line', () => {
  const [line] = logged({ code: 'ER_LOCK_WAIT_TIMEOUT', sqlMessage: 'Lock wait timeout exceeded;\ntry restarting transaction' });
  expect(line.trimEnd()).not.toContain('\n');
  expect(line).toContain("Activity failed: { code: 'ER_LOCK_WAIT_TIMEOUT'");
  expect(line).toContain('Lock wait timeout exceeded');
  expect(line).not.toContain('[object Object]');
});

test("every cause of the chain is named, an AggregateError's errors too (Node's connect to localhost tries ::1 and 127.0.0.1)", () => {
  const refused = Object.assign(new AggregateError([new Error('connect ECONNREFUSED ::1:3306'), new Error('connect ECONNREFUSED 127.0.0.1:3306')], ''), { code: 'ECONNREFUSED' });
  const error = new Error('could not claim the step', { cause: new Error('MySQL is not answering', { cause: refused }) });
  const [line] = logged(error);
  expect(line.trimEnd()).not.toContain('\n');
  expect(line).toContain('Error: could not claim the step (cause: Error: MySQL is not answering; cause: AggregateError: connect ECONNREFUSED ::1:3306; connect ECONNREFUSED 127.0.0.1:3306)');
  expect(logged(new Error('outer', { cause: 'the pool was closed' }))[0]).toContain('Error: outer (cause: the pool was closed)');
});

test('a huge message is cut, saying how much was left out; an Error in another field is one line too', () => {
  const [line] = logged(new Error(`row ${'9'.repeat(50_000)}`));
  expect(line.length).toBeLessThan(3_000);
  expect(line).toMatch(/9… \(\d+ more characters\) activityType=publishPurchaseCounts/);

  const lines: string[] = [];
  oneLineLogger('WARN', (entry) => lines.push(entry)).warn('Worker failed', { failure: Object.assign(new Error('multi\nline'), { code: 'E1' }) });
  expect(lines[0].trimEnd()).not.toContain('\n');
  expect(lines[0]).toContain('failure=Error E1: multi line');
});

test("the failure policy's non-retryable errors say they are not retried; its retryable ones do not", () => {
  const badInput = new InvalidWorkbookError({ file: 'missing.xlsx' }, 'not found in DATA_DIR', true);
  expect(logged(badInput)[0]).toContain('Activity failed: InvalidWorkbookError: file "missing.xlsx": not found in DATA_DIR [not retried] activityType=');
  expect(logged(new Error('connect ECONNREFUSED 127.0.0.1:3306'))[0]).not.toContain('[not retried]');
});
