/**
 * Keeps an activity's heartbeat going while one long call (a big SQL statement) runs: Temporal
 * then knows the worker is alive, and a cancel reaches the activity. Without it a statement
 * slower than the heartbeat timeout would be retried while the first one still holds its locks.
 *
 * `atMostMs` bounds a wait that should be short (a claim or a write behind a lock): past it the
 * beats stop, so a call that never answers (a connection cut off without a reset) makes the attempt
 * look dead, and Temporal hands the step on, instead of keeping it alive until startToClose.
 */
import { Context } from '@temporalio/activity';

const EVERY_MS = 5_000;

export async function heartbeatWhile<T>(work: Promise<T>, details?: () => unknown, { atMostMs = Infinity }: { atMostMs?: number } = {}): Promise<T> {
  const context = Context.current();
  const until = Date.now() + atMostMs;
  const timer = setInterval(() => {
    if (Date.now() < until) context.heartbeat(details?.());
    else clearInterval(timer);
  }, EVERY_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
