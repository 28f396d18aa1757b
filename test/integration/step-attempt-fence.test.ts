/**
 * The fence's order of attempts, on the real MySQL: attempts run in a mocked activity context,
 * so each case names the scheduled time and attempt number Temporal would give them.
 */
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityDependencies } from '../../activities/activity-dependencies';
import { createLoadWorkbookPart, type LoadCheckpoint } from '../../activities/load-workbook';
import { createPruneStaging, type PruneResult } from '../../activities/prune-staging';
import { claimStepAttempt, type ActivityTestHooks, type FencedStep, type StepFence } from '../../activities/step-attempt-fence';
import { emptyDataQualityReport, type DataQualityReport } from '../../lib/cleaning/data-quality-report';
import { createDatabase } from '../../lib/database';
import { fingerprintFile } from '../../lib/file-fingerprint';
import { TABLES } from '../../lib/tables';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { makeTempDir, uciRow, UCI_HEADER, writeWorkbook } from '../unit/support/write-workbook';

let env: TestEnvironment;
let runs = 0;

beforeAll(async () => {
  env = await createTestEnvironment('fence', { dataDir: os.tmpdir() });
});

afterAll(async () => {
  await env?.cleanup();
});

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

/** The claim of an attempt Temporal scheduled at `scheduledAt` (ms), attempt `attempt`. */
function claim(runId: string, step: FencedStep, part: string | undefined, scheduledAt: number, attempt: number): Promise<StepFence> {
  const activity = new MockActivityEnvironment({ scheduledTimestampMs: scheduledAt, attempt, activityId: `${step}-${scheduledAt}` });
  return activity.run(() => claimStepAttempt({ db: env.db }, runId, step, part));
}

/** A write of the run's rows: one customer's PurchaseCount, as this attempt would have it. */
function writeCount(fence: StepFence, purchaseCount: number, customerId = 1): Promise<void> {
  return fence.write(async (trx) => {
    await trx(TABLES.stagingCounts)
      .insert({ run_id: fence.attempt.runId, CustomerID: customerId, PurchaseCount: purchaseCount })
      .onConflict(['run_id', 'CustomerID'])
      .merge(['PurchaseCount']);
  });
}

async function counts(runId: string): Promise<number[]> {
  return await env.db(TABLES.stagingCounts).where({ run_id: runId }).orderBy('CustomerID').pluck('PurchaseCount');
}

const newRun = () => `fence-run-${++runs}`;

test('an attempt frozen before it claimed loses to the newer attempt that claimed first', async () => {
  const runId = newRun();
  const second = await claim(runId, 'aggregate', undefined, T0, 2);
  await expect(claim(runId, 'aggregate', undefined, T0, 1)).rejects.toMatchObject({ name: 'StaleAttemptError' });
  await writeCount(second, 2);
  expect(await counts(runId)).toEqual([2]);
});

test('a superseded attempt writes nothing; the newer one writes', async () => {
  const runId = newRun();
  const first = await claim(runId, 'aggregate', undefined, T0, 1);
  await writeCount(first, 1);
  const second = await claim(runId, 'aggregate', undefined, T0, 2);
  await expect(writeCount(first, 99)).rejects.toThrow(/attempt 1 of aggregate .* superseded: attempt 2 .* took over/);
  expect(await counts(runId)).toEqual([1]);
  await writeCount(second, 2);
  expect(await counts(runId)).toEqual([2]);
});

test("an operator's retry (a new activity, attempt 1 again) supersedes every attempt of the old activity", async () => {
  const runId = newRun();
  const old = await claim(runId, 'publish', '0/2', T0, 5);
  const retried = await claim(runId, 'publish', '0/2', T0 + 20_000, 1);
  await expect(writeCount(old, 5)).rejects.toMatchObject({ name: 'StaleAttemptError' });
  await writeCount(retried, 1);
  expect(await counts(runId)).toEqual([1]);
});

test('the run going back to an earlier step fences a later step planned before it, even one the new plan never plans again', async () => {
  const runId = newRun();
  await claim(runId, 'plan', undefined, T0, 1);
  const oldPart = await claim(runId, 'load', 'old.xlsx/Sheet1', T0 + 1_000, 1);
  await writeCount(oldPart, 1);
  await claim(runId, 'plan', undefined, T0 + 60_000, 1); // an operator's retry from load
  await expect(writeCount(oldPart, 99)).rejects.toThrow(/went back to step plan/);
  await expect(claim(runId, 'load', 'old.xlsx/Sheet1', T0 + 1_000, 2)).rejects.toMatchObject({ name: 'StaleAttemptError' });
  const newPart = await claim(runId, 'load', 'new.xlsx/Sheet1', T0 + 61_000, 1);
  await writeCount(newPart, 2);
  expect(await counts(runId)).toEqual([2]);
});

test('the parts of one step claim and write side by side, without deadlock and without fencing each other', async () => {
  const runId = newRun();
  await claim(runId, 'publish', '0/1', T0, 1);
  const groups = await Promise.all(Array.from({ length: 8 }, (_, group) => claim(runId, 'classify', String(group), T0 + 1_000 + group, 1)));
  await Promise.all(groups.map((fence, group) => writeCount(fence, group + 1, group + 1)));
  expect(await counts(runId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
});

test('two parts whose claims meet half way (each has locked its own row) both claim: the deadlock victim claims again', async () => {
  const runId = newRun();
  await claim(runId, 'plan', undefined, T0, 1);
  await claim(runId, 'aggregate', undefined, T0 + 100, 1);
  await claim(runId, 'publish', '0/1', T0 + 200, 1);
  // Both claims wait, their own rows locked, until both are there; then both share-lock the earlier steps' rows.
  let arrived = 0;
  let release!: () => void;
  const bothThere = new Promise<void>((resolve) => (release = resolve));
  const testHooks = {
    async beforeEarlierStepsLocked() {
      if (++arrived === 2) release();
      await bothThere;
    },
  };
  const claimPart = (group: string, at: number): Promise<StepFence> =>
    new MockActivityEnvironment({ scheduledTimestampMs: at, attempt: 1, activityId: `classify-${group}` }).run(() => claimStepAttempt({ db: env.db, testHooks }, runId, 'classify', group));
  const [a, b] = await Promise.all([claimPart('0', T0 + 1_000), claimPart('1', T0 + 1_001)]);
  await Promise.all([writeCount(a, 1, 1), writeCount(b, 2, 2)]);
  expect(await counts(runId)).toEqual([1, 2]);
});

/**
 * An aggregate attempt frozen inside its write's transaction, its claim share-locked, as a SIGSTOP
 * between two statements leaves it; on connections whose sessions MySQL ends after 6 s idle (the
 * worker's: IDLE_SESSION_SECONDS). `thaw` lets it go on; `write` says how its write ended.
 */
async function frozenZombie(runId: string, activityId: string): Promise<{ write: Promise<string>; thaw: () => void; destroy: () => Promise<void> }> {
  const zombieDb = createDatabase(env.config.mysql, { max: 1 }, 6);
  let reached!: () => void;
  let thaw!: () => void;
  const holding = new Promise<void>((resolve) => (reached = resolve));
  const thawed = new Promise<void>((resolve) => (thaw = resolve));
  const testHooks: ActivityTestHooks = {
    async insideFencedWrite() {
      reached();
      await thawed;
    },
  };
  const destroy = async () => {
    thaw(); // or its pool never drains
    await zombieDb.destroy();
  };
  try {
    const attempt = new MockActivityEnvironment({ scheduledTimestampMs: T0, attempt: 1, activityId });
    const zombie: StepFence = await attempt.run(() => claimStepAttempt({ db: zombieDb, testHooks }, runId, 'aggregate'));
    const write = writeCount(zombie, 99).then(
      () => 'written',
      (error: Error) => error.message,
    );
    await holding;
    return { write, thaw, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

test("a zombie frozen inside its write's transaction: MySQL ends its idle session, and the newer attempt claims after it, beating as it waits, its checkpoint kept", async () => {
  const runId = newRun();
  const zombie = await frozenZombie(runId, 'aggregate-zombie');
  try {
    const checkpoint = { lastCustomerId: 41 };
    const newer = new MockActivityEnvironment({ scheduledTimestampMs: T0, attempt: 2, activityId: 'aggregate-zombie', heartbeatDetails: checkpoint });
    const beats: unknown[] = [];
    newer.on('heartbeat', (details: unknown) => beats.push(details));
    const started = Date.now();
    const second: StepFence = await newer.run(() => claimStepAttempt({ db: env.db }, runId, 'aggregate'));
    // It waited for MySQL to end the zombie's session, not for InnoDB's lock wait timeout (50 s).
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(beats.length).toBeGreaterThan(0);
    expect(beats.every((details) => JSON.stringify(details) === JSON.stringify(checkpoint))).toBe(true);

    zombie.thaw();
    expect(await zombie.write).not.toBe('written');
    expect(await counts(runId)).toEqual([]);
    await writeCount(second, 2);
    expect(await counts(runId)).toEqual([2]);
  } finally {
    await zombie.destroy();
  }
}, 90_000);

test("with a short innodb_lock_wait_timeout, the newer attempt's claim keeps waiting until MySQL has ended the frozen zombie's session", async () => {
  const runId = newRun();
  // One connection, so the session setting below is the one the claim runs on.
  const zombie = await frozenZombie(runId, 'aggregate-short-wait');
  const newerDb = createDatabase(env.config.mysql, { max: 1 });
  try {
    await newerDb.raw('SET SESSION innodb_lock_wait_timeout = 1');
    // Three lock waits of 1 s end well before the zombie's 6 s session: a count of tries would give up.
    const newer = new MockActivityEnvironment({ scheduledTimestampMs: T0, attempt: 2, activityId: 'aggregate-short-wait' });
    const second: StepFence = await newer.run(() => claimStepAttempt({ db: newerDb }, runId, 'aggregate'));
    const [{ waited }] = (await newerDb.raw('SELECT @@session.innodb_lock_wait_timeout AS waited'))[0] as { waited: number }[];
    expect(Number(waited)).toBe(1); // the claim did run on the short-wait session

    zombie.thaw();
    expect(await zombie.write).not.toBe('written');
    await writeCount(second, 2);
    expect(await counts(runId)).toEqual([2]);
  } finally {
    await Promise.all([zombie.destroy(), newerDb.destroy()]);
  }
}, 90_000);

test('a load attempt whose write waits (behind locks, a slow MySQL) keeps beating with the checkpoint it has staged, so Temporal neither hands it on nor loses its place', async () => {
  const runId = newRun();
  const { dir, cleanup } = makeTempDir('fence-load-');
  try {
    const file = path.relative(os.tmpdir(), await writeWorkbook(path.join(dir, 'export.xlsx'), [
      { name: 'Sheet1', rows: [UCI_HEADER, uciRow('536365', 6, 2.55, 17850), uciRow('536366', 2, 1.85, 17850)] },
    ]));
    const fingerprint = await fingerprintFile(path.join(os.tmpdir(), file));
    const resumedFrom: LoadCheckpoint = { sheet: 'Sheet1', rowNumber: 1, report: emptyDataQualityReport(), bytesRead: 0, totalBytes: 0 };
    const beats: unknown[] = [];
    /** Per write: the heartbeats that came while it waited. */
    const beatsWhileWaiting: unknown[][] = [];
    // Every write waits until a heartbeat has come while it waited, or 30 s (twice the heartbeat timeout).
    const testHooks: ActivityTestHooks = {
      async insideFencedWrite() {
        const before = beats.length;
        const until = Date.now() + 30_000;
        while (beats.length === before && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 200));
        beatsWhileWaiting.push(beats.slice(before));
      },
    };
    const activity = new MockActivityEnvironment({ scheduledTimestampMs: Date.now(), attempt: 2, activityId: 'load-slow-write', heartbeatDetails: resumedFrom });
    // As sent at that moment (the SDK serialises the details; the activity may change its objects later).
    activity.on('heartbeat', (details: unknown) => beats.push(structuredClone(details)));
    const loadPart = createLoadWorkbookPart({ db: env.db, dataDir: os.tmpdir(), testHooks } as ActivityDependencies);
    const report: DataQualityReport = await activity.run(() => loadPart({ runId, file, sheet: 'Sheet1', fingerprint, reader: 'fast' }));
    // The delete of what an earlier attempt staged past its checkpoint, then the one staging insert.
    expect(beatsWhileWaiting.map((during) => during.length > 0)).toEqual([true, true]);
    expect(report.rowsRead).toBe(2); // row 1 (the header) was the checkpoint; rows 2 and 3 read now
    // While a write waits, the checkpoint whose rows are staged (row 1: the one the attempt started
    // from); rows 2 and 3 only once their write is done. Never an empty heartbeat, never one ahead.
    const rowOf = (details: unknown) => (details as LoadCheckpoint | undefined)?.rowNumber;
    expect(beatsWhileWaiting.map((during) => during.map(rowOf))).toEqual(beatsWhileWaiting.map((during) => during.map(() => 1)));
    expect(rowOf(beats.at(-1))).toBe(3);
  } finally {
    cleanup();
  }
}, 90_000);

test('a long part is hashed into the key', async () => {
  const runId = newRun();
  const fence = await claim(runId, 'load', `${'deep/'.repeat(60)}export.xlsx/Online Retail`, T0, 1);
  expect(fence.attempt.key).toMatch(/^load:sha256:[0-9a-f]{64}$/);
  await writeCount(fence, 1);
});

describe('pruning staging', () => {
  const retention = { keepFinishedRuns: 1, keepFailedHours: 24 };
  const twoDaysAgo = () => new Date(Date.now() - 48 * 3_600_000);

  async function failedLongAgo(runId: string): Promise<void> {
    const row = { run_id: runId, workflow_id: runId, file: 'x.xlsx', sheet: 'Sheet1', threshold: 5, chunk_size: 100, input: '{}', steps: '{}' };
    await env.db(TABLES.runs).insert({ ...row, status: 'failed', started_at: twoDaysAgo(), finished_at: twoDaysAgo() });
    await env.db(TABLES.stagingCounts).insert({ run_id: runId, CustomerID: 1, PurchaseCount: 1 });
  }

  test('a run that came back (a reset: its steps claim again after it failed) keeps its staging while MySQL still says failed', async () => {
    const [gone, reset] = [newRun(), newRun()];
    await failedLongAgo(gone);
    await failedLongAgo(reset);
    await claim(reset, 'classify', '0-1', Date.now(), 1);
    const pruneStaging = createPruneStaging({ db: env.db, retention } as ActivityDependencies);
    const { runsPruned }: PruneResult = await new MockActivityEnvironment().run(pruneStaging);
    expect(runsPruned).toContain(gone);
    expect(runsPruned).not.toContain(reset);
    expect(await counts(gone)).toEqual([]);
    expect(await counts(reset)).toEqual([1]);
  });
});
