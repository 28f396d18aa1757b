/**
 * retryLockConflict (activities/step-attempt-fence.ts), on jest's fake clock with transactions
 * that fail as MySQL would: deadlocks three tries, lock wait timeouts for two minutes (then the
 * error), any other error at once, and nothing more once the attempt has ended.
 */
import { retryLockConflict } from '../../activities/step-attempt-fence';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

const mysqlError = (errno: number) => Object.assign(new Error(`errno ${errno}`), { errno });
const DEADLOCK = 1213;
const LOCK_WAIT_TIMEOUT = 1205;

/** A transaction that takes `ms` of the clock and then fails with `errno`, counting its tries. */
function failing(errno: number, ms = 0) {
  const counted = { tries: 0 };
  const transaction = async (): Promise<string> => {
    counted.tries += 1;
    await new Promise((resolve) => setTimeout(resolve, ms));
    throw mysqlError(errno);
  };
  return { counted, transaction };
}

async function outcome(promise: Promise<unknown>, runFor: number): Promise<unknown> {
  const settled = promise.then(
    () => 'resolved',
    (error: Error) => error.message,
  );
  await jest.advanceTimersByTimeAsync(runFor);
  return settled;
}

test('a deadlock victim runs again, three tries in all', async () => {
  const { counted, transaction } = failing(DEADLOCK);
  expect(await outcome(retryLockConflict(transaction), 1_000)).toBe('errno 1213');
  expect(counted.tries).toBe(3);
});

test('lock wait timeouts (here 1 s each, a short innodb_lock_wait_timeout) are retried for two minutes, then the error goes up', async () => {
  const { counted, transaction } = failing(LOCK_WAIT_TIMEOUT, 1_000);
  expect(await outcome(retryLockConflict(transaction), 130_000)).toBe('errno 1205');
  expect(counted.tries).toBe(120); // started at 0 s, 1 s, ... 119 s: the last fails at 120 s, and that is the deadline
});

test('a transaction that succeeds once the lock is free returns its result', async () => {
  let tries = 0;
  const transaction = async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    if (++tries < 7) throw mysqlError(LOCK_WAIT_TIMEOUT);
    return 'written';
  };
  expect(await outcome(retryLockConflict(transaction), 10_000)).toBe('resolved');
  expect(tries).toBe(7);
});

test('any other error goes up at once, and so does a conflict once the attempt has ended', async () => {
  const other = failing(1062);
  expect(await outcome(retryLockConflict(other.transaction), 1_000)).toBe('errno 1062');
  expect(other.counted.tries).toBe(1);

  const ended = new AbortController();
  ended.abort();
  const late = failing(LOCK_WAIT_TIMEOUT, 1_000);
  expect(await outcome(retryLockConflict(late.transaction, ended.signal), 10_000)).toBe('errno 1205');
  expect(late.counted.tries).toBe(1);
});
