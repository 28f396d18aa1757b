/**
 * Write, audit, publish: a result that reconciles but is implausible next to the published one
 * is held for an operator and never replaces `customer_segments` silently. After a full export,
 * each check holds a run on its own, the three bad nights people actually get (header only, every
 * CustomerID blank, only the last days) are held, and the table stays byte for byte what it was;
 * `approve` publishes exactly the held run, `abort` publishes nothing, `--no-audit` publishes at once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditCheckName } from '../../lib/audit/audit-checks';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import type { RunAudit } from '../../workflows/segmentation-progress';
import { segment, segmentExit } from '../support/segment-cli';
import { UCI_HEADER, uciRow, writeWorkbook } from '../unit/support/write-workbook';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-'));
const ROWS = 12_000;
let env: TestEnvironment;
let full: GeneratedWorkbook;
/** The published run after the full export. */
let fullRunId: string;

beforeAll(async () => {
  env = await createTestEnvironment('audit', { dataDir });
  await env.startWorker();
  full = await generateWorkbook({ outPath: path.join(dataDir, 'full.xlsx'), rows: ROWS, seed: 21 });
  await generateWorkbook({ outPath: path.join(dataDir, 'header-only.xlsx'), rows: 0, seed: 21 });
  await generateWorkbook({ outPath: path.join(dataDir, 'blank-customers.xlsx'), rows: ROWS, seed: 21, blankCustomerIds: true });
  await generateWorkbook({ outPath: path.join(dataDir, 'last-days.xlsx'), rows: ROWS, seed: 21, lastRowsOnly: 600 });
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Every column of every row, the bookkeeping ones included: "unchanged" means byte for byte. */
async function table(): Promise<unknown[]> {
  return await env.db(TABLES.segments).orderBy('CustomerID').select('*');
}

async function run(file: string, ...flags: string[]) {
  const result = await segmentExit(['run', '--file', path.join(dataDir, file), '--wait', '--json', ...flags], env.env);
  return { ...result, outcome: result.lastJson };
}

async function recordedAudit(runId: string): Promise<RunAudit> {
  const row = await env.db(TABLES.runs).where({ run_id: runId }).first('audit');
  return typeof row.audit === 'string' ? JSON.parse(row.audit) : row.audit;
}

const failedChecks = (audit: RunAudit | undefined) => (audit?.checks ?? []).filter((check) => check.outcome === 'failed').map((check) => check.name);

/** Starts a run that the audit must hold: held, with exactly these checks failed, nothing published. */
async function expectHeld(file: string, failed: AuditCheckName[], ...flags: string[]) {
  const before = await table();
  const held = await run(file, ...flags);
  expect(held.code).toBe(3);
  expect(held.outcome).toMatchObject({ status: 'awaiting-operator', failedStep: 'audit', published: false });
  expect(failedChecks(held.outcome.audit).sort()).toEqual([...failed].sort());
  expect(await table()).toEqual(before);
  const audit = await recordedAudit(held.outcome.runId);
  expect(failedChecks(audit).sort()).toEqual([...failed].sort());
  expect(audit.comparedWith).toBe((await env.db(TABLES.publication).first('run_id')).run_id);
  const record = await env.db(TABLES.runs).where({ run_id: held.outcome.runId }).first('status');
  expect(record.status).toBe('awaiting-operator');
  // The search attribute says so too: an operator finds held runs from the UI's list.
  const description = await env.client.workflow.getHandle(held.outcome.workflowId).describe();
  expect(description.searchAttributes.SegmentationStatus).toEqual(['awaiting-operator']);
  expect(description.searchAttributes.SegmentationStep).toEqual(['audit']);
  return held.outcome as { workflowId: string; runId: string; audit: RunAudit };
}

async function abort(workflowId: string): Promise<void> {
  const before = await table();
  const aborted = await segmentExit(['abort', workflowId, '--reason', 'bad export', '--wait', '--json'], env.env);
  expect(aborted.code).toBe(1);
  expect(aborted.lastJson).toMatchObject({ workflowId, status: 'failed' });
  expect(await table()).toEqual(before);
}

test('the first run has nothing to compare with: its comparing checks are skipped and it is published', async () => {
  const first = await run('full.xlsx');
  expect(first.code).toBe(0);
  expect(first.outcome).toMatchObject({ status: 'completed', customers: full.customers, published: true, dataDate: full.newestInvoiceDate });
  fullRunId = first.outcome.runId;
  const audit = await recordedAudit(fullRunId);
  expect(audit).toMatchObject({ outcome: 'passed', comparedWith: null });
  expect(Object.fromEntries(audit.checks.map((check) => [check.name, check.outcome]))).toEqual({
    minCustomers: 'passed',
    maxShrinkPercent: 'skipped',
    maxDroppedPercent: 'passed',
    maxHighShareShiftPoints: 'skipped',
    maxMovedPercent: 'skipped',
    maxDaysAhead: 'passed',
  });
  const dropped = audit.checks.find((check) => check.name === 'maxDroppedPercent')!;
  expect(dropped.measured).toBeCloseTo((100 * (full.rowsRead - full.rowsKept)) / full.rowsRead, 1);
  const events = await env.db(TABLES.publicationEvents).select('run_id', 'previous_run_id', 'kind');
  expect(events).toEqual([{ run_id: fullRunId, previous_run_id: null, kind: 'audit-passed' }]);
  const recorded = await env.db(TABLES.runs).where({ run_id: fullRunId }).first('data_date');
  expect(recorded.data_date.toISOString().slice(0, 19)).toBe(full.newestInvoiceDate);
});

test.each([
  // An empty result also has no High Frequency share left: that check sees it too.
  ['a header with no rows', 'header-only.xlsx', ['minCustomers', 'maxShrinkPercent', 'maxHighShareShiftPoints']],
  ['an export whose CustomerID column came out blank', 'blank-customers.xlsx', ['minCustomers', 'maxShrinkPercent', 'maxDroppedPercent', 'maxHighShareShiftPoints']],
  ['an export cut to its last days', 'last-days.xlsx', ['maxShrinkPercent', 'maxHighShareShiftPoints']],
] as const)('%s is held, and the table stays as it was until the operator aborts it', async (_name, file, failed) => {
  const held = await expectHeld(file, [...failed]);
  // The UI's current details name each failed check and say how to go on.
  const status = await segmentExit(['status', held.workflowId], env.env);
  expect(status.code).toBe(3);
  for (const check of failed) expect(status.stdout).toContain(check);
  expect(status.stdout).toContain(`segment approve ${held.workflowId}`);
  await abort(held.workflowId);
});

test('each check holds a run on its own; approve publishes exactly that run, with who and why', async () => {
  const others = (only: AuditCheckName) =>
    (['maxShrinkPercent', 'maxHighShareShiftPoints', 'maxMovedPercent'] as const).filter((name) => name !== only).flatMap((name) => ['--audit', `${name}=off`]);
  await abort((await expectHeld('full.xlsx', ['minCustomers'], '--audit', 'minCustomers=100000')).workflowId);
  await abort((await expectHeld('full.xlsx', ['maxDroppedPercent'], '--audit', 'maxDroppedPercent=1')).workflowId);
  await abort((await expectHeld('last-days.xlsx', ['maxShrinkPercent'], ...others('maxShrinkPercent'))).workflowId);
  // A threshold of 1 makes every repeat buyer High Frequency: the share and the categories move.
  await abort((await expectHeld('full.xlsx', ['maxHighShareShiftPoints'], '--threshold', '1', ...others('maxHighShareShiftPoints'))).workflowId);
  const moved = await expectHeld('full.xlsx', ['maxMovedPercent'], '--threshold', '1', ...others('maxMovedPercent'));

  const approved = await segmentExit(['approve', moved.workflowId, '--by', 'ana', '--reason', 'threshold changed on purpose', '--wait', '--json'], env.env);
  expect(approved.code).toBe(0);
  expect(approved.lastJson).toMatchObject({ status: 'completed', published: true, runId: moved.runId });
  const history = await env.db(TABLES.segmentHistory).where({ RunId: moved.runId }).orderBy('CustomerID').select('CustomerID', 'PurchaseCount', 'FrequencyCategory');
  expect(await env.db(TABLES.segments).orderBy('CustomerID').select('CustomerID', 'PurchaseCount', 'FrequencyCategory')).toEqual(history);
  expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: moved.runId }]);
  expect((await recordedAudit(moved.runId)).approval).toMatchObject({ by: 'ana', reason: 'threshold changed on purpose' });
  // The report shows what each check saw, and who approved, in the terminal, JSON and HTML alike.
  const report = await segment(['report', moved.workflowId, '--json'], env.env);
  expect(report.lastJson.run.audit).toMatchObject({ outcome: 'held', comparedWith: fullRunId, approval: { by: 'ana' } });
  expect(failedChecks(report.lastJson.run.audit)).toEqual(['maxMovedPercent']);
  const terminal = await segment(['report', moved.workflowId], env.env);
  expect(terminal.stdout).toMatch(/maxMovedPercent\s+failed/);
  expect(terminal.stdout).toContain('approved by ana');
  const html = path.join(dataDir, 'report.html');
  await segment(['report', moved.workflowId, '--html', html], env.env);
  expect(fs.readFileSync(html, 'utf8')).toContain('<tr class="failed"><td>maxMovedPercent</td>');
  const event = await env.db(TABLES.publicationEvents).orderBy('id', 'desc').first('run_id', 'previous_run_id', 'kind', 'decided_by', 'reason');
  expect(event).toEqual({ run_id: moved.runId, previous_run_id: fullRunId, kind: 'approved', decided_by: 'ana', reason: 'threshold changed on purpose' });

  // --no-audit: the full export with the seed's threshold is published at once, whatever moves back.
  const unaudited = await run('full.xlsx', '--no-audit');
  expect(unaudited.code).toBe(0);
  expect(unaudited.outcome).toMatchObject({ status: 'completed', published: true, audit: { outcome: 'off', checks: [] } });
  expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: unaudited.outcome.runId }]);
  expect(await env.db(TABLES.publicationEvents).orderBy('id', 'desc').first('kind')).toEqual({ kind: 'audit-off' });
});

test('approve is refused for a run that waits after a failed step, and a wrong check name is refused before anything starts', async () => {
  const missing = await run('nope.xlsx');
  expect(missing.outcome).toMatchObject({ status: 'awaiting-operator', failedStep: 'load' });
  const refused = await segmentExit(['approve', missing.outcome.workflowId], env.env);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('only a run held by its audit can be approved');
  await segmentExit(['abort', missing.outcome.workflowId], env.env);

  const typo = await segmentExit(['run', '--file', path.join(dataDir, 'full.xlsx'), '--audit', 'maxShrink=80'], env.env);
  expect(typo.code).not.toBe(0);
  expect(typo.stderr).toContain('there is no check "maxShrink"');
  const { stdout } = await segment(['runs', '--json'], env.env);
  expect(JSON.parse(stdout.trim().split('\n').at(-1)!).filter((listed: { published: boolean }) => listed.published)).toHaveLength(1);
});

test('one row dated far ahead cannot make a run outrank every later night: the audit holds it', async () => {
  // Publication follows the newest invoice; a typo such as 9999-12-31 would otherwise win for good.
  const rows = Array.from({ length: 12 }, (_, i) => uciRow(600_000 + i, 1, 1.5, 12_346 + i));
  rows[5][4] = new Date(Date.UTC(9999, 11, 31, 23, 59));
  await writeWorkbook(path.join(dataDir, 'typo-date.xlsx'), [{ name: 'Online Retail', rows: [UCI_HEADER, ...rows] }]);
  const others = ['maxShrinkPercent', 'maxHighShareShiftPoints', 'maxMovedPercent'].flatMap((name) => ['--audit', `${name}=off`]);
  const held = await expectHeld('typo-date.xlsx', ['maxDaysAhead'], ...others);
  const check = held.audit.checks.find((candidate) => candidate.name === 'maxDaysAhead')!;
  expect(check.summary).toContain('newest invoice 9999-12-31 23:59');
  await abort(held.workflowId);
});
