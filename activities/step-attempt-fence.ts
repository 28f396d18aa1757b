/**
 * Stale attempts are fenced (DESIGN 3d). A worker cut off from Temporal but not from MySQL, or
 * frozen (SIGSTOP, a VM pause, a long GC), keeps running its attempt after the heartbeat timeout
 * handed the step to another attempt. Such a zombie must change nothing: every delete or replace
 * of a run's rows runs in a transaction that first locks the step's claim row in
 * `segmentation_step_attempts` and compares it with its own attempt.
 *
 * What orders attempts. Not a token MySQL hands out when an attempt claims: an attempt frozen
 * before it claimed would wake up, claim last and win. Not `info.attempt` alone: an operator's
 * retry or a workflow reset schedules a new activity, whose attempts start at 1 again. Temporal's
 * own order is: the time the server first scheduled the activity (a new activity is scheduled
 * after the old one closed, at least a heartbeat timeout later), then the attempt number within
 * it. Both come from the server, whichever worker runs the attempt.
 *
 * Two ways to be stale:
 * - a newer attempt claimed the same key (the same step, load part, publish slice or classify
 *   group): the heartbeat timeout, an operator's retry or a reset started it again;
 * - the run went back: an earlier step (one whose rows this step reads or whose deletes remove
 *   this one's) was scheduled again after this activity was. Each step's own row (key = the step)
 *   holds the newest scheduled time of its activities, so a load part a re-run plan never planned
 *   again is fenced as well.
 * Steps run in order, and each is scheduled after the earlier ones finished, so a current attempt
 * is never older than an earlier step's claim.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { IDLE_SESSION_SECONDS } from '../lib/database';
import { StaleAttemptError } from '../lib/errors';
import { TABLES } from '../lib/tables';
import { heartbeatWhile } from './heartbeat-while';

/** The steps that write a run's rows, in the order the workflow runs them. */
export const FENCED_STEPS = ['plan', 'load', 'aggregate', 'publish', 'classify', 'reconcile', 'publication'] as const;
export type FencedStep = (typeof FENCED_STEPS)[number];

export interface ActivityTestHooks {
  /** Called as an attempt is about to run a fenced write (before its transaction): the stale-attempt tests hold a zombie here. */
  beforeFencedWrite?(attempt: StepAttempt): Promise<void>;
  /** Called inside a claim's transaction, its own row locked, just before it share-locks the earlier steps' rows. */
  beforeEarlierStepsLocked?(attempt: StepAttempt): Promise<void>;
  /** Called inside a fenced write's transaction, its claim checked (share-locked), before the write: a zombie frozen holding the locks. */
  insideFencedWrite?(attempt: StepAttempt): Promise<void>;
  /** Called as a classify attempt is about to disconnect its consumer: a broker that never answers the disconnect. */
  beforeConsumerDisconnect?(): Promise<void>;
}

export interface StepAttempt {
  runId: string;
  step: FencedStep;
  /** `step`, or `step:part` for one activity of a step that fans out. */
  key: string;
  scheduledAt: Date;
  attempt: number;
  activityId: string;
}

export interface StepFence {
  readonly attempt: StepAttempt;
  /**
   * Runs `work` in a transaction that first checks, under lock, that this attempt is still the
   * current one. A lock conflict runs it again, unless `ended` is aborted by then: an attempt
   * that has already failed has nothing to gain from it, and it would hold a connection.
   */
  write: <T>(work: (trx: Knex.Transaction) => Promise<T>, options?: { ended?: AbortSignal }) => Promise<T>;
}

interface ClaimRow {
  step_key: string;
  scheduled_at: Date;
  attempt: number;
}

const ER_LOCK_DEADLOCK = 1213;
const ER_LOCK_WAIT_TIMEOUT = 1205;
const DEADLOCK_TRIES = 3;
/**
 * How long lock wait timeouts are retried: until a dead session's locks are surely gone, twice
 * the time MySQL takes to end it, whatever innodb_lock_wait_timeout says (1 s or 50 s).
 */
const LOCK_WAIT_RETRY_MS = 2 * IDLE_SESSION_SECONDS * 1000;
/**
 * How long a claim or a fenced write may wait and still heartbeat (heartbeatWhile's atMostMs):
 * the lock wait retries and one more wait. Past it the attempt stops beating and looks dead; a
 * call that never answers (a connection cut off without a reset) then costs a heartbeat timeout
 * after this, not the activity's startToClose.
 */
export const FENCED_WAIT_BEAT_MS = LOCK_WAIT_RETRY_MS + 60_000;

/** Keys fit the column: a long part (a workbook path and sheet) is hashed. */
const KEY_LENGTH = 191;

/** The attempt running now (from the activity's context) claims its key; throws StaleAttemptError if it is already superseded. */
export async function claimStepAttempt(
  { db, testHooks }: { db: Knex; testHooks?: ActivityTestHooks },
  runId: string,
  step: FencedStep,
  part?: string,
): Promise<StepFence> {
  const { info } = Context.current();
  const attempt: StepAttempt = {
    runId,
    step,
    key: stepKey(step, part),
    scheduledAt: new Date(info.scheduledTimestampMs),
    attempt: info.attempt,
    activityId: info.activityId,
  };
  const earlier = FENCED_STEPS.slice(0, FENCED_STEPS.indexOf(step));
  const now = new Date();
  const row = { run_id: runId, scheduled_at: attempt.scheduledAt, activity_id: attempt.activityId, claimed_at: now };
  if (attempt.key !== step) {
    // The step's own row: the newest activity scheduled for it, whichever part. On its own, before
    // the claim: the parts of a step claim side by side, and upserting one new row from inside
    // their claims' transactions deadlocks them. (A stale attempt leaves it as it is: it is older.)
    await db(TABLES.stepAttempts)
      .insert({ ...row, step_key: step, attempt: 0 })
      .onConflict(['run_id', 'step_key'])
      .merge({ scheduled_at: db.raw('GREATEST(scheduled_at, VALUES(scheduled_at))'), claimed_at: now });
  }
  // Side by side, parts' claims can still deadlock: on a small table InnoDB reads the earlier steps'
  // rows by scanning all the run's rows, and so share-locks (waits for) a sibling's claimed row
  // while the sibling waits for ours (seen in `npm start`). The victim is rolled back whole and claims again.
  // Beating while it waits: behind a dead session's lock the claim waits until MySQL ends that
  // session, longer than the heartbeat timeout. With the details the attempt started from, so a
  // checkpoint (the publish step's) is kept for the next attempt if this one dies.
  await heartbeatWhile(retryLockConflict(() => db.transaction(async (trx) => {
    // The row is made (or left as it is) before it is locked: locking a row that is not there yet
    // would lock the gap, and two parts claiming side by side would deadlock inserting into it.
    await trx(TABLES.stepAttempts)
      .insert({ ...row, step_key: attempt.key, attempt: attempt.attempt })
      .onConflict(['run_id', 'step_key'])
      .merge(['run_id']);
    const [current]: ClaimRow[] = await trx(TABLES.stepAttempts)
      .where({ run_id: runId, step_key: attempt.key })
      .forUpdate()
      .select('step_key', 'scheduled_at', 'attempt');
    if (isNewer(current, attempt)) throw stale(attempt, `attempt ${current.attempt} of an activity scheduled at ${current.scheduled_at.toISOString()} claimed it`);
    await trx(TABLES.stepAttempts)
      .where({ run_id: runId, step_key: attempt.key })
      .update({ scheduled_at: attempt.scheduledAt, attempt: attempt.attempt, activity_id: attempt.activityId, claimed_at: now });
    // Last: its shared locks (on gaps too, where an earlier step has no row) then block no sibling's claim half way.
    await testHooks?.beforeEarlierStepsLocked?.(attempt);
    assertNotRewound(attempt, await earlierSteps(trx, runId, earlier));
  })), () => info.heartbeatDetails, { atMostMs: FENCED_WAIT_BEAT_MS });

  const check = async (trx: Knex.Transaction) => {
    // One round trip per write (classify makes one per batch), with shared locks: a newer claim
    // (an exclusive lock) waits until this transaction has committed, while the parallel parts of
    // a step, each with its own row, never wait for each other.
    const rows: ClaimRow[] = await trx(TABLES.stepAttempts)
      .where({ run_id: runId })
      .whereIn('step_key', [attempt.key, ...earlier])
      .forShare()
      .select('step_key', 'scheduled_at', 'attempt');
    const current = rows.find((row) => row.step_key === attempt.key);
    if (!current || isNewer(current, attempt)) {
      throw stale(attempt, current ? `attempt ${current.attempt} of an activity scheduled at ${current.scheduled_at.toISOString()} took over` : 'its claim is gone');
    }
    assertNotRewound(attempt, rows.filter((row) => row !== current));
  };
  return {
    attempt,
    async write(work, options) {
      // Test hook (see ActivityDependencies.testHooks): holds a zombie exactly where it is about to write.
      await testHooks?.beforeFencedWrite?.(attempt);
      return await retryLockConflict(() =>
        db.transaction(async (trx) => {
          await check(trx);
          await testHooks?.insideFencedWrite?.(attempt);
          return await work(trx);
        }),
        options?.ended,
      );
    },
  };
}

/**
 * Runs the transaction again (whole: it was rolled back) after a lock conflict, which is cheaper
 * than failing the attempt (a classify group would re-read its partitions), unless `ended` says
 * the attempt is over:
 * - a deadlock: parts of one step share-lock the step rows side by side, and InnoDB picks a victim;
 * - a lock wait timeout: the lock's holder is a dead attempt's session, frozen or cut off inside its
 *   transaction, whose locks go when MySQL ends the session (IDLE_SESSION_SECONDS, lib/database.ts).
 */
export async function retryLockConflict<T>(transaction: () => Promise<T>, ended?: AbortSignal): Promise<T> {
  const started = Date.now();
  for (let deadlocks = 0; ; ) {
    try {
      return await transaction();
    } catch (error) {
      const errno = (error as { errno?: number }).errno;
      if (ended?.aborted) throw error;
      if (errno === ER_LOCK_DEADLOCK && ++deadlocks < DEADLOCK_TRIES) continue;
      if (errno === ER_LOCK_WAIT_TIMEOUT && Date.now() - started < LOCK_WAIT_RETRY_MS) continue;
      throw error;
    }
  }
}

export function stepKey(step: FencedStep, part?: string): string {
  if (part === undefined) return step;
  const key = `${step}:${part}`;
  return key.length <= KEY_LENGTH ? key : `${step}:sha256:${createHash('sha256').update(part).digest('hex')}`;
}

/** An earlier step scheduled after this activity: the run went back (operator retry, reset) past this attempt. */
function assertNotRewound(attempt: StepAttempt, rows: ClaimRow[]): void {
  const later = rows.find((row) => row.scheduled_at.getTime() > attempt.scheduledAt.getTime());
  if (later) throw stale(attempt, `the run went back to step ${later.step_key} (scheduled at ${later.scheduled_at.toISOString()})`);
}

/** The earlier steps' own rows, under a shared lock. */
async function earlierSteps(trx: Knex.Transaction, runId: string, earlier: readonly FencedStep[]): Promise<ClaimRow[]> {
  if (earlier.length === 0) return [];
  return await trx(TABLES.stepAttempts).where({ run_id: runId }).whereIn('step_key', earlier).forShare().select('step_key', 'scheduled_at', 'attempt');
}

/** Temporal's order of attempts: the activity's first scheduled time, then the attempt number. */
function isNewer(row: ClaimRow, attempt: StepAttempt): boolean {
  const theirs = row.scheduled_at.getTime();
  const mine = attempt.scheduledAt.getTime();
  return theirs > mine || (theirs === mine && row.attempt > attempt.attempt);
}

function stale(attempt: StepAttempt, why: string): StaleAttemptError {
  return new StaleAttemptError(
    `attempt ${attempt.attempt} of ${attempt.key} (run ${attempt.runId}, activity scheduled at ${attempt.scheduledAt.toISOString()}) ` +
      `is superseded: ${why}; it writes nothing`,
  );
}
