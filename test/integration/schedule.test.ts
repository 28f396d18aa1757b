/**
 * The nightly run as a Temporal Schedule, on the real server, through the `segment schedule`
 * commands: create and describe (spec, time zone and action as given, the nightly defaults),
 * trigger (a real run on the file the `{date}` template names), pause and unpause, backfill of two
 * past nights (two runs, one after the other, each on its own day's file), update and delete.
 *
 * The schedule is paused right after it is described, so a real 02:00 never fires in the middle
 * of the test; trigger and backfill start runs of a paused schedule all the same.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEMPORAL_SCHEDULED_START_TIME } from '../../lib/search-attributes';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { parseJson } from '../../cli/commands/runs';
import { dayInZone } from '../../cli/schedule/zoned-time';
import { segment } from '../support/segment-cli';
import { scheduledRunResult, segments } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(180_000);

const DAY_MS = 86_400_000;
const timezone = 'Europe/London';
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'schedule-'));
const template = path.join(dataDir, 'exports', 'online-retail-{date}.xlsx');
const scheduleId = `test-nightly-${randomBytes(3).toString('hex')}`;
let env: TestEnvironment;

/** `segment schedule ACTION ... --id <this test's schedule> --json`, its JSON answer. */
async function schedule(action: string, ...args: string[]): Promise<any> {
  return (await segment(['schedule', action, ...args, '--id', scheduleId, '--json'], env.env)).lastJson;
}

/** The night's export: the file the template names for `day`. */
function nightlyWorkbook(day: string, rows: number, seed: number): Promise<GeneratedWorkbook> {
  return generateWorkbook({ outPath: template.replace('{date}', day), rows, seed });
}

function result(workflowId: string): Promise<SegmentationProgress> {
  return scheduledRunResult(env.client, workflowId);
}

beforeAll(async () => {
  env = await createTestEnvironment('schedule', { dataDir });
  await env.startWorker();
});

afterAll(async () => {
  await env?.client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('create, then describe: spec, time zone and action as given, with the nightly defaults', async () => {
  const created = await schedule('create', '--file', template, '--timezone', timezone, '--threshold', '5');
  expect(created).toMatchObject({
    scheduleId,
    paused: false,
    cron: ['0 2 * * *'],
    timezone,
    workflowType: 'customerSegmentation',
    taskQueue: env.config.taskQueue,
    input: { file: 'exports/online-retail-{date}.xlsx', threshold: 5, timezone, operatorWait: '12h' },
    runTimeout: '20h',
    overlap: 'BUFFER_ONE',
    catchupWindow: '1d',
    pauseOnFailure: true,
  });
  expect(created.note).toContain('exports/online-retail-{date}.xlsx');
  // The next nights, each with the file it will read: 02:00 on the London clock.
  for (const next of created.nextRuns) {
    expect(next.local).toMatch(/ 02:00 UTC\+[01]$/);
    expect(next.file).toBe(`exports/online-retail-${dayInZone(new Date(next.at), timezone)}.xlsx`);
  }

  // As Temporal has it, not only as the CLI prints it.
  const description = await env.client.schedule.getHandle(scheduleId).describe();
  expect(description.spec.timezone).toBe(timezone);
  expect(description.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 2, end: 2, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });
  expect(description.action).toMatchObject({ workflowType: 'customerSegmentation', workflowRunTimeout: 20 * 3_600_000 });
  expect(description.policies).toEqual({ overlap: 'BUFFER_ONE', catchupWindow: DAY_MS, pauseOnFailure: true });
  expect(await schedule('describe')).toEqual({ ...created, recentRuns: [] });

  // Paused from here on: see the file's comment.
  const paused = await schedule('pause', '--note', 'held for the test');
  expect(paused).toMatchObject({ paused: true, note: 'held for the test' });
  // A paused schedule starts nothing, so it shows no next run (Temporal still computes them).
  expect(await schedule('describe')).toMatchObject({ paused: true, note: 'held for the test', nextRuns: [] });
  expect((await env.client.schedule.getHandle(scheduleId).describe()).info.nextActionTimes.length).toBeGreaterThan(0);

  // `list` reads the schedules' visibility records, which follow a moment later.
  let listed: any[] = [];
  for (let tries = 0; tries < 40 && !listed.some((view) => view.scheduleId === scheduleId); tries++) {
    if (tries) await sleep(250);
    listed = (await segment(['schedule', 'list', '--json'], env.env)).lastJson;
  }
  expect(listed.find((view) => view.scheduleId === scheduleId)).toMatchObject({ paused: true, timezone, nextRuns: [] });
  const table = (await segment(['schedule', 'list'], env.env)).stdout;
  expect(table.split('\n').find((line) => line.startsWith(scheduleId))).toContain('none while paused');
});

test('trigger: a real run completes on the file the template names for today', async () => {
  // Today on the London clock; tomorrow's too in case the trigger lands just after midnight.
  const today = dayInZone(new Date(), timezone);
  const expected = await nightlyWorkbook(today, 3_000, 11);
  fs.copyFileSync(template.replace('{date}', today), template.replace('{date}', dayInZone(new Date(Date.now() + 60_000), timezone)));

  const triggered = await schedule('trigger');
  expect(triggered).toMatchObject({ status: 'started', workflowId: expect.stringMatching(new RegExp(`^${scheduleId}-`)) });
  const run = await result(triggered.workflowId);
  expect(run.status).toBe('completed');
  expect(run.summary).toMatchObject({ rowsRead: expected.rowsRead, customers: expected.customers, low: expected.low, high: expected.high });

  // The file is the one for the run's own slot, recorded in the run and in MySQL.
  const slot = (await env.client.workflow.getHandle(triggered.workflowId).describe()).typedSearchAttributes.get(TEMPORAL_SCHEDULED_START_TIME)!;
  const file = `exports/online-retail-${dayInZone(slot, timezone)}.xlsx`;
  expect(run.files?.map((read) => read.file)).toEqual([file]);
  const recorded = await env.db(TABLES.runs).where({ run_id: run.runId }).first('files');
  expect(parseJson(recorded.files)[0]).toMatchObject({ file, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
});

test('backfill over two past nights starts two runs, one after the other, each on its own day\'s file', async () => {
  const nights = [3, 2].map((daysAgo) => dayInZone(new Date(Date.now() - daysAgo * DAY_MS), timezone));
  const expected = [await nightlyWorkbook(nights[0], 2_000, 21), await nightlyWorkbook(nights[1], 4_000, 22)];
  expect(expected[0].customers).not.toBe(expected[1].customers);

  const backfill = await schedule('backfill', '--from', nights[0], '--to', nights[1]);
  expect(backfill.runs.map((run: { reads: string }) => run.reads)).toEqual(nights.map((night) => `exports/online-retail-${night}.xlsx`));
  expect(backfill.runs.map((run: { local: string }) => run.local)).toEqual(nights.map((night) => expect.stringMatching(new RegExp(`^${night} 02:00 UTC\\+[01]$`))));

  const runs = [];
  for (const { workflowId } of backfill.runs) runs.push(await result(workflowId));
  runs.forEach((run, night) => {
    expect(run.summary).toMatchObject({ rowsRead: expected[night].rowsRead, customers: expected[night].customers, low: expected[night].low, high: expected[night].high });
    expect(run.files?.[0].file).toBe(`exports/online-retail-${nights[night]}.xlsx`);
  });
  const [first, second] = await Promise.all(backfill.runs.map(({ workflowId }: { workflowId: string }) => env.client.workflow.getHandle(workflowId).describe()));
  expect(second.startTime.getTime()).toBeGreaterThanOrEqual(first.closeTime!.getTime());
  // The newer night ran last, so its result is the one published.
  expect(await segments(env.db)).toHaveLength(expected[1].customers);
});

test('unpause, update and delete', async () => {
  const unpaused = await schedule('unpause');
  expect(unpaused.paused).toBe(false);
  expect((await schedule('describe')).nextRuns.length).toBeGreaterThan(0);
  expect(unpaused.note).toContain('exports/online-retail-{date}.xlsx');

  const updated = await schedule('update', '--cron', '30 3 * * *', '--operator-wait', '6h');
  expect(updated).toMatchObject({
    paused: false,
    cron: ['30 3 * * *'],
    timezone,
    input: { file: 'exports/online-retail-{date}.xlsx', threshold: 5, timezone, operatorWait: '6h' },
    runTimeout: '20h',
  });
  expect(updated.note).toContain('"30 3 * * *"');
  // An operator wait the run timeout would cut short is refused, and nothing changes.
  await expect(schedule('update', '--operator-wait', '21h')).rejects.toThrow(/must be shorter than --run-timeout/);
  expect((await schedule('describe')).input.operatorWait).toBe('6h');

  expect(await schedule('delete')).toEqual({ scheduleId, deleted: true });
  await expect(schedule('describe')).rejects.toThrow(/no schedule/);
});
